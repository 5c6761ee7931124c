"""Platform routes, with the trailing slash the official SDKs send. Memory routes in views.py, the rest in
extra_views.py."""

from django.urls import path  # noqa: F401  (used once routes are added)

urlpatterns: list = []
