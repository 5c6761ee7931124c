"""Writes racing each other, their order forced: a delete of a scope held between its read and its commit while an
add of the scope runs, and the like. Each asserts what a caller sees afterwards."""

from __future__ import annotations

import json
import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command

from mem0server.tests.sessions import in_thread, other_session, wait_until_blocked
from memories import services
from memories.models import Memory, MemoryHistory

pytestmark = pytest.mark.django_db(transaction=True)

# How many statements of the test database wait for a lock.
WAITING = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"


def paused_deletes(monkeypatch) -> tuple[threading.Event, threading.Event]:
    """A delete of memories stops after reading what it deletes, before deleting it, until `go` is set; `read` is
    set when it got there."""
    read, go = threading.Event(), threading.Event()
    real = services.delete_with_history

    def pausing(*args, **kwargs):
        read.set()
        assert go.wait(120)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "delete_with_history", pausing)
    return read, go


def finished_or_waiting(thread: threading.Thread) -> bool:
    """Until the request of `thread` finished (True) or waits for a database lock (False)."""
    watcher = other_session(autocommit=True)
    try:
        for _ in range(2400):
            if not thread.is_alive():
                return True
            if watcher.execute(WAITING).fetchone()[0]:
                return False
            time.sleep(0.05)
    finally:
        watcher.close()
    raise AssertionError("the request neither finished nor waited for a lock")


def waiting_for_rows(watcher, count: int) -> None:
    """Until `count` statements of this database wait for row locks (FOR UPDATE)."""
    query = f"{WAITING} AND query ILIKE '%FOR UPDATE%'"
    for _ in range(2400):
        if watcher.execute(query).fetchone()[0] >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{count} statements did not wait for row locks")


def events_of(memory_id: str) -> list[str]:
    rows = MemoryHistory.objects.filter(memory_id=memory_id).order_by("created_at", "id")
    return list(rows.values_list("event", flat=True))


# The OSS delete of a scope is an admin's (any account's memories); the Platform's are a member's (its own).
DELETES = {
    "oss": ("/memories?user_id=alice", True),
    "platform": ("/v1/memories/?user_id=alice", False),
    "entity": ("/v1/entities/user/alice/", False),
}


@pytest.mark.parametrize("infer", [False, True])
@pytest.mark.parametrize("delete", list(DELETES))
def test_an_add_that_finished_before_a_delete_of_its_scope_is_gone_after_it(
    api_client, member_client, member, make_memory, monkeypatch, delete, infer
):
    """An add to alice that returns while a delete of alice's memories is under way (read, not yet committed) is
    deleted with them: once the delete has returned, no memory it had to delete is left. Before, the add committed
    between the delete's read and its commit, and its memory outlived the delete although the add had returned
    first. Now the add waits for the delete and is stored after it (returning after it too)."""
    path, as_admin = DELETES[delete]
    client = api_client if as_admin else member_client
    old = make_memory("Likes tea", principal=member)
    make_memory("Likes tea", user_id="bob", principal=member)  # another scope, untouched
    read, go = paused_deletes(monkeypatch)
    deleting, deleted = in_thread(lambda: client.delete(path))
    assert read.wait(60)
    body = {"messages": [{"role": "user", "content": "Plays the cello"}], "user_id": "alice", "infer": infer}
    adding, added = in_thread(lambda: client.post("/memories", body, format="json"))
    add_returned_first = finished_or_waiting(adding)
    # Another scope's add does not wait for the delete (it would stop this thread until the delete gave up).
    bob = client.post("/memories", {**body, "user_id": "bob"}, format="json")
    assert bob.status_code == 200 and bob.json()["results"][0]["event"] == "ADD"
    go.set()
    deleting.join(120), adding.join(120)
    assert deleted["response"].status_code in (200, 204), deleted["response"].content
    assert added["response"].status_code == 200, added["response"].content
    [result] = added["response"].json()["results"]
    assert result["event"] == "ADD"
    new = result["id"]
    assert not Memory.objects.filter(id=old).exists()
    assert events_of(old) == ["ADD", "DELETE"]
    if add_returned_first:  # then the delete committed after the add: it must have taken the add's memory too
        assert not Memory.objects.filter(id=new).exists(), "an add that returned before the delete outlived it"
        assert events_of(new) == ["ADD", "DELETE"]
    else:  # stored after the delete, whole, with its history
        assert [str(m) for m in Memory.objects.filter(user_id="alice").values_list("id", flat=True)] == [new]
        assert events_of(new) == ["ADD"]
    assert Memory.objects.filter(user_id="bob").count() == 2


def test_an_import_that_finished_before_a_delete_of_a_scope_it_wrote_to_is_gone_after_it(
    make_user, make_memory, monkeypatch
):
    """manage.py import_memories (and the dashboard's Import page, the same import) writing alice's memories while a
    delete of them is under way: as for an add, what it wrote before the delete returned is deleted with them."""
    alice = make_user("alice@example.com")
    make_memory("Likes tea", principal=alice)
    backup_file = StringIO()
    call_command("export_memories", stdout=backup_file, stderr=StringIO())
    Memory.objects.all().delete()
    make_memory("Plays the cello", principal=alice)
    read, go = paused_deletes(monkeypatch)
    deleting, _ = in_thread(lambda: services.memories_delete_scope(principal=alice, scope={"user_id": "alice"}))
    assert read.wait(60)
    out = StringIO()
    importing, _ = in_thread(
        lambda: call_command("import_memories", stdin=StringIO(backup_file.getvalue()), stdout=out, stderr=StringIO())
    )
    import_returned_first = finished_or_waiting(importing)
    go.set()
    deleting.join(120), importing.join(120)
    assert "Imported 1 memory" in out.getvalue(), out.getvalue()
    left = list(Memory.objects.values_list("text", flat=True))
    assert left == ([] if import_returned_first else ["Likes tea"]), "an import that returned first outlived it"


def mcp_tool(client, name: str, **arguments) -> dict:
    """A tool of the MCP server called over its JSON-RPC route; its structured result."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    response = client.post(
        "/mcp", json.dumps(body), content_type="application/json", HTTP_ACCEPT="application/json, text/event-stream"
    )
    result = response.json()["result"]
    assert not result["isError"], result
    return result["structuredContent"]


@pytest.mark.parametrize(
    "delete",
    [("delete_all_memories", {"user_id": "alice"}), ("delete_entities", {"user_id": "alice"})],
)
def test_an_mcp_add_that_finished_before_an_mcp_delete_of_its_scope_is_gone_after_it(
    api_client, make_memory, monkeypatch, delete
):
    name, arguments = delete
    make_memory("Likes tea")
    make_memory("Helps", user_id=None, scope={"agent_id": "x"})
    read, go = paused_deletes(monkeypatch)
    deleting, _ = in_thread(lambda: mcp_tool(api_client, name, **arguments))
    assert read.wait(60)
    adding, added = in_thread(lambda: mcp_tool(api_client, "add_memory", text="Plays the cello", user_id="alice"))
    add_returned_first = finished_or_waiting(adding)
    go.set()
    deleting.join(120), adding.join(120)
    [result] = added["response"]["results"]
    left = [str(memory_id) for memory_id in Memory.objects.filter(user_id="alice").values_list("id", flat=True)]
    assert left == ([] if add_returned_first else [result["id"]]), "an add that returned first outlived the delete"
    assert Memory.objects.filter(agent_id="x").count() == 1


def test_two_updates_of_one_memory_at_once_keep_both_metadata_and_chain_their_history(
    member_client, member, make_memory
):
    """Two PUTs of one memory that both waited for its row (another transaction held it): each merges its metadata
    into what the other wrote, the text is the last one's, and the history chains the two UPDATEs."""
    memory = make_memory("Likes tea", principal=member)
    holder, watcher = other_session(), other_session(autocommit=True)
    holder.execute("SELECT 1 FROM memories_memory WHERE id = %s FOR UPDATE", [memory])
    changes = [{"text": "Likes green tea", "metadata": {"a": 1}}, {"text": "Likes black tea", "metadata": {"b": 2}}]
    runs = [in_thread(lambda c=c: member_client.put(f"/memories/{memory}", c, format="json")) for c in changes]
    waiting_for_rows(watcher, 2)
    holder.rollback()
    for thread, _ in runs:
        thread.join(120)
    assert [outcome["response"].status_code for _, outcome in runs] == [200, 200]
    stored = Memory.objects.get(id=memory)
    assert stored.metadata == {"a": 1, "b": 2}
    history = list(MemoryHistory.objects.filter(memory_id=memory).order_by("created_at", "id"))
    assert [row.event for row in history] == ["ADD", "UPDATE", "UPDATE"]
    assert history[1].old_memory == "Likes tea" and history[2].old_memory == history[1].new_memory
    assert history[2].new_memory == stored.text
    holder.close(), watcher.close()


def test_a_queued_add_the_worker_runs_while_a_delete_of_its_scope_is_under_way_does_not_outlive_it(
    member_client, member, make_memory, monkeypatch, run_jobs
):
    """The SDKs' add (async_mode) is run by the job worker; one queued before a delete of its scope and run while that
    delete is under way is stored and deleted with the scope, or dropped (its event FAILED: scope_deleted), never
    stored after it."""
    from events.models import Event

    make_memory("Likes tea", principal=member)
    queued = member_client.post(
        "/v1/memories/",
        {"messages": "Plays the cello", "user_id": "alice", "infer": False, "async_mode": True},
        format="json",
    )
    assert queued.status_code == 202, queued.content
    read, go = paused_deletes(monkeypatch)
    deleting, deleted = in_thread(lambda: member_client.delete("/v1/memories/?user_id=alice"))
    assert read.wait(60)
    working, _ = in_thread(run_jobs)
    stored_first = finished_or_waiting(working)
    go.set()
    deleting.join(120), working.join(120)
    assert deleted["response"].status_code == 200
    event = Event.objects.get(id=queued.json()[0]["event_id"])
    expected = ("SUCCEEDED", "") if stored_first else ("FAILED", "scope_deleted")
    assert (event.status, event.error_code) == expected, event.error_message
    assert not Memory.objects.filter(user_id="alice").exists(), "an add queued before the delete outlived it"


@pytest.mark.parametrize("first", ["update", "delete"])
def test_a_batch_update_and_a_batch_delete_of_the_same_memories_happen_one_after_the_other(
    member_client, member, make_memory, first
):
    """Both wait for the memories (another transaction holds one), then run in the order they came: an update then
    a delete leaves no memory and the history ADD, UPDATE, DELETE (the DELETE's old text the updated one); a delete
    then an update is a 404 for the update, which changed nothing."""
    ids = sorted(make_memory(text, principal=member) for text in ("Likes tea", "Likes coffee"))
    holder, watcher = other_session(), other_session(autocommit=True)
    holder.execute("SELECT 1 FROM memories_memory WHERE id = %s FOR UPDATE", [ids[0]])
    calls = {
        "update": lambda: member_client.put(
            "/v1/batch/", {"memories": [{"memory_id": i, "text": f"Changed {i}"} for i in ids]}, format="json"
        ),
        "delete": lambda: member_client.delete(
            "/v1/batch/", {"memories": [{"memory_id": i} for i in ids]}, format="json"
        ),
    }
    second = "delete" if first == "update" else "update"
    runs = {}
    runs[first] = in_thread(calls[first])
    waiting_for_rows(watcher, 1)
    runs[second] = in_thread(calls[second])
    waiting_for_rows(watcher, 2)
    holder.rollback()
    for thread, _ in runs.values():
        thread.join(120)
    status = {kind: outcome["response"].status_code for kind, (_, outcome) in runs.items()}
    assert not Memory.objects.filter(id__in=ids).exists()
    for memory_id in ids:
        history = list(MemoryHistory.objects.filter(memory_id=memory_id).order_by("created_at", "id"))
        if first == "update":
            assert status == {"update": 200, "delete": 200}
            assert [row.event for row in history] == ["ADD", "UPDATE", "DELETE"]
            assert history[2].old_memory == history[1].new_memory == f"Changed {memory_id}"
        else:
            assert status == {"update": 404, "delete": 200}
            assert [row.event for row in history] == ["ADD", "DELETE"]
    holder.close(), watcher.close()


def test_an_add_the_llm_decided_that_finished_before_a_delete_of_its_scope_is_gone_after_it(
    api_client, llm, make_memory, monkeypatch
):
    """As above, for an add whose facts the LLM extracts and decides on (memories/inference.py writes them)."""
    make_memory("Likes tea")
    llm.facts = lambda messages: ["Plays the cello"]
    read, go = paused_deletes(monkeypatch)
    deleting, deleted = in_thread(lambda: api_client.delete("/memories?user_id=alice"))
    assert read.wait(60)
    body = {"messages": [{"role": "user", "content": "I play the cello"}], "user_id": "alice"}
    adding, added = in_thread(lambda: api_client.post("/memories", body, format="json"))
    add_returned_first = finished_or_waiting(adding)
    go.set()
    deleting.join(120), adding.join(120)
    assert deleted["response"].status_code == 200
    assert added["response"].status_code == 200, added["response"].content
    added_ids = [r["id"] for r in added["response"].json()["results"] if r["event"] == "ADD"]
    assert added_ids
    left = [str(memory_id) for memory_id in Memory.objects.filter(user_id="alice").values_list("id", flat=True)]
    assert left == ([] if add_returned_first else added_ids), "an add that returned first outlived the delete"


@pytest.mark.parametrize("path", ["/v1/memories/?user_id=alice", "/v2/entities/user/alice/"])
def test_a_delete_of_a_scope_that_waited_for_an_update_dates_its_delete_after_the_update(
    member_client, member, make_memory, monkeypatch, path
):
    """A PUT of one of alice's memories holds it while a delete of alice's memories comes: the delete waits for it, and
    the memory's history reads ADD, UPDATE, DELETE (the DELETE's old text the updated one). Before, the delete took
    its time before waiting, so its DELETE row was dated before the UPDATE that committed meanwhile: the history read
    ADD, DELETE, UPDATE, a memory changed after it was deleted."""
    memory = make_memory("Likes tea", principal=member)
    locked, go = threading.Event(), threading.Event()
    real = services._memory_update_write

    def pausing(*args, **kwargs):
        locked.set()  # the update holds the memory's row
        assert go.wait(120)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "_memory_update_write", pausing)
    updating, updated = in_thread(
        lambda: member_client.put(f"/v1/memories/{memory}/", {"text": "Likes green tea"}, format="json")
    )
    assert locked.wait(60)
    deleting, deleted = in_thread(lambda: member_client.delete(path))
    assert not finished_or_waiting(deleting), "the delete did not wait for the update"
    go.set()
    updating.join(120), deleting.join(120)
    assert updated["response"].status_code == 200, updated["response"].content
    assert deleted["response"].status_code == 200, deleted["response"].content
    assert not Memory.objects.filter(id=memory).exists()
    history = member_client.get(f"/v1/memories/{memory}/history/").json()
    assert [(row["event"], row["old_memory"], row["new_memory"]) for row in history] == [
        ("ADD", None, "Likes tea"),
        ("UPDATE", "Likes tea", "Likes green tea"),
        ("DELETE", "Likes green tea", None),
    ]


def deleted_meanwhile(monkeypatch, module, principal, memory_id: str) -> None:
    """`module`'s scope_id_counts, called first, returns its counts once another request has deleted `memory_id`
    (committed)."""
    from memories import selectors

    real, pending = selectors.scope_id_counts, [memory_id]

    def then_a_delete(**kwargs):
        counts = real(**kwargs)
        while pending:
            thread, _ = in_thread(lambda: services.memory_delete(principal=principal, memory_id=pending.pop()))
            thread.join(60)
        return counts

    monkeypatch.setattr(module, "scope_id_counts", then_a_delete)


def test_the_stats_count_memories_and_history_events_of_one_moment(member_client, member, make_memory, monkeypatch):
    """GET /v1/stats/ while a memory is deleted between its two statements: its memories and history events are of
    one moment (as many memories as ADD events less DELETE events). Before, the memories were counted before the
    delete and the events after it: 3 memories beside 3 ADDs and 1 DELETE (1 answer in 8 while 4 clients added and
    deleted)."""
    from memories import selectors

    ids = [make_memory(text, principal=member) for text in ("Likes tea", "Lives in Oslo", "Owns a cat")]
    deleted_meanwhile(monkeypatch, selectors, member, ids[0])
    stats = member_client.get("/v1/stats/").json()
    assert (stats["total_memories"], stats["total_add_events"], stats["total_delete_events"]) == (3, 3, 0)
    assert member_client.get("/v1/stats/").json()["total_memories"] == 2  # the next answer has the delete


def test_a_page_of_entities_lists_the_entities_it_counts(member_client, member, make_memory, monkeypatch):
    """GET /v1/entities/ while the only memory of a user is deleted between its two statements: the page lists every
    entity its counts say there are. Before, it counted two users and listed one."""
    from entities import selectors

    make_memory("Likes tea", user_id="alice", principal=member)
    bobs = make_memory("Likes coffee", user_id="bob", principal=member)
    deleted_meanwhile(monkeypatch, selectors, member, bobs)
    listing = member_client.get("/v1/entities/").json()
    assert (listing["count"], listing["total_users"]) == (2, 2)
    assert [entity["id"] for entity in listing["results"]] == ["alice", "bob"]


def held_as_a_deciding_add_holds_it() -> object:
    """Another session's transaction that has read the memories table (as an add deciding with its LLM holds it in
    share mode for as long as its call lasts); rolled back by the caller."""
    holder = other_session()
    holder.execute("SELECT count(*) FROM memories_memory")
    return holder


def test_a_reset_waiting_for_a_transaction_using_the_memories_holds_up_no_other_request(
    api_client, member_client, member, make_memory, settings
):
    """POST /reset's TRUNCATE waited for a transaction that had read the memories (an add deciding with its LLM), and
    every request reading them, every account's, waited behind the TRUNCATE: a member's list answered only when its
    statement timed out. The reset now steps aside between short waits: the list answers while the reset still
    waits, and the reset deletes everything once that transaction has ended."""
    make_memory("Likes tea", principal=member)
    holder = held_as_a_deciding_add_holds_it()
    resetting, reset = in_thread(lambda: api_client.post("/reset"))
    watcher = other_session(autocommit=True)
    try:
        wait_until_blocked(watcher, "%memories_memory, memories_memorysentence%")
        listing, listed = in_thread(lambda: member_client.get("/v1/memories/", {"user_id": "alice"}))
        listing.join(2 * settings.DB_STATEMENT_TIMEOUT_MS / 1000)  # no longer than a statement may last, twice
        answered_while_held = not listing.is_alive()
    finally:
        holder.rollback()
        holder.close()
        watcher.close()
    listing.join(), resetting.join()
    assert answered_while_held, "the list waited for the reset, which waited for the add"
    assert listed["response"].status_code == 200, listed["response"].content
    assert [memory["memory"] for memory in listed["response"].json()] == ["Likes tea"]
    assert reset["response"].status_code == 200, reset["response"].content
    assert not Memory.objects.exists()


def test_a_reset_that_never_has_the_memories_to_itself_is_a_409_that_deletes_nothing(
    api_client, member, make_memory, settings
):
    """A transaction using the memories for longer than a statement may last (DB_STATEMENT_TIMEOUT_MS): the reset says
    so and when to send it again, and deletes nothing."""
    settings.DB_STATEMENT_TIMEOUT_MS = 1_000
    make_memory("Likes tea", principal=member)
    holder = held_as_a_deciding_add_holds_it()
    try:
        response = api_client.post("/reset")
    finally:
        holder.rollback()
        holder.close()
    assert response.status_code == 409, response.content
    assert response["Retry-After"] == "5"
    assert "nothing was deleted" in response.json()["detail"]
    assert Memory.objects.count() == 1
