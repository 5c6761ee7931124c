"""Platform routes, with the trailing slash the official SDKs send. Memory, ping, organization and project routes
here (views.py), and an entity's memories (extra_views.py), whose route must come before a memory's history's;
entities, batch, feedback, stats and summary in extra_urls.py ."""

from django.urls import include, path, re_path

from platform_api import extra_views, views

urlpatterns = [
    path("v1/ping/", views.PingView.as_view(), name="platform-ping"),
    path("v3/memories/add/", views.AddView.as_view(), name="platform-memories-add"),
    path("v3/memories/search/", views.SearchView.as_view(), name="platform-memories-search"),
    path("v3/memories/", views.ListView.as_view(), name="platform-memories-list"),
    path("v2/memories/search/", views.SearchV2View.as_view(), name="platform-memories-search-v2"),
    path("v2/memories/", views.ListV2View.as_view(), name="platform-memories-list-v2"),
    path("v1/memories/search/", views.SearchV1View.as_view(), name="platform-memories-search-v1"),
    path("v1/memories/", views.MemoriesV1View.as_view(), name="platform-memories-v1"),
    path("v1/memories/events/", views.MemoryEventsView.as_view(), name="platform-memory-events"),
    path("v1/memories/<str:memory_id>/", views.MemoryView.as_view(), name="platform-memory"),
    # An entity's memories (an id may contain "/"). User "history" is listed, not taken for a memory's history: a
    # memory id is a UUID, never an entity type.
    re_path(
        r"^v1/memories/(?P<entity_type>(?:user|agent|app|run)s?)/(?P<entity_id>history)/$",
        extra_views.PlatformEntityHistoryMemoriesView.as_view(),
    ),
    path("v1/memories/<str:memory_id>/history/", views.HistoryView.as_view(), name="platform-memory-history"),
    path(
        "v1/memories/<str:entity_type>/<path:entity_id>/",
        extra_views.PlatformEntityMemoriesView.as_view(),
        name="platform-entity-memories",
    ),
    path(
        "api/v1/orgs/organizations/<str:org_id>/projects/<str:project_id>/",
        views.ProjectView.as_view(),
        name="platform-project",
    ),
    path(
        "api/v1/orgs/organizations/<str:org_id>/projects/<str:project_id>/members/",
        views.ProjectMembersView.as_view(),
        name="platform-project-members",
    ),
    path("api/v1/orgs/organizations/<str:org_id>/projects/", views.ProjectsView.as_view(), name="platform-projects"),
    path("api/v1/orgs/organizations/", views.OrganizationsView.as_view(), name="platform-organizations"),
    path("api/v1/orgs/organizations/<str:org_id>/", views.OrganizationView.as_view(), name="platform-organization"),
    path(
        "api/v1/orgs/organizations/<str:org_id>/members/",
        views.OrganizationMembersView.as_view(),
        name="platform-organization-members",
    ),
    path("", include("platform_api.extra_urls")),
]
