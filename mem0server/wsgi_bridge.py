"""Django's WSGI application as an ASGI application, run on a fixed pool of threads (mem0server/asgi.py).

a2wsgi's WSGIMiddleware, which did this before, hands every piece of a response to the event loop and waits
for it there: the status and headers, the body, then the end of the body, three round trips between two
threads per request, each a wake-up on both sides. Django answers nearly every request with one whole body,
so here the thread returns the response once and the event loop sends it: an API error (404) over HTTP took
2.9 ms before and 1.9 ms this way (0.6 ms in-process). Streaming responses (static files, exports) still go
out chunk by chunk as the thread produces them, each waiting for the event loop (back-pressure from a slow
reader), until the client leaves or takes nothing for SEND_TIMEOUT_SECONDS: then the thread stops and goes back to
the pool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import io
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

from a2wsgi.wsgi import build_environ
from django.db import close_old_connections

# A streaming answer's client that takes nothing of it for this long (its socket's buffers full) has stopped reading:
# its thread stops writing to it, rather than wait for as long as the connection lasts, and the connection closes.
SEND_TIMEOUT_SECONDS = 60.0


class WSGIBridge:
    """ASGI in front of a WSGI application; requests run on `workers` threads, at most that many at once."""

    def __init__(self, app, *, workers: int) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wsgi")

    async def run_blocking(self, function, *args):
        """Run a function that reads the database (BufferedApp's session check) on the request threads, whose
        connections count in the budget, rather than on the event loop; the connection is left as a request
        leaves it."""

        def run():
            try:
                return function(*args)
            finally:
                close_old_connections()

        return await asyncio.get_running_loop().run_in_executor(self.executor, contextvars.copy_context().run, run)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":  # nothing to start or stop
            await receive()  # lifespan.startup
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        environ = build_environ(scope, io.BytesIO(b"".join(chunks)))
        loop = asyncio.get_running_loop()
        run = contextvars.copy_context().run
        client = _Client()
        try:
            whole = await loop.run_in_executor(self.executor, run, self._respond, environ, loop, send, client)
        except asyncio.CancelledError:
            # The client left (gunicorn cancels a request's task a few seconds after its connection is lost): a
            # thread streaming to it stops, where it waited forever for a write whose connection was gone.
            client.gone()
            raise
        if whole is not None:
            start, body = whole
            await send(start)
            await send({"type": "http.response.body", "body": body})

    def _respond(self, environ, loop, send, client: _Client):
        """Runs the application (on a pool thread): (start message, body), or None once it streamed them itself (or
        stopped, its client gone)."""
        started = {}
        written: list[bytes] = []

        def start_response(status, headers, exc_info=None):
            started["message"] = {
                "type": "http.response.start",
                "status": int(status.split(" ", 1)[0]),
                "headers": [
                    (name.strip().encode("latin1").lower(), value.strip().encode("latin1")) for name, value in headers
                ],
            }
            return written.append  # WSGI's legacy write(): kept in order before the body

        iterable = self.app(environ, start_response)
        try:
            if not getattr(iterable, "streaming", False):  # Django's HttpResponse: one whole body
                return started["message"], b"".join([*written, *iterable])

            def put(message) -> None:
                client.wait(asyncio.run_coroutine_threadsafe(send(message), loop))

            try:
                put(started["message"])
                for chunk in itertools.chain(written, iterable):
                    if chunk:
                        put({"type": "http.response.body", "body": chunk, "more_body": True})
                put({"type": "http.response.body", "body": b""})
            except ClientGone:
                pass  # the connection closes without the rest
            return None
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()  # Django's request_finished: the thread's database connection goes back to the pool


class ClientGone(Exception):
    """The client of a streaming answer left: nothing more is written to it."""


class _Client:
    """A streaming answer's client, as its thread sees it: each write waited for, until the client is gone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._left = False
        self._writing: concurrent.futures.Future | None = None

    def wait(self, write: concurrent.futures.Future) -> None:
        """Wait for one write (a send run on the event loop); ClientGone once the client has left, or has taken
        nothing for SEND_TIMEOUT_SECONDS. A write to a connection that is gone never completes: gunicorn releases no
        write waiting for a client to read."""
        with self._lock:
            self._writing = write
            if self._left:
                write.cancel()
        try:
            write.result(timeout=SEND_TIMEOUT_SECONDS)
        except concurrent.futures.CancelledError:
            raise ClientGone from None
        except TimeoutError:
            write.cancel()
            raise ClientGone from None
        finally:
            with self._lock:
                self._writing = None

    def gone(self) -> None:
        """From the event loop: the client left; the write under way, if any, ends."""
        with self._lock:
            self._left = True
            if self._writing is not None:
                self._writing.cancel()
