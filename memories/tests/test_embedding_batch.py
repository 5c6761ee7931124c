"""Cross-request batching of the local embedder, on the real model (memories/embedding_batch.py)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from memories.embedding_batch import EmbeddingBatcher
from memories.embeddings import BATCH_CHARS

TOLERANCE = 1e-4  # padding next to longer texts in a batch moves the floats by ~1e-6


def texts_for(owner: int, count: int) -> list[str]:
    likes = ["tea", "chess", "Lisbon", "ramen"]
    return [f"user {owner} note {i}: likes {likes[(owner + i) % 4]}" for i in range(count)]


def one_by_one(embedder, texts: list[str]) -> np.ndarray:
    return np.array([embedder.encode_batch([text])[0] for text in texts])


def test_threads_embedding_at_once_each_get_their_own_vectors(embedder):
    # A long window so the threads' texts surely meet in shared batches.
    batcher = EmbeddingBatcher(embedder.encode_batch, max_batch=16, max_wait_ms=500)
    wanted = {owner: texts_for(owner, 1 + owner % 5) for owner in range(24)}
    got: dict[int, list[list[float]]] = {}
    start = threading.Barrier(len(wanted))

    def request(owner: int) -> None:
        start.wait()
        got[owner] = batcher.embed(wanted[owner])

    threads = [threading.Thread(target=request, args=(owner,)) for owner in wanted]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert batcher.stats.largest_batch > 1, "the requests never shared a model call"
    assert batcher.stats.batches < sum(len(texts) for texts in wanted.values())
    for owner, texts in wanted.items():
        assert len(got[owner]) == len(texts)
        np.testing.assert_allclose(np.array(got[owner]), one_by_one(embedder, texts), atol=TOLERANCE)


def test_a_text_alone_in_its_process_runs_without_waiting_for_company(embedder):
    # A ten-minute window: a batcher that waited it out would still be waiting at the join below.
    batcher = EmbeddingBatcher(embedder.encode_batch, max_batch=16, max_wait_ms=600_000, company=lambda: False)
    got: list[list[float]] = []
    thread = threading.Thread(target=lambda: got.extend(batcher.embed(["what food does the user like"])), daemon=True)
    thread.start()
    thread.join(60)
    assert got, "the lone text waited for texts that could not come"
    np.testing.assert_allclose(got, one_by_one(embedder, ["what food does the user like"]), atol=TOLERANCE)


def test_the_shared_local_embedder_answers_concurrent_requests_like_single_ones(embedder):
    wanted = {owner: texts_for(owner, 3) for owner in range(8)}
    got: dict[int, list[list[float]]] = {}
    threads = [
        threading.Thread(target=lambda owner=owner: got.__setitem__(owner, embedder.embed(wanted[owner])))
        for owner in wanted
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for owner, texts in wanted.items():
        np.testing.assert_allclose(np.array(got[owner]), one_by_one(embedder, texts), atol=TOLERANCE)


def test_a_search_is_served_before_a_500_message_add_finishes(embedder):
    batcher = EmbeddingBatcher(embedder.encode_batch, max_batch=16, max_wait_ms=0)
    big = batcher.submit(texts_for(1, 500))
    search = batcher.submit(["what food does the user like"])

    query_vector = batcher.result(search)
    big_vectors = batcher.result(big)

    # The 500 texts take 32 batches; the search rides along in one of the first, not after the last.
    assert big.finished_in_batch >= 500 // 16
    assert search.finished_in_batch < big.finished_in_batch
    assert search.finished_in_batch <= 2
    np.testing.assert_allclose(query_vector, one_by_one(embedder, ["what food does the user like"]), atol=TOLERANCE)
    assert len(big_vectors) == 500
    np.testing.assert_allclose(big_vectors[-3:], one_by_one(embedder, texts_for(1, 500)[-3:]), atol=TOLERANCE)


def test_a_search_thread_is_not_held_up_by_an_add_thread_already_embedding_500_messages(embedder):
    # The add's second model call waits for the search to be queued: the search arrives while the add's thread is
    # running the model, however late this thread is scheduled (a poll then a submit, starved for about a second on
    # a busy machine, queued it after the add's last batches).
    searching = threading.Event()

    def encode(texts: list[str]):
        if batcher.stats.batches == 2:  # counted before the call
            searching.wait(60)
        return embedder.encode_batch(texts)

    batcher = EmbeddingBatcher(encode, max_batch=16, max_wait_ms=2)
    big = batcher.submit(texts_for(1, 500))
    adder = threading.Thread(target=batcher.result, args=(big,))
    adder.start()  # this thread runs the model for the add (and whoever joins it)
    while batcher.stats.batches < 2:
        time.sleep(0.001)
    search = batcher.submit(["what food does the user like"])
    searching.set()
    query_vector = batcher.result(search)  # waits for the add's thread to serve it
    adder.join()

    assert search.finished_in_batch < big.finished_in_batch - 20
    np.testing.assert_allclose(query_vector, one_by_one(embedder, ["what food does the user like"]), atol=TOLERANCE)


def test_two_big_requests_share_the_batches_fairly(embedder):
    batcher = EmbeddingBatcher(embedder.encode_batch, max_batch=16, max_wait_ms=0)
    first = batcher.submit(texts_for(1, 96))
    second = batcher.submit(texts_for(2, 96))
    batcher.result(first)
    batcher.result(second)
    # Sharing each batch, both finish together instead of one after the other (12 batches in all).
    assert abs(first.finished_in_batch - second.finished_in_batch) <= 1
    assert batcher.stats.batches <= 13


def test_a_text_the_model_rejects_fails_only_its_own_request(embedder):
    batcher = EmbeddingBatcher(embedder.encode_batch, max_batch=64, max_wait_ms=500)
    good = batcher.submit(texts_for(1, 3))
    bad = batcher.submit(["a fine sentence", None])  # type: ignore[list-item]  (the model refuses None)
    other = batcher.submit(texts_for(2, 2))

    with pytest.raises(ValueError, match="NoneType"):
        batcher.result(bad)
    np.testing.assert_allclose(batcher.result(good), one_by_one(embedder, texts_for(1, 3)), atol=TOLERANCE)
    np.testing.assert_allclose(batcher.result(other), one_by_one(embedder, texts_for(2, 2)), atol=TOLERANCE)
    assert batcher.stats.retried_batches == 1

    # The batcher keeps serving after the failure.
    np.testing.assert_allclose(batcher.embed(["still here"]), one_by_one(embedder, ["still here"]), atol=TOLERANCE)


def test_a_failure_in_a_later_chunk_of_a_big_request_drops_its_remaining_texts(embedder):
    batcher = EmbeddingBatcher(embedder.encode_batch, max_batch=8, max_wait_ms=0)
    texts = [*texts_for(1, 20), None, *texts_for(1, 40)]
    big = batcher.submit(texts)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        batcher.result(big)
    # Nothing of it is left queued: the next request is served alone, at once.
    assert batcher.embed(["next"]) is not None
    assert batcher.stats.texts < len(texts)


def test_an_empty_request_needs_no_model_call(embedder):
    batcher = EmbeddingBatcher(embedder.encode_batch, max_batch=8, max_wait_ms=0)
    assert batcher.embed([]) == []
    assert batcher.stats.batches == 0


def test_a_search_behind_a_request_of_long_texts_waits_for_one_short_model_call_not_all_of_them(embedder):
    # A memory of 100,000 characters is embedded as 17 texts of up to 6,000: in one model call, a search's
    # query waited 1.4 s for all of them (bench/heavy_writes.py).
    batcher = embedder.batcher
    before = batcher.stats.batches
    long_texts = [f"note {i}: " + "the user keeps bees and walks by the river. " * 140 for i in range(17)]
    big = batcher.submit(long_texts)
    search = batcher.submit(["what food does the user like"])

    query_vector = batcher.result(search)
    batcher.result(big)

    assert len(long_texts[0]) > BATCH_CHARS  # each is a call of its own
    assert big.finished_in_batch - before >= len(long_texts)
    assert search.finished_in_batch - before <= 2
    expected = one_by_one(embedder, ["what food does the user like"])
    np.testing.assert_allclose([query_vector[0].vector], expected, atol=TOLERANCE)
