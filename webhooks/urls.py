"""Webhook routes, with the trailing slash the official SDKs send."""

from django.urls import path

from webhooks import views

urlpatterns = [
    path("api/v1/webhooks/projects/<str:project_id>/", views.ProjectWebhooksView.as_view(), name="webhooks-project"),
    path("api/v1/webhooks/<str:webhook_id>/", views.WebhookView.as_view(), name="webhook"),
]
