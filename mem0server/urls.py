from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from mem0server.admin import admin_login
from mem0server.views import HealthView, metrics

urlpatterns = [
    path("", RedirectView.as_view(url="/docs", permanent=False)),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi-schema"), name="docs"),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi-schema"),
    # Before the admin's own URLs: the same page, with a limit on password attempts.
    path("admin/login/", admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("dashboard/", include("dashboard.urls")),
    path("healthz", HealthView.as_view(), name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("", include("accounts.urls")),
    path("", include("apikeys.urls")),
    path("", include("memories.urls")),
    path("", include("entities.urls")),
    path("", include("requestlog.urls")),
    path("", include("profiles.urls")),  # before platform_api's entity routes (see profiles/urls.py)
    path("", include("platform_api.urls")),
    path("", include("events.urls")),
    path("", include("exports.urls")),
    path("", include("webhooks.urls")),
    path("", include("mcp_server.urls")),
    path("", include("oauth.urls")),
]

handler400 = "mem0server.views.bad_request"
handler403 = "mem0server.views.permission_denied"
handler404 = "mem0server.views.not_found"
handler500 = "mem0server.views.server_error"
