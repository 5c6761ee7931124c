"""A delete of a scope (DELETE /memories?user_id=…, the Platform's, an entity's, the SDKs' delete_all, MCP's
delete_all_memories) holds a bounded part of the scope in the worker at a time and no memory's text: the history rows
are written from the memories in SQL, and webhook deliveries read the texts back from them. What users see stays:
the same history rows and webhook payloads, all or nothing."""

from __future__ import annotations

import pytest
from django.db import connection

from entities.services import entities_delete
from memories import services
from memories.models import Memory, MemoryHistory
from memories.signals import memories_changed
from webhooks import services as webhook_services

BATCH = 10
MEMORIES = 35  # three full batches and a part


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(services, "DELETE_BATCH", BATCH, raising=False)


def add_facts(principal, user_id: str = "alice") -> dict[str, dict]:
    """MEMORIES memories of one user, said by several speakers and roles: {id: the memory as it was}."""
    messages = [
        services.Message(
            role="assistant" if n % 3 == 0 else "user",
            content=f"Fact number {n} about {user_id}: " + "lorem ipsum " * (n % 7),
            name=f"speaker-{n % 4}" if n % 2 else None,
        )
        for n in range(MEMORIES)
    ]
    services.memories_add(principal=principal, messages=messages, scope={"user_id": user_id}, infer=False)
    return {
        str(m["id"]): m
        for m in Memory.objects.filter(user_id=user_id).values("id", "text", "actor_id", "role", "account_id")
    }


class ResultRows:
    """Every statement's result as the client received it: its number of rows and whether a memory text was in it."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = [text.encode() for text in texts]
        self.results: list[tuple[str, int, int]] = []  # (sql, rows, memory texts among the values)

    def __call__(self, execute, sql, params, many, context):
        outcome = execute(sql, params, many, context)
        result = context["cursor"].cursor.pgresult
        rows, texts = 0, 0
        if result is not None:
            rows = result.ntuples
            for row in range(rows):
                for column in range(result.nfields):
                    value = result.get_value(row, column) or b""
                    texts += any(text in value for text in self.texts)
        self.results.append((sql, rows, texts))
        return outcome


def test_deleting_a_scope_fetches_no_memory_text_and_at_most_a_batch_of_rows_per_statement(
    member, embedder, small_batches, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    memories = add_facts(member)
    webhook_services.webhook_create(
        principal=member, name="deletes", url="http://127.0.0.1:9/x", event_types=["memory_delete"]
    )
    watch = ResultRows([m["text"] for m in memories.values()])
    with connection.execute_wrapper(watch):
        deleted = services.memories_delete_scope(principal=member, scope={"user_id": "alice"})
    assert deleted.memories == MEMORIES
    assert not Memory.objects.filter(user_id="alice").exists()
    assert [sql for sql, _, texts in watch.results if texts] == []
    assert max(rows for _, rows, _ in watch.results) <= BATCH
    # Every memory has its DELETE row, its text written by PostgreSQL.
    history = MemoryHistory.objects.filter(event="DELETE")
    assert sorted((str(h.memory_id), h.old_memory) for h in history) == sorted(
        (key, m["text"]) for key, m in memories.items()
    )


def test_a_scope_delete_that_fails_after_its_first_batch_deletes_nothing(member, embedder, small_batches):
    memories = add_facts(member)
    last = max(memories)

    def refuse_the_last(sender, *, changes, **kwargs):
        if any(change["memory_id"] == last for change in changes):
            raise RuntimeError("a listener failed")

    memories_changed.connect(refuse_the_last, dispatch_uid="test.refuse_the_last")
    try:
        with pytest.raises(RuntimeError):
            services.memories_delete_scope(principal=member, scope={"user_id": "alice"})
    finally:
        memories_changed.disconnect(dispatch_uid="test.refuse_the_last")
    assert Memory.objects.filter(user_id="alice").count() == MEMORIES
    assert not MemoryHistory.objects.filter(event="DELETE").exists()


def test_deleting_several_entities_fetches_no_memory_text_and_at_most_a_batch_of_rows_per_statement(
    member, embedder, small_batches
):
    memories = {**add_facts(member, "alice"), **add_facts(member, "bob")}
    watch = ResultRows([m["text"] for m in memories.values()])
    with connection.execute_wrapper(watch):
        deleted = entities_delete(principal=member, entities={"user": "alice", "agent": "nobody"})
    assert deleted == {"user": (MEMORIES, 0), "agent": (0, 0)}
    assert [sql for sql, _, texts in watch.results if texts] == []
    assert max(rows for _, rows, _ in watch.results) <= BATCH
    assert set(Memory.objects.values_list("user_id", flat=True)) == {"bob"}
