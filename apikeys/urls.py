from django.urls import path

from apikeys import views

urlpatterns = [
    path("api-keys", views.APIKeysView.as_view(), name="api-keys"),
    path("api-keys/<int:key_id>", views.APIKeyDetailView.as_view(), name="api-key-detail"),
]
