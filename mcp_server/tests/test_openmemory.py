"""OpenMemory's MCP clients (mcp_server/openmemory.py): its SSE URL (mcp_server/streams.py) with the official `mcp`
client's SSE transport, and its Streamable HTTP URL.

An SSE stream is held by the ASGI layer in front of Django, which pytest-django's live_server (WSGI) does not
have: `asgi_server` serves the whole stack gunicorn serves (mem0server/asgi_stack.py) with uvicorn in a thread,
on the test database. The stream's keepalive and poll are set far beyond the client's read timeout, so an answer
reaches the client only through the NOTIFY its POST sends (mem0server/listening.py), as it must when another
server process holds the stream.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import threading
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from django.core.wsgi import get_wsgi_application
from django.db import connection, transaction
from django.utils import timezone
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from rest_framework.test import APIClient

from accounts.services import tokens_issue, user_credentials_revoke
from apikeys.services import apikey_create, apikey_revoke
from mcp_server import sse, streams, views
from mcp_server.models import SseMessage, SseSession
from mem0server.asgi_stack import asgi_application
from mem0server.tests.server_process import wait_for
from memories.models import Memory
from oauth.models import OAuthGrant
from oauth.services import grant_revoke
from oauth.tests.test_mcp_client_oauth import MemoryStorage, Person, provider_for
from oauth.tests.test_protocol import MCP, code_form, register, token
from platform_api.tests.node_sdk import run_client_check
from requestlog.models import RequestLog

pytestmark = pytest.mark.django_db(transaction=True)

OPENMEMORY_TOOLS = {"add_memories", "search_memory", "list_memories", "delete_memories", "delete_all_memories"}
JS = Path(__file__).resolve().parents[2] / "platform_api" / "tests" / "js"
READ_TIMEOUT = 60.0  # seconds the client waits for an event: a lost answer fails the test after this


class AsgiServer:
    """uvicorn serving `app` on a free port, in a thread with its own event loop."""

    def __init__(self, app, **config) -> None:
        config = {"host": "127.0.0.1", "port": 0, "lifespan": "off", "log_level": "warning", **config}
        self.server = uvicorn.Server(uvicorn.Config(app, **config))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> AsgiServer:
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=60, what="uvicorn started")
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    def on_loop(self, function) -> None:
        """Run `function` on the server's event loop, as a signal handler of the worker would."""
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self.loop).result(10)
        self.loop.call_soon_threadsafe(function)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self.server.servers[0].get_loop()


@pytest.fixture
def asgi_server(admin_key, embedder, monkeypatch):
    monkeypatch.setattr(streams, "KEEPALIVE_SECONDS", 600.0)
    monkeypatch.setattr(streams, "POLL_SECONDS", 600.0)
    with AsgiServer(asgi_application(get_wsgi_application())) as server:
        yield server


@pytest.fixture
def ada_key(make_user) -> str:
    return apikey_create(user=make_user("ada@example.com", role="admin"), label="openmemory")[1]


@pytest.fixture
def bob_key(make_user) -> str:
    return apikey_create(user=make_user("bob@example.com"), label="openmemory")[1]


@asynccontextmanager
async def sse_session(url: str, key: str):
    async with (
        sse_client(url, headers={"X-API-Key": key}, timeout=30, sse_read_timeout=READ_TIMEOUT) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@asynccontextmanager
async def http_session(url: str, key: str):
    async with (
        httpx2.AsyncClient(headers={"X-API-Key": key}, timeout=READ_TIMEOUT) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def text_of(session: ClientSession, name: str, **arguments) -> tuple[bool, str]:
    result = await session.call_tool(name, arguments)
    return bool(result.is_error), result.content[0].text


def test_an_openmemory_sse_client_adds_finds_lists_and_deletes_memories_of_the_urls_user(asgi_server, ada_key):
    url = asgi_server.url + "/mcp/cursor/sse/alice"

    async def script():
        async with sse_session(url, ada_key) as session:
            out = {"init": session.initialize_result, "tools": (await session.list_tools()).tools}
            out["add"] = await text_of(session, "add_memories", text="I love hiking in the Alps", infer=False)
            await text_of(session, "add_memories", text="My sister is called Jane", infer=False)
            out["search"] = await text_of(session, "search_memory", query="Where do I like to hike?")
            out["list"] = await text_of(session, "list_memories")
            out["open"] = await asyncio.to_thread(SseSession.objects.count)
            memory_id = json.loads(out["add"][1])["results"][0]["id"]
            out["delete"] = await text_of(session, "delete_memories", memory_ids=[memory_id])
            out["delete_again"] = await text_of(session, "delete_memories", memory_ids=[memory_id])
            out["delete_bad"] = await text_of(session, "delete_memories", memory_ids=["not-an-id"])
            out["delete_all"] = await text_of(session, "delete_all_memories")
            return out

    out = anyio.run(script)
    assert out["init"].instructions.startswith("Long-term memory of user alice")
    assert {tool.name for tool in out["tools"]} == OPENMEMORY_TOOLS
    added = json.loads(out["add"][1])["results"]
    assert [(r["memory"], r["event"]) for r in added] == [("I love hiking in the Alps", "ADD")]
    found = json.loads(out["search"][1])["results"]
    assert found[0]["memory"] == "I love hiking in the Alps"
    assert set(found[0]) == {"id", "memory", "hash", "created_at", "updated_at", "score"}
    listed = json.loads(out["list"][1])
    assert sorted(m["memory"] for m in listed) == ["I love hiking in the Alps", "My sister is called Jane"]
    assert {m["user_id"] for m in listed} == {"alice"}
    assert {json.dumps(m["metadata"], sort_keys=True) for m in listed} == {
        '{"mcp_client": "cursor", "source_app": "openmemory"}'
    }
    assert out["open"] == 1
    assert out["delete"] == (False, "Successfully deleted 1 memories")
    assert out["delete_again"][0] is True and "nothing was deleted" in out["delete_again"][1]
    assert out["delete_bad"][0] is True and "not-an-id" in out["delete_bad"][1]
    assert out["delete_all"] == (False, "Successfully deleted all memories (1 of user 'alice')")
    assert not Memory.objects.exists()
    # The client gone, its session and anything queued for it go too.
    wait_for(lambda: not SseSession.objects.exists(), timeout=60, what="the closed stream's session deleted")
    assert not SseMessage.objects.exists()


def test_clients_share_the_users_memories_over_sse_and_streamable_http(asgi_server, bob_key):
    async def script():
        async with http_session(asgi_server.url + "/mcp/claude/http/bob", bob_key) as session:
            tools = (await session.list_tools()).tools
            added = await text_of(session, "add_memories", text="I drink oolong tea", infer=False)
            delete_all = await text_of(session, "delete_all_memories")
        async with sse_session(asgi_server.url + "/mcp/windsurf/sse/bob/", bob_key) as session:
            found = await text_of(session, "search_memory", query="Which tea do I drink?")
        async with sse_session(asgi_server.url + "/mcp/windsurf/sse/carol", bob_key) as session:
            other = await text_of(session, "search_memory", query="Which tea do I drink?")
        return tools, added, delete_all, found, other

    tools, added, delete_all, found, other = anyio.run(script)
    assert {tool.name for tool in tools} == OPENMEMORY_TOOLS
    assert added[0] is False
    # A member's key deletes memories one by one, as on the REST API (DELETE /memories is an admin's).
    assert delete_all[0] is True and "admin" in delete_all[1]
    memory = Memory.objects.get()
    assert (memory.user_id, memory.metadata["mcp_client"]) == ("bob", "claude")
    assert [r["memory"] for r in json.loads(found[1])["results"]] == ["I drink oolong tea"]
    assert json.loads(other[1]) == {"results": []}


def test_a_stream_needs_credentials_and_a_session_takes_posts_only_from_its_account(asgi_server, ada_key, bob_key):
    stream_url = asgi_server.url + "/mcp/cursor/sse/alice"
    with httpx.Client(timeout=30) as http:
        anonymous = http.get(stream_url, headers={"Accept": "text/event-stream"})
        assert anonymous.status_code == 401
        assert "resource_metadata" in anonymous.headers["WWW-Authenticate"]
        with http.stream("GET", stream_url, headers={"X-API-Key": ada_key}) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"] == "text/event-stream"
            assert "x-mem0-sse-session" not in stream.headers
            lines = stream.iter_lines()
            assert next(lines) == "event: endpoint"
            endpoint = next(lines).removeprefix("data: ")
            assert endpoint.startswith("/mcp/messages/?session_id=")
            ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
            posted = {
                "bob": http.post(asgi_server.url + endpoint, json=ping, headers={"X-API-Key": bob_key}),
                "nobody": http.post(asgi_server.url + endpoint, json=ping),
                "no_session": http.post(asgi_server.url + "/mcp/messages/", json=ping, headers={"X-API-Key": ada_key}),
                "ada": http.post(asgi_server.url + endpoint, json=ping, headers={"X-API-Key": ada_key}),
            }
            assert next(lines) == ""
            assert next(lines) == "event: message"
            assert json.loads(next(lines).removeprefix("data: ")) == {"jsonrpc": "2.0", "id": 1, "result": {}}
    assert posted["bob"].status_code == 404
    assert "No open SSE session of yours" in posted["bob"].json()["error"]["message"]
    assert posted["nobody"].status_code == 401
    assert posted["no_session"].status_code == 400
    assert "session_id is required" in posted["no_session"].json()["error"]["message"]
    assert posted["ada"].status_code == 202


def test_a_stream_past_mcp_sse_streams_is_a_503_that_names_the_setting(asgi_server, ada_key, settings):
    settings.MCP_SSE_STREAMS = 1
    with (
        httpx.Client(timeout=30, headers={"X-API-Key": ada_key}) as http,
        http.stream("GET", asgi_server.url + "/mcp/cursor/sse/alice") as first,
    ):
        lines = first.iter_lines()  # kept: a generator dropped closes the stream
        assert next(lines) == "event: endpoint"
        second = http.get(asgi_server.url + "/mcp/cursor/sse/alice")
    assert second.status_code == 503
    assert "MCP_SSE_STREAMS=1" in second.json()["detail"]
    assert first.status_code == 200


def test_the_servers_sigterm_ends_open_streams_at_once(asgi_server, ada_key):
    with (
        httpx.Client(timeout=READ_TIMEOUT, headers={"X-API-Key": ada_key}) as http,
        http.stream("GET", asgi_server.url + "/mcp/cursor/sse/alice") as stream,
    ):
        lines = stream.iter_lines()
        assert next(lines) == "event: endpoint"
        asgi_server.on_loop(streams.close_all)
        # The stream ends; were it still open, reading on would fail after READ_TIMEOUT (no keepalive comes).
        rest = list(lines)
    assert rest[0].startswith("data: /mcp/messages/?session_id=")
    assert not any(rest[1:])
    wait_for(lambda: not SseSession.objects.exists(), timeout=60, what="the ended stream's session deleted")


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/mcp/cursor/sse/alice", 501, "/mcp/cursor/http/alice"),
        ("/mcp/cursor/sse/" + "a" * 300, 400, "Invalid user id in the URL"),
        ("/mcp/" + "c" * 101 + "/sse/alice", 400, "Invalid client name in the URL"),
    ],
)
def test_what_django_alone_answers_on_the_sse_url(admin_key, embedder, path, status, words):
    """Served by Django without the ASGI layer (manage.py runserver): no stream, and a URL to use instead."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=admin_key)
    response = client.get(path, HTTP_ACCEPT="text/event-stream")
    assert response.status_code == status
    assert words in response.json()["error"]["message"]
    assert not SseSession.objects.exists()


def test_a_head_on_the_sse_url_is_a_405_and_opens_no_session(admin_key, embedder):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=admin_key)
    response = client.head("/mcp/cursor/sse/alice")
    assert response.status_code == 405
    assert "x-mem0-sse-session" not in response.headers
    assert not SseSession.objects.exists()


def test_one_account_holds_at_most_streams_per_account_streams(asgi_server, ada_key, bob_key, monkeypatch):
    monkeypatch.setattr(sse, "STREAMS_PER_ACCOUNT", 1)
    url = asgi_server.url + "/mcp/cursor/sse/alice"
    with (
        httpx.Client(timeout=30) as http,
        http.stream("GET", url, headers={"X-API-Key": ada_key}) as first,
    ):
        lines = first.iter_lines()  # kept: a generator dropped closes the stream
        assert next(lines) == "event: endpoint"
        second = http.get(url, headers={"X-API-Key": ada_key})
        with http.stream("GET", url, headers={"X-API-Key": bob_key}) as others:
            assert next(others.iter_lines()) == "event: endpoint"
    assert second.status_code == 429
    assert "holds 1 SSE streams open already" in second.json()["error"]["message"]


def test_an_openmemory_client_logs_in_with_oauth_over_sse_and_a_read_only_grant_hides_the_writing_tools(
    asgi_server, member, make_memory
):
    """No key, only the SSE URL: the SDK's OAuth client finds the metadata from the stream's 401, the account
    allows it to read only, and the stream then offers only the tools that change nothing."""
    make_memory("I like jasmine tea", user_id="alice", principal=member)
    url = asgi_server.url + "/mcp/cursor/sse/alice"
    person = Person(asgi_server.url, member, read_only=True)
    storage = MemoryStorage()

    async def use():
        async with (
            sse_client(url, auth=provider_for(url, person, storage), timeout=30, sse_read_timeout=READ_TIMEOUT) as (
                read,
                write,
            ),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            tools = {t.name for t in (await session.list_tools()).tools}
            found = await text_of(session, "search_memory", query="Which tea do I like?")
            refused = await text_of(session, "add_memories", text="I like coffee")
            return tools, found, refused

    tools, found, refused = anyio.run(use)
    assert len(person.pages) == 1
    assert tools == {"search_memory", "list_memories"}
    assert [r["memory"] for r in json.loads(found[1])["results"]] == ["I like jasmine tea"]
    assert refused[0] is True and "may only read" in refused[1]
    assert Memory.objects.count() == 1


def test_a_stream_opens_under_a_root_path_and_its_endpoint_carries_it(admin_key, embedder, monkeypatch):
    """Behind a proxy that serves the server under /memory and strips it, uvicorn's --root-path /memory (as the
    ASGI spec has it, the request's path then starts with the root path): the stream opens, as every other route
    does there, and names the URL to POST to with the prefix the client sees."""
    monkeypatch.setattr(streams, "KEEPALIVE_SECONDS", 600.0)
    monkeypatch.setattr(streams, "POLL_SECONDS", 600.0)
    app = asgi_application(get_wsgi_application())
    with (
        AsgiServer(app, root_path="/memory") as server,
        httpx.Client(timeout=READ_TIMEOUT, headers={"X-API-Key": admin_key}) as http,
        http.stream("GET", server.url + "/mcp/cursor/sse/alice") as stream,
    ):
        assert stream.status_code == 200, stream.read()
        lines = stream.iter_lines()
        assert next(lines) == "event: endpoint"
        endpoint = next(lines).removeprefix("data: ")
        assert endpoint.startswith("/memory/mcp/messages/?session_id=")
        # The proxy strips the prefix the client posts to; uvicorn puts it back.
        ping = {"jsonrpc": "2.0", "id": 7, "method": "ping"}
        posted = http.post(server.url + endpoint.removeprefix("/memory"), json=ping)
        assert posted.status_code == 202
        assert [next(lines), next(lines)] == ["", "event: message"]
        assert json.loads(next(lines).removeprefix("data: ")) == {"jsonrpc": "2.0", "id": 7, "result": {}}


def test_a_post_whose_stream_closed_while_it_ran_is_a_404_not_a_500(admin_key, make_user, monkeypatch):
    """The client went (its stream closed, the session with it) while its request ran: nothing is left to send the
    answer on, and the POST says so."""
    ada = make_user("ada@example.com", role="admin")
    key = apikey_create(user=ada, label="openmemory")[1]
    session_id = sse.session_open(principal=ada, client_name="cursor", user_id="alice")
    real_handle_request = views.handle_request

    def the_stream_closes_meanwhile(*args):
        sse.session_close(session_id)
        return real_handle_request(*args)

    monkeypatch.setattr(views, "handle_request", the_stream_closes_meanwhile)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_X_API_KEY=key)
    response = client.post(
        f"/mcp/messages/?session_id={session_id.hex}", {"jsonrpc": "2.0", "id": 1, "method": "ping"}, format="json"
    )
    assert response.status_code == 404
    assert "its stream has closed" in response.json()["error"]["message"]
    assert not SseMessage.objects.exists()


def test_a_stream_takes_its_oldest_answers_at_most_take_at_once_in_one_statement(make_user, django_assert_num_queries):
    session_id = sse.session_open(principal=make_user("ada@example.com"), client_name="cursor", user_id="alice")
    session = SseSession.objects.get()
    bodies = [f"answer {n}" for n in range(sse.TAKE_AT_ONCE + 3)]
    for body in bodies:
        sse.answer_queue(session=session, body=body)
    long_ago = timezone.now() - timedelta(hours=1)
    SseSession.objects.update(seen_at=long_ago)
    # Its answers held by another take (one of two processes woken at once) are skipped, not waited for.
    held, release = threading.Event(), threading.Event()

    def hold_the_oldest() -> None:
        with transaction.atomic():
            list(SseMessage.objects.select_for_update().filter(body=bodies[0]))
            held.set()
            release.wait(READ_TIMEOUT)
        connection.close()

    holder = threading.Thread(target=hold_the_oldest)
    holder.start()
    try:
        assert held.wait(READ_TIMEOUT)
        # One statement: three in a transaction before (the session, its answers locked, then deleted).
        with django_assert_num_queries(1):
            assert sse.answers_take(session_id, seen=False) == bodies[1 : sse.TAKE_AT_ONCE + 1]
    finally:
        release.set()
        holder.join(READ_TIMEOUT)
    assert SseSession.objects.get().seen_at == long_ago
    with django_assert_num_queries(1):
        assert sse.answers_take(session_id, seen=True) == [bodies[0], *bodies[sse.TAKE_AT_ONCE + 1 :]]
    assert SseSession.objects.get().seen_at > long_ago
    assert sse.answers_take(session_id, seen=True) == []
    sse.session_close(session_id)
    assert sse.answers_take(session_id, seen=True) is None
    assert sse.answers_take(session_id, seen=False) is None


def test_an_answer_past_the_sse_clients_event_limit_leaves_the_connection_open(asgi_server, ada_key, make_memory):
    """The mcp SDK's SSE client refuses an event over 1 MiB, and drops the whole connection with it: a search of long
    memories comes without its structured copy (the same JSON is in the text), and a list too long for one event is
    a tool error naming the Streamable HTTP URL, which has no such limit."""
    for n in range(12):
        make_memory(f"Document {n}: " + "the quarterly report says " * 3_500, user_id="alice")

    async def script():
        async with sse_session(asgi_server.url + "/mcp/cursor/sse/alice", ada_key) as session:
            found = await session.call_tool("search_memory", {"query": "quarterly report"})
            listed = await text_of(session, "list_memories")
            await session.send_ping()
            return found, listed

    found, listed = anyio.run(script)
    assert not found.is_error
    assert len(json.loads(found.content[0].text)["results"]) == 10
    assert listed[0] is True
    assert "/mcp/cursor/http/alice" in listed[1]


def test_a_stream_whose_client_stops_reading_ends_and_frees_its_place(asgi_server, ada_key, make_memory, monkeypatch):
    """A client that holds its connection but reads nothing: once the answers it was sent fill the socket's buffers,
    the stream waits SEND_TIMEOUT_SECONDS for it to take more, then ends with its session, rather than holding its
    place among MCP_SSE_STREAMS (and, once its session is pruned as stale, outside its account's count) for as long
    as the connection lasts."""
    monkeypatch.setattr(streams, "SEND_TIMEOUT_SECONDS", 1.0)
    for n in range(8):
        make_memory(f"Document {n}: " + "the quarterly report says " * 3_500, user_id="alice")
    host, port = asgi_server.url.removeprefix("http://").split(":")
    reader = socket.socket()
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
    reader.settimeout(30)
    with reader:
        reader.connect((host, int(port)))
        reader.sendall(f"GET /mcp/cursor/sse/alice HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {ada_key}\r\n\r\n".encode())
        received = b""
        while not (named := re.search(rb"data: (/mcp/messages/\?session_id=([0-9a-f]{32}))\r\n", received)):
            received += reader.recv(4096)
        endpoint, session_id = named[1].decode(), named[2].decode()
        lists = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_memories"}}
        with httpx.Client(timeout=READ_TIMEOUT, headers={"X-API-Key": ada_key}) as http:
            # About 11 MB of answers, which the client never reads.
            posted = [http.post(asgi_server.url + endpoint, json=lists).status_code for _ in range(15)]
        assert set(posted) <= {202, 404}  # 404: the stream gave up on the client before the last ones
        wait_for(
            lambda: not SseSession.objects.filter(id=session_id).exists(),
            timeout=60,
            what="the stream of a client that reads nothing ended",
        )
    assert not SseMessage.objects.exists()


class StreamOpener(threading.Thread):
    """GET the SSE URL in a thread; `status` once answered, the stream then held until `close` is set."""

    def __init__(self, url: str, key: str) -> None:
        super().__init__(daemon=True)
        self.url, self.key = url, key
        self.status: int | None = None
        self.close = threading.Event()

    def run(self) -> None:
        with (
            httpx.Client(timeout=READ_TIMEOUT, headers={"X-API-Key": self.key}) as http,
            http.stream("GET", self.url) as stream,
        ):
            self.status = stream.status_code
            self.close.wait(READ_TIMEOUT)


def _lock_waits() -> int:
    """Locks waited for in this test's database (the other test processes under xdist share the server)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks JOIN pg_stat_activity a USING (pid) "
            "WHERE NOT granted AND a.datname = current_database()"
        )
        return cursor.fetchone()[0]


def _open_while_sessions_are_locked(url: str, keys: list[str]) -> list[int | None]:
    """Open a stream per key at once: the first waits for the sessions table (held by this test's transaction, as a
    slow database would hold it) while the next ones arrive."""
    openers = [StreamOpener(url, key) for key in keys]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE mcp_server_ssesession IN EXCLUSIVE MODE")
        openers[0].start()
        wait_for(lambda: _lock_waits() == 1, timeout=60, what="the first open waiting for the sessions table")
        for opener in openers[1:]:
            opener.start()
            wait_for(
                lambda opener=opener: opener.status is not None or _lock_waits() > 1,
                timeout=60,
                what="the next open answered or waiting",
            )
    wait_for(lambda: all(opener.status is not None for opener in openers), timeout=60, what="every open answered")
    for opener in openers:
        opener.close.set()
        opener.join(READ_TIMEOUT)
    return [opener.status for opener in openers]


def test_streams_opened_at_once_stay_within_mcp_sse_streams(asgi_server, ada_key, bob_key, settings):
    settings.MCP_SSE_STREAMS = 1
    statuses = _open_while_sessions_are_locked(asgi_server.url + "/mcp/cursor/sse/alice", [ada_key, bob_key])
    assert statuses == [200, 503]


def test_streams_one_account_opens_at_once_stay_within_streams_per_account(asgi_server, ada_key, monkeypatch):
    monkeypatch.setattr(sse, "STREAMS_PER_ACCOUNT", 1)
    statuses = _open_while_sessions_are_locked(asgi_server.url + "/mcp/cursor/sse/alice", [ada_key, ada_key])
    assert sorted(statuses) == [200, 429]


def _stop_authenticating(how: str, user, api_key) -> None:
    if how == "key revoked":
        apikey_revoke(user=user, key_id=api_key.pk)
    elif how == "key deleted":
        api_key.delete()
    elif how == "app disconnected":
        grant_revoke(user=user, grant_id=OAuthGrant.objects.get(user=user).pk)
    else:  # the account deactivated, as on the users page
        user.is_active = False
        user.save(update_fields=["is_active"])
        user_credentials_revoke(user=user)


def _credential(how: str, user) -> tuple[dict[str, str], object]:
    """Headers that authenticate as `user` the way `how` names, and the API key among them (if one)."""
    if how == "app disconnected":
        client_id = register(token_endpoint_auth_method="none")["client_id"]
        answer = token(**code_form(user, client_id), resource=MCP).json()
        return {"Authorization": f"Bearer {answer['access_token']}"}, None
    if how == "login token, account deactivated":
        return {"Authorization": f"Bearer {tokens_issue(user=user).access_token}"}, None
    api_key, key = apikey_create(user=user, label="openmemory")
    return {"X-API-Key": key}, api_key


@pytest.mark.parametrize(
    "how",
    ["key revoked", "key deleted", "account deactivated", "app disconnected", "login token, account deactivated"],
)
def test_a_stream_ends_once_the_credential_it_was_opened_with_stops_authenticating(
    asgi_server, make_user, monkeypatch, how
):
    """The stream's credential is checked at each keepalive: once it no longer authenticates (its POSTs are 401s)
    the stream ends, with its session, within a keepalive or two, rather than sending keepalives for as long as the
    client stays."""
    monkeypatch.setattr(streams, "KEEPALIVE_SECONDS", 0.2)
    monkeypatch.setattr(streams, "POLL_SECONDS", 0.2)
    ada = make_user("ada@example.com")
    headers, api_key = _credential(how, ada)
    keepalives_after = None
    with (
        httpx.Client(timeout=READ_TIMEOUT, headers=headers) as http,
        http.stream("GET", asgi_server.url + "/mcp/cursor/sse/alice") as stream,
    ):
        assert stream.status_code == 200, stream.read()
        lines = stream.iter_lines()
        assert next(lines) == "event: endpoint"
        endpoint = next(lines).removeprefix("data: ")
        assert next(lines) == ""
        assert next(lines) == ": keepalive"  # the stream is open and checked
        _stop_authenticating(how, ada, api_key)
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        # At once where this process changed it; a deleted key leaves the key cache with the NOTIFY that says so.
        wait_for(lambda: http.post(asgi_server.url + endpoint, json=ping).status_code == 401, timeout=60, what="401")
        keepalives_after = 0
        for line in lines:
            keepalives_after += line == ": keepalive"
            if keepalives_after > 5:
                break  # still open: it would be until the client left
    assert keepalives_after <= 2
    wait_for(lambda: not SseSession.objects.exists(), timeout=60, what="the ended stream's session deleted")


def test_a_streamable_http_client_is_refused_at_its_next_call_once_its_key_is_revoked(asgi_server, make_user):
    """Streamable HTTP holds nothing between calls (no session, no stream): every call is authenticated afresh."""
    ada = make_user("ada@example.com")
    api_key, key = apikey_create(user=ada, label="openmemory")

    async def script():
        async with http_session(asgi_server.url + "/mcp/cursor/http/alice", key) as session:
            before = await text_of(session, "list_memories")
            await asyncio.to_thread(apikey_revoke, user=ada, key_id=api_key.pk)
            # Saying why: the SDK showed a refusal that is no JSON-RPC error as "Server returned an error response".
            with pytest.raises(MCPError, match=r"^Invalid API key\.$"):
                await session.call_tool("list_memories", {})
            return before

    assert anyio.run(script) == (False, "[]")
    statuses = RequestLog.objects.filter(path="/mcp/cursor/http/alice").order_by("id").values_list("status_code")
    assert [status for (status,) in statuses][-1] == 401
    assert not SseSession.objects.exists()


def test_a_scope_too_large_for_one_sse_answer_is_listed_and_searched_page_by_page(asgi_server, ada_key, make_memory):
    """The mcp SDK's SSE client takes one event of at most 1 MiB: a list or search longer than that is a tool error
    naming how many fit (page_size for the list, limit for the search), and with them every memory is read."""
    # Each 92,000 characters, 132 KB as sent (a quote is escaped twice: once in the text, once in the event's JSON).
    text = 'the "quarterly" report says ' * 3_300
    ids = {make_memory(f"Document {n}: {text}", user_id="alice") for n in range(12)}

    async def script():
        async with sse_session(asgi_server.url + "/mcp/cursor/sse/alice", ada_key) as session:
            whole = await text_of(session, "list_memories")
            page_size = int(re.search(r"page_size=(\d+)", whole[1])[1])
            pages = [await text_of(session, "list_memories", page_size=page_size, page=1)]
            while not pages[-1][0] and len(json.loads(pages[-1][1])) == page_size:
                pages.append(await text_of(session, "list_memories", page_size=page_size, page=len(pages) + 1))
            search = await text_of(session, "search_memory", query="quarterly report")
            limit = int(re.search(r"limit=(\d+)", search[1])[1])
            found = await text_of(session, "search_memory", query="quarterly report", limit=limit)
            return whole, page_size, pages, search, limit, found

    whole, page_size, pages, search, limit, found = anyio.run(script)
    assert whole[0] is True
    assert "/mcp/cursor/http/alice" in whole[1]  # where no such limit holds
    assert 1 <= page_size < 12
    assert not any(is_error for is_error, _ in pages)
    listed = [memory["id"] for _, text in pages for memory in json.loads(text)]
    assert len(listed) == 12 and set(listed) == ids
    assert search[0] is True and 1 <= limit < 10
    assert found[0] is False and len(json.loads(found[1])["results"]) == limit


def test_a_tool_call_over_the_body_limit_is_a_tool_error_and_the_sse_session_goes_on(asgi_server, ada_key, settings):
    """The mcp SDK's SSE client drops its whole connection on any POST answered other than 2xx: a call whose arguments
    make the body larger than MAX_REQUEST_BYTES is answered 202 and its error, naming the limit, sent on the stream,
    and the next call works. Only the body's start is kept; the rest is read and thrown away."""
    text = "I keep a long diary. " * 60_000  # 1.26 MB

    async def script():
        async with sse_session(asgi_server.url + "/mcp/cursor/sse/alice", ada_key) as session:
            with pytest.raises(MCPError) as refused:
                await session.call_tool("add_memories", {"text": text, "infer": False})
            after = await text_of(session, "add_memories", text="I like short notes", infer=False)
            return refused.value, after

    refused, after = anyio.run(script)
    assert f"{settings.MAX_REQUEST_BYTES:,} bytes (MAX_REQUEST_BYTES)" in refused.error.message
    assert "add_memories" in refused.error.message
    assert after[0] is False
    assert list(Memory.objects.values_list("text", flat=True)) == ["I like short notes"]
    logged = RequestLog.objects.filter(path="/mcp/messages/").order_by("id").values_list("status_code", flat=True)
    assert set(logged) == {202}
    assert RequestLog.objects.filter(tool="add_memories", error="too_large").count() == 1


@pytest.mark.parametrize("transport", ["sse", "http"])
def test_a_refused_openmemory_call_shows_in_the_request_log_with_its_tool_and_what_it_was_refused_for(
    asgi_server, ada_key, transport
):
    """Over SSE every message is answered 202 and its answer goes on the stream: an unknown tool, bad arguments or a
    memory not found were logged as a plain 202, as if they had worked (GET /requests, the dashboard's Requests)."""
    url = f"{asgi_server.url}/mcp/cursor/{transport}/alice"
    opened = sse_session if transport == "sse" else http_session

    async def script():
        async with opened(url, ada_key) as session:
            with pytest.raises(MCPError, match="Unknown tool"):
                await session.call_tool("add_memoriez", {"text": "typo"})
            bad = await text_of(session, "add_memories", text=7)
            missing = await text_of(session, "delete_memories", memory_ids=["7b7c1a8e-6b4e-4c43-9d4e-3c3f3d1e2f10"])
            fine = await text_of(session, "list_memories")
            return bad, missing, fine

    bad, missing, fine = anyio.run(script)
    assert bad[0] and "Invalid arguments" in bad[1]
    assert missing[0] and fine == (False, "[]")
    path = "/mcp/messages/" if transport == "sse" else "/mcp/cursor/http/alice"
    calls = RequestLog.objects.filter(path=path).exclude(tool="", error="")
    assert list(calls.order_by("id").values_list("tool", "error")) == [
        ("", "unknown_tool"),  # the name the client made up is not kept
        ("add_memories", "tool_error"),
        ("delete_memories", "tool_error"),
        ("list_memories", ""),
    ]
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=ada_key)
    listed = [(row["tool"], row["error"]) for row in client.get("/requests").json() if row["path"] == path]
    assert ("", "unknown_tool") in listed and ("add_memories", "tool_error") in listed


@pytest.mark.parametrize("path", ["/mcp?user_id=alice", "/mcp/cursor/http/alice"])
def test_a_tool_call_over_the_body_limit_on_streamable_http_is_an_error_naming_the_limit(
    asgi_server, ada_key, settings, path
):
    """The 413 comes before Django reads the body. Sent as the connection closed with most of the body unread, it
    reached the mcp SDK's client as a connection reset, which ended its whole session; and that client shows a 4xx's
    JSON-RPC error, any other body only as "Server returned an error response"."""

    async def script():
        async with http_session(asgi_server.url + path, ada_key) as session:
            with pytest.raises(MCPError) as refused:
                await session.call_tool("add_memories", {"text": "I keep a long diary. " * 60_000, "infer": False})
            after = await session.list_tools()
            return refused.value, after

    refused, after = anyio.run(script)
    assert f"{settings.MAX_REQUEST_BYTES:,} bytes (MAX_REQUEST_BYTES)" in refused.error.message
    assert after.tools


def test_the_typescript_sdks_sse_client_takes_a_call_over_the_body_limit_as_its_error_and_goes_on(asgi_server, ada_key):
    """The TypeScript SDK writes a request's id after its arguments: the 413 stays, which that client takes as the
    call's error, its session going on."""
    out = run_client_check(
        [shutil.which("node") or "node", str(JS / "mcp_sse_over_limit_check.mjs")],
        cwd=JS,
        host=asgi_server.url,
        key=ada_key,
        state="mcp-sse-over-limit",
        MCP_URL=asgi_server.url + "/mcp/cursor/sse/alice",
    )
    assert "HTTP 413" in out["refused"]
    assert "1,048,576 bytes (MAX_REQUEST_BYTES)" in out["refused"]  # the JSON-RPC error the 413 carries
    assert out["listed"] == {"isError": False, "text": "[]"}
