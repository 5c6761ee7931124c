"""Platform routes, with the trailing slash the official SDKs send. Memory routes in views.py, the rest in
extra_views.py."""

from django.urls import include, path

urlpatterns: list = [
    path("", include("platform_api.extra_urls")),
]
