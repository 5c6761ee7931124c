"""Tool behaviour in detail (paging, the default-scope rules, Mem0's argument habits), over raw JSON-RPC POSTs."""

from __future__ import annotations

import base64
import json
import threading

import pytest
from django.db import connection

from mem0server.tests.sessions import other_session, wait_until_blocked
from memories.models import Memory
from memories.tests.fake_openai import as_json, llm_configured
from requestlog.models import RequestLog

ACCEPT = "application/json, text/event-stream"


@pytest.fixture
def tool(api_client):
    """Call a tool as admin; returns (is_error, structured content or error text)."""

    def call(name: str, path: str = "/mcp", **arguments):
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
        response = api_client.post(path, json.dumps(body), content_type="application/json", HTTP_ACCEPT=ACCEPT)
        assert response.status_code == 200, response.content
        result = response.json()["result"]
        if result["isError"]:
            return True, result["content"][0]["text"]
        assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
        return False, result["structuredContent"]

    return call


def test_list_entities_pages_with_a_cursor_and_filters_by_type(tool, make_memory):
    for user in ("ann", "ben", "cat"):
        make_memory(f"{user} likes tea", user_id=user)
    make_memory("run note", user_id=None, scope={"run_id": "r1"})
    _, first = tool("list_entities", type="user", limit=2)
    assert [e["id"] for e in first["results"]] == ["ann", "ben"]
    _, second = tool("list_entities", type="user", limit=2, cursor=first["next_cursor"])
    assert [e["id"] for e in second["results"]] == ["cat"] and second["next_cursor"] is None
    _, runs = tool("list_entities", type="run")
    assert [(e["type"], e["id"], e["total_memories"]) for e in runs["results"]] == [("run", "r1", 1)]
    is_error, text = tool("list_entities", type="planet")
    assert is_error and "'planet' is not one of" in text
    is_error, text = tool("list_entities", cursor="not-a-cursor")
    assert is_error and text == "cursor is not valid; pass the next_cursor of a previous list_entities result."


def test_a_cursor_nested_too_deep_for_pythons_json_is_a_tool_error_not_an_internal_one(tool, db):
    cursor = base64.urlsafe_b64encode(b"[" * 1400).decode().rstrip("=")  # was a RecursionError
    is_error, text = tool("list_entities", cursor=cursor)
    assert is_error and text == "cursor is not valid; pass the next_cursor of a previous list_entities result."


def test_get_memories_pages_by_page_number(tool, make_memory):
    for n in range(3):
        make_memory(f"fact {n}", user_id="alice")
    _, page1 = tool("get_memories", user_id="alice", page_size=2)
    _, page2 = tool("get_memories", user_id="alice", page_size=2, page=2)
    assert [m["memory"] for m in page1["results"]] == ["fact 2", "fact 1"] and page1["next_page"] == 2
    assert [m["memory"] for m in page2["results"]] == ["fact 0"] and page2["next_page"] is None


@pytest.mark.parametrize(
    ("name", "page"), [("get_memories", 1e19), ("get_memories", 10**19), ("list_events", 2**63 - 1)]
)
def test_a_page_past_the_limit_is_a_tool_error_naming_it(tool, name, page):
    is_error, text = tool(name, user_id="alice", page=page) if name == "get_memories" else tool(name, page=page)
    assert is_error and "page:" in text and "greater than the maximum of 1000000" in text


def test_filters_that_name_a_scope_id_keep_it_over_the_default(tool, make_memory):
    make_memory("Alice likes tea", user_id="alice")
    make_memory("Bob likes tea", user_id="bob")
    _, pinned = tool("get_memories", path="/mcp?user_id=alice")
    assert [m["memory"] for m in pinned["results"]] == ["Alice likes tea"]
    _, either = tool(
        "get_memories", path="/mcp?user_id=alice", filters={"OR": [{"user_id": "alice"}, {"user_id": "bob"}]}
    )
    assert {m["memory"] for m in either["results"]} == {"Alice likes tea", "Bob likes tea"}
    _, search = tool("search_memories", path="/mcp?user_id=alice", query="tea", filters={"user_id": "bob"})
    assert [m["memory"] for m in search["results"]] == ["Bob likes tea"]


def test_mem0_style_and_filters_scope_a_search(tool, make_memory):
    make_memory("Alice likes tea", user_id="alice", metadata={"topic": "drinks"})
    make_memory("Bob likes tea", user_id="bob", metadata={"topic": "drinks"})
    _, found = tool("search_memories", query="tea", filters={"AND": [{"user_id": "bob"}, {"topic": "drinks"}]})
    assert [m["memory"] for m in found["results"]] == ["Bob likes tea"]
    _, both = tool("search_memories", query="tea", filters={"OR": [{"user_id": "bob"}, {"user_id": "alice"}]})
    assert sorted(m["memory"] for m in both["results"]) == ["Alice likes tea", "Bob likes tea"]
    is_error, text = tool("search_memories", query="tea", filters={"OR": [{"user_id": "bob"}, {"topic": "drinks"}]})
    assert is_error and "Search needs" in text


def test_null_arguments_and_enable_graph_are_accepted_like_mem0s_server(tool):
    is_error, added = tool("add_memory", text="Likes rain", user_id="alice", agent_id=None, enable_graph=False)
    assert not is_error and added["results"][0]["memory"] == "Likes rain"
    assert Memory.objects.get().agent_id is None


def test_update_memory_merges_metadata_and_keeps_history(tool, make_memory, api_client):
    memory_id = make_memory("Likes tea", user_id="alice", metadata={"a": 1})
    _, updated = tool("update_memory", memory_id=memory_id, text="Likes coffee", metadata={"b": 2})
    assert updated["memory"]["memory"] == "Likes coffee" and updated["memory"]["metadata"] == {"a": 1, "b": 2}
    history = api_client.get(f"/memories/{memory_id}/history").json()
    assert [(h["event"], h["old_memory"], h["new_memory"]) for h in history] == [
        ("ADD", None, "Likes tea"),
        ("UPDATE", "Likes tea", "Likes coffee"),
    ]


def test_metadata_larger_than_a_memory_keeps_is_a_tool_error_saying_so(tool, make_memory, settings):
    settings.METADATA_MAX_BYTES = 50
    is_error, text = tool("add_memory", text="Likes rain", user_id="alice", metadata={"note": "x" * 50})
    assert is_error and "metadata holds 61 bytes" in text and "METADATA_MAX_BYTES" in text
    memory_id = make_memory("Likes tea", metadata={"topic": "x" * 20})
    is_error, text = tool("update_memory", memory_id=memory_id, text="Likes green tea", metadata={"more": "y" * 20})
    assert is_error and f"Memory {memory_id}: metadata holds 62 bytes" in text
    assert not Memory.objects.filter(text="Likes rain").exists()
    memory = Memory.objects.get(id=memory_id)
    assert (memory.text, memory.metadata) == ("Likes tea", {"topic": "x" * 20})


def test_tool_errors_are_logged_with_the_tool_name(tool):
    tool("get_memory", memory_id="nope")
    assert list(RequestLog.objects.values_list("path", "status_code", "tool")) == [("/mcp", 200, "get_memory")]


def test_a_wrongly_typed_long_text_is_not_echoed_back_whole(tool):
    is_error, text = tool("add_memory", messages="x" * 5000, user_id="alice")
    assert is_error and "is not of type 'array'" in text and len(text) < 500


def test_list_events_and_get_event_status_read_the_callers_async_adds(tool, make_user):
    from apikeys.authentication import AdminPrincipal
    from events import services as event_services
    from platform_api.services import add_payload

    def queue(principal, text):
        data = {"messages": [{"role": "user", "content": text}], "scope": {"user_id": "alice"}, "infer": False}
        return event_services.event_add_create(principal=principal, payload=add_payload(data))

    mine = [queue(AdminPrincipal(auth_type="admin_api_key"), f"fact {n}") for n in range(3)]
    theirs = queue(make_user("other@example.com"), "not yours")

    _, page = tool("list_events", page_size=2)
    assert page["count"] == 3 and page["next_page"] == 2
    assert [e["id"] for e in page["results"]] == [str(mine[2].id), str(mine[1].id)]
    assert page["results"][0]["status"] == "PENDING"
    _, one = tool("get_event_status", event_id=str(mine[0].id))
    assert (one["id"], one["event_type"], one["status"]) == (str(mine[0].id), "ADD", "PENDING")
    is_error, text = tool("get_event_status", event_id=str(theirs.id))
    assert is_error and "not found" in text
    is_error, text = tool("list_events", status="DONE")
    assert is_error and "DONE" in text


def test_get_user_profile_reads_the_pinned_or_named_users_profile_and_starts_the_first_one(tool, make_memory):
    from apikeys.authentication import AdminPrincipal
    from memories.tests.fake_openai import as_json, llm_configured
    from profiles import services as profile_services
    from profiles.models import ProfileJob

    make_memory("Lives in Oslo", user_id="alice")
    _, off = tool("get_user_profile", user_id="alice")
    assert (off["status"], off["profile"]) == ("not_enabled", {})
    schema = {"type": "object", "properties": {"city": {"type": "string", "description": "Where they live."}}}
    admin = AdminPrincipal(auth_type="admin_api_key")
    profile_services.settings_update(principal=admin, enabled=True, schema=schema)
    with llm_configured() as fake:
        _, pending = tool("get_user_profile", path="/mcp?user_id=alice")
        assert pending["status"] == "pending"
        fake.chat_queue.append(as_json({"city": "Oslo"}))
        profile_services.job_run(job_id=ProfileJob.objects.get().id)
        _, done = tool("get_user_profile", user_id="alice")
    assert (done["status"], done["profile"], done["entity_id"]) == ("succeeded", {"city": "Oslo"}, "alice")
    is_error, text = tool("get_user_profile", user_id="nobody")
    assert is_error and "User 'nobody' not found" in text
    is_error, text = tool("get_user_profile")
    assert is_error and "Give user_id" in text


@pytest.mark.django_db(transaction=True)
def test_delete_entities_deletes_all_it_names_or_nothing(tool, make_memory):
    from django.db import connection

    make_memory("Alice likes tea", user_id="alice")
    make_memory("Helper notes", user_id="bob", scope={"agent_id": "helper"})
    # The user's delete fails after the agent's went through (as a statement timeout or a lost connection would).
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER test_refuse BEFORE DELETE ON memories_memory FOR EACH ROW "
            "WHEN (OLD.user_id = 'alice') EXECUTE FUNCTION test_refuse()"
        )
    try:
        is_error, _ = tool("delete_entities", user_id="alice", agent_id="helper")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER test_refuse ON memories_memory; DROP FUNCTION test_refuse()")
    assert is_error
    assert sorted(Memory.objects.values_list("text", flat=True)) == ["Alice likes tea", "Helper notes"]


@pytest.mark.django_db(transaction=True)
def test_delete_entities_locks_in_id_order_so_a_batch_holding_one_memory_cannot_deadlock_it(tool, make_memory):
    # The user's memory has the lower id: a writer locking in id order (a batch) takes it before the agent's.
    first, second = sorted(make_memory(text, user_id="alice") for text in ("Alice likes tea", "Helper notes"))
    Memory.objects.filter(id=second).update(user_id=None, agent_id="helper")
    batch, watcher = other_session(), other_session()
    watcher.autocommit = True
    batch.execute("SET deadlock_timeout = '60s'")  # a deadlock would be found by the tool's session, and stop it
    batch.execute("SELECT 1 FROM memories_memory WHERE id = %s FOR UPDATE", [first])
    outcome = {}

    def delete() -> None:
        try:
            outcome["result"] = tool("delete_entities", user_id="alice", agent_id="helper")
        finally:
            connection.close()  # this thread's own database session

    thread = threading.Thread(target=delete)
    thread.start()
    wait_until_blocked(watcher, "%FOR UPDATE%")
    batch.execute("SELECT 1 FROM memories_memory WHERE id = %s FOR UPDATE", [second])  # the batch's next lock
    batch.rollback()
    thread.join(timeout=120)
    assert outcome["result"] == (False, {"message": "Entities deleted", "deleted": {"agent": 1, "user": 1}})
    assert not Memory.objects.exists()
    batch.close(), watcher.close()


def test_search_memories_reranks_when_the_server_reranks_by_default(tool, make_memory, settings):
    # The REST search reranked by default (SEARCH_RERANK_DEFAULT) and MCP's did not: the same question got
    # another order through MCP.
    make_memory("Maya: Tell me more about it!")
    make_memory("Maya: We adopted a rescue dog and named him Juniper.")
    arguments = {"query": "What is the name of Maya's dog?", "user_id": "alice", "threshold": 0, "limit": 2}
    _, fused = tool("search_memories", **arguments)
    fused_order = [r["memory"] for r in fused["results"]]
    settings.SEARCH_RERANKER = "llm"
    settings.SEARCH_RERANK_DEFAULT = True
    with llm_configured() as llm:
        llm.chat_queue.append(as_json({"ranking": [1, 0]}))
        _, reranked = tool("search_memories", **arguments)
    assert reranked["rerank"] == {"applied": True, "by": "llm", "detail": None}
    assert [r["memory"] for r in reranked["results"]] == fused_order[::-1]


def test_add_memory_with_both_text_and_messages_is_an_error_and_stores_nothing(tool):
    # The text was dropped without a word: only the messages were stored.
    messages = [{"role": "user", "content": "I live in Oslo"}]
    is_error, text = tool("add_memory", text="Likes rain", messages=messages, user_id="alice", infer=False)
    assert is_error and text == "Give text or messages, not both: messages is a conversation, text one sentence."
    assert not Memory.objects.exists()
