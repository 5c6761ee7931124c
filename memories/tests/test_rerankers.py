"""Rerankers through POST /search: a local cross-encoder from a folder, a rerank API, and what each one sees."""

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, datetime

import pytest

from memories import rerank
from memories.embeddings import BATCH_CHARS
from memories.serializers import MAX_TOP_K
from memories.tests import fake_rerank
from memories.tests.fake_rerank import FakeRerankAPI, Scripted

TEXTS = [
    "Maya: We adopted a rescue dog and named him Juniper.",
    "Maya: Tell me more about it!",
    "Maya: I finally made it to Tromsø last weekend.",
    "Jonas: My sister called me this morning about the dog show.",
    "Maya: The weather was awful all week.",
]
QUERY = "What is the name of Maya's dog?"


def search(client, **body):
    response = client.post("/search", {"user_id": "alice", "threshold": 0, **body}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


@pytest.fixture
def chat(api_client):
    for day, content in enumerate(TEXTS, start=1):
        body = {
            "messages": [{"role": "user", "content": content}],
            "user_id": "alice",
            "infer": False,
            "timestamp": f"2023-05-{day:02d}T10:00:00Z",
        }
        assert api_client.post("/memories", body, format="json").status_code == 200


def what_the_reranker_sees(result: dict) -> str:
    when = datetime.fromisoformat(result["timestamp"]).astimezone(UTC)
    return f"{when:%Y-%m-%d} ({when:%A}): {result['memory']}"


# --- cross-encoder ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_cross_encoder(tmp_path_factory):
    """A randomly initialised one-layer BERT cross-encoder in a folder (memories/tests/fake_rerank.py)."""
    return fake_rerank.tiny_cross_encoder(tmp_path_factory.mktemp("tiny-cross-encoder"), seed=12)


def test_the_cross_encoder_puts_results_in_the_models_score_order(api_client, chat, settings, tiny_cross_encoder):
    from sentence_transformers import CrossEncoder

    settings.SEARCH_RERANKER = "cross-encoder"
    settings.SEARCH_RERANK_MODEL_PATH = str(tiny_cross_encoder)
    answer = search(api_client, query=QUERY, rerank=True, explain=True)
    assert answer["rerank"] == {"applied": True, "by": "cross-encoder", "detail": None}
    results = answer["results"]
    assert len(results) == len(TEXTS)
    # The same model, loaded here on its own, scores what the reranker saw: the date, then the memory.
    model = CrossEncoder(str(tiny_cross_encoder), device="cpu")
    expected = model.predict([(QUERY, what_the_reranker_sees(r)) for r in results])
    assert [r["score_details"]["rerank_score"] for r in results] == pytest.approx(list(expected), abs=1e-5)
    assert list(expected) == sorted(expected, reverse=True)
    assert [r["score_details"]["rerank_rank"] for r in results] == [1, 2, 3, 4, 5]


def test_top_k_applies_after_the_cross_encoder_reorders_its_candidates(api_client, chat, settings, tiny_cross_encoder):
    settings.SEARCH_RERANKER = "cross-encoder"
    settings.SEARCH_RERANK_MODEL_PATH = str(tiny_cross_encoder)
    everything = search(api_client, query=QUERY, rerank=True, top_k=5)["results"]
    best_two = search(api_client, query=QUERY, rerank=True, top_k=2)["results"]
    assert [r["id"] for r in best_two] == [r["id"] for r in everything[:2]]


@pytest.mark.parametrize("folder", ["missing", "empty", "not-a-model"])
def test_a_cross_encoder_folder_that_does_not_load_keeps_the_fused_order_and_says_why(
    api_client, chat, settings, tmp_path, folder
):
    path = tmp_path / folder
    if folder != "missing":
        path.mkdir()
    if folder == "not-a-model":
        (path / "config.json").write_text('{"model_type": "no-such-architecture"}')
    settings.SEARCH_RERANKER = "cross-encoder"
    settings.SEARCH_RERANK_MODEL_PATH = str(path)
    fused = search(api_client, query=QUERY)["results"]
    answer = search(api_client, query=QUERY, rerank=True)
    assert answer["rerank"]["applied"] is False
    assert answer["rerank"]["by"] == "cross-encoder"
    assert f"SEARCH_RERANK_MODEL_PATH={str(path)!r} did not load" in answer["rerank"]["detail"]
    assert answer["rerank"]["detail"].endswith("Results are in fused order.")
    assert [r["id"] for r in answer["results"]] == [r["id"] for r in fused]


def test_a_server_starting_with_a_missing_cross_encoder_folder_logs_it(db, settings, tmp_path, caplog):
    settings.SEARCH_RERANKER = "cross-encoder"
    settings.SEARCH_RERANK_MODEL_PATH = str(tmp_path / "nowhere")
    with caplog.at_level(logging.INFO, logger="memories.rerank"):
        rerank.announce_reranker()
    [line] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "SEARCH_RERANK_MODEL_PATH=" in line.getMessage()
    assert "is not a folder" in line.getMessage()


def test_the_cross_encoder_is_loaded_once_for_concurrent_searches(db, settings, tiny_cross_encoder):
    settings.SEARCH_RERANK_MODEL_PATH = str(tiny_cross_encoder) + "/"  # its own instance, loaded here
    reranker = rerank.cross_encoder()
    models, errors = [], []

    def score():
        try:
            models.append(reranker.load())
            reranker.scores(QUERY, TEXTS)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=score) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({id(model) for model in models}) == 1
    assert rerank.cross_encoder() is reranker


def test_a_reranked_search_behind_a_large_one_waits_for_one_short_model_call_not_32_long_ones(
    db, settings, tmp_path, monkeypatch
):
    # A member's search with top_k 1000 and rerank=true hands the cross-encoder 1,000 pairs of about 650 characters:
    # 32 of them per model call, which another account's reranked search waited for, 1.1-2.3 s p50 and 4.3-7.9 s at
    # most (bench/heavy_rerank.py). A call now holds at most BATCH_CHARS characters, each pair counted as long as the
    # call's longest, as the local embedder's.
    note = "the user keeps bees and walks by the river. " * 20
    # 100 of the 1,000 such passages: 50 model calls of 2 as the 1,000 are 500; 4 calls of 32 pairs before.
    passages = [f"2023-05-01 (Monday): note {n}: {note}"[: rerank.PASSAGE_CHARS + 22] for n in range(MAX_TOP_K // 10)]
    # The tiny model reads words, not characters as the other tests' does: a passage is ~160 tokens, not 512, and
    # the model's work on them (what this test does not check) about a third.
    words = sorted({word for text in [QUERY, *TEXTS, *passages] for word in re.findall(r"\w+|[^\w\s]", text.lower())})
    settings.SEARCH_RERANK_MODEL_PATH = str(fake_rerank.tiny_cross_encoder(tmp_path / "model", seed=12, tokens=words))
    reranker = rerank.cross_encoder()
    model = reranker.load()
    calls: list[list[tuple[str, str]]] = []
    predict = model.predict
    monkeypatch.setattr(model, "predict", lambda pairs, **kwargs: calls.append(list(pairs)) or predict(pairs, **kwargs))
    big = reranker.batcher.submit([(QUERY, text) for text in passages])
    small = reranker.batcher.submit([(QUERY, text) for text in TEXTS])

    scores = [row[0] for row in reranker.batcher.result(small)]
    reranker.batcher.result(big)

    def characters(pairs: list[tuple[str, str]]) -> int:  # as the model pads them: each as long as the longest
        return len(pairs) * max(len(query) + len(text) for query, text in pairs)

    assert sum(len(pairs) for pairs in calls) == len(passages) + len(TEXTS)
    assert max(characters(pairs) for pairs in calls) <= BATCH_CHARS
    alone = predict([(QUERY, text) for text in TEXTS], batch_size=len(TEXTS), show_progress_bar=False)
    assert scores == pytest.approx([float(score) for score in alone], abs=1e-4)


# --- rerank API ---------------------------------------------------------------------------------------


@pytest.fixture
def rerank_api(settings):
    fake = FakeRerankAPI().start()
    settings.SEARCH_RERANKER = "api"
    settings.SEARCH_RERANK_URL = fake.url
    settings.SEARCH_RERANK_API_KEY = "rk-secret-key-123456"
    settings.SEARCH_RERANK_MODEL = "rerank-test"
    settings.SEARCH_RERANK_TIMEOUT = 0.5
    yield fake
    fake.stop()


def test_the_rerank_api_orders_results_by_relevance_score(api_client, chat, rerank_api):
    fused = search(api_client, query=QUERY)["results"]
    # The API puts the fused order upside down.
    rerank_api.queue.append(
        Scripted(body={"results": [{"index": i, "relevance_score": i / 10} for i in reversed(range(len(fused)))]})
    )
    answer = search(api_client, query=QUERY, rerank=True, explain=True)
    assert answer["rerank"] == {"applied": True, "by": "api", "detail": None}
    assert [r["id"] for r in answer["results"]] == [r["id"] for r in fused][::-1]
    assert answer["results"][0]["score_details"]["rerank_score"] == pytest.approx((len(fused) - 1) / 10)
    [request] = rerank_api.requests
    assert request.headers["authorization"] == "Bearer rk-secret-key-123456"
    assert request.body == {
        "model": "rerank-test",
        "query": QUERY,
        "documents": [what_the_reranker_sees(r) for r in fused],
        "top_n": len(fused),
    }


def test_a_top_k_past_the_rerankers_bound_reranks_the_best_and_keeps_the_rest_in_fused_order(api_client, rerank_api):
    """A search may answer up to 1000 results, but a reranker (a cross-encoder on the CPU) reorders at most
    RERANK_MAX_CANDIDATES of them: 1000 pairs cost the worker 54 s of CPU with a MiniLM-shaped model."""
    from memories.selectors import RERANK_MAX_CANDIDATES

    count = RERANK_MAX_CANDIDATES + 30
    messages = [{"role": "user", "content": f"Note {n} from the field trip"} for n in range(count)]
    body = {"messages": messages, "user_id": "alice", "infer": False}
    assert api_client.post("/memories", body, format="json").status_code == 200
    fused = search(api_client, query="field trip notes", top_k=count)["results"]
    assert len(fused) == count
    rerank_api.queue.append(
        Scripted(body={"results": [{"index": i, "relevance_score": i / count} for i in range(RERANK_MAX_CANDIDATES)]})
    )
    answer = search(api_client, query="field trip notes", top_k=count, rerank=True)
    [request] = rerank_api.requests
    assert len(request.body["documents"]) == RERANK_MAX_CANDIDATES
    ids = [r["id"] for r in answer["results"]]
    fused_ids = [r["id"] for r in fused]
    assert ids[:RERANK_MAX_CANDIDATES] == fused_ids[:RERANK_MAX_CANDIDATES][::-1]
    assert ids[RERANK_MAX_CANDIDATES:] == fused_ids[RERANK_MAX_CANDIDATES:]


def test_documents_the_rerank_api_leaves_out_come_last_in_fused_order(api_client, chat, rerank_api):
    fused = [r["id"] for r in search(api_client, query=QUERY)["results"]]
    rerank_api.queue.append(Scripted(body={"results": [{"index": 3, "relevance_score": 0.9}]}))
    answer = search(api_client, query=QUERY, rerank=True)
    assert [r["id"] for r in answer["results"]] == [fused[3], *fused[:3], *fused[4:]]


@pytest.mark.parametrize(
    ("scripted", "says"),
    [
        (Scripted(status=500, body={"message": "invalid api token rk-secret-key-123456"}), "answered 500"),
        (Scripted(status=401, body="Unauthorized: rk-secr***3456"), "answered 401"),
        (Scripted(body={"data": []}), 'unexpected shape: expected {"results": [...]}'),
        (Scripted(body={"results": [{"index": 99, "relevance_score": 1}]}), "index is not one of the 5"),
        (Scripted(body={"results": [{"index": 0, "relevance_score": "high"}]}), "relevance_score is not a number"),
        (Scripted(body="<html>gateway</html>"), "unexpected shape"),
    ],
    ids=["500", "401", "no-results", "bad-index", "bad-score", "not-json"],
)
def test_a_failing_rerank_api_keeps_the_fused_order_and_says_why_without_the_key(
    api_client, chat, rerank_api, scripted, says
):
    fused = [r["id"] for r in search(api_client, query=QUERY)["results"]]
    rerank_api.queue.append(scripted)
    answer = search(api_client, query=QUERY, rerank=True)
    assert answer["rerank"]["applied"] is False
    assert answer["rerank"]["by"] == "api"
    assert says in answer["rerank"]["detail"]
    assert "rk-secret-key-123456" not in answer["rerank"]["detail"]
    assert "rk-secr" not in answer["rerank"]["detail"]
    assert [r["id"] for r in answer["results"]] == fused


KEY = "Zq8XbT3mN1pL4vR7sW0yK2cF5hJ9dG6a"  # no telltale prefix: only knowing the key finds it


@pytest.mark.parametrize(
    ("key", "url_query", "body"),
    [
        (KEY, "", "x" * 172 + " Bearer " + KEY),  # the key begins 20 characters before the cut at 200
        (None, "?api_key=" + KEY, "Invalid api_key " + KEY),  # the key in SEARCH_RERANK_URL's query, echoed bare
    ],
    ids=["key-at-the-cut", "key-in-the-url"],
)
def test_a_rerank_api_echoing_its_key_shows_none_of_it(api_client, chat, rerank_api, settings, key, url_query, body):
    settings.SEARCH_RERANK_API_KEY, settings.SEARCH_RERANK_URL = key, rerank_api.url + url_query
    rerank_api.queue.append(Scripted(status=401, body=body))
    detail = search(api_client, query=QUERY, rerank=True)["rerank"]["detail"]
    assert "answered 401" in detail
    assert not any(KEY[i : i + 6] in detail for i in range(len(KEY) - 5)), detail


def test_a_rerank_api_slower_than_the_timeout_keeps_the_fused_order(api_client, chat, rerank_api):
    fused = [r["id"] for r in search(api_client, query=QUERY)["results"]]
    release = threading.Event()
    rerank_api.queue.append(Scripted(body={"results": []}, hold=release))
    try:
        answer = search(api_client, query=QUERY, rerank=True)
    finally:
        release.set()
    assert answer["rerank"]["applied"] is False
    assert "did not answer within 0.5 s" in answer["rerank"]["detail"]
    assert [r["id"] for r in answer["results"]] == fused


def test_an_unreachable_rerank_api_keeps_the_fused_order_and_says_so(api_client, chat, rerank_api, settings):
    closed = FakeRerankAPI().start()
    url = closed.url
    closed.stop()
    settings.SEARCH_RERANK_URL = url
    answer = search(api_client, query=QUERY, rerank=True)
    assert answer["rerank"]["applied"] is False
    assert "could not be reached" in answer["rerank"]["detail"]


def test_the_rerank_api_key_does_not_follow_a_redirect_to_another_host(api_client, chat, rerank_api):
    elsewhere = FakeRerankAPI().start()
    try:
        rerank_api.queue.append(Scripted(status=307, body="", headers={"Location": elsewhere.url}))
        answer = search(api_client, query=QUERY, rerank=True)
        assert answer["rerank"]["applied"] is False
        assert "answered 307" in answer["rerank"]["detail"]
        assert elsewhere.requests == []
    finally:
        elsewhere.stop()


# --- time: what the rerankers see -----------------------------------------------------------------------


def test_the_llm_reranker_sees_when_each_memory_happened(api_client, chat, llm, settings):
    from memories.tests.fake_openai import as_json

    settings.SEARCH_RERANKER = "llm"
    llm.reset_calls()
    llm.chat_queue.append(as_json({"ranking": [0]}))
    answer = search(api_client, query="When did Maya get to Tromsø?", rerank=True, top_k=1)
    assert answer["rerank"]["applied"] is True
    [call] = llm.chat_calls()
    prompt = call.body["messages"][-1]["content"]
    assert "2023-05-03 (Wednesday): Maya: I finally made it to Tromsø last weekend." in prompt


def test_a_memory_without_a_timestamp_is_dated_by_when_it_was_stored(api_client, rerank_api):
    body = {"messages": [{"role": "user", "content": "Likes tea"}], "user_id": "alice", "infer": False}
    assert api_client.post("/memories", body, format="json").status_code == 200
    [result] = search(api_client, query="tea", rerank=True)["results"]
    stored = datetime.fromisoformat(result["created_at"]).astimezone(UTC)
    assert rerank_api.requests[0].body["documents"] == [f"{stored:%Y-%m-%d} ({stored:%A}): Likes tea"]


# --- late interaction ---------------------------------------------------------------------------------


def test_late_interaction_orders_by_the_fused_score_plus_its_own_and_shows_both(api_client, chat, settings):
    """As a reranker, for searches that did not score by it already (SEARCH_LATE_INTERACTION=false)."""
    settings.SEARCH_RERANKER = "late-interaction"
    settings.SEARCH_LATE_INTERACTION = False
    answer = search(api_client, query=QUERY, rerank=True, explain=True)
    assert answer["rerank"] == {"applied": True, "by": "late-interaction", "detail": None}
    results = answer["results"]
    assert len(results) == len(TEXTS)
    assert all(0 < r["score_details"]["rerank_score"] <= 1 for r in results)
    combined = [r["score"] + r["score_details"]["rerank_score"] for r in results]
    assert combined == sorted(combined, reverse=True)
    assert [r["score_details"]["rerank_rank"] for r in results] == [1, 2, 3, 4, 5]
    assert results[0]["memory"] == TEXTS[0]  # the dog's name
    # The memory that says what the query asks about scores highest on its own too.
    assert max(results, key=lambda r: r["score_details"]["rerank_score"])["memory"] == TEXTS[0]


def test_late_interaction_reranks_with_the_query_embedding_the_search_made(api_client, chat, settings, monkeypatch):
    """With SEARCH_LATE_INTERACTION=false, the query is still embedded once: the search's embedding carries the
    token vectors the reranker matches."""
    from memories import embeddings

    settings.SEARCH_RERANKER = "late-interaction"
    settings.SEARCH_LATE_INTERACTION = False
    embedder, embedded = embeddings.local_embedder(), []
    real = embedder.embed_rows
    monkeypatch.setattr(embedder, "embed_rows", lambda texts: embedded.extend(texts) or real(texts))
    answer = search(api_client, query=QUERY, rerank=True, explain=True)
    assert answer["rerank"]["applied"] is True
    assert embedded == [QUERY]
    for result in answer["results"]:
        assert result["score_details"]["rerank_score"] == result["score_details"]["late_interaction"]
        assert "late_interaction_weight" not in result["score_details"]  # the search did not rank by it


def test_late_interaction_reranks_a_search_that_scored_by_it_already_in_the_same_order(api_client, chat, settings):
    settings.SEARCH_RERANKER = "late-interaction"
    plain = search(api_client, query=QUERY, explain=True)["results"]
    answer = search(api_client, query=QUERY, rerank=True, explain=True)
    assert answer["rerank"] == {"applied": True, "by": "late-interaction", "detail": None}
    assert [r["id"] for r in answer["results"]] == [r["id"] for r in plain]
    for result in answer["results"]:
        assert result["score_details"]["rerank_score"] == result["score_details"]["late_interaction"]


def test_late_interaction_without_the_onnx_runtime_keeps_the_fused_order_and_says_why(
    api_client, chat, settings, monkeypatch
):
    from memories import configuration, embeddings

    settings.SEARCH_RERANKER = "late-interaction"
    settings.SEARCH_LATE_INTERACTION = False
    # The server's local embedder on torch (EMBEDDER_RUNTIME=torch): vectors only, no token vectors for the query.
    monkeypatch.setattr(embeddings, "_local", embeddings.LocalEmbedder(runtime="torch"))
    monkeypatch.setattr(configuration, "_runtime", None)
    fused = search(api_client, query=QUERY)["results"]
    answer = search(api_client, query=QUERY, rerank=True)
    assert answer["rerank"] == {
        "applied": False,
        "by": "late-interaction",
        "detail": "Late interaction needs the local embedder on ONNX Runtime (EMBEDDER_RUNTIME=onnx). "
        "Results are in fused order.",
    }
    assert [r["id"] for r in answer["results"]] == [r["id"] for r in fused]
