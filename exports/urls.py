"""Platform export routes, with the trailing slash the official SDKs send."""

from django.urls import path

from exports import views

urlpatterns = [
    path("v1/exports/", views.ExportCreateView.as_view(), name="platform-exports-create"),
    path("v1/exports/get/", views.ExportGetView.as_view(), name="platform-exports-get"),
]
