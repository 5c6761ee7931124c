"""Platform routes served by extra_views.py (included from platform_api/urls.py)."""

from django.urls import path

from platform_api import extra_views

urlpatterns = [
    path("v1/entities/", extra_views.PlatformEntitiesView.as_view(), name="platform-entities"),
    # path: an id may contain "/" (sent as %2F), as scope ids only exclude whitespace.
    path(
        "v2/entities/<str:entity_type>/<path:entity_id>/",
        extra_views.PlatformEntityDetailView.as_view(),
        name="platform-entity",
    ),
    path(
        "v1/entities/<str:entity_type>/<path:entity_id>/",
        extra_views.PlatformEntityDeleteV1View.as_view(),
        name="platform-entity-v1",
    ),
    path("v1/batch/", extra_views.BatchView.as_view(), name="platform-batch"),
    path("v1/feedback/", extra_views.FeedbackView.as_view(), name="platform-feedback"),
    path("v1/stats/", extra_views.StatsView.as_view(), name="platform-stats"),
    path("v1/summary/", extra_views.SummaryView.as_view(), name="platform-summary"),
]
