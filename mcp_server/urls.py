from django.urls import path

from mcp_server.views import McpView, OpenMemoryHttpView, SseMessageView, SseOpenView

urlpatterns = [
    path("mcp", McpView.as_view(), name="mcp"),
    # Some client configs end the URL with a slash; answer there too rather than 404.
    path("mcp/", McpView.as_view()),
    # OpenMemory's URLs (mcp_server/openmemory.py): SSE (mcp_server/streams.py), its POSTs, Streamable HTTP.
    path("mcp/messages/", SseMessageView.as_view(), name="mcp-sse-messages"),
    path("mcp/<str:client_name>/sse/<str:user_id>", SseOpenView.as_view(), name="mcp-sse"),
    path("mcp/<str:client_name>/sse/<str:user_id>/", SseOpenView.as_view()),
    path("mcp/<str:client_name>/sse/<str:user_id>/messages/", SseMessageView.as_view()),
    path("mcp/<str:client_name>/http/<str:user_id>", OpenMemoryHttpView.as_view(), name="mcp-openmemory"),
    path("mcp/<str:client_name>/http/<str:user_id>/", OpenMemoryHttpView.as_view()),
]
