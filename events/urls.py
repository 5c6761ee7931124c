"""Event routes, with the trailing slash the official SDKs send (included by platform_api/urls.py's neighbours)."""

from django.urls import path

from events import views

urlpatterns = [
    path("v1/event/<str:event_id>/", views.EventView.as_view(), name="platform-event"),
    path("v1/events/", views.EventListView.as_view(), name="platform-events"),
]
