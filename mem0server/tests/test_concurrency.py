"""Concurrent requests against a live, threaded server on the real database: nothing lost, nothing torn.

Each test starts real client threads that talk HTTP to pytest-django's live server, so requests run in
parallel server threads with their own database connections, as under gunicorn --threads.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection

import pytest

from conftest import ADMIN, ADMIN_KEY
from memories.models import Memory, MemoryHistory

pytestmark = pytest.mark.django_db(transaction=True)


class Client:
    def __init__(self, base_url: str, key: str = ADMIN_KEY) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port, self.key = parts.hostname, parts.port, key

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        conn = HTTPConnection(self.host, self.port, timeout=60)
        try:
            headers = {"X-API-Key": self.key, "Content-Type": "application/json"}
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()


@pytest.fixture
def live(live_server, admin_key, embedder) -> Client:
    return Client(live_server.url)


def run_together(count: int, work) -> list:
    """Run work(i) for i in range(count) on `count` threads released at the same moment."""
    barrier = threading.Barrier(count)

    def start(i: int):
        barrier.wait(timeout=30)
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(start, range(count)))


def test_twenty_clients_adding_to_one_user_lose_nothing(live):
    per_client = 3

    def add(i: int):
        messages = [{"role": "user", "content": f"client {i} fact {j}"} for j in range(per_client)]
        return live.call("POST", "/memories", {"messages": messages, "user_id": "shared", "infer": False})

    results = run_together(20, add)
    assert [status for status, _ in results] == [200] * 20
    returned = {item["id"] for _, body in results for item in body["results"]}
    assert len(returned) == 20 * per_client
    stored = set(Memory.objects.filter(user_id="shared").values_list("id", flat=True))
    assert {str(memory_id) for memory_id in stored} == returned
    assert MemoryHistory.objects.filter(event="ADD").count() == 20 * per_client


def test_concurrent_identical_adds_with_infer_store_one_memory(live):
    body = {"messages": "Allergic to peanuts", "user_id": "shared", "infer": True}
    results = run_together(8, lambda i: live.call("POST", "/memories", body))
    events = Counter(item["event"] for _, body in results for item in body["results"])
    assert events == {"ADD": 1, "NONE": 7}
    assert Memory.objects.count() == 1


def test_concurrent_identical_adds_to_overlapping_scopes_store_no_duplicate(live):
    # An add to {user} checks all the user's memories, those with an agent too, so it must wait for an add to
    # {user, agent}: stored after that one, its fact is a duplicate. (One stored before it is not: an add to
    # {user, agent} checks only that agent's memories.)
    scopes = [{"user_id": "shared"}, {"user_id": "shared", "agent_id": "helper"}] * 4
    facts = ["Allergic to peanuts", "Plays the cello on Sundays", "Works night shifts at a bakery", "Owns a red kayak"]
    for trial, text in enumerate(facts):  # unlike each other: not near-duplicates across trials
        run_together(
            8, lambda i, text=text: live.call("POST", "/memories", {"messages": text, "infer": True, **scopes[i]})
        )
        stored = list(Memory.objects.filter(text=text).order_by("created_at").values_list("agent_id", flat=True))
        assert stored in ([None], ["helper"], [None, "helper"]), (trial, stored)


def test_concurrent_update_and_delete_leave_consistent_history(live):
    ids = [
        live.call("POST", "/memories", {"messages": f"fact {i}", "user_id": "u", "infer": False})[1]["results"][0]["id"]
        for i in range(6)
    ]

    def race(i: int):
        memory_id = ids[i // 2]
        if i % 2:
            return "delete", live.call("DELETE", f"/memories/{memory_id}")[0]
        return "update", live.call("PUT", f"/memories/{memory_id}", {"text": f"changed {i}"})[0]

    outcomes = run_together(len(ids) * 2, race)
    assert all(status == 200 for kind, status in outcomes if kind == "delete")
    assert all(status in (200, 404) for kind, status in outcomes if kind == "update")
    assert not Memory.objects.exists()
    for memory_id in ids:
        events = list(MemoryHistory.objects.filter(memory_id=memory_id).order_by("created_at", "id"))
        kinds = [event.event for event in events]
        assert kinds in (["ADD", "DELETE"], ["ADD", "UPDATE", "DELETE"]), kinds
        # The DELETE row records the text the memory really had when it was deleted.
        assert events[-1].old_memory == events[-2].new_memory


def test_reset_during_writes_leaves_every_memory_with_its_history(live):
    def work(i: int):
        if i == 5:
            return live.call("POST", "/reset")[0]
        body = {"messages": [{"role": "user", "content": f"w{i} m{j}"} for j in range(4)], "user_id": "u"}
        return live.call("POST", "/memories", {**body, "infer": False})[0]

    assert set(run_together(12, work)) == {200}
    memory_ids = set(Memory.objects.values_list("id", flat=True))
    added = set(MemoryHistory.objects.filter(event="ADD").values_list("memory_id", flat=True))
    assert memory_ids == added


def test_a_star_delete_racing_adds_of_the_same_account_loses_and_tears_nothing(live_server, embedder, make_user):
    """Mem0's `delete --all --project` (all four "*") while the same account adds: each memory is either deleted
    with its history's DELETE row, sentences and postings, or kept whole; another account's are untouched."""
    from apikeys.services import apikey_create
    from memories.models import MemorySentence, Posting

    member, other = make_user("member@example.com"), make_user("other@example.com")
    live = Client(live_server.url, key=apikey_create(user=member, label="race")[1])
    theirs = Client(live_server.url, key=apikey_create(user=other, label="race")[1])
    long_text = ". ".join(f"Sentence {k} about the harbour and its boats" for k in range(8))  # stored with sentences
    body = {"messages": long_text, "filters": {"user_id": "u"}, "infer": False, "async_mode": False}
    assert theirs.call("POST", "/v3/memories/add/", body)[0] == 200
    wipe = "/v1/memories/?user_id=*&agent_id=*&app_id=*&run_id=*"

    def work(i: int):
        if i % 4 == 3:
            return "delete", live.call("DELETE", wipe)
        scope = [{"user_id": f"u{i}"}, {"agent_id": f"a{i}"}, {"app_id": "x", "run_id": f"r{i}"}][i % 3]
        body = {"messages": f"{long_text}. Writer {i}", "filters": scope, "infer": False, "async_mode": False}
        return "add", live.call("POST", "/v3/memories/add/", body)

    # Within the pool (DB_POOL_MAX_SIZE 10, the test's own connection beside): the requests wait for each other's
    # locks, not for a connection. Beyond it, one waiting over DB_POOL_TIMEOUT on a busy machine is answered 503.
    outcomes = run_together(8, work)
    assert all(status == 200 for _, (status, _) in outcomes), outcomes
    added = {item["id"] for kind, (_, body) in outcomes if kind == "add" for item in body["results"]}
    deleted = sum(body["deleted"] for kind, (_, body) in outcomes if kind == "delete")
    kept = {str(memory_id) for memory_id in Memory.objects.filter(account=member).values_list("id", flat=True)}
    assert kept <= added and len(added) - len(kept) == deleted
    for memory_id in added:
        kinds = list(
            MemoryHistory.objects.filter(memory_id=memory_id).order_by("created_at").values_list("event", flat=True)
        )
        assert kinds == (["ADD"] if memory_id in kept else ["ADD", "DELETE"]), (memory_id, kinds)
    existing = {str(memory_id) for memory_id in Memory.objects.values_list("id", flat=True)}
    assert {str(m) for m in Posting.objects.values_list("memory_id", flat=True)} == existing
    assert {str(m) for m in MemorySentence.objects.values_list("memory_id", flat=True)} == existing
    assert Memory.objects.filter(account=other).count() == 1


def test_a_backup_racing_an_update_and_a_delete_is_of_one_moment(make_memory, monkeypatch):
    """export_memories (and the dashboard's backup) read memories through a cursor, their history chunk by chunk:
    each memory's line and its history must be of one moment. A memory updated or deleted once the export began is
    exported as it was then, without the later history rows (else the backup held the old text beside an UPDATE to
    the new one, and a deleted memory beside its DELETE row, which an import stores again)."""
    import io

    from django.db import connection

    from exports import backup
    from memories import services

    monkeypatch.setattr(backup, "EXPORT_CHUNK", 1)  # each memory's history read after the previous line is written
    # Exported oldest first: `first`'s line is written before the others' history is read.
    first, changed, gone = (make_memory(text) for text in ("Likes tea", "Lives in Oslo", "Owns a cat"))
    before = Memory.objects.get(id=changed).text

    def write_meanwhile():
        try:
            services.memory_update(principal=ADMIN, memory_id=changed, text="Lives in Bergen")
            services.memory_delete(principal=ADMIN, memory_id=gone)
        finally:
            connection.close()  # this thread's own database session

    class Out(io.StringIO):
        def write(self, text: str) -> int:
            if not self.getvalue():  # the first line: the export is under way; another request writes meanwhile
                thread = threading.Thread(target=write_meanwhile)
                thread.start()
                thread.join(timeout=60)
            return super().write(text)

    out = Out()
    assert backup.export_jsonl(memories=backup.memories_for_backup(), out=out) == (3, 3)
    lines = {line["id"]: line for line in map(json.loads, out.getvalue().splitlines())}
    assert set(lines) == {first, changed, gone}
    assert lines[changed]["memory"] == before
    for line in lines.values():
        assert [row["event"] for row in line["history"]] == ["ADD"], line
    # Meanwhile the changes were made, and the next backup has them.
    assert Memory.objects.get(id=changed).text == "Lives in Bergen"
    assert not Memory.objects.filter(id=gone).exists()
