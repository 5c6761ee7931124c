from django.urls import path

from memories import config_views, views

urlpatterns = [
    path("memories", views.MemoriesView.as_view(), name="memories"),
    path("memories/<str:memory_id>", views.MemoryDetailView.as_view(), name="memory-detail"),
    path("memories/<str:memory_id>/history", views.MemoryHistoryView.as_view(), name="memory-history"),
    path("search", views.SearchView.as_view(), name="search"),
    path("reset", views.ResetView.as_view(), name="reset"),
    path("configure", config_views.ConfigureView.as_view(), name="configure"),
    path("configure/providers", config_views.ConfigureProvidersView.as_view(), name="configure-providers"),
    path("generate-instructions", config_views.GenerateInstructionsView.as_view(), name="generate-instructions"),
]
