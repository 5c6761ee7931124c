"""ASGI entry point: gunicorn's `asgi` worker serves this (gunicorn.conf.py); runserver and tests use wsgi.py.

Why ASGI: a client that sends its request slowly (a bad link, or on purpose) must not hold a worker. Under a
threaded WSGI worker each such connection held a thread until its request was complete, so ten of them
stopped a 2 x 4-thread server for as long as they liked (bench/slow_clients.py). Here the worker's event loop
reads requests, and `BufferedApp` hands one to Django only once its whole body has arrived (at most
MAX_REQUEST_BYTES of it, else 413), and lets at most GUNICORN_THREADS requests per worker run in Django at
once: the same bound on concurrent views, database connections and embedder use as the threaded worker had,
while a slow client costs a waiting coroutine and a socket.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")


def _app_concurrency() -> int:
    # gunicorn.conf.py has validated it already; the same default.
    raw = os.environ.get("GUNICORN_THREADS", "").strip()
    return max(1, int(raw)) if raw.isdigit() else 4


class BufferedApp:
    """Reads each HTTP request's body in full (bounded by MAX_REQUEST_BYTES) before the application sees it,
    and runs at most `concurrency` requests in the application at once."""

    def __init__(self, app, *, concurrency: int) -> None:
        self.app = app
        self.concurrency = concurrency
        self._slots: asyncio.Semaphore | None = None  # made in the worker's event loop, on first use

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = settings.MAX_REQUEST_BYTES
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before its request was complete: nothing to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _too_large(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if declared is None:
            # A chunked body, now complete: say its length, as Django REST framework reads only a body whose
            # Content-Length it knows.
            headers = [(name, value) for name, value in scope.get("headers", ()) if name.lower() != b"content-length"]
            scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: http.disconnect when the client leaves

        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        async with self._slots:
            await self.app(scope, replay, send)


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send, limit: int) -> None:
    body = json.dumps({"detail": f"The request body is larger than MAX_REQUEST_BYTES ({limit} bytes)."}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", uuid.uuid4().hex.encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


django_application = get_asgi_application()

# Each request runs in a thread of its own (Django's ASGI handler), so a connection kept open after its
# request (DB_POOL=false with DB_CONN_MAX_AGE) would never be reused: close those at the end of each request.
# Before the first connection is made, so every connection of this process sees it.
for _database in settings.DATABASES.values():
    if "pool" not in _database.get("OPTIONS", {}):
        _database["CONN_MAX_AGE"] = 0

from mem0server.startup import announce  # noqa: E402  (needs Django set up)

announce()

application = BufferedApp(django_application, concurrency=_app_concurrency())
