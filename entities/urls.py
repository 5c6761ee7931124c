from django.urls import path

from entities import views

urlpatterns = [
    path("entities", views.EntitiesView.as_view(), name="entities"),
    # path: an id may contain "/" (sent as %2F), as scope ids only exclude whitespace.
    path("entities/<str:entity_type>/<path:entity_id>", views.EntityDetailView.as_view(), name="entity-detail"),
]
