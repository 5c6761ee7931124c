"""OpenMemory's MCP over SSE, the streams: `GET /mcp/<client>/sse/<user_id>` held open by this process's event
loop, in front of the rest of the ASGI stack (mem0server/asgi_stack.py).

The GET first goes through Django like any request (authentication, the request log, CORS, its 4xx answers):
views.SseOpenView opens a session and answers 200 with its id in STREAM_SESSION, which this layer takes out and
turns into the stream. A stream then costs a coroutine and a socket, not one of the threads Django runs views in,
and at most MCP_SSE_STREAMS of them are open per process. It sends the `endpoint` event (where to POST requests,
as the MCP SDK's SSE transport does), then each answer queued for the session (mcp_server/sse.py) as a `message`
event, as soon as the NOTIFY naming the session reaches this process's listener (mem0server/listening.py), and a
comment line every KEEPALIVE_SECONDS (proxies close idle connections). Without a listening connection it looks for
answers each second. Each of those reads also checks the credential the stream was opened with (sse.answers_take):
one that no longer authenticates ends the stream. The session closes with the stream: the client going, its
credential revoked, or the server stopping (SIGTERM ends every stream at once rather than holding the graceful
shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from functools import partial
from urllib.parse import quote

from django.conf import settings
from django.db import DatabaseError

from mcp_server import over_limit, sse
from mem0server.listening import LISTENER

STREAM_PATH = re.compile(r"/mcp/[^/]+/sse/[^/]+/?")
# Set on the GET by this layer (a client's own is removed from every request), so the view knows a stream can
# follow its answer; and the view's answer naming the session.
STREAM_MARK = b"x-mem0-sse-stream"
STREAM_SESSION = b"x-mem0-sse-session"
KEEPALIVE_SECONDS = 15.0
# A client that takes nothing of what is sent for this long (its socket's buffers full) has stopped reading: the
# stream ends rather than hold its place among MCP_SSE_STREAMS for as long as the connection lasts.
SEND_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 1.0  # while the listener has no connection
SEEN_EVERY_SECONDS = sse.SEEN_EVERY.total_seconds()
_DROPPED = {b"content-length", b"content-type", STREAM_SESSION}
# Headers only the layers in front of Django set: a client's own are removed.
_SET_HERE = {STREAM_MARK, over_limit.SIZE_HEADER}

_open: list[SseStreams] = []


def close_all() -> None:
    """End every stream of this process (the worker's SIGTERM; runs on the event loop)."""
    for streams in _open:
        streams.close()


def _route_path(scope) -> str:
    """The path Django routes: without the root path the request's path starts with (the ASGI spec's, and uvicorn's
    with --root-path), as WSGIBridge's environ (a2wsgi) has PATH_INFO."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _event(name: str, data: str) -> bytes:
    return f"event: {name}\r\ndata: {data}\r\n\r\n".encode()


class SseStreams:
    def __init__(self, app, *, run_blocking) -> None:
        self.app = app
        self.run_blocking = run_blocking
        self.waiting: dict[str, asyncio.Event] = {}
        self.opening = 0  # GETs of the stream URL in Django (authenticated, their session opened)
        self.closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        LISTENER.subscribe(sse.CHANNEL, self._notified)
        _open.append(self)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = [(name, value) for name, value in scope["headers"] if name.lower() not in _SET_HERE]
        if scope["method"] != "GET" or not STREAM_PATH.fullmatch(_route_path(scope)):
            await self.app({**scope, "headers": headers}, receive, send)
            return
        # Those still being opened count too: many arriving at once all pass before any is open.
        if len(self.waiting) + self.opening >= settings.MCP_SSE_STREAMS:
            await _refuse(send)
            return
        answer: list[dict] = []

        async def capture(message) -> None:
            answer.append(message)

        self.opening += 1
        try:
            await self.app({**scope, "headers": [*headers, (STREAM_MARK, b"1")]}, receive, capture)
        finally:
            self.opening -= 1  # _stream counts it in `waiting` before it first waits
        start = answer[0] if answer else None
        session = dict(start["headers"]).get(STREAM_SESSION) if start and start["status"] == 200 else None
        if session is None:
            for message in answer:
                await send(message)
            return
        await self._stream(scope, receive, send, start, uuid.UUID(session.decode()))

    def close(self) -> None:
        self.closing = True
        for event in list(self.waiting.values()):
            event.set()

    def _notified(self, payload: str | None) -> None:
        """From the listener's thread: wake the stream of the session named, or every stream (None)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        events = list(self.waiting.values()) if payload is None else [self.waiting.get(payload)]
        for event in events:
            if event is not None:
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile (the worker stopping)
                    loop.call_soon_threadsafe(event.set)

    async def _stream(self, scope, receive, send, start, session_id: uuid.UUID) -> None:
        self._loop = asyncio.get_running_loop()
        key, woken = str(session_id), asyncio.Event()
        self.waiting[key] = woken
        headers = [(name, value) for name, value in start["headers"] if name.lower() not in _DROPPED]
        headers += [
            (b"content-type", b"text/event-stream"),
            (b"cache-control", b"no-store"),
            (b"x-accel-buffering", b"no"),  # nginx: send each event as it comes
        ]
        # Under the root path the client sees (quoted and without a final slash, as the MCP SDK's server says it).
        endpoint = f"{quote(scope.get('root_path', '').rstrip('/'))}/mcp/messages/?session_id={session_id.hex}"
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            await self.run_blocking(LISTENER.ensure_started)
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": _event("endpoint", endpoint), "more_body": True})
            loop, last_seen = asyncio.get_running_loop(), 0.0
            while not self.closing:
                wait = KEEPALIVE_SECONDS if LISTENER.listening.is_set() else POLL_SECONDS
                wake = asyncio.ensure_future(woken.wait())
                done, _ = await asyncio.wait({wake, gone}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                wake.cancel()
                if gone in done or self.closing:
                    break
                woken.clear()
                seen = loop.time() - last_seen >= SEEN_EVERY_SECONDS
                body = await self._answers(session_id, seen=seen)
                if body is None:
                    break
                last_seen = loop.time() if seen else last_seen
                if body or wake not in done:  # answers, or a keepalive comment after a quiet while
                    body = body or b": keepalive\r\n\r\n"
                    message = {"type": "http.response.body", "body": body, "more_body": True}
                    await asyncio.wait_for(send(message), SEND_TIMEOUT_SECONDS)
            if not gone.done():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # TimeoutError included
            pass  # the client went while we wrote, or stopped reading: the server closes the connection
        finally:
            gone.cancel()
            self.waiting.pop(key, None)
            with contextlib.suppress(DatabaseError):  # else pruned once stale (sse.STALE_AFTER)
                await self.run_blocking(sse.session_close, session_id)

    async def _answers(self, session_id: uuid.UUID, *, seen: bool) -> bytes | None:
        """Every answer queued for the session, as events; None once the session is gone."""
        chunks: list[bytes] = []
        while True:
            try:
                taken = await self.run_blocking(partial(sse.answers_take, session_id, seen=seen))
            except DatabaseError:
                return b"".join(chunks)  # the database is away: the next wake-up tries again
            if taken is None:
                return None
            chunks += [_event("message", body) for body in taken]
            if len(taken) < sse.TAKE_AT_ONCE:
                return b"".join(chunks)
            seen = False


async def _disconnected(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _refuse(send) -> None:
    detail = (
        f"Too many MCP SSE streams are open on this server process (MCP_SSE_STREAMS={settings.MCP_SSE_STREAMS}); "
        "close one, connect to the Streamable HTTP URL (/mcp/<client>/http/<user_id>) instead, or raise the setting."
    )
    body = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", uuid.uuid4().hex.encode()),
        (b"retry-after", b"5"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
