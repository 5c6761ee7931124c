"""Batches among concurrent writers: a batch that waited for another transaction's row locks dates its history
after what committed meanwhile, and a deadlock is answered as a conflict to retry, not as a database outage."""

from __future__ import annotations

import pytest

from mem0server.tests.sessions import in_thread, other_session, wait_until_blocked
from memories.models import Memory, MemoryHistory

pytestmark = pytest.mark.django_db(transaction=True)


def two_memories(member, make_memory) -> tuple[str, str]:
    """Two of the member's memories, in id order (the order writers lock them in)."""
    return tuple(sorted(make_memory(text, principal=member) for text in ("Likes tea", "Likes coffee")))


def test_a_batch_that_waited_for_locks_dates_its_change_after_one_made_meanwhile(member_client, member, make_memory):
    first, second = two_memories(member, make_memory)
    before = Memory.objects.get(id=second).text
    holder, watcher = other_session(), other_session()
    watcher.autocommit = True
    holder.execute("SELECT 1 FROM memories_memory WHERE id = %s FOR UPDATE", [first])  # a long transaction
    batch = [{"memory_id": first, "text": "Likes green tea"}, {"memory_id": second, "text": "Lives in Bergen"}]
    thread, outcome = in_thread(lambda: member_client.put("/v1/batch/", {"memories": batch}, format="json"))
    wait_until_blocked(watcher, "%FOR UPDATE%")  # the batch locks in id order: it waits at `first`
    assert member_client.put(f"/memories/{second}", {"text": "Lives in Trondheim"}, format="json").status_code == 200
    holder.rollback()
    thread.join(timeout=120)
    assert outcome["response"].status_code == 200
    history = MemoryHistory.objects.filter(memory_id=second).order_by("created_at", "id")
    assert [(row.old_memory, row.new_memory) for row in history] == [
        (None, before),
        (before, "Lives in Trondheim"),
        ("Lives in Trondheim", "Lives in Bergen"),  # the batch's change, dated after the PUT's
    ]
    assert Memory.objects.get(id=second).updated_at == history.last().created_at
    holder.close(), watcher.close()


def test_a_deadlock_is_a_503_conflict_to_retry_and_changes_nothing(member_client, member, make_memory):
    first, second = two_memories(member, make_memory)
    other, watcher = other_session(), other_session()
    watcher.autocommit = True
    other.execute("SET deadlock_timeout = '60s'")  # the request's session finds the deadlock, and gives way
    other.execute("SELECT 1 FROM memories_memory WHERE id = %s FOR UPDATE", [second])
    batch = [{"memory_id": first}, {"memory_id": second}]
    thread, outcome = in_thread(lambda: member_client.delete("/v1/batch/", {"memories": batch}, format="json"))
    wait_until_blocked(watcher, "%FOR UPDATE%")  # holding `first`, waiting for `second`
    other.execute("SELECT 1 FROM memories_memory WHERE id = %s FOR UPDATE", [first])  # the cycle
    thread.join(timeout=120)
    other.rollback()
    response = outcome["response"]
    assert response.status_code == 503
    assert response.json()["code"] == "datastore_conflict"
    assert "collided with another change" in response.json()["detail"]
    assert response["Retry-After"] == "1"
    assert Memory.objects.filter(id__in=[first, second]).count() == 2
    other.close(), watcher.close()
