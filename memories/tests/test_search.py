"""POST /search: ranking by meaning with the real local embedder, scope, threshold, limits, filters."""

from __future__ import annotations

import datetime
import json
import random
import string
import threading

import pytest

from conftest import ADMIN
from memories import selectors
from memories.models import Memory, MemorySentence
from memories.sentences import sentences as split_sentences
from memories.tests.instances import post_init_heard


def search(client, **body):
    return client.post("/search", body, format="json")


@pytest.fixture
def hnsw_of_live_rows(db):
    """The HNSW index rebuilt from the table's live rows, for a test forcing searches through it.

    Rolled-back tests run before it in this worker leave their rows in the index until the next flush, and a search
    through it can miss live rows among them: one run of the suite found none of alice's three memories here. In a
    table of this shape, 20,000 identical rolled-back vectors left three live rows inserted after them unreachable:
    an index scan found 0 of 3 (20 queries; 3 of 3 with 3,000, or with 20,000 distinct vectors). On a server,
    (auto)vacuum removes deleted rows from the index and mends the graph around them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("REINDEX INDEX memory_embedding_hnsw")


@pytest.fixture
def alice_memories(make_memory):
    return {
        text: make_memory(text)
        for text in ("Loves spicy Thai curry", "Works as a dentist in Berlin", "Plays the cello on Sundays")
    }


def test_search_finds_a_memory_by_meaning_above_unrelated_ones(api_client, alice_memories):
    response = search(api_client, query="what food does she like", user_id="alice", threshold=0)
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0]["memory"] == "Loves spicy Thai curry"
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > scores[1]


def test_search_results_are_memory_objects_with_a_score(api_client, alice_memories):
    [top, *_] = search(api_client, query="her job", user_id="alice").json()["results"]
    assert top["memory"] == "Works as a dentist in Berlin"
    assert top["id"] == alice_memories["Works as a dentist in Berlin"]
    assert {"hash", "metadata", "created_at", "updated_at", "user_id", "score"} <= set(top)
    assert 0 < top["score"] <= 1
    assert "score_details" not in top


def test_search_explain_shows_the_parts_of_the_score(api_client, alice_memories):
    results = search(api_client, query="who plays the cello", user_id="alice", explain=True).json()["results"]
    top = results[0]
    assert top["memory"] == "Plays the cello on Sundays"
    details = top["score_details"]
    assert details["keyword"] == 1.0  # "plays" and "cello": "who" and "the" are stop words
    weight = details["keyword_weight"]
    assert details["fused"] == pytest.approx((1 - weight) * details["vector"] + weight * details["keyword"], abs=1e-6)
    # Then late interaction: the memory's words against the query's, averaged with the fused score.
    assert details["late_interaction_weight"] == 1.0
    assert top["score"] == pytest.approx((details["fused"] + details["late_interaction"]) / 2, abs=1e-6)
    assert all(r["score_details"]["keyword"] == 0.0 for r in results[1:])


def test_an_exact_keyword_lifts_a_memory_above_vaguer_neighbours(api_client, make_memory):
    """Names and codes are what embeddings blur most; the keyword part ranks the memory that has them."""
    make_memory("Ordered a replacement part for the coffee machine")
    make_memory("The coffee machine model is a Kaffeo ZX9")
    plain = search(api_client, query="ZX9", user_id="alice", threshold=0, explain=True).json()["results"]
    assert plain[0]["memory"] == "The coffee machine model is a Kaffeo ZX9"
    assert plain[0]["score_details"]["keyword"] == 1.0
    assert plain[1]["score_details"]["keyword"] == 0.0


def test_queries_of_only_stop_words_rank_by_meaning_alone(api_client, alice_memories):
    results = search(api_client, query="what is it", user_id="alice", threshold=0, explain=True).json()["results"]
    assert results
    for result in results:
        assert result["score_details"]["keyword"] == 0.0
        # score stays in 0..1: an opposite direction (negative cosine) scores 0.
        assert result["score_details"]["fused"] == pytest.approx(max(0.0, result["score_details"]["vector"]), abs=1e-6)


@pytest.mark.parametrize("key", ["top_k", "limit"])
def test_top_k_and_limit_cap_the_results(api_client, alice_memories, key):
    results = search(api_client, query="anything", user_id="alice", threshold=0, **{key: 2}).json()["results"]
    assert len(results) == 2


def test_top_k_and_limit_that_differ_are_a_400_naming_them(api_client, alice_memories):
    # top_k won silently: a caller who meant limit got another number of results.
    response = search(api_client, query="anything", user_id="alice", top_k=5, limit=2)
    assert response.status_code == 400
    assert "Differs from top_k" in str(response.json())
    assert (
        len(search(api_client, query="anything", user_id="alice", threshold=0, top_k=2, limit=2).json()["results"]) == 2
    )


def test_top_k_zero_returns_nothing(api_client, alice_memories):
    assert search(api_client, query="curry", user_id="alice", top_k=0).json()["results"] == []


def test_search_hides_expired_memories_unless_asked(api_client, make_memory):
    make_memory("Is in Paris this week", expiration_date=__import__("datetime").date(2020, 1, 1))
    assert search(api_client, query="Paris", user_id="alice", threshold=0).json()["results"] == []
    shown = search(api_client, query="Paris", user_id="alice", threshold=0, show_expired=True).json()["results"]
    assert [r["memory"] for r in shown] == ["Is in Paris this week"]


def test_a_memory_expiring_today_is_found_today_and_hidden_tomorrow(api_client, make_memory, monkeypatch):
    """The same search repeated (its compiled scope kept) still hides a memory the day after it expired."""
    from django.utils import timezone

    today = timezone.localdate()
    make_memory("Is in Paris this week", expiration_date=today)
    for _ in range(2):
        found = search(api_client, query="Paris", user_id="alice", threshold=0).json()["results"]
        assert [r["memory"] for r in found] == ["Is in Paris this week"]
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: today + datetime.timedelta(days=1))
    assert search(api_client, query="Paris", user_id="alice", threshold=0).json()["results"] == []
    shown = search(api_client, query="Paris", user_id="alice", threshold=0, show_expired=True).json()["results"]
    assert [r["memory"] for r in shown] == ["Is in Paris this week"]


@pytest.mark.parametrize("exact_max_rows", [0, 10_000], ids=["hnsw", "exact"])
def test_filtered_search_is_not_starved_by_other_users_memories(
    hnsw_of_live_rows, api_client, make_memory, embedder, settings, exact_max_rows
):
    """Many closer memories of other users must not push the one user's memories out of the results."""
    settings.SEARCH_EXACT_MAX_ROWS = exact_max_rows
    from conftest import ADMIN
    from memories import services

    services.memories_add(
        principal=ADMIN,
        messages=[services.Message(role="user", content=f"Loves spicy Thai curry number {i}") for i in range(150)],
        scope={"user_id": "crowd"},
        infer=False,
    )
    make_memory("Enjoys Italian pasta")
    results = search(api_client, query="Loves spicy Thai curry", user_id="alice", threshold=0).json()["results"]
    assert [r["memory"] for r in results] == ["Enjoys Italian pasta"]


@pytest.mark.parametrize(
    ("exact_max_rows", "runs", "skips"),
    [(10_000, "enable_bitmapscan", "hnsw.iterative_scan"), (0, "hnsw.iterative_scan", "enable_bitmapscan")],
    ids=["small-scope-exact", "large-scope-hnsw"],
)
def test_small_scopes_are_searched_exactly_and_large_ones_through_hnsw(
    hnsw_of_live_rows, api_client, alice_memories, settings, exact_max_rows, runs, skips
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.SEARCH_EXACT_MAX_ROWS = exact_max_rows
    with CaptureQueriesContext(connection) as queries:
        results = search(api_client, query="what food does she like", user_id="alice", threshold=0).json()["results"]
    assert results[0]["memory"] == "Loves spicy Thai curry"
    sql = " ".join(query["sql"] for query in queries)
    assert runs in sql
    assert skips not in sql


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("exact_max_rows", [0, 10_000], ids=["hnsw", "exact"])
def test_a_search_leaves_its_database_connection_with_the_default_settings(
    hnsw_of_live_rows, api_client, alice_memories, settings, exact_max_rows
):
    """The search's planner and pgvector settings end with its statements: the next request on the same
    connection plans as PostgreSQL would by default."""
    from django.db import connection

    settings.SEARCH_EXACT_MAX_ROWS = exact_max_rows
    for _ in range(2):
        results = search(api_client, query="what food does she like", user_id="alice", threshold=0).json()["results"]
        assert results[0]["memory"] == "Loves spicy Thai curry"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('enable_seqscan'), current_setting('enable_bitmapscan'),"
                " current_setting('hnsw.iterative_scan'), current_setting('hnsw.ef_search')"
            )
            assert cursor.fetchone() == ("on", "on", "off", "40")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"query": "x"}, "user_id"),
        ({"query": "x", "filters": {"topic": "food"}}, "user_id"),
        ({"query": "", "user_id": "alice"}, "query"),
        ({"user_id": "alice"}, "query"),
        ({"query": ["x"], "user_id": "alice"}, "query"),
        ({"query": "x", "user_id": "alice", "threshold": 1.5}, "threshold"),
        ({"query": "x", "user_id": "alice", "threshold": "high"}, "threshold"),
        ({"query": "x", "user_id": "alice", "top_k": -1}, "top_k"),
        ({"query": "x", "user_id": "alice", "limit": "many"}, "limit"),
        ({"query": "x", "user_id": "alice", "filters": "topic=food"}, "filters"),
        ({"query": "x", "user_id": "alice", "filters": {"user_id": "bob"}}, "user_id"),
        ({"query": "x", "user_id": "alice", "filters": {"topic": {"like": "f%"}}}, "like"),
        # Lone surrogates (JSON's "\ud800"): a comparison with a column sent them to the driver, a 500.
        ({"query": "x", "user_id": "alice", "filters": {"actor_id": {"contains": "\ud800"}}}, "surrogate"),
        ({"query": "x", "filters": {"user_id": "\ud800"}}, "surrogate"),
        ({"query": "x", "user_id": "alice", "filters": {"topic": {"gt": "\udc00"}}}, "surrogate"),
    ],
)
def test_search_rejects_bad_input(api_client, body, says):
    # json.dumps escapes what DRF's test renderer cannot encode (a lone surrogate), as a real client would.
    response = api_client.post("/search", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert says in response.json()["detail"]


def test_results_holding_more_than_one_answer_carries_are_a_400_saying_to_ask_for_fewer(
    api_client, make_memory, settings
):
    settings.LIST_MAX_BYTES = 100
    for i in range(3):
        make_memory(f"Garden note {i}: " + "é" * 10, metadata={"k": "v"})  # 35 bytes + 10 of metadata as JSON
    refused = search(api_client, query="garden note", user_id="alice", top_k=3, threshold=0)
    assert refused.status_code == 400
    detail = refused.json()["detail"]
    assert "These 3 results hold 135 bytes" in detail and "LIST_MAX_BYTES" in detail and "top_k" in detail
    answer = search(api_client, query="garden note", user_id="alice", top_k=2, threshold=0)
    assert answer.status_code == 200 and len(answer.json()["results"]) == 2


def test_a_scope_that_is_most_of_the_table_goes_through_hnsw(db, make_memory):
    """Exact search reads every row of the scope: beyond EXACT_ALWAYS_ROWS that only pays off for a small share."""
    import random

    from django.db import connection

    from memories import selectors
    from memories.models import Memory

    rng = random.Random(7)
    Memory.objects.bulk_create(
        Memory(text=f"m{i}", hash="0" * 32, user_id="big", embedding=[rng.uniform(-1, 1) for _ in range(384)])
        for i in range(selectors.EXACT_ALWAYS_ROWS + 200)
    )
    make_memory("Collects stamps", user_id="small")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Memory._meta.db_table}")
    assert selectors._decide_exact({"user_id": "small"})[2] is True
    assert selectors._decide_exact({"user_id": "big"})[2] is False


def _nested(operator: str, levels: int, innermost: dict) -> dict:
    filters = innermost
    for _ in range(levels):
        filters = {operator: [filters]}
    return filters


@pytest.mark.parametrize("operator", ["NOT", "AND", "OR"])
def test_the_deepest_filters_a_body_may_carry_still_run(api_client, make_memory, operator):
    make_memory("Loves spicy Thai curry", metadata={"topic": "food"})
    # 15 levels: the body, its filters and each level's object and list reach 32, the nesting limit.
    filters = _nested(operator, 15, {"topic": "food"})
    response = search(api_client, query="curry", user_id="alice", threshold=0, filters=filters)
    assert response.status_code == 200
    assert len(response.json()["results"]) == (0 if operator == "NOT" else 1)


def test_filters_nested_past_the_limit_are_a_400_not_a_recursion_error(api_client, make_memory):
    make_memory("Loves spicy Thai curry", metadata={"topic": "food"})
    # 300 levels of NOT parse fine but overflowed the stack while Django compiled the query (a 500).
    response = search(api_client, query="curry", user_id="alice", filters=_nested("NOT", 300, {"topic": "food"}))
    assert response.status_code == 400
    assert "nest deeper than 32 levels" in response.json()["detail"]


CHORES = [
    f"On day {day} I {task}."
    for day, task in enumerate(
        (
            "fixed the leaking kitchen tap",
            "repainted the garden fence",
            "sorted the tax paperwork",
            "cleaned the gutters",
            "replaced a flat bicycle tyre",
            "defrosted the freezer",
            "hung new curtains upstairs",
            "oiled the squeaky hinges",
            "swept the chimney",
            "rewired a bedside lamp",
            "ordered more printer ink",
            "mowed the back lawn",
            "descaled the kettle",
            "washed all the windows",
            "tidied the garage shelves",
            "booked a boiler service",
            "patched the hallway wall",
            "sharpened the kitchen knives",
            "cleared the loft",
            "changed the smoke alarm batteries",
            "scrubbed the bathroom grout",
            "planted tomato seedlings",
            "emptied the recycling bins",
            "re-grouted the shower tiles",
        ),
        start=1,
    )
]


def test_the_end_of_a_memory_longer_than_sixteen_sentences_is_found_too(api_client, make_memory, embedder):
    """A diary of 29 sentences: its whole vector stops at the model's 256 tokens, and only its first 16 sentences
    had vectors, so the answer near the end counted nowhere. Its sentences now come in 16 runs that cover them all."""
    diary = " ".join([*CHORES, ANSWER, *(f"Then on day {day} nothing much happened." for day in range(25, 29))])
    long_id = make_memory(diary)
    for text in SHORT_TURNS:
        make_memory(text)
    results = search(api_client, query=PET_QUESTION, user_id="alice", explain=True, threshold=0).json()["results"]
    assert results[0]["id"] == long_id
    runs = split_sentences(diary)
    assert len(runs) == 16 and " ".join(runs) == diary
    [holder] = [run for run in runs if ANSWER in run]
    assert results[0]["score_details"]["vector"] == pytest.approx(cosine(embedder, PET_QUESTION, holder), abs=1e-4)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"topic": {"in": []}}, []),
        ({"AND": [{"user_id": "alice"}, {"topic": {"in": []}}]}, []),
        ({"OR": [{"topic": {"in": []}}, {"topic": "food"}]}, ["Loves spicy Thai curry"]),
    ],
)
def test_an_empty_in_list_matches_nothing_in_a_search_as_in_a_list(api_client, make_memory, filters, expected):
    make_memory("Loves spicy Thai curry", metadata={"topic": "food"})
    response = search(api_client, query="curry", user_id="alice", threshold=0, filters=filters)
    assert response.status_code == 200, response.content
    assert [hit["memory"] for hit in response.json()["results"]] == expected
    listed = api_client.get("/memories", {"user_id": "alice", "filters": json.dumps(filters)}).json()["results"]
    assert [memory["memory"] for memory in listed] == expected


def test_the_query_is_embedded_while_postgresql_ranks_by_keywords(api_client, alice_memories, embedder, monkeypatch):
    """The embedding (~8 ms on one core) and the keyword statement overlap instead of adding up.

    The embedder here finishes only once the keyword statement has reached PostgreSQL: a search that embedded
    the query first would wait out the 10 s and find the statement never sent.
    """
    from django.db import connection

    keyword_statement_sent = threading.Event()
    seen_while_embedding: list[bool] = []
    waits_for_company: list[bool] = []
    real_embed = embedder.embed_rows  # a query is embedded with its tokens' vectors (late interaction)

    def embed_once_keywords_are_sent(texts):
        seen_while_embedding.append(keyword_statement_sent.wait(10))
        waits_for_company.append(embedder.batcher.company())
        return real_embed(texts)

    def watch(execute, sql, params, many, context):
        if "AS max_score" in sql:  # the keyword statement (BM25)
            keyword_statement_sent.set()
        return execute(sql, params, many, context)

    monkeypatch.setattr(embedder, "embed_rows", embed_once_keywords_are_sent)
    with connection.execute_wrapper(watch):
        response = search(api_client, query="who plays the cello", user_id="alice")
    assert response.status_code == 200
    assert response.json()["results"][0]["memory"] == "Plays the cello on Sundays"
    assert seen_while_embedding == [True]
    # The only request in its process: its text does not wait EMBEDDER_BATCH_WAIT_MS for others that cannot come.
    assert waits_for_company == [False]


_FROM_MEMORIES = """
    SELECT m.id, t.lexeme, coalesce(array_length(t.positions, 1), 1),
           user_id, agent_id, app_id, run_id, account_id, expiration_date
    FROM memories_memory m, unnest(m.search_vector) t WHERE octet_length(t.lexeme) <= 255"""
_FROM_POSTINGS = """
    SELECT memory_id, lexeme, tf, user_id, agent_id, app_id, run_id, account_id, expiration_date
    FROM memories_posting"""


def _postings_differ_from_memories() -> int:
    """Rows in only one of memories_posting and the memories' own tsvectors (with scope ids, account, expiry)."""
    from django.db import connection

    with connection.cursor() as cursor:
        differ = f"""SELECT count(*) FROM (({_FROM_MEMORIES} EXCEPT ALL {_FROM_POSTINGS})
                     UNION ALL ({_FROM_POSTINGS} EXCEPT ALL {_FROM_MEMORIES})) d"""  # noqa: S608  (constants only)
        cursor.execute(differ)
        return cursor.fetchone()[0]


def _keyword_hits(client, query):
    results = search(client, query=query, user_id="alice", threshold=0, explain=True).json()["results"]
    return [r["memory"] for r in results if r["score_details"]["bm25"] > 0]


def test_keyword_search_follows_every_write(api_client, make_memory):
    """BM25 reads its term frequencies from memories_posting, kept by PostgreSQL triggers: after each kind of
    write, a search finds exactly the words the memories hold now, and the index equals the memories' own."""
    from memories.models import Posting

    ferry = make_memory("The ferry to Tallinn leaves at nine, the ferry back at six")
    make_memory("Booked a table in Tallinn old town")
    assert Posting.objects.filter(memory_id=ferry, lexeme="ferri").get().tf == 2
    assert sorted(_keyword_hits(api_client, "Tallinn")) == [
        "Booked a table in Tallinn old town",
        "The ferry to Tallinn leaves at nine, the ferry back at six",
    ]
    assert _postings_differ_from_memories() == 0

    api_client.put(f"/memories/{ferry}", {"text": "The ferry to Helsinki leaves at nine"}, format="json")
    assert _keyword_hits(api_client, "Tallinn") == ["Booked a table in Tallinn old town"]
    assert _keyword_hits(api_client, "Helsinki") == ["The ferry to Helsinki leaves at nine"]
    assert _postings_differ_from_memories() == 0

    api_client.put(f"/memories/{ferry}", {"expiration_date": "2020-01-01"}, format="json")
    assert _keyword_hits(api_client, "Helsinki") == []
    api_client.put(f"/memories/{ferry}", {"metadata": {"trip": "baltic"}}, format="json")
    assert _postings_differ_from_memories() == 0

    assert api_client.delete(f"/memories/{ferry}").status_code == 200
    assert _postings_differ_from_memories() == 0
    assert not Posting.objects.filter(memory_id=ferry).exists()

    assert api_client.post("/reset").status_code == 200
    assert _keyword_hits(api_client, "Tallinn") == []
    assert not Posting.objects.exists()


def test_a_top_level_scope_id_that_agrees_with_filters_is_no_conflict(api_client, make_memory):
    """{"eq": "alice"} in filters and user_id "alice" at the top name one scope; only a different one is a 400."""
    make_memory("Loves spicy Thai curry")
    make_memory("Loves Thai curry too", user_id="bob")
    agreeing = {"user_id": {"eq": "alice"}}
    for path in ("/search", "/v3/memories/search/", "/v2/memories/search/"):
        body = {"query": "curry", "user_id": "alice", "filters": agreeing, "threshold": 0}
        response = api_client.post(path, body, format="json")
        assert response.status_code == 200, (path, response.content)
        hits = response.json()
        hits = hits["results"] if isinstance(hits, dict) else hits  # /v2/: a bare list, as Mem0's older API
        assert [r["memory"] for r in hits] == ["Loves spicy Thai curry"]
    listed = api_client.post("/v3/memories/", {"user_id": "alice", "filters": agreeing}, format="json")
    assert listed.status_code == 200, listed.content
    assert [m["memory"] for m in listed.json()["results"]] == ["Loves spicy Thai curry"]
    for differing in ("bob", {"eq": "bob"}, {"ne": "alice"}):
        for path in ("/search", "/v3/memories/search/"):
            body = {"query": "curry", "user_id": "alice", "filters": {"user_id": differing}}
            response = api_client.post(path, body, format="json")
            assert response.status_code == 400, (path, response.content)
            assert "Differs from filters.user_id" in response.json()["detail"]


def test_a_word_too_long_to_index_under_a_long_scope_id_is_stored_and_the_rest_still_ranks(api_client):
    """A 2,040-letter "word" under a 765-byte user id made a posting too large for its btree index (a 503,
    nothing stored). Such a word is left out of the keyword index, on both keyword paths alike."""
    user_id = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(255))  # 255 CJK characters, 765 bytes
    long_word = "".join(random.Random(5).choices(string.ascii_lowercase, k=2040))  # incompressible
    body = {"messages": f"{long_word} ferry to Tallinn", "user_id": user_id, "infer": False}
    response = api_client.post("/memories", body, format="json")
    assert response.status_code == 200, response.content
    listed = api_client.get("/memories", {"user_id": user_id}).json()["results"]
    assert [memory["memory"] for memory in listed] == [f"{long_word} ferry to Tallinn"]
    for filters in (None, {"NOT": [{"kind": "none"}]}):  # scope ids alone: the postings; otherwise the tsvectors
        extra = {"filters": filters} if filters else {}
        for query, bm25 in ((f"Tallinn {long_word}", True), (long_word, False)):
            search_body = {"query": query, "user_id": user_id, "threshold": 0, "explain": True, **extra}
            found = search(api_client, **search_body).json()["results"]
            assert [r["score_details"]["bm25"] > 0 for r in found] == [bm25], (filters, query[:10])
    assert _postings_differ_from_memories() == 0


def test_a_search_scoped_by_ids_alone_ranks_as_a_filtered_one(api_client, make_memory):
    """The postings (scope ids only) and the memories' tsvectors (any filter) give the same BM25: the same
    memories in the same order, with the same scores and parts. Term frequency counts here."""
    from django.db import connection

    texts = [
        "Tea tea tea: green tea every morning",
        "Tea with milk",
        "Prefers coffee, sometimes tea in the afternoon when the office is quiet and the coffee machine is broken",
        "Drinks coffee",
        "Went hiking in the Alps with a thermos of tea",
        "The dentist appointment is on Monday",
    ]
    for text in texts:
        make_memory(text, metadata={"kind": "note"})
    make_memory("Tea tea tea for bob", user_id="bob", metadata={"kind": "note"})
    statements: list[str] = []

    def keep(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    answers = []
    for filters in (None, {"kind": "note"}):
        statements.clear()
        with connection.execute_wrapper(keep):
            body = {"query": "tea or coffee", "user_id": "alice", "threshold": 0, "explain": True}
            response = search(api_client, **body, **({"filters": filters} if filters else {}))
        assert response.status_code == 200, response.content
        keyword_sql = next(sql for sql in statements if "AS max_score" in sql)
        answers.append((response.json()["results"], "memories_posting" in keyword_sql))
    (results, from_postings), (other, from_postings_too) = answers
    assert (from_postings, from_postings_too) == (True, False)
    assert [r["memory"] for r in results] == [r["memory"] for r in other]
    assert sum(r["score_details"]["bm25"] > 0 for r in results) == 5
    for mine, theirs in zip(results, other, strict=True):
        assert mine["score"] == pytest.approx(theirs["score"], abs=1e-12)
        assert mine["score_details"] == pytest.approx(theirs["score_details"], abs=1e-12)


def test_the_query_vector_reaches_postgresql_as_the_vector_its_full_decimals_name(db):
    """The shorter text the fusion statement sends for the query's vector changes no stored value (float32)."""
    import numpy as np
    from django.db import connection

    from memories import search

    rng = np.random.default_rng(5)
    vectors = [rng.standard_normal(384) / 20 for _ in range(20)]  # float64, as an API embedder answers
    vectors += [v.astype(np.float32).astype(np.float64) for v in vectors[:10]]  # what the local model gives
    with connection.cursor() as cursor:
        for vector in vectors:
            values = vector.tolist()
            full = "[" + ",".join(repr(x) for x in values) + "]"
            cursor.execute("SELECT %s::vector::text = %s::vector::text", [search._vector_literal(values), full])
            assert cursor.fetchone() == (True,)
        cursor.execute("SELECT %s::vector::text", [search._vector_literal([0.5, float("nan"), float("inf"), -1.0])])
        assert cursor.fetchone() == ("[0.5,0,0,-1]",)


LONG_TURN = (
    "Work has been hectic all month and the new manager keeps moving every deadline around. I finally repainted "
    "the kitchen a pale green on Saturday. My brother is visiting from Lisbon next week, so the spare room needs "
    "clearing out. Also, we adopted a rescue greyhound called Pepper."
)
ANSWER = "Also, we adopted a rescue greyhound called Pepper."
SHORT_TURNS = ("Haha, that's so funny!", "What about you?", "Oh really? Tell me more!", "Sounds good, see you then.")
PET_QUESTION = "Which animal joined the family?"


def cosine(embedder, a: str, b: str) -> float:
    first, second = embedder.embed([a, b])
    return sum(x * y for x, y in zip(first, second, strict=True))


def test_a_long_memory_is_found_by_its_one_sentence_that_answers(api_client, make_memory, embedder):
    """One vector for a long memory is the mean of all it says: the answer's sentence decides how close it is."""
    long_id = make_memory(LONG_TURN)
    for text in SHORT_TURNS:
        make_memory(text)
    results = search(api_client, query=PET_QUESTION, user_id="alice", explain=True, threshold=0).json()["results"]
    assert results[0]["id"] == long_id
    vector = results[0]["score_details"]["vector"]
    assert vector == pytest.approx(cosine(embedder, PET_QUESTION, ANSWER), abs=1e-4)
    # The whole text alone is less similar than two of the short generic turns.
    assert cosine(embedder, PET_QUESTION, LONG_TURN) < sorted(r["score_details"]["vector"] for r in results)[-3]


def test_a_long_memorys_sentences_follow_its_text(api_client, make_memory, embedder, settings):
    settings.SEARCH_LATE_INTERACTION = False  # ranked by the vectors' similarity alone, as this test reads it
    long_id = make_memory(LONG_TURN)
    make_memory("Haha, that's so funny!")

    def top():
        [best, *_] = search(api_client, query=PET_QUESTION, user_id="alice", explain=True, threshold=0).json()[
            "results"
        ]
        return best["id"], best["score_details"]["vector"]

    assert top() == (long_id, pytest.approx(cosine(embedder, PET_QUESTION, ANSWER), abs=1e-4))
    # A new text without the answer: the old sentences no longer count.
    other = LONG_TURN.replace(ANSWER, "Also, the boiler finally got fixed by a plumber.")
    assert api_client.put(f"/memories/{long_id}", {"text": other}, format="json").status_code == 200
    ranked = search(api_client, query=PET_QUESTION, user_id="alice", explain=True, threshold=0).json()["results"]
    assert [r["memory"] for r in ranked] == ["Haha, that's so funny!", other]
    assert ranked[1]["score_details"]["vector"] < ranked[0]["score_details"]["vector"]
    # Back through the Platform's batch update: the answer's sentence counts again.
    batch = api_client.put("/v1/batch/", {"memories": [{"memory_id": long_id, "text": LONG_TURN}]}, format="json")
    assert batch.status_code == 200, batch.content
    assert top()[0] == long_id
    assert api_client.delete(f"/memories/{long_id}").status_code == 200
    assert not MemorySentence.objects.exists()


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"OR": [{"user_id": "alice"}, {"user_id": "bob"}]}, {"Loves curry", "Cooks curry on Fridays"}),
        ({"user_id": {"in": ["alice", "carol"]}}, {"Loves curry", "Hates curry"}),
        ({"AND": [{"user_id": "bob"}]}, {"Cooks curry on Fridays"}),
    ],
)
def test_a_search_scope_may_be_an_or_an_in_list_or_inside_and(api_client, make_memory, filters, expected):
    make_memory("Loves curry")
    make_memory("Cooks curry on Fridays", user_id="bob")
    make_memory("Hates curry", user_id="carol")
    response = search(api_client, query="curry", filters=filters, threshold=0)
    assert response.status_code == 200, response.json()
    assert {r["memory"] for r in response.json()["results"]} == expected


def test_an_or_with_a_branch_that_names_no_scope_is_no_scope(api_client, make_memory):
    make_memory("Loves curry")
    response = search(api_client, query="curry", filters={"OR": [{"user_id": "alice"}, {"topic": "food"}]})
    assert response.status_code == 400
    assert "in every branch of an OR" in response.json()["detail"]


def test_an_or_of_two_scope_keys_reads_only_their_postings_not_every_accounts(api_client, make_memory):
    """An OR of user_id and agent_id has one index per branch: with bitmap scans off (the exact path), its keyword
    statement scanned every posting of the query's words in the whole database, other accounts' too (131-225 ms
    against 16-18 ms with 200,000 memories sharing the word): one client's searches could starve the others'."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_memory("Filler words about tea")
    make_memory("More filler for the bot", user_id=None, scope={"agent_id": "bot"})
    with connection.cursor() as cursor:
        # Without the HNSW index (dropped in this test's transaction, back after it): the filler's vectors are no
        # part of what is tested here, and its 20,000 identical ones cost PostgreSQL 7 s of CPU to put into the
        # index and stayed in its graph after the rollback (hnsw_of_live_rows).
        cursor.execute("DROP INDEX memory_embedding_hnsw")
        cursor.execute(
            "INSERT INTO memories_memory (id, text, hash, user_id, agent_id, metadata, embedding, categories, "
            "created_at, updated_at) SELECT gen_random_uuid(), 'filler number ' || g, md5(g::text), "
            "'crowd-' || g % 500, 'crowd-bot', '{}', array_fill(0.05::real, ARRAY[384])::vector, '{}', now(), now() "
            "FROM generate_series(1, 20000) g"
        )
        cursor.execute("ANALYZE memories_memory; ANALYZE memories_posting")
    body = {"query": "filler", "filters": {"OR": [{"user_id": "alice"}, {"agent_id": "bot"}]}, "threshold": 0}
    with CaptureQueriesContext(connection) as queries:
        results = search(api_client, **body).json()["results"]
    assert {r["memory"] for r in results} == {"Filler words about tea", "More filler for the bot"}
    [keyword_statement] = [q["sql"] for q in queries if "AS max_score" in q["sql"]]
    settings_part, statement = keyword_statement.split("WITH scope", 1)
    with connection.cursor() as cursor:
        cursor.execute(settings_part)
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) WITH scope" + statement)
        plan = cursor.fetchone()[0]

    def removed(node: dict) -> int:
        return node.get("Rows Removed by Filter", 0) + sum(removed(child) for child in node.get("Plans", []))

    assert removed(plan[0]["Plan"]) < 1_000


FILLER = "The weather was grey and the trains ran late all week, so most evenings were spent indoors reading. "


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Maya: Short and sweet. Two sentences.", []),  # under 150 characters
        (
            f"Maya: {FILLER}The garden needs work before summer! We adopted a greyhound.",
            [f"Maya: {FILLER.strip()}", "Maya: The garden needs work before summer!", "Maya: We adopted a greyhound."],
        ),
        (f"{FILLER}{FILLER}Then spring came.", [FILLER.strip(), "Then spring came."]),  # a repeat is kept once
        (
            "今天下雨了，火车晚点了一个小时。" * 9 + "我们领养了一只灵缇犬！",
            ["今天下雨了，火车晚点了一个小时。", "我们领养了一只灵缇犬！"],
        ),
        (
            FILLER * 2 + "No end mark at all, just a long run of words " * 3,
            [
                FILLER.strip(),
                "No end mark"
                + " at all, just a long run of words"
                + " No end mark at all, just a long run of words" * 2,
            ],
        ),
    ],
)
def test_which_sentences_a_memory_is_embedded_as(text, expected):
    assert split_sentences(text) == expected


def test_a_search_scope_as_large_as_a_request_body_is_not_kept_per_process(api_client, make_memory):
    """Each kept entry would hold its filters: distinct 1,000-id lists would fill a worker's memory."""
    from memories import selectors

    make_memory("Loves curry")
    ids = ["alice", *(f"someone-with-a-long-name-{i:04d}" for i in range(999))]
    selectors._plan_cache.clear()
    response = search(api_client, query="curry", filters={"user_id": {"in": ids}}, threshold=0)
    assert [r["memory"] for r in response.json()["results"]] == ["Loves curry"]
    assert not selectors._plan_cache
    search(api_client, query="curry", filters={"user_id": {"in": ids[:3]}}, threshold=0)
    assert len(selectors._plan_cache) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("change", "filters"),
    [
        (
            """UPDATE memories_memory SET metadata = '{"topic": "travel"}' WHERE id = %s""",
            {"metadata": {"topic": "food"}},
        ),
        ("UPDATE memories_memory SET expiration_date = '2000-01-01' WHERE id = %s", {}),
        ("DELETE FROM memories_memory WHERE id = %s", {}),
    ],
    ids=["out of the filters", "expired", "deleted"],
)
def test_a_memory_that_leaves_the_scope_while_it_is_searched_is_not_found(
    api_client, make_memory, monkeypatch, change, filters
):
    """A search runs two statements, keywords first. A memory the first found and another request then changed
    (its metadata no longer what the filters ask, or expired) was still answered: the second read the keyword
    side's memories from the table by id, not from the scope."""
    from mem0server.tests.sessions import other_session
    from memories import selectors

    curry = make_memory("Loves spicy Thai curry", metadata={"topic": "food"})
    make_memory("Works as a dentist in Berlin", metadata={"topic": "food"})
    embed_query = selectors.embed_query

    def embedded_after_another_request_commits(query):
        future = embed_query(query)

        class Embedding:  # the query vector is asked for between the two statements
            def result(self):
                with other_session(autocommit=True) as conn:
                    conn.execute(change, [curry])
                return future.result()

        return Embedding()

    monkeypatch.setattr(selectors, "embed_query", embedded_after_another_request_commits)
    found = search(api_client, query="curry", user_id="alice", filters=filters, threshold=0).json()["results"]
    assert [r["memory"] for r in found] == ["Works as a dentist in Berlin"]


@pytest.mark.parametrize("analyzed", [True, False], ids=["analyzed", "never-analyzed"])
def test_keyword_scores_in_a_large_scope_do_not_depend_on_another_accounts_memories(
    key_client, make_user, settings, analyzed
):
    """BM25's idf needs the scope's memory count. A large scope (searched through HNSW) took it from the table's
    statistics, or counted it, for the scope ids alone: another account's memories under the same user_id changed
    this account's keyword scores, which told it roughly how many memories others keep under that name."""
    from django.db import connection

    from memories.models import Memory
    from memories.selectors import search_plan_cache_clear

    settings.SEARCH_EXACT_MAX_ROWS = 0  # every scope through HNSW, as a scope of over 10,000 memories
    owner = key_client(make_user("owner@example.com"))
    other = make_user("other@example.com")
    for text in ("Collects vintage stamps", "Plays the cello", "Walks the dog daily", "Bakes bread on Sundays"):
        body = {"messages": [{"role": "user", "content": text}], "user_id": "alice", "infer": False}
        assert owner.post("/memories", body, format="json").status_code == 200

    def keyword_scores() -> dict[str, float]:
        with connection.cursor() as cursor:
            if analyzed:
                cursor.execute(f"ANALYZE {Memory._meta.db_table}")
            else:
                cursor.execute("UPDATE pg_class SET reltuples = -1 WHERE oid = %s::regclass", [Memory._meta.db_table])
        search_plan_cache_clear()
        results = search(owner, query="vintage stamps", user_id="alice", threshold=0, explain=True).json()["results"]
        return {r["memory"]: r["score_details"]["bm25"] for r in results if r["score_details"]["bm25"] > 0}

    before = keyword_scores()
    assert list(before) == ["Collects vintage stamps"]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO memories_memory (id, text, hash, user_id, account_id, metadata, embedding, categories, "
            "created_at, updated_at) SELECT gen_random_uuid(), 'filler number ' || g, md5(g::text), 'alice', %s, "
            "'{}', array_fill(0.05::real, ARRAY[384])::vector, '{}', now(), now() FROM generate_series(1, 3000) g",
            [other.pk],
        )
    assert keyword_scores() == before


def test_a_small_scope_is_searched_exactly_however_many_memories_another_account_keeps_under_its_user_id(
    key_client, make_user, settings
):
    """The planner's estimate of a scope covers every account: 3,000 memories of another account under "alice"
    sent this account's four through HNSW, which walks past the other account's rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from memories.models import Memory

    settings.SEARCH_EXACT_MAX_ROWS = 2_000
    owner = key_client(make_user("owner@example.com"))
    other = make_user("other@example.com")
    for text in ("Collects vintage stamps", "Plays the cello", "Walks the dog daily", "Bakes bread on Sundays"):
        body = {"messages": [{"role": "user", "content": text}], "user_id": "alice", "infer": False}
        assert owner.post("/memories", body, format="json").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO memories_memory (id, text, hash, user_id, account_id, metadata, embedding, categories, "
            "created_at, updated_at) SELECT gen_random_uuid(), 'filler number ' || g, md5(g::text), 'alice', %s, "
            "'{}', array_fill(0.05::real, ARRAY[384])::vector, '{}', now(), now() FROM generate_series(1, 3000) g",
            [other.pk],
        )
        cursor.execute(f"ANALYZE {Memory._meta.db_table}")
    with CaptureQueriesContext(connection) as queries:
        results = search(owner, query="stamps", user_id="alice", threshold=0).json()["results"]
    assert results[0]["memory"] == "Collects vintage stamps"
    sql = " ".join(query["sql"] for query in queries)
    assert "hnsw.iterative_scan" not in sql


@pytest.mark.parametrize("listening", [False, True], ids=["made-directly", "a-receiver-listens"])
def test_search_results_are_the_stored_memories_as_the_orm_loads_them(alice_memories, listening):
    # Results are made without Model.__init__ (memories/search.py, _memories), unless a receiver listens to its signals.
    with post_init_heard(listening) as seen:
        found = selectors.memories_search(principal=ADMIN, query="her job", filters={"user_id": "alice"}, threshold=0)
    assert [memory.text for memory in found][0] == "Works as a dentist in Berlin"
    assert len(found) == len(alice_memories)
    assert [id(memory) for memory in seen] == ([id(memory) for memory in found] if listening else [])
    deferred = {"embedding", "search_vector"}
    fields = [field.attname for field in Memory._meta.concrete_fields if field.attname not in deferred]
    for memory in found:
        stored = Memory.objects.get(id=memory.id)
        assert not memory._state.adding and memory._state.db == "default"
        assert memory.get_deferred_fields() == deferred
        assert [getattr(memory, name) for name in fields] == [getattr(stored, name) for name in fields]
        assert list(memory.embedding) == list(stored.embedding)  # a deferred field, read when asked for
        assert 0 < memory.score <= 1 and memory.score_details["vector_rank"] >= 1
    top = found[0]
    top.text = "Works as a dentist in Hamburg"
    top.save(update_fields=["text"])  # an update of the stored row, not a second memory
    assert Memory.objects.filter(user_id="alice").count() == len(alice_memories)
    assert Memory.objects.get(id=top.id).text == "Works as a dentist in Hamburg"


def test_results_of_equal_score_come_in_the_order_of_their_ids(api_client, make_memory):
    ids = {make_memory("Plays the cello on Sundays") for _ in range(4)}
    make_memory("Works as a dentist in Berlin")
    results = search(api_client, query="cello", user_id="alice", threshold=0).json()["results"]
    tied = [hit for hit in results if hit["memory"] == "Plays the cello on Sundays"]
    assert {hit["id"] for hit in tied} == ids and len({hit["score"] for hit in tied}) == 1
    assert [hit["id"] for hit in tied] == sorted(ids)  # PostgreSQL's order of uuids is that of their text
    assert results[: len(tied)] == tied
