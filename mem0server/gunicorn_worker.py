"""gunicorn's asyncio (`asgi`) worker, answering in JSON what it answers itself.

A request gunicorn cannot parse (a request line over `limit_request_line`, too many or too large headers,
malformed HTTP) never reaches Django: gunicorn answers it, in text/plain. This worker gives those answers the
API's error shape, `{"detail": "..."}` with Content-Type application/json, and an X-Request-ID like every
other answer. gunicorn.conf.py names it as `worker_class`.

It replaces one method of gunicorn's protocol (`_send_error_response`, whose behaviour is otherwise kept:
status line, Connection: close); gunicorn is pinned in requirements.txt, and
mem0server/tests/test_faults.py checks these answers on a real gunicorn.
"""

from __future__ import annotations

import json
import uuid
from http import HTTPStatus

from gunicorn.asgi import protocol
from gunicorn.workers import gasgi


def _reason(status: int) -> str:
    # gunicorn's own table first, as gunicorn does: HTTPStatus phrases change between Python versions.
    known = getattr(protocol, "_REASON_PHRASES", {}).get(status)
    if known:
        return known
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class JSONErrorsProtocol(protocol.ASGIProtocol):
    def _send_error_response(self, status, message, extra_headers=()):
        reason = _reason(status)
        detail = f"{reason}: {message}" if message and message != reason else reason
        body = json.dumps({"detail": detail}).encode()
        extra = "".join(f"{name}: {value}\r\n" for name, value in extra_headers)
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"X-Request-ID: {uuid.uuid4().hex}\r\n"
            f"{extra}"
            "Connection: close\r\n"
            "\r\n"
        )
        self._safe_write(head.encode("latin-1"))
        self._safe_write(body)


# The worker builds its protocol from this module-level name.
gasgi.ASGIProtocol = JSONErrorsProtocol


class JSONErrorsASGIWorker(gasgi.ASGIWorker):
    """gunicorn's `asgi` worker with JSONErrorsProtocol; SIGTERM also ends the MCP SSE streams, which would
    otherwise hold the graceful shutdown for GUNICORN_GRACEFUL_TIMEOUT (their clients connect again)."""

    def handle_exit_signal(self):
        super().handle_exit_signal()
        from mcp_server.streams import close_all  # Django is set up by now (the application is loaded)

        close_all()
