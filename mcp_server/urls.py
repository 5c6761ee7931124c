from django.urls import path

from mcp_server.views import McpView

urlpatterns = [
    path("mcp", McpView.as_view(), name="mcp"),
    # Some client configs end the URL with a slash; answer there too rather than 404.
    path("mcp/", McpView.as_view()),
]
