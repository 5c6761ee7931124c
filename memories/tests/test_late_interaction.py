"""Late interaction (memories/late_interaction.py): token vectors stored with each memory, and search scoring its
best candidates by them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from conftest import ADMIN
from memories import late_interaction, services
from memories.models import Memory, MemoryTokens
from memories.tests.test_recall import DATASET, add_turns, search
from memories.tests.test_recall import add as recall_add
from memories.timestamps import dated_text


def add(client, content, **body) -> str:
    response = recall_add(client, content, **body)
    assert response.status_code == 200, response.json()
    return response.json()["results"][0]["id"]


def stored_words(memory_id) -> int:
    return len(late_interaction.unpack(MemoryTokens.objects.get(memory_id=memory_id).vectors))


def test_an_added_memory_keeps_the_vectors_of_its_words_and_not_of_its_date(api_client):
    dated = add(api_client, "Maya: likes green tea!", timestamp="2024-03-05T10:00:00Z")
    undated = add(api_client, "Maya: likes green tea!", user_id="bob")
    # maya, likes, green, tea: not ":" nor "!", nor the "[2024-03-05]" the dated text was embedded with
    assert stored_words(dated) == stored_words(undated) == 4
    tokens = MemoryTokens.objects.get(memory_id=dated)
    assert tokens.hash == Memory.objects.get(id=dated).hash
    # Stored as int8: each word's vector comes back unit length within the rounding.
    vectors = late_interaction.unpack(tokens.vectors)
    assert vectors.shape == (4, 384)
    assert (abs((vectors**2).sum(axis=1) - 1) < 0.02).all()


def test_a_new_text_gets_new_token_vectors_and_a_deleted_memory_loses_them(api_client):
    memory_id = add(api_client, "Likes tea")
    response = api_client.put(f"/memories/{memory_id}", {"text": "Plays the cello on Sundays"}, format="json")
    assert response.status_code == 200, response.json()
    assert stored_words(memory_id) == 5
    assert MemoryTokens.objects.get(memory_id=memory_id).hash == Memory.objects.get(id=memory_id).hash
    assert api_client.delete(f"/memories/{memory_id}").status_code == 200
    assert not MemoryTokens.objects.filter(memory_id=memory_id).exists()


@pytest.fixture
def pets(api_client):
    texts = [
        "Maya: Our dog Biscuit chewed the sofa again.",
        "Maya: That sounds lovely, tell me more!",
        "Maya: I went to the market and bought some apples.",
        "Jonas: How was your week?",
    ]
    return {text: add(api_client, text) for text in texts}


def test_search_scores_by_the_mean_of_the_fused_score_and_late_interaction(api_client, pets):
    results = search(api_client, query="what is the dog called", user_id="alice", threshold=0, explain=True)["results"]
    assert len(results) == len(pets)
    assert results[0]["memory"] == "Maya: Our dog Biscuit chewed the sofa again."
    for result in results:
        details = result["score_details"]
        assert 0 < details["late_interaction"] <= 1
        assert result["score"] == pytest.approx((details["fused"] + details["late_interaction"]) / 2, abs=1e-9)
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    # The memory about the dog matches the query's words best.
    assert max(results, key=lambda r: r["score_details"]["late_interaction"])["id"] == pets[results[0]["memory"]]


def test_a_threshold_applies_to_the_score_shown(api_client, pets):
    everything = search(api_client, query="dog", user_id="alice", threshold=0)["results"]
    cut = (everything[1]["score"] + everything[2]["score"]) / 2
    kept = search(api_client, query="dog", user_id="alice", threshold=cut)["results"]
    assert [r["id"] for r in kept] == [r["id"] for r in everything[:2]]
    assert all(r["score"] >= cut for r in kept)


def test_turned_off_the_score_is_the_fused_score(api_client, pets, settings):
    settings.SEARCH_LATE_INTERACTION = False
    results = search(api_client, query="what is the dog called", user_id="alice", threshold=0, explain=True)["results"]
    assert all("late_interaction" not in r["score_details"] for r in results)
    weight = results[0]["score_details"]["keyword_weight"]
    top = results[0]["score_details"]
    assert results[0]["score"] == pytest.approx((1 - weight) * top["vector"] + weight * top["keyword"], abs=1e-6)


def test_memories_without_stored_tokens_get_them_during_the_search_and_rank_alike(api_client, pets):
    body = {"query": "what is the dog called", "user_id": "alice", "threshold": 0, "explain": True}
    before = search(api_client, **body)["results"]
    # As memories stored before this version, or whose text changed by a path that did not renew them.
    MemoryTokens.objects.filter(memory_id=pets["Maya: Our dog Biscuit chewed the sofa again."]).delete()
    MemoryTokens.objects.filter(memory_id=pets["Jonas: How was your week?"]).update(hash="0" * 32)
    after = search(api_client, **body)["results"]
    assert [r["id"] for r in after] == [r["id"] for r in before]
    for old, new in zip(before, after, strict=True):
        assert new["score_details"]["late_interaction"] == pytest.approx(
            old["score_details"]["late_interaction"], abs=0.01
        )
    # Stored for the next search, of the memories' present texts.
    for memory_id in pets.values():
        assert MemoryTokens.objects.get(memory_id=memory_id).hash == Memory.objects.get(id=memory_id).hash


def test_a_query_of_punctuation_only_keeps_the_fused_order(api_client, pets):
    results = search(api_client, query="?!", user_id="alice", threshold=0, explain=True)["results"]
    assert all("late_interaction" not in r["score_details"] for r in results)


def test_late_interaction_finds_what_the_fused_order_left_out_of_the_top_10(api_client, settings):
    """One whole conversation of bench/data (161 turns, 42 questions): the fused order leaves answering turns out
    of its top 10; with late interaction (the default) every answer is in it."""
    data = json.loads(DATASET.read_text())
    conversation = next(c for c in data["conversations"] if c["id"] == "c2")
    add_turns(api_client, conversation["sessions"], user_id="c2")
    assert MemoryTokens.objects.count() == Memory.objects.filter(user_id="c2").count()
    questions = [q for q in data["questions"] if q["conversation"] == "c2"]
    missed = {True: [], False: []}
    for question in questions:
        # Every question with late interaction; without it only until the fused order has missed one answer.
        for on in (False, True) if not missed[False] else (True,):
            settings.SEARCH_LATE_INTERACTION = on
            body = {"query": question["question"], "user_id": "c2", "top_k": 10, "threshold": 0}
            found = {r["metadata"]["turn_id"] for r in search(api_client, **body)["results"]}
            missed[on] += sorted(set(question["evidence"]) - found)
    assert missed[False]  # the fused order misses some
    assert missed[True] == []


def test_reembedding_every_memory_stores_the_tokens_of_those_that_had_none(api_client, pets):
    from memories.services import memories_reembed

    MemoryTokens.objects.all().delete()  # as memories stored before this version
    assert memories_reembed(dated_only=False) == len(pets)
    for memory_id in pets.values():
        assert MemoryTokens.objects.get(memory_id=memory_id).hash == Memory.objects.get(id=memory_id).hash


@pytest.mark.django_db(transaction=True)
def test_a_candidate_deleted_while_its_tokens_are_computed_leaves_the_search_answering(
    api_client, pets, embedder, monkeypatch
):
    from mem0server.tests.sessions import other_session

    dog = pets["Maya: Our dog Biscuit chewed the sofa again."]
    MemoryTokens.objects.filter(memory_id=dog).delete()
    real_embed_rows = embedder.embed_rows

    def deleted_meanwhile(texts):
        if len(texts) == 1 and "Biscuit" in texts[0]:  # the candidate's tokens, not the query's
            with other_session(autocommit=True) as other:
                other.execute("DELETE FROM memories_memory WHERE id = %s", [dog])
        return real_embed_rows(texts)

    monkeypatch.setattr(embedder, "embed_rows", deleted_meanwhile)
    results = search(api_client, query="what is the dog called", user_id="alice", threshold=0)["results"]
    assert dog in [r["id"] for r in results]  # read before it was deleted; storing its tokens failed quietly
    assert not MemoryTokens.objects.filter(memory_id=dog).exists()
    assert MemoryTokens.objects.count() == len(pets) - 1


@pytest.mark.django_db(transaction=True)
def test_a_search_does_not_wait_for_a_write_holding_a_candidate_to_store_its_tokens(api_client, pets):
    """An update holds its memory's row until it commits; the search's insert of that memory's tokens would wait
    for it (the foreign key's check), and the update may be waiting to write the same tokens row: the search gives
    up storing after its lock timeout and answers."""
    from mem0server.tests.sessions import other_session

    dog = pets["Maya: Our dog Biscuit chewed the sofa again."]
    MemoryTokens.objects.filter(memory_id=dog).delete()
    with other_session() as writer:
        writer.execute("SELECT id FROM memories_memory WHERE id = %s FOR UPDATE", [dog])
        results = search(api_client, query="what is the dog called", user_id="alice", threshold=0, explain=True)
        writer.rollback()
    assert results["results"][0]["id"] == dog
    assert results["results"][0]["score_details"]["late_interaction"] > 0
    assert not MemoryTokens.objects.filter(memory_id=dog).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "change",
    [{"occurred_at": datetime(2024, 2, 1, 9, 0, tzinfo=UTC)}, {"text": "Maya: Our dog Biscuit ate a whole sock."}],
    ids=["timestamp", "text"],
)
def test_tokens_a_search_computed_do_not_replace_those_an_update_stored_meanwhile(
    api_client, embedder, monkeypatch, change
):
    dog = add(api_client, "Maya: Our dog Biscuit chewed the sofa again.", timestamp="2023-05-08T14:00:00Z")
    MemoryTokens.objects.filter(memory_id=dog).delete()  # as a memory stored before tokens were kept
    read = dated_text("Maya: Our dog Biscuit chewed the sofa again.", datetime(2023, 5, 8, 14, 0, tzinfo=UTC))
    real_embed_rows, updated = embedder.embed_rows, []

    def updated_meanwhile(texts):
        rows = real_embed_rows(texts)
        if texts == [read] and not updated:  # the search computing the tokens of the memory it read
            services.memory_update(principal=ADMIN, memory_id=uuid.UUID(dog), **change)  # commits now
            updated.append(bytes(MemoryTokens.objects.get(memory_id=dog).vectors))
        return rows

    monkeypatch.setattr(embedder, "embed_rows", updated_meanwhile)
    body = {"query": "what is the dog called", "user_id": "alice", "threshold": 0, "explain": True}
    search(api_client, **body)
    assert updated
    # The update's tokens (of the memory's present text and day) stay, and the next search scores by them as by
    # tokens it computes afresh.
    assert bytes(MemoryTokens.objects.get(memory_id=dog).vectors) == updated[0]
    assert MemoryTokens.objects.get(memory_id=dog).hash == Memory.objects.get(id=dog).hash
    kept = search(api_client, **body)["results"][0]["score_details"]["late_interaction"]
    MemoryTokens.objects.filter(memory_id=dog).delete()
    afresh = search(api_client, **body)["results"][0]["score_details"]["late_interaction"]
    assert kept == pytest.approx(afresh, abs=1e-6)


def test_words_of_other_scripts_are_words_too(api_client):
    """Cyrillic, Greek or Chinese word pieces are kept and matched as Latin ones: a memory in Russian that both lists
    rank first is not sunk below an English one by a late-interaction score of 0 for want of stored words."""
    russian = add(api_client, "Анна купила телефон в Москве")
    add(api_client, "Anna likes cats")
    assert stored_words(russian) == 23  # every piece of its five words (а, ##н, ##на, к, ##у, ...)
    results = search(api_client, query="Где Анна купила телефон?", user_id="alice", threshold=0, explain=True)
    assert results["results"][0]["id"] == russian
    assert results["results"][0]["score_details"]["late_interaction"] > 0.8
    mixed = search(api_client, query="Где Anna купила телефон?", user_id="alice", threshold=0)["results"]
    assert mixed[0]["id"] == russian


def test_the_late_interaction_reranker_shows_its_score_with_another_embedder(api_client, pets, fake_openai, settings):
    """With an OpenAI-compatible embedder the search does not score by late interaction; the reranker does, from
    the query embedded again locally: its score is shown as `late_interaction`, as the schema says."""
    from memories.tests.conftest import configure
    from memories.tests.test_configure import openai_embedder

    assert configure(api_client, embedder=openai_embedder(fake_openai, 384)).status_code == 200
    settings.SEARCH_RERANKER = "late-interaction"
    body = {"query": "what is the dog called", "user_id": "alice", "threshold": 0, "explain": True, "rerank": True}
    answer = search(api_client, **body)
    assert answer["rerank"]["applied"] is True
    for result in answer["results"]:
        details = result["score_details"]
        assert details["late_interaction"] == details["rerank_score"]
        assert "late_interaction_weight" not in details  # the search did not rank by it


LONG_DIARY = (
    " ".join(f"On day {i} we walked along the river and talked about the weather and the trains." for i in range(25))
    + " My sister Clara adopted a greyhound named Pepper from the shelter."
)


@pytest.mark.parametrize("stored", [True, False], ids=["tokens stored when added", "tokens computed by the search"])
def test_a_memory_longer_than_the_model_reads_is_not_scored_below_its_fused_score(api_client, stored):
    """The model reads a text's first 256 tokens: the words after them cannot be matched, so a long memory whose
    answer is near its end is not sunk by a late-interaction score of its beginning alone (it was 0.11, its score
    halved from 0.85 to 0.48): late interaction counts at least its fused score (its best sentence's vector)."""
    diary = add(api_client, LONG_DIARY)
    jonas = add(api_client, "Jonas: We should adopt a pet someday.")
    if not stored:
        MemoryTokens.objects.all().delete()
    results = search(api_client, query="what is the name of Clara's greyhound", user_id="alice", explain=True)
    first = results["results"][0]
    assert first["id"] == diary
    assert first["score_details"]["late_interaction"] == first["score_details"]["fused"] > 0.6
    assert first["score"] == pytest.approx(first["score_details"]["fused"])
    assert MemoryTokens.objects.get(memory_id=diary).partial is True
    assert stored_words(diary) < 256  # the words the model read, not more
    assert MemoryTokens.objects.get(memory_id=jonas).partial is False


def test_migration_0017_drops_the_tokens_stored_without_words_of_other_scripts_or_past_the_models_reach(api_client):
    import importlib

    from django.db import connection

    migration = importlib.import_module("memories.migrations.0017_memory_tokens_recomputed")
    add(api_client, "Анна купила телефон")
    add(api_client, "Un café à Paris")
    add(api_client, LONG_DIARY)
    english = add(api_client, "Anna likes cats")
    with connection.cursor() as cursor:
        cursor.execute(migration.Migration.operations[1].sql)
    # Computed again, whole, by the next search that ranks them.
    assert [str(memory_id) for memory_id in MemoryTokens.objects.values_list("memory_id", flat=True)] == [english]


def test_a_search_computes_at_most_fill_max_missing_tokens_and_scores_the_others_by_their_fused_score(
    api_client, pets, monkeypatch
):
    """A search over memories stored before tokens were kept computes a bounded number of them (a model pass
    each): the best fused first; the others count their fused score and are left for a later search."""
    monkeypatch.setattr(late_interaction, "FILL_MAX", 1)
    MemoryTokens.objects.all().delete()
    found = search(api_client, query="what is the dog called", user_id="alice", threshold=0, explain=True)["results"]
    best, *later = sorted(found, key=lambda result: -result["score_details"]["fused"])
    assert [str(memory_id) for memory_id in MemoryTokens.objects.values_list("memory_id", flat=True)] == [best["id"]]
    assert all(result["score_details"]["late_interaction"] == result["score_details"]["fused"] for result in later)
    search(api_client, query="what is the dog called", user_id="alice", threshold=0)
    assert MemoryTokens.objects.count() == 2


def test_the_word_vector_products_run_on_the_calling_thread_only():
    """Late interaction's product of the query's words with its candidates' (a few hundred by 384) is too small for
    BLAS's helper threads, which spin on the other cores after each product: a server process keeps BLAS to the
    thread that calls it (measured: 35.7-40.1 ms of server CPU per search with 50 candidates, 20.3 ms on one)."""
    import numpy  # noqa: F401  (imported where vectors are handled, not at start: here, if no test has yet)
    from threadpoolctl import threadpool_info

    # numpy's own (scipy's, loaded with sentence-transformers for the torch runtime, does none of these products)
    pools = [pool for pool in threadpool_info() if pool["user_api"] == "blas" and "numpy" in pool["filepath"]]
    assert pools, "numpy's BLAS is loaded"
    assert [pool["num_threads"] for pool in pools] == [1] * len(pools)
