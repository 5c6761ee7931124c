"""Whole requests for Django: an ASGI wrapper that reads each body first and bounds how many run at once.

Used by mem0server/asgi.py (gunicorn's asyncio worker). A client that sends its request slowly then costs a
waiting coroutine and a socket, never one of the threads Django runs views in.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import uuid
from collections.abc import Mapping

from django.conf import settings
from django.db import DatabaseError, connections

from mcp_server import over_limit
from mem0server import uploads
from mem0server.turns import caller_turn

# Bodies over MAX_REQUEST_BYTES (a logged-in account's Import page upload, up to IMPORT_MAX_BYTES) read at once by one
# worker: another waits for its turn before more of it is read, so a member sending many holds one in memory, not
# each of them.
LARGE_BODIES_AT_ONCE = 1
# A body over its limit is read through (and thrown away) for its client to read the 413, up to this many times
# MAX_REQUEST_BYTES; a larger one gets the 413 at once, the connection closed.
READ_THROUGH_TIMES = 16


def app_concurrency(environ: Mapping[str, str] | None = None) -> int:
    """Requests a worker runs in the application at once: GUNICORN_THREADS of `environ` (this process's environment
    unless given: a test reads the one it started a server with)."""
    # gunicorn.conf.py has validated it already; the same default.
    raw = (os.environ if environ is None else environ).get("GUNICORN_THREADS", "").strip()
    return max(1, int(raw)) if raw.isdigit() else 8


class BufferedApp:
    """Reads each HTTP request's body in full (bounded by MAX_REQUEST_BYTES, or IMPORT_MAX_BYTES for a file a
    logged-in account sends to the Import page: mem0server.uploads) before the application sees it, and runs at
    most `concurrency` requests in the application at once (each until its answer starts), and one such larger body
    at a time (LARGE_BODIES_AT_ONCE). `run_blocking` runs the session check that allows a larger body (a database
    read) off the event loop: WSGIBridge.run_blocking, on the threads requests use."""

    def __init__(self, app, *, concurrency: int, run_blocking=None) -> None:
        self.app = app
        self.concurrency = concurrency
        self.run_blocking = run_blocking or _in_a_thread
        self._slots = FairTurns(concurrency)
        # Made in the worker's event loop, on first use.
        self._large: asyncio.Semaphore | None = None

    def _large_turn(self) -> asyncio.Semaphore:
        if self._large is None:
            self._large = asyncio.Semaphore(LARGE_BODIES_AT_ONCE)
        return self._large

    async def _limit_beyond(self, scope) -> int:
        """The body limit once a body is past MAX_REQUEST_BYTES: larger only where mem0server.uploads allows it."""
        method, path = scope.get("method", ""), scope.get("path", "")
        if not uploads.takes_large_uploads(method, path):
            return settings.MAX_REQUEST_BYTES
        cookies = b"; ".join(value for name, value in scope.get("headers", ()) if name.lower() == b"cookie")
        try:
            return await self.run_blocking(uploads.body_limit, method, path, cookies.decode("latin-1"))
        except DatabaseError:
            return settings.MAX_REQUEST_BYTES  # no session can be read: not allowed more

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with contextlib.AsyncExitStack() as large:  # held, for a larger body, until the application is done
            await self._buffered(scope, receive, send, large)

    async def _buffered(self, scope, receive, send, large: contextlib.AsyncExitStack) -> None:
        limit = settings.MAX_REQUEST_BYTES
        declared = _content_length(scope)
        over = False
        if declared is not None and declared > limit:
            limit = await self._limit_beyond(scope)
            over = declared > limit
            if not over:
                await large.enter_async_context(self._large_turn())  # before a byte of it is read
        chunks: list[bytes] = []
        size, asked, more = 0, limit > settings.MAX_REQUEST_BYTES, True
        while more and not over:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before its request was complete: nothing to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            if size > limit and not asked:
                limit, asked = await self._limit_beyond(scope), True
                if limit > settings.MAX_REQUEST_BYTES:
                    await large.enter_async_context(self._large_turn())
            over = size > limit
            chunks.append(chunk)
        if over:
            head = b"".join(chunks)[: over_limit.HEAD_BYTES]
            chunks.clear()
            stand_in = await _over_limit(scope, receive, send, limit, head, size, more)
            if stand_in is None:
                return
            scope, body = stand_in
        else:
            body = b"".join(chunks)
        if declared is None and not over:
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

        slots = self._slots
        await slots.acquire(_caller(scope))
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                slots.release()

        async def answer(message):
            # The answer is made once it starts (a whole one; the bridge's threads bound streaming ones): waiting
            # for the client to read it takes no place. A client that read nothing of a large answer held its
            # place for as long as it kept the connection, and GUNICORN_THREADS such clients stopped the worker.
            if message["type"] == "http.response.start":
                release()
            await send(message)

        try:
            await self.app(scope, replay, answer)
        finally:
            release()


class FairTurns:
    """At most `size` holders at once; those waiting are let in by turns, one per caller in round robin, rather than
    first come first served: one client sending many requests at once (a bulk import, a busy agent) no longer keeps
    another's single request waiting behind all of its own."""

    def __init__(self, size: int) -> None:
        self.free = size
        self.waiting: collections.OrderedDict[bytes, collections.deque[asyncio.Future]] = collections.OrderedDict()

    async def acquire(self, caller: bytes) -> None:
        if self.free and not self.waiting:
            self.free -= 1
            return
        turn = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(caller, collections.deque()).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # given a place as it was cancelled: the next caller's
            else:
                queue = self.waiting.get(caller)
                if queue is not None and turn in queue:
                    queue.remove(turn)
                    if not queue:
                        del self.waiting[caller]
            raise

    def release(self) -> None:
        while self.waiting:
            caller, queue = next(iter(self.waiting.items()))
            turn = queue.popleft()
            if queue:
                self.waiting.move_to_end(caller)  # its next request waits for every other caller's turn
            else:
                del self.waiting[caller]
            if not turn.done():
                turn.set_result(None)
                return
        self.free += 1


def _caller(scope) -> bytes:
    """Who sends a request, as far as the event loop can tell without the database (mem0server/turns.py): a credential
    that has authenticated, else its address (behind TRUSTED_PROXIES, the one they forward)."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope.get("headers", ()):
        name = name.lower()
        headers[name] = headers[name] + b"," + value if name in headers else value  # as Django joins them
    forwarded = headers.get(b"x-forwarded-for")
    if settings.TRUSTED_PROXIES and forwarded:  # as the rate limits read it (DRF's NUM_PROXIES)
        addresses = forwarded.split(b",")
        address = addresses[-min(settings.TRUSTED_PROXIES, len(addresses))].strip()
    else:
        address = str((scope.get("client") or ("", 0))[0]).encode()
    return caller_turn(headers, address)


async def _in_a_thread(function, *args):
    """run_blocking without a bridge (tests): on asyncio's threads, each one's database connection given back after,
    where it stayed checked out of the pool for as long as the thread lived."""

    def run():
        try:
            return function(*args)
        finally:
            connections.close_all()

    return await asyncio.to_thread(run)


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _over_limit(scope, receive, send, limit: int, head: bytes, size: int, more: bool):
    """A body over `limit`, `size` bytes of it read (`head` the start of them), `more` to come: the rest read and
    thrown away, so that the client, which reads no answer before it has sent its request, reads the 413 rather than
    a connection reset (one over READ_THROUGH_TIMES x MAX_REQUEST_BYTES is not read: the 413 at once, the connection
    closed). For a message to an MCP SSE session, whose client drops its session on a 413, the stand-in Django
    answers with a JSON-RPC error on the stream (mcp_server/over_limit.py): its scope and body. None once answered."""
    path = scope.get("path", "")
    declared = _content_length(scope)
    most = READ_THROUGH_TIMES * settings.MAX_REQUEST_BYTES
    keep = over_limit.HEAD_BYTES if over_limit.answered_on_a_stream(scope.get("method", ""), path) else 0
    head = head[:keep]
    while more and (declared or size) <= most:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None  # the client left before its request was complete: nothing to answer
        chunk = message.get("body", b"")
        size += len(chunk)
        more = message.get("more_body", False)
        if len(head) < keep:
            head += chunk[: keep - len(head)]
    request = over_limit.stand_in(head) if keep and not more else None
    if request is not None:
        body = json.dumps(request).encode()
        headers = [(name, value) for name, value in scope["headers"] if name.lower() != b"content-length"]
        headers += [(b"content-length", str(len(body)).encode()), (over_limit.SIZE_HEADER, str(size).encode())]
        return {**scope, "headers": headers}, body
    await _too_large(send, path, limit)
    return None


async def _too_large(send, path: str, limit: int) -> None:
    from mem0server.exceptions import body_too_large_answer  # Django is set up by the time a request arrives

    content_type, body = body_too_large_answer(path, limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", uuid.uuid4().hex.encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
