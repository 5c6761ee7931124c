"""The cost of one request is bounded: messages and characters per add, search query length, filter size,
and how long one database statement may run. Each limit is named, with its setting, in a 400."""

from __future__ import annotations

import json
import random
import string

import pytest
from django.db import connection

from mem0server.tests.sessions import other_session
from memories.models import Memory


def add(client, messages, **body):
    return client.post("/memories", {"messages": messages, "user_id": "alice", "infer": False, **body}, format="json")


def search(client, query="tea", **body):
    return client.post("/search", {"query": query, "user_id": "alice", **body}, format="json")


def nested(depth: int) -> dict:
    """A filter with AND nested `depth` levels deep."""
    inner: dict = {"topic": "food"}
    for _ in range(depth - 1):
        inner = {"AND": [inner]}
    return inner


# --- adds ------------------------------------------------------------------------------------------------


def test_an_add_with_more_messages_than_the_limit_is_a_400_naming_it(api_client):
    response = add(api_client, [{"role": "user", "content": f"fact {i}"} for i in range(1001)])
    assert response.status_code == 400
    assert "MAX_MESSAGES_PER_ADD" in response.json()["detail"]
    assert "1000" in response.json()["detail"]
    assert "messages" in response.json()["errors"]
    assert not Memory.objects.exists()


def test_an_add_at_the_message_limit_is_stored(api_client, settings):
    settings.MAX_MESSAGES_PER_ADD = 5
    response = add(api_client, [{"role": "user", "content": f"fact number {i}"} for i in range(5)])
    assert response.status_code == 200, response.json()
    assert Memory.objects.count() == 5


def test_a_conversation_past_fifty_exchanges_is_stored(api_client):
    # Pipecat's memory service sends the whole conversation so far with each turn: after 50 exchanges, 101
    # messages. Refused at 100 before, and every later turn of the conversation with it.
    conversation = [
        {"role": role, "content": f"{role} says thing number {i}"} for i in range(50) for role in ("user", "assistant")
    ]
    response = add(api_client, [*conversation, {"role": "user", "content": "I moved to Lisbon"}])
    assert response.status_code == 200, response.json()
    assert Memory.objects.count() == 101


def test_an_add_whose_metadata_would_be_stored_in_too_many_memories_is_a_400_naming_it(api_client, settings):
    # Each memory of an add carries its metadata: at most 100 times METADATA_MAX_BYTES in all, as when an add held
    # at most 100 messages.
    settings.METADATA_MAX_BYTES = 1000
    metadata = {"note": "x" * 900}
    response = add(api_client, [{"role": "user", "content": f"fact {i}"} for i in range(120)], metadata=metadata)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "120 memories" in detail and "100000" in detail and "METADATA_MAX_BYTES" in detail, detail
    assert "metadata" in response.json()["errors"]
    assert not Memory.objects.exists()
    # As much metadata with fewer messages, or less metadata with as many, is stored.
    facts = [{"role": "user", "content": f"fact {i}"} for i in range(100)]
    assert add(api_client, facts, metadata=metadata).status_code == 200
    others = [{"role": "user", "content": f"other {i}"} for i in range(120)]
    assert add(api_client, others, metadata={"note": "x" * 700}).status_code == 200
    assert Memory.objects.count() == 220


def test_an_add_with_more_characters_than_the_limit_is_a_400_naming_it(api_client):
    response = add(api_client, [{"role": "user", "content": "x" * 70_000} for _ in range(3)])
    assert response.status_code == 400
    assert "MAX_ADD_CHARS" in response.json()["detail"]
    assert "210000" in response.json()["detail"]
    assert not Memory.objects.exists()


def test_the_add_limits_come_from_the_settings(api_client, settings):
    settings.MAX_MESSAGES_PER_ADD = 2
    assert add(api_client, [{"role": "user", "content": c} for c in "abc"]).status_code == 400
    settings.MAX_MESSAGES_PER_ADD, settings.MAX_ADD_CHARS = 100, 5
    assert "MAX_ADD_CHARS" in add(api_client, "six ch").json()["detail"]


def test_near_duplicates_within_one_add_are_stored_once(api_client):
    messages = ["I like green tea", "I like green tea", "I have a dog", "I like green tea", "I have a dog"]
    response = add(api_client, [{"role": "user", "content": m} for m in messages], infer=True)
    events = [(r["event"], r["memory"]) for r in response.json()["results"]]
    assert events == [
        ("ADD", "I like green tea"),
        ("NONE", "I like green tea"),
        ("ADD", "I have a dog"),
        ("NONE", "I like green tea"),
        ("NONE", "I have a dog"),
    ]
    ids = [r["id"] for r in response.json()["results"]]
    assert ids[1] == ids[3] == ids[0] and ids[4] == ids[2]
    assert Memory.objects.count() == 2


# --- searches and filters -------------------------------------------------------------------------------


def test_a_search_query_longer_than_the_limit_is_a_400_naming_it(api_client):
    response = search(api_client, "tea " * 1001)
    assert response.status_code == 400
    assert "MAX_QUERY_CHARS" in response.json()["detail"]
    assert "query" in response.json()["errors"]


@pytest.mark.parametrize(
    ("filters", "setting"),
    [
        ({"topic": {"in": [f"t{i}" for i in range(1001)]}}, "MAX_FILTER_LIST"),
        ({"actor_id": {"nin": [f"u{i}" for i in range(1001)]}}, "MAX_FILTER_LIST"),
        # Many lists each within the limit: 99 of 1,000 values took about 10 s of the server's time.
        ({"OR": [{f"k{i}": {"in": list(range(1000))}} for i in range(3)]}, "MAX_FILTER_LIST"),
        ({"OR": [{"topic": f"t{i}"} for i in range(101)]}, "MAX_FILTER_CONDITIONS"),
        ({f"key{i}": {"gte": i, "lte": i + 1} for i in range(51)}, "MAX_FILTER_CONDITIONS"),
        # NOT's one filter object counts as a list of one would.
        ({"NOT": {"OR": [{"topic": f"t{i}"} for i in range(101)]}}, "MAX_FILTER_CONDITIONS"),
        # LIKE tries the text at every place of each memory's: 1,001 characters in 20 memories of 100,000 took 8.3 s.
        ({"keywords": {"contains": "a" * 257}}, "MAX_FILTER_CONTAINS_CHARS"),
        ({"metadata": {"topic": {"icontains": "a" * 257}}}, "MAX_FILTER_CONTAINS_CHARS"),
        # Short texts, many of them: each is one more pass of LIKE over every memory's text.
        ({"OR": [{"keywords": {"icontains": f"word {i:05}"}} for i in range(26)]}, "MAX_FILTER_CONTAINS_CHARS"),
    ],
    ids=["in", "nin", "lists", "or", "operators", "not-object", "contains", "metadata-icontains", "many-contains"],
)
def test_a_filter_beyond_a_limit_is_a_400_naming_it_in_search_and_list(api_client, filters, setting):
    response = search(api_client, filters=filters)
    assert response.status_code == 400
    assert setting in response.json()["detail"]
    assert "filters" in response.json()["errors"]
    listed = api_client.get("/memories", {"user_id": "alice", "filters": json.dumps(filters)})
    assert listed.status_code == 400
    assert setting in listed.json()["detail"]


def test_filters_nested_deeper_than_the_limit_are_a_400_naming_it(api_client, settings):
    settings.MAX_FILTER_DEPTH = 3
    assert search(api_client, filters=nested(4)).status_code == 200  # three levels of AND
    response = search(api_client, filters=nested(5))
    assert response.status_code == 400
    assert "deeper than 3 levels (MAX_FILTER_DEPTH)" in response.json()["detail"]


def test_a_lowered_condition_limit_applies_to_a_search_served_before(api_client, settings):
    """Scope ids inside AND count as conditions, also for a search whose compiled scope was kept."""
    filters = {"AND": [{"agent_id": "a1"}, {"run_id": "r1"}]}
    assert search(api_client, filters=filters).status_code == 200
    settings.MAX_FILTER_CONDITIONS = 1
    response = search(api_client, filters=filters)
    assert response.status_code == 400
    assert "MAX_FILTER_CONDITIONS" in response.json()["detail"]


def test_filters_at_the_limits_are_served(api_client, make_memory):
    make_memory("Drinks green tea", metadata={"topic": "t999"})
    # The top-level user_id is not counted: 1 + 98 + 1 conditions.
    others = [{"topic": f"x{i}"} for i in range(98)]
    filters = {"AND": [{"topic": {"in": [f"t{i}" for i in range(1000)]}}, {"OR": [*others, {"topic": "t999"}]}]}
    response = search(api_client, "green tea", filters=filters)
    assert response.status_code == 200, response.json()
    assert [r["memory"] for r in response.json()["results"]] == ["Drinks green tea"]


def test_contains_texts_at_the_limit_are_served(api_client, make_memory):
    sought = "green tea " * 25 + "please"  # 256 characters, in two conditions
    make_memory(f"Drinks {sought} every day", metadata={"topic": "tea"})
    filters = {"AND": [{"keywords": {"contains": sought[:200]}}, {"keywords": {"icontains": sought[200:].upper()}}]}
    response = search(api_client, "green tea", filters=filters)
    assert response.status_code == 200, response.json()
    assert len(response.json()["results"]) == 1
    listed = api_client.get("/memories", {"user_id": "alice", "filters": json.dumps(filters)})
    assert listed.status_code == 200, listed.json()
    assert len(listed.json()["results"]) == 1


def test_the_filter_limits_come_from_the_settings(api_client, settings):
    settings.MAX_FILTER_LIST = 2
    response = search(api_client, filters={"topic": {"in": ["a", "b", "c"]}})
    assert response.status_code == 400
    assert "at most 2" in response.json()["detail"]
    settings.MAX_FILTER_CONTAINS_CHARS = 3
    assert search(api_client, filters={"keywords": {"contains": "tea"}}).status_code == 200
    response = search(api_client, filters={"keywords": {"contains": "teas"}})
    assert response.status_code == 400
    assert "at most 3 are allowed in all (MAX_FILTER_CONTAINS_CHARS)" in response.json()["detail"]


# --- the database's own limit ------------------------------------------------------------------------------


@pytest.fixture
def memories_locked(db):
    """Another session holding an exclusive lock on the memories table, as a long statement would."""
    with other_session() as other:
        other.execute("SET lock_timeout = '10s'")
        other.execute(f"LOCK TABLE {Memory._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        yield
        other.rollback()


def test_a_statement_over_the_timeout_is_a_503_saying_so_not_a_500(api_client, memories_locked, settings):
    with connection.cursor() as cursor:  # the setting applies per session; this test's transaction only
        cursor.execute("SET LOCAL statement_timeout = '300ms'")
    response = api_client.get("/memories", {"user_id": "alice"})
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "datastore_timeout"
    assert "DB_STATEMENT_TIMEOUT_MS" in body["detail"]


def test_server_connections_carry_the_statement_and_idle_timeouts(settings):
    options = settings.DATABASES["default"]["OPTIONS"]["options"]
    assert f"statement_timeout={settings.DB_STATEMENT_TIMEOUT_MS}" in options
    assert f"idle_in_transaction_session_timeout={settings.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS}" in options


def test_a_value_too_large_for_a_database_index_is_a_400_saying_so_not_a_503(api_client):
    """PostgreSQL's own size limits (SQLSTATE 54000: an index row over 2,704 bytes) refuse the request's data;
    the same request fails the same way again, so it is the caller's 400, not "database unavailable"."""
    with connection.cursor() as cursor:  # inside the test's transaction: gone with it
        cursor.execute("CREATE INDEX test_memory_text_btree ON memories_memory (text)")
    text = "".join(random.Random(3).choices(string.ascii_letters, k=4000))  # incompressible
    response = add(api_client, text)
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert "too large" in detail
    assert "index row size" in detail
    assert add(api_client, "short enough").status_code == 200
    assert list(Memory.objects.values_list("text", flat=True)) == ["short enough"]
