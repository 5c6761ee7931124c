"""WSGIBridge (mem0server/wsgi_bridge.py): Django's WSGI application behind gunicorn's asyncio worker, driven with
ASGI messages as the worker sends them. Over the wire, on a real gunicorn, test_faults.py covers the rest."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

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


@pytest.mark.django_db
def test_a_static_file_goes_out_whole_and_in_ranges(settings):
    """A static file (WhiteNoise's FileResponse) is read FILE_CHUNK_BYTES at a time through wsgi.file_wrapper, where
    Django read 4 KiB a time: a 3.9 MB download took 58 ms over HTTP, each chunk a trip to a thread and back, and 16
    ms so (bench/slow_clients.py's set-up). Its bytes are the file's, whole or in the range asked for."""
    from django.contrib.staticfiles import finders
    from django.core.wsgi import get_wsgi_application

    settings.REQUEST_LOG_ENABLED = False
    path = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js.map"
    expected = Path(finders.find(path)).read_bytes()
    bridge = WSGIBridge(get_wsgi_application(), workers=1)

    whole = run(bridge, http_scope("GET", f"/static/{path}"))
    assert whole[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in whole[1:]) == expected
    assert max(len(m.get("body", b"")) for m in whole[1:]) == wsgi_bridge.FILE_CHUNK_BYTES
    assert whole[-1] == {"type": "http.response.body", "body": b""}

    ranged = run(bridge, http_scope("GET", f"/static/{path}", (b"range", b"bytes=70000-70009")))
    assert ranged[0]["status"] == 206
    assert b"".join(m.get("body", b"") for m in ranged[1:]) == expected[70000:70010]


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
    """A one-thread bridge streams a large download to a client that reads nothing after the first chunk. Meanwhile
    another request comes. Then the client loses its connection (client_leaves), as gunicorn tells it by cancelling
    the request's task, or stays connected. Whether the download's answer was closed, and what the other request was
    sent."""
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
        # The bridge's one thread answers another request while the download waits for its client.
        await asyncio.wait_for(bridge(http_scope("GET", "/health"), receive, send), 30)
        if client_leaves:
            download.cancel()  # what gunicorn does once the connection is lost
            with pytest.raises(asyncio.CancelledError):
                await download
        else:
            await asyncio.wait_for(download, 30)  # ended without the rest: gunicorn closes the connection

    asyncio.run(scenario())
    return closed.wait(30), answered


def test_a_streaming_answer_whose_client_reads_nothing_holds_no_thread():
    """A client that takes nothing of a streaming answer (a static file, a backup; anyone, logged in or not): the
    thread streaming it waited on each write, for up to SEND_TIMEOUT_SECONDS, so GUNICORN_THREADS such clients,
    reopened each minute, held every thread of the worker. The answer is now read a chunk at a time by threads that
    go back to the pool between chunks: another request is answered while the download waits, and the download's
    file is closed once its client leaves."""
    closed, answered = stalled_download(client_leaves=True)
    assert [m.get("body") for m in answered] == [None, b"ok"]
    assert closed


def test_a_streaming_answer_whose_client_takes_nothing_for_long_ends(monkeypatch):
    """A client that keeps its connection but takes nothing for SEND_TIMEOUT_SECONDS loses the answer (the connection
    closes), and its file is closed, rather than held for as long as the connection lasts."""
    monkeypatch.setattr(wsgi_bridge, "SEND_TIMEOUT_SECONDS", 0.5)
    closed, answered = stalled_download(client_leaves=False)
    assert [m.get("body") for m in answered] == [None, b"ok"]
    assert closed


def test_a_streaming_answer_whose_client_left_before_it_was_made_is_closed():
    """The client left while the view ran (gunicorn cancels the request's task): the streaming answer the view made
    (an open file) is closed, not left to the garbage collector."""
    running, closed, release = threading.Event(), threading.Event(), threading.Event()

    class Download:
        streaming = True

        def __iter__(self):
            yield b"never sent"

        def close(self):
            closed.set()

    def app(environ, start_response):
        running.set()
        release.wait(30)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return Download()

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def scenario():
        download = asyncio.ensure_future(WSGIBridge(app, workers=1)(http_scope("GET", "/big"), receive, send))
        assert await asyncio.to_thread(running.wait, 30)
        download.cancel()
        with pytest.raises(asyncio.CancelledError):
            await download
        release.set()

    asyncio.run(scenario())
    assert closed.wait(30)
    assert sent == []


def test_a_streaming_answer_whose_client_left_is_not_read_further():
    """gunicorn's send() drops what it is given once the connection is lost, without an error, and cancels the
    request's task only seconds later: a download whose client left was read to its end for nobody (the 3.9 MB ReDoc
    source map: 117 MB read from disk for 30 downloads each left after 10 KB). Its http.disconnect now ends it: the
    rest of the file is not read, and the file is closed."""
    chunks, closed = 1000, threading.Event()
    produced: list[int] = []

    class Download:
        streaming = True

        def __iter__(self):
            for i in range(chunks):
                produced.append(i)
                yield b"x" * 8192

        def close(self):
            closed.set()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return Download()

    async def scenario():
        first_sent = asyncio.Event()
        requested = False

        async def receive():
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await first_sent.wait()  # the client leaves once the first chunk is on its way
            return {"type": "http.disconnect"}

        async def send(message):  # as gunicorn's once the client has gone: takes everything, says nothing
            if message.get("body"):
                first_sent.set()

        await asyncio.wait_for(WSGIBridge(app, workers=1)(http_scope("GET", "/big"), receive, send), 30)

    asyncio.run(scenario())
    assert closed.wait(30)
    assert len(produced) < chunks


def test_a_streaming_answer_to_head_is_not_read():
    """A HEAD of the dashboard's backup download (Django runs the GET view for it): the bridge read the whole file
    (7.2 MB for 40 memories of 90,000 characters) to send a body gunicorn drops. It is now closed unread; the
    headers (its Content-Length) go out as for a GET."""
    read, closed = [], threading.Event()

    class Download:
        streaming = True

        def __iter__(self):
            read.append(True)
            yield b"x" * 8192

        def close(self):
            closed.set()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/x-ndjson"), ("Content-Length", "8192")])
        return Download()

    sent = run(WSGIBridge(app, workers=1), http_scope("HEAD", "/dashboard/exports/backup/"))
    assert sent[0]["status"] == 200
    assert (b"content-length", b"8192") in sent[0]["headers"]
    assert sent[1:] == [{"type": "http.response.body", "body": b""}]
    assert read == []
    assert closed.is_set()
