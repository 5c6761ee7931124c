"""Django's WSGI application as an ASGI application, run on a fixed pool of threads (mem0server/asgi.py).

a2wsgi's WSGIMiddleware, which did this before, hands every piece of a response to the event loop and waits
for it there: the status and headers, the body, then the end of the body, three round trips between two
threads per request, each a wake-up on both sides. Django answers nearly every request with one whole body,
so here the thread returns the response once and the event loop sends it: an API error (404) over HTTP took
2.9 ms before and 1.9 ms this way (0.6 ms in-process). A streaming response (a file: a static asset, a
backup) is handed back to the event loop too, which reads it a chunk at a time on the pool's threads and sends
each chunk while no thread waits: a client that reads slowly, or nothing, holds a coroutine and a socket, until
it leaves or takes nothing for SEND_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import io
import itertools
from concurrent.futures import ThreadPoolExecutor

from a2wsgi.wsgi import build_environ
from django.db import close_old_connections

# A streaming answer's client that takes nothing of it for this long (its socket's buffers full) has stopped reading:
# the answer ends, its file is closed, rather than wait for as long as the connection lasts, and the connection closes.
SEND_TIMEOUT_SECONDS = 60.0
# A file's answer is read this much at a time (Django reads 4 KiB): each read is a trip to a pool thread and back.
FILE_CHUNK_BYTES = 64 * 1024


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
        environ["wsgi.file_wrapper"] = _FileWrapper  # Django answers a FileResponse with it
        responding = self.executor.submit(contextvars.copy_context().run, self._respond, environ)
        try:
            start, body = await asyncio.wrap_future(responding)
        except asyncio.CancelledError:
            # The client left while Django answered (gunicorn cancels the request's task a few seconds after the
            # connection is lost): a streaming answer it made is closed unsent.
            responding.add_done_callback(_close_unsent)
            raise
        if isinstance(body, _Streamed) and scope["method"] == "HEAD":
            # No body goes out (gunicorn drops a HEAD answer's): the file (a backup Django made for a HEAD as for a
            # GET) is closed unread rather than read to its end for nothing.
            body.close()
            await send(start)
            await send({"type": "http.response.body", "body": b""})
        elif isinstance(body, _Streamed):
            await self._stream(start, body, send, receive)
        else:
            await send(start)
            await send({"type": "http.response.body", "body": body})

    def _respond(self, environ):
        """Runs the application (on a pool thread): (start message, whole body), or (start message, the streaming
        response) for the event loop to pull from."""
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
        if isinstance(iterable, _FileWrapper) or getattr(iterable, "streaming", False):
            # The view is done with the database; the rest is read from the response (a file) as it goes out.
            close_old_connections()
            return started["message"], _Streamed(iterable, written)
        try:
            return started["message"], b"".join([*written, *iterable])  # Django's HttpResponse: one whole body
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()  # Django's request_finished: the thread's database connection goes back to the pool

    async def _stream(self, start: dict, streamed: _Streamed, send, receive) -> None:
        """Send a streaming answer chunk by chunk, each read on a pool thread that goes back to the pool while the
        client takes it: a client that reads slowly, or nothing, holds no thread. It ends unfinished (the connection
        closes) once the client has left (its http.disconnect, or gunicorn cancels the request's task) or has taken
        nothing for SEND_TIMEOUT_SECONDS."""
        # gunicorn's send() drops what it is given once the client has gone, without a word: watched for, or a
        # download the client left would be read to its end, on the pool's threads, for nobody.
        left = asyncio.ensure_future(receive())  # the body was read: what comes next is http.disconnect
        reading = None
        try:
            await send(start)
            while not _disconnected(left):
                reading = self.executor.submit(streamed.next_chunk)
                chunk = await asyncio.wrap_future(reading)
                if chunk is None:
                    await send({"type": "http.response.body", "body": b""})
                    break
                async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except TimeoutError:
            pass  # the client stopped reading
        finally:
            if not left.cancel():  # over already: its outcome (an error) taken, not logged as never retrieved
                _disconnected(left)
            if reading is None:
                streamed.close()
            else:  # once the read under way, if any (a cancellation does not stop it), is over
                reading.add_done_callback(lambda _: streamed.close())


def _disconnected(left: asyncio.Future) -> bool:
    """Whether the watch on the client (its receive() after the body) has seen it leave."""
    if not left.done() or left.cancelled():
        return False
    return left.exception() is None and left.result().get("type") == "http.disconnect"


def _close_unsent(responding: concurrent.futures.Future) -> None:
    if not responding.cancelled() and responding.exception() is None:
        _, body = responding.result()
        if isinstance(body, _Streamed):
            body.close()


class _FileWrapper:
    """WSGI's wsgi.file_wrapper: a file answer (a static asset, a backup), read FILE_CHUNK_BYTES at a time. Django
    hands it the response's file, whose close() closes the response."""

    def __init__(self, filelike, block_size: int = FILE_CHUNK_BYTES) -> None:
        self.filelike = filelike

    def __iter__(self):
        return iter(lambda: self.filelike.read(FILE_CHUNK_BYTES), b"")

    def close(self) -> None:
        self.filelike.close()


class _Streamed:
    """A streaming response (a file: a static asset, a backup) as the event loop reads it, one chunk at a time."""

    def __init__(self, iterable, written: list[bytes]) -> None:
        self.iterable = iterable
        self.chunks = itertools.chain(written, iterable)

    def next_chunk(self) -> bytes | None:
        for chunk in self.chunks:
            if chunk:
                return chunk
        return None

    def close(self) -> None:
        close = getattr(self.iterable, "close", None)
        if close is not None:
            close()  # Django's request_finished, and the file closed
