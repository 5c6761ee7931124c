"""The ASGI application gunicorn serves (mem0server/asgi.py), built around Django's WSGI application: also what the
tests serve when they need the whole stack (an MCP SSE stream, which only it holds)."""

from __future__ import annotations

from mcp_server.streams import SseStreams
from mem0server.buffering import BufferedApp, app_concurrency
from mem0server.wsgi_bridge import WSGIBridge


def asgi_application(django_application):
    """OpenMemory's SSE streams (mcp_server/streams.py) in front of whole requests (buffering.py) run on Django's
    threads (wsgi_bridge.py)."""
    bridge = WSGIBridge(django_application, workers=app_concurrency())
    buffered = BufferedApp(bridge, concurrency=app_concurrency(), run_blocking=bridge.run_blocking)
    return SseStreams(buffered, run_blocking=bridge.run_blocking)
