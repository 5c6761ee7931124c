"""The official `mcp` Python client (Streamable HTTP transport + ClientSession) against a live server.

pytest-django's live_server serves the whole WSGI stack on a real socket, on a transactional database: the
client code runs under anyio in the test's thread, the ORM is touched only before and after it.
"""

from __future__ import annotations

import json
import re
import uuid
from contextlib import asynccontextmanager

import anyio
import httpx2
import pytest
from mcp.client import Client
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from mcp_types.version import LATEST_HANDSHAKE_VERSION
from rest_framework.test import APIClient

from apikeys.services import apikey_create
from memories.models import Memory
from requestlog.models import RequestLog

pytestmark = pytest.mark.django_db(transaction=True)

TOOL_NAMES = {
    "add_memory",
    "search_memories",
    "get_memories",
    "get_memory",
    "update_memory",
    "delete_memory",
    "delete_all_memories",
    "delete_entities",
    "list_entities",
    "list_events",
    "get_event_status",
    "get_user_profile",
}


@asynccontextmanager
async def mcp_session(url: str, headers: dict[str, str], auth: httpx2.Auth | None = None):
    """An initialized client session; `auth` is an httpx auth flow (the SDK's OAuthClientProvider) if any."""
    async with (
        httpx2.AsyncClient(headers=headers, auth=auth, timeout=120) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def run(url: str, headers: dict[str, str], script):
    """Run `script(session)` in a fresh client session; returns what it returns."""

    async def main():
        async with mcp_session(url, headers) as session:
            return await script(session)

    return anyio.run(main)


async def call(session: ClientSession, name: str, **arguments):
    """A tool's result: (is_error, structured data or the error text)."""
    result = await session.call_tool(name, arguments)
    text = result.content[0].text
    if result.is_error:
        return True, text
    assert json.loads(text) == result.structured_content
    return False, result.structured_content


@pytest.fixture
def mcp_url(live_server) -> str:
    return live_server.url + "/mcp"


@pytest.fixture
def member_key(member, admin_key, embedder) -> str:
    return apikey_create(user=member, label="mcp")[1]


@pytest.fixture
def bearer(member_key) -> dict[str, str]:
    return {"Authorization": f"Bearer {member_key}"}


def test_the_client_initializes_and_lists_mem0s_tools_with_their_schemas(mcp_url, bearer):
    async def script(session: ClientSession):
        return session.initialize_result, (await session.list_tools()).tools

    init, tools = run(mcp_url, bearer, script)
    assert init.protocol_version == LATEST_HANDSHAKE_VERSION
    assert init.server_info.name == "mem0server"
    assert {tool.name for tool in tools} == TOOL_NAMES
    by_name = {tool.name: tool for tool in tools}
    for tool in tools:
        assert tool.input_schema["type"] == "object"
        assert len(tool.description) > 60, tool.name
    add = by_name["add_memory"].input_schema
    assert {"text", "messages", "user_id", "agent_id", "app_id", "run_id", "metadata"} <= set(add["properties"])
    assert by_name["search_memories"].input_schema["required"] == ["query"]
    assert {"filters", "limit"} <= set(by_name["search_memories"].input_schema["properties"])
    assert {"filters", "page", "page_size"} <= set(by_name["get_memories"].input_schema["properties"])
    assert by_name["update_memory"].input_schema["required"] == ["memory_id", "text"]
    assert by_name["get_event_status"].input_schema["required"] == ["event_id"]
    assert by_name["get_memory"].annotations.read_only_hint is True
    assert by_name["delete_memory"].annotations.destructive_hint is True


def test_every_memory_tool_works_for_a_member_pinned_to_a_user(mcp_url, bearer, member):
    async def script(session: ClientSession):
        out = {}
        out["add"] = await call(session, "add_memory", text="I like green tea", infer=False, agent_id=None)
        out["add_agent"] = await call(
            session, "add_memory", messages=[{"role": "user", "content": "My dog is called Rex"}], agent_id="helper"
        )
        memory_id = out["add"][1]["results"][0]["id"]
        out["search"] = await call(session, "search_memories", query="which tea do I like?")
        out["search_and"] = await call(
            session, "search_memories", query="dog", filters={"AND": [{"user_id": "alice"}, {"agent_id": "helper"}]}
        )
        out["list"] = await call(session, "get_memories")
        out["list_agent"] = await call(session, "get_memories", filters={"agent_id": "helper"}, page_size=1)
        out["get"] = await call(session, "get_memory", memory_id=memory_id)
        out["update"] = await call(session, "update_memory", memory_id=memory_id, text="I like oolong tea")
        out["entities"] = await call(session, "list_entities")
        out["events"] = await call(session, "list_events")
        out["event"] = await call(session, "get_event_status", event_id="evt-1")
        out["delete"] = await call(session, "delete_memory", memory_id=memory_id)
        out["get_deleted"] = await call(session, "get_memory", memory_id=memory_id)
        out["delete_all"] = await call(session, "delete_all_memories")
        out["delete_entities"] = await call(session, "delete_entities", agent_id="helper")
        return out

    out = run(mcp_url + "?user_id=alice", bearer, script)
    assert out["add"] == (
        False,
        {
            "results": [
                {
                    "id": out["add"][1]["results"][0]["id"],
                    "memory": "I like green tea",
                    "event": "ADD",
                    "actor_id": None,
                    "role": "user",
                }
            ]
        },
    )
    assert out["add_agent"][1]["results"][0]["event"] == "ADD"
    search = out["search"][1]["results"]
    assert search[0]["memory"] == "I like green tea" and search[0]["user_id"] == "alice" and search[0]["score"] > 0
    assert [hit["memory"] for hit in out["search_and"][1]["results"]] == ["My dog is called Rex"]
    assert {m["memory"] for m in out["list"][1]["results"]} == {"I like green tea", "My dog is called Rex"}
    listed = out["list_agent"][1]
    assert [m["memory"] for m in listed["results"]] == ["My dog is called Rex"] and listed["next_page"] is None
    assert out["get"][1]["memory"] == "I like green tea" and out["get"][1]["user_id"] == "alice"
    assert out["update"][1]["memory"]["memory"] == "I like oolong tea"
    entities = {(e["type"], e["id"]): e["total_memories"] for e in out["entities"][1]["results"]}
    assert entities == {("user", "alice"): 2, ("agent", "helper"): 1}
    assert out["events"] == (False, {"count": 0, "results": [], "next_page": None})  # add_memory queues nothing
    assert out["event"][0] is True and "not found" in out["event"][1]
    assert out["delete"] == (False, {"message": "Memory deleted successfully", "id": out["get"][1]["id"]})
    assert out["get_deleted"][0] is True and "not found" in out["get_deleted"][1]
    # Bulk deletes are admin-only, as on the REST routes: a member gets a tool error and loses nothing.
    for key in ("delete_all", "delete_entities"):
        assert out[key][0] is True and "admin credentials" in out[key][1]
    # The pinned user filled in, the explicit agent_id came on top, and the memory is the member's account's.
    assert list(Memory.objects.values_list("text", "user_id", "agent_id", "account_id")) == [
        ("My dog is called Rex", "alice", "helper", member.pk)
    ]


def test_admin_deletes_a_scope_and_entities(mcp_url, admin_key, make_memory):
    make_memory("Bob likes jazz", user_id="bob")
    make_memory("Bob plays chess", user_id="bob", scope={"run_id": "r1"})
    make_memory("Carol likes opera", user_id="carol")

    async def script(session: ClientSession):
        return (
            await call(session, "delete_entities", run_id="r1"),
            await call(session, "delete_entities", user_id="nobody"),
            await call(session, "delete_all_memories", user_id="bob"),
            await call(session, "delete_all_memories"),
        )

    by_run, nobody, by_user, no_scope = run(mcp_url, {"X-API-Key": admin_key}, script)
    assert by_run == (False, {"message": "Entities deleted", "deleted": {"run": 1}})
    assert nobody[0] is True and "No memories for user_id='nobody'" in nobody[1]
    assert by_user == (False, {"message": "All relevant memories deleted", "scope": {"user_id": "bob"}, "deleted": 1})
    assert no_scope[0] is True and "user_id" in no_scope[1]
    assert list(Memory.objects.values_list("text", flat=True)) == ["Carol likes opera"]


def test_another_accounts_memory_is_a_tool_error_and_stays(mcp_url, bearer, make_user, make_memory):
    other = make_user("other@example.com")
    theirs = make_memory("Other's secret", user_id="alice", principal=other)

    async def script(session: ClientSession):
        return [
            await call(session, "get_memory", memory_id=theirs),
            await call(session, "update_memory", memory_id=theirs, text="hijacked"),
            await call(session, "delete_memory", memory_id=theirs),
            await call(session, "search_memories", query="secret", user_id="alice"),
            await call(session, "get_memories", user_id="alice"),
        ]

    get, update, delete, search, listed = run(mcp_url, bearer, script)
    for is_error, text in (get, update, delete):
        assert is_error is True and f"Memory {theirs} not found." in text
    assert search == (False, {"results": []})
    assert listed[1]["results"] == []
    assert Memory.objects.get(id=theirs).text == "Other's secret"


def test_bad_arguments_are_tool_errors_that_say_what_is_wrong(mcp_url, bearer):
    async def script(session: ClientSession):
        return [
            await call(session, "add_memory", user_id="alice"),
            await call(session, "add_memory", text="x", user_id="al ice"),
            await call(session, "add_memory", text="x"),
            await call(session, "search_memories", query="tea", colour="red", user_id="alice"),
            await call(session, "search_memories", user_id="alice"),
            await call(session, "search_memories", query="tea", limit="ten", user_id="alice"),
            await call(session, "search_memories", query="tea"),
            await call(session, "get_memory", memory_id="not-a-uuid"),
            await call(session, "get_memories", filters={"AND": "nope"}),
            await call(session, "search_memories", query="tea", filters={"AND": 5}),
            await call(session, "search_memories", query="tea", filters={"AND": 5}, user_id="alice"),
            await call(session, "update_memory", memory_id="5b3c3a5e-8a4f-4f36-9c8e-0a1b2c3d4e5f", text=""),
            await call(session, "add_memory", messages=[{"role": "robot", "content": "hi"}], user_id="alice"),
        ]

    results = run(mcp_url, bearer, script)
    expected = [
        "give one of messages or text",
        "user_id: Must not contain whitespace",
        "One of user_id, agent_id, app_id or run_id is required",
        "'colour' was unexpected",
        "'query' is a required property",
        "limit: 'ten' is not of type 'integer'",
        "Search needs",
        "'not-a-uuid' is not a valid memory id",
        "filters.AND must be a non-empty list",
        "Search needs",  # as POST /search answers the same body
        "filters.AND must be a non-empty list",
        "text: '' should be non-empty",
        "messages.0.role",
    ]
    for (is_error, text), words in zip(results, expected, strict=True):
        assert is_error is True, (words, text)
        assert words.lower() in text.lower(), (words, text)


def test_an_unknown_tool_is_a_protocol_error(mcp_url, bearer):
    async def script(session: ClientSession):
        with pytest.raises(MCPError) as caught:
            await session.call_tool("forget_everything", {})
        return caught.value

    error = run(mcp_url, bearer, script)
    assert error.code == INVALID_PARAMS
    assert "forget_everything" in error.message and "add_memory" in error.message


def test_the_default_scope_comes_from_a_header_and_an_explicit_id_overrides_it(mcp_url, bearer, member):
    async def script(session: ClientSession):
        await call(session, "add_memory", text="Pinned by header", infer=False)
        await call(session, "add_memory", text="For bob explicitly", user_id="bob", infer=False)
        return await call(session, "search_memories", query="explicitly")

    search = run(mcp_url, {**bearer, "X-Mem0-User-ID": "carol"}, script)
    assert dict(Memory.objects.values_list("text", "user_id")) == {
        "Pinned by header": "carol",
        "For bob explicitly": "bob",
    }
    # The search ran in the pinned scope (carol), where bob's memory is not.
    assert [(hit["memory"], hit["user_id"]) for hit in search[1]["results"]] == [("Pinned by header", "carol")]


def test_a_non_ascii_scope_header_is_read_as_the_utf8_the_client_sent(mcp_url, bearer, member):
    async def script(session: ClientSession):
        return await call(session, "add_memory", text="header scope memory", infer=False)

    is_error, _ = run(mcp_url, {**bearer, "X-Mem0-User-ID": "jürgen".encode()}, script)
    assert not is_error
    assert list(Memory.objects.values_list("text", "user_id")) == [("header scope memory", "jürgen")]


def test_without_credentials_the_client_cannot_connect(mcp_url, admin_key):
    async def script():
        async with httpx2.AsyncClient(timeout=60) as http:
            response = await http.post(
                mcp_url,
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                headers={"Accept": "application/json, text/event-stream"},
            )
            return response.status_code, response.headers.get("www-authenticate")

    status, challenge = anyio.run(script)
    assert status == 401
    assert challenge and "Bearer" in challenge


def test_the_request_log_names_each_tool_called(mcp_url, bearer, member):
    async def script(session: ClientSession):
        await call(session, "list_events")
        await call(session, "get_memories", user_id="alice")

    run(mcp_url, bearer, script)
    rows = list(RequestLog.objects.filter(path="/mcp").order_by("id").values_list("tool", "status_code"))
    assert ("list_events", 200) in rows and ("get_memories", 200) in rows
    assert ("", 200) in rows  # initialize (and the client's tools/list) are logged too, without a tool
    assert all(account == member.pk for account in RequestLog.objects.values_list("account_id", flat=True))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer["Authorization"])
    tools = [row["tool"] for row in client.get("/requests").json() if row["path"] == "/mcp" and row["tool"]]
    assert tools == ["get_memories", "list_events"]  # newest first


def test_the_sdks_client_speaks_the_2026_protocol_without_a_handshake(mcp_url, bearer):
    """The SDK's high-level Client (mode "auto", its default) asks server/discover at 2026-07-28 and, offered that
    version, sends every request with its own envelope: no initialize."""

    async def main():
        async with (
            httpx2.AsyncClient(headers=bearer, timeout=120) as http,
            Client(streamable_http_client(mcp_url + "?user_id=alice", http_client=http)) as client,
        ):
            tools = (await client.list_tools()).tools
            added = await client.call_tool("add_memory", {"text": "Speaks the newest protocol", "infer": False})
            found = await client.call_tool("search_memories", {"query": "newest protocol"})
            refused = await client.call_tool("get_memory", {"memory_id": "not-an-id"})
            return client.protocol_version, client.session.initialize_result, tools, added, found, refused

    version, init, tools, added, found, refused = anyio.run(main)
    assert version == "2026-07-28" and init is None
    assert {tool.name for tool in tools} == TOOL_NAMES
    assert added.is_error is False and added.structured_content["results"][0]["memory"] == "Speaks the newest protocol"
    assert found.structured_content["results"][0]["memory"] == "Speaks the newest protocol"
    assert refused.is_error is True and "not a valid memory id" in refused.content[0].text
    assert list(Memory.objects.values_list("text", "user_id")) == [("Speaks the newest protocol", "alice")]
    assert set(RequestLog.objects.filter(path="/mcp").values_list("status_code", flat=True)) == {200}


def test_the_sdks_client_in_legacy_mode_still_shakes_hands(mcp_url, bearer):
    async def main():
        async with (
            httpx2.AsyncClient(headers=bearer, timeout=120) as http,
            Client(streamable_http_client(mcp_url + "?user_id=alice", http_client=http), mode="legacy") as client,
        ):
            added = await client.call_tool("add_memory", {"text": "Shook hands", "infer": False})
            return client.session.initialize_result, added

    init, added = anyio.run(main)
    assert init is not None and init.protocol_version == LATEST_HANDSHAKE_VERSION
    assert added.is_error is False and added.structured_content["results"][0]["memory"] == "Shook hands"


LENGTH_LIMIT = re.compile(r"no more than \d+ characters|at most \d+ characters")


@pytest.mark.parametrize("path", ["/mcp?user_id=alice", "/mcp/cursor/http/alice"])
def test_every_length_a_tool_refuses_is_in_its_schema(live_server, bearer, path):
    """A model that keeps to a tool's schema is not refused for a string's length: each text argument too long for
    the server is refused by its schema's maxLength, which the model can read (text, query, a message's content and
    list_entities' cursor had none). And every message role the server takes (model: Gemini's assistant) is in it."""
    base = {"query": "tea", "text": "hi", "memory_id": str(uuid.uuid4()), "event_id": "e", "memory_ids": ["x"]}
    long_text = "x" * 200_001

    async def script(session: ClientSession):
        tools = (await session.list_tools()).tools
        calls = []
        for tool in tools:
            properties = tool.input_schema["properties"]
            arguments = {name: value for name, value in base.items() if name in properties}
            for name, schema in properties.items():
                if schema.get("type") == "string":
                    calls.append((tool.name, {**arguments, name: long_text}))
            if "messages" in properties:
                for field in ("content", "name"):
                    message = {"role": "user", "content": "hi", field: long_text}
                    calls.append((tool.name, {"messages": [message]}))
        results = [(name, arguments, await call(session, name, **arguments)) for name, arguments in calls]
        gemini = None
        if any(tool.name == "add_memory" for tool in tools):
            message = {"role": "model", "content": "Likes tea"}
            gemini = await call(session, "add_memory", messages=[message], infer=False)
        return tools, results, gemini

    _, results, gemini = run(live_server.url + path, bearer, script)
    assert len(results) >= 2
    for name, arguments, (is_error, text) in results:
        assert is_error is True, (name, text)
        assert not LENGTH_LIMIT.search(text), (name, list(arguments), text)
    assert gemini is None or gemini[0] is False, gemini
