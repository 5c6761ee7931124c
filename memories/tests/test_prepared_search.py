"""A search of a scope of ids is planned once per connection: its two statements run as prepared statements on one
generic plan (mem0server/db/prepared.py), and give what planning each search gave.

These tests run outside a transaction (transactional_db), as requests do: inside one, statements run unprepared.
PostgreSQL's own counters say how often each statement was planned (pg_prepared_statements) and which index a
search walked (pg_stat_user_indexes).
"""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection, transaction

from mem0server.db import prepared
from memories import search as memories_search
from memories.models import Memory

TEXTS = (
    "Loves spicy Thai curry",
    "Works as a dentist in Berlin",
    "Plays the cello on Sundays",
    "Her sister Maya lives in Lisbon",
    "Went hiking in the Alps last week",
)
QUERIES = ("what food does she like", "where does her sister live", "which instrument does she play", "her job")
ANSWERS = (TEXTS[0], TEXTS[3], TEXTS[2], TEXTS[1])


@pytest.fixture
def memories(transactional_db, make_memory):
    """Alice's and Bob's memories, on a connection with no prepared statement (it outlives a test)."""
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    prepared.forget()
    for text in TEXTS:
        make_memory(text, user_id="alice")
        make_memory(text, user_id="bob")


def search(client, query: str, **body) -> list[tuple[str, float, dict]]:
    response = client.post("/search", {"query": query, "threshold": 0, "explain": True, **body}, format="json")
    assert response.status_code == 200, response.json()
    return [(hit["memory"], hit["score"], hit["score_details"]) for hit in response.json()["results"]]


def statements() -> dict[str, tuple[int, int]]:
    """This connection's prepared statements: {name: (generic plans used, custom plans made)}."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements")
        return {name: (generic, custom) for name, generic, custom in cursor.fetchall()}


def planned_each_time(client, query: str, **body) -> list[tuple[str, float, dict]]:
    """The search as it ran before: inside a transaction its statements are planned for their values."""
    with transaction.atomic():
        return search(client, query, **body)


def same(found: list, expected: list) -> bool:
    """The same memories in the same order, with the same scores and parts (to float rounding: PostgreSQL may add
    a memory's BM25 terms in another order)."""
    return [memory for memory, _, _ in found] == [memory for memory, _, _ in expected] and all(
        score == pytest.approx(other, abs=1e-9)
        and {key: value for key, value in details.items() if key != "keyword_rank"}
        == pytest.approx({key: value for key, value in other_details.items() if key != "keyword_rank"}, abs=1e-9)
        for (_, score, details), (_, other, other_details) in zip(found, expected, strict=True)
    )


def test_searches_of_a_scope_are_planned_once_and_find_what_planning_each_time_found(api_client, memories):
    for user in ("alice", "bob"):
        for query in QUERIES:
            assert same(search(api_client, query, user_id=user), planned_each_time(api_client, query, user_id=user))
    # Two statements (keywords, then vectors and fusion), each planned once for the eight searches of two users.
    assert sorted(statements().values()) == [(8, 0), (8, 0)]
    # A query naming a time has a fusion statement of its own (the time's memories are candidates too).
    timed = search(api_client, "what did she do last week", user_id="alice")
    assert same(timed, planned_each_time(api_client, "what did she do last week", user_id="alice"))
    assert timed[0][0] == "Went hiking in the Alps last week" and timed[0][2]["temporal"] == 1.0
    assert sorted(statements().values()) == [(1, 0), (8, 0), (9, 0)]


def test_a_connection_that_lost_its_statements_prepares_them_again(api_client, memories):
    expected = search(api_client, QUERIES[0], user_id="alice")
    # What a pooler in transaction mode does: the next statement goes to a server connection that has none.
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert same(search(api_client, QUERIES[0], user_id="alice"), expected)
    assert sorted(statements().values()) == [(1, 0), (1, 0)]


def test_statements_the_process_did_not_know_of_are_used(api_client, memories):
    expected = search(api_client, QUERIES[1], user_id="alice")
    prepared.forget()  # as another client of the same server connection (a pooler) would have prepared them
    assert same(search(api_client, QUERIES[1], user_id="alice"), expected)
    assert sorted(statements().values()) == [(2, 0), (2, 0)]


def test_a_connection_keeps_a_bounded_number_of_statements(api_client, memories, monkeypatch):
    monkeypatch.setattr(prepared, "KEPT", 3)
    for scope in ({"user_id": "alice"}, {"agent_id": "a"}, {"app_id": "b"}, {"run_id": "r"}):
        search(api_client, QUERIES[0], **scope)
        assert len(statements()) <= 3
    # The newest search's statements are among those kept.
    assert sorted(statements().values())[-2:] == [(1, 0), (1, 0)]


def test_searches_whose_best_plan_depends_on_their_values_are_planned_for_them(api_client, memories, make_memory):
    # How common a metadata value is decides whether to read its index; which of two ids' indexes to read, how
    # common each id is. Such searches prepare nothing.
    make_memory("Bakes sourdough bread", user_id="alice", metadata={"topic": "food"}, scope={"agent_id": "chef"})
    found = search(api_client, QUERIES[0], filters={"user_id": "alice", "topic": "food"})
    assert [memory for memory, _, _ in found] == ["Bakes sourdough bread"]
    found = search(api_client, QUERIES[0], filters={"AND": [{"user_id": "alice"}, {"agent_id": "chef"}]})
    assert [memory for memory, _, _ in found] == ["Bakes sourdough bread"]
    assert statements() == {}


def hnsw_scans() -> int:
    """How often PostgreSQL has walked the memories' HNSW index (this connection's counts flushed first)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")  # flushed as that statement ends
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'memory_embedding_hnsw'")
        return cursor.fetchone()[0]


def crowd(user_id: str, count: int) -> None:
    """`count` memories of `user_id` (each a random vector: unlike any question), then 500 other users' memories,
    and fresh statistics."""
    vectors = np.random.default_rng(7).normal(size=(count, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    Memory.objects.bulk_create(
        Memory(text=f"Note {i}", hash="0" * 32, user_id=user_id, embedding=vector) for i, vector in enumerate(vectors)
    )
    Memory.objects.bulk_create(
        Memory(text="Note", hash="0" * 32, user_id=f"user-{i}", embedding=vectors[0]) for i in range(500)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Memory._meta.db_table}")


def test_a_large_scope_is_searched_through_the_hnsw_index_by_the_one_plan(api_client, memories, monkeypatch):
    # Alice's scope is large: her searches walk the HNSW index. The one plan for every user's scope is made without
    # knowing whose it is, and with 500 other users in the table a scope looks small to it: unless told otherwise,
    # it would read and sort all of a large scope's distances. (Large from 1,200 memories here: storing 5,000
    # takes the HNSW index 15 s.)
    monkeypatch.setattr(memories_search, "PREPARED_HNSW_MIN_ROWS", 1_200)
    crowd("alice", 1_200)
    for query, answer in zip(QUERIES, ANSWERS, strict=True):
        before = hnsw_scans()
        found = search(api_client, query, user_id="alice")
        assert hnsw_scans() > before
        assert found[0][0] == answer
    assert sorted(statements().values()) == [(4, 0), (4, 0)]


def test_a_scope_of_some_thousand_memories_that_is_much_of_the_table_is_planned_for_each_search(api_client, memories):
    # Searched through HNSW too, but PostgreSQL may find reading it cheaper, which only a plan for its size knows.
    crowd("alice", 1_200)
    for query, answer in zip(QUERIES, ANSWERS, strict=True):
        assert search(api_client, query, user_id="alice")[0][0] == answer
    assert statements() == {}
