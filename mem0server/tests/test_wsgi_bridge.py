"""WSGIBridge (mem0server/wsgi_bridge.py): Django's WSGI application behind gunicorn's asyncio worker, driven with
ASGI messages as the worker sends them. Over the wire, on a real gunicorn, test_faults.py covers the rest."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from mem0server import wsgi_bridge
from mem0server.wsgi_bridge import WSGIBridge


def http_scope(method: str, path: str, *headers: tuple[bytes, bytes]) -> dict:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }


def run(app, scope, body: bytes = b"") -> list[dict]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


@pytest.mark.django_db
def test_a_django_answer_goes_out_whole_with_its_status_and_headers(settings):
    from django.core.wsgi import get_wsgi_application

    settings.ADMIN_API_KEY = "bridge-admin-key-0123456789"
    # Django answers on the bridge's own threads, whose database connections are outside this test's
    # transaction: a request-log row written there would stay for the tests after it.
    settings.REQUEST_LOG_ENABLED = False
    bridge = WSGIBridge(get_wsgi_application(), workers=2)
    body = json.dumps({"query": "tea"}).encode()
    scope = http_scope(
        "POST",
        "/search",
        (b"x-api-key", b"bridge-admin-key-0123456789"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    )
    start, answer = run(bridge, scope, body)
    assert start["type"] == "http.response.start"
    assert start["status"] == 400
    headers = dict(start["headers"])
    assert headers[b"content-type"] == b"application/json"
    assert len(headers[b"x-request-id"]) == 32
    assert answer == {"type": "http.response.body", "body": answer["body"]}
    # Django read the body the bridge handed it: the query is there, the scope is what is missing.
    assert json.loads(answer["body"])["detail"].startswith("Invalid request: Search needs a scope: give user_id")


def test_a_streaming_answer_goes_out_chunk_by_chunk_while_it_is_produced():
    produced_second = threading.Event()
    seen_before_second: list[int] = []

    class Streaming:
        streaming = True
        closed = False

        def __iter__(self):
            yield b"first,"
            produced_second.set()
            yield b"second"

        def close(self):
            Streaming.closed = True

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/csv")])
        return Streaming()

    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message.get("body") == b"first,":
            seen_before_second.append(produced_second.is_set())
        sent.append(message)

    asyncio.run(WSGIBridge(app, workers=1)(http_scope("GET", "/export"), receive, send))
    assert [m["type"] for m in sent] == ["http.response.start", *["http.response.body"] * 3]
    assert [m.get("body") for m in sent[1:]] == [b"first,", b"second", b""]
    assert seen_before_second == [False]  # the first chunk left before the second existed
    assert Streaming.closed


def test_lifespan_is_acknowledged():
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict] = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    asyncio.run(WSGIBridge(lambda environ, start_response: [], workers=1)({"type": "lifespan"}, receive, send))
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


def stalled_download(*, client_leaves: bool) -> tuple[bool, list[dict]]:
    """A one-thread bridge streams a large download to a client that reads nothing after the first chunk, then
    (client_leaves) loses its connection, as gunicorn tells it by cancelling the request's task, or stays connected.
    Meanwhile another request comes. Whether the download's answer was closed, and what that request was sent."""
    closed = threading.Event()
    blocked = asyncio.Event()

    class Download:
        streaming = True

        def __iter__(self):
            yield from (b"x" * 8192 for _ in range(1000))

        def close(self):
            closed.set()

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/health":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return Download()

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def stalled_send(message):
        if message["type"] == "http.response.body":
            blocked.set()
            await asyncio.Event().wait()  # the client reads nothing more

    answered: list[dict] = []

    async def send(message):
        answered.append(message)

    async def scenario():
        bridge = WSGIBridge(app, workers=1)
        download = asyncio.ensure_future(bridge(http_scope("GET", "/big"), receive, stalled_send))
        await blocked.wait()
        if client_leaves:
            download.cancel()  # what gunicorn does once the connection is lost
            with pytest.raises(asyncio.CancelledError):
                await download
        # The bridge's one thread is free again: another request is answered.
        await asyncio.wait_for(bridge(http_scope("GET", "/health"), receive, send), 30)
        if not client_leaves:
            await asyncio.wait_for(download, 30)  # ended without the rest: gunicorn closes the connection

    asyncio.run(scenario())
    return closed.is_set(), answered


def test_a_streaming_answer_whose_client_left_gives_its_thread_back():
    """gunicorn never completes a write that waits for a client to read once that client's connection is lost; it
    cancels the request's task instead. The thread streaming the answer stopped waiting on that write then: before,
    it waited forever, and each client that left a large download (a static file, a backup) midway took one of
    the worker's GUNICORN_THREADS threads for good."""
    closed, answered = stalled_download(client_leaves=True)
    assert closed
    assert [m.get("body") for m in answered] == [None, b"ok"]


def test_a_streaming_answer_whose_client_reads_nothing_gives_its_thread_back(monkeypatch):
    """A client that keeps its connection but takes nothing of a streaming answer (a static file, a backup): once
    the socket's buffers are full the thread streaming it waited for as long as the connection lasted, and a few
    such clients took every thread of the worker. After SEND_TIMEOUT_SECONDS without a write taken, the thread stops
    (the connection closes) and serves the next request."""
    monkeypatch.setattr(wsgi_bridge, "SEND_TIMEOUT_SECONDS", 0.5)
    closed, answered = stalled_download(client_leaves=False)
    assert closed
    assert [m.get("body") for m in answered] == [None, b"ok"]
