from functools import cache

from django.urls import path
from django.views.decorators.csrf import csrf_exempt


def _view(name: str):
    """mcp_server.views' `name`, imported at the first request to it. Every management command loads this URL
    configuration (Django's checks) and most never answer MCP: the views import the mcp SDK, about 1 s of CPU."""

    @cache
    def loaded():
        from mcp_server import views

        return getattr(views, name).as_view()

    @csrf_exempt  # as DRF's own views: they authenticate by key or token, never by session cookie
    def view(request, *args, **kwargs):
        return loaded()(request, *args, **kwargs)

    return view


mcp, openmemory_http, sse_messages, sse_open = map(
    _view, ["McpView", "OpenMemoryHttpView", "SseMessageView", "SseOpenView"]
)

urlpatterns = [
    path("mcp", mcp, name="mcp"),
    # Some client configs end the URL with a slash; answer there too rather than 404.
    path("mcp/", mcp),
    # OpenMemory's URLs (mcp_server/openmemory.py): SSE (mcp_server/streams.py), its POSTs, Streamable HTTP.
    path("mcp/messages/", sse_messages, name="mcp-sse-messages"),
    path("mcp/<str:client_name>/sse/<str:user_id>", sse_open, name="mcp-sse"),
    path("mcp/<str:client_name>/sse/<str:user_id>/", sse_open),
    path("mcp/<str:client_name>/sse/<str:user_id>/messages/", sse_messages),
    path("mcp/<str:client_name>/http/<str:user_id>", openmemory_http, name="mcp-openmemory"),
    path("mcp/<str:client_name>/http/<str:user_id>/", openmemory_http),
]
