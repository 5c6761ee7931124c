"""Cross-request batching for an in-process embedding model.

Every request thread of a process hands its texts to one `EmbeddingBatcher`; a single thread of the
batcher runs the model on batches that mix the texts of every waiting request, and each request gets its
own vectors back. A model call costs much less per text in a batch than one at a time, and one thread
owning the model also keeps HF fast tokenizers (not thread-safe) away from concurrent use.

Fairness: a batch holds at most `max_batch` texts, shared out round-robin between the waiting requests,
so a request with 500 texts takes many batches while a one-text search rides along in the next one
instead of waiting for the whole 500. An error raised by the model reaches only the requests whose texts
caused it: a failed mixed batch is retried one request at a time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

logger = logging.getLogger("mem0server")

Encode = Callable[[list[str]], Sequence[Sequence[float]]]


class PendingEmbedding:
    """One caller's texts on their way through the batcher; `result()` blocks until all are embedded."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.vectors: list[list[float] | None] = [None] * len(texts)
        self.taken = 0  # texts handed to a batch so far
        self.done = 0  # texts whose vectors are back
        self.error: BaseException | None = None
        # Number of the batch that completed this request (1-based), for tests and the bench.
        self.finished_in_batch = 0
        self._event = threading.Event()

    @property
    def finished(self) -> bool:
        return self._event.is_set()

    def result(self, batcher_alive: Callable[[], bool] = lambda: True) -> list[list[float]]:
        while not self._event.wait(1.0):
            if not batcher_alive():
                raise RuntimeError("The embedding batcher stopped; the texts were not embedded.")
        if self.error is not None:
            raise self.error
        return self.vectors  # type: ignore[return-value]  (every slot is filled once finished without error)

    def _finish(self, batch_number: int, error: BaseException | None = None) -> None:
        self.error = error
        self.finished_in_batch = batch_number
        self._event.set()


@dataclass
class BatcherStats:
    batches: int = 0  # model calls made for mixed batches
    texts: int = 0  # texts embedded
    largest_batch: int = 0
    requests: int = 0  # requests finished (with vectors or an error)
    retried_batches: int = 0  # mixed batches that failed and were retried one request at a time


class EmbeddingBatcher:
    """Runs concurrent callers' texts through `encode` in shared, fairly mixed batches on one thread."""

    def __init__(self, encode: Encode, *, max_batch: int, max_wait_ms: float, name: str = "embedding-batcher"):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if max_wait_ms < 0:
            raise ValueError("max_wait_ms must not be negative")
        self.encode = encode
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self.name = name
        self.stats = BatcherStats()
        self._cond = threading.Condition()
        self._queue: deque[PendingEmbedding] = deque()  # requests with texts not yet in a batch
        self._waiting = 0  # texts not yet in a batch, over the whole queue
        self._oldest = 0.0  # monotonic time the oldest waiting text arrived
        self._thread: threading.Thread | None = None
        # A forked child (e.g. a gunicorn worker of a preloaded app) has no batcher thread and may have
        # inherited a held lock: it starts with a fresh queue and lock.
        reference = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (batcher := reference()) and batcher._reset())

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._queue = deque()
        self._waiting = 0
        self._thread = None

    # --- callers' side ---------------------------------------------------------------------------

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors for `texts`, in order; blocks until they are embedded, raises what the model raised."""
        if not texts:
            return []
        return self.submit(texts).result(self.alive)

    def submit(self, texts: list[str]) -> PendingEmbedding:
        """Queue `texts` without waiting; `.result()` on the answer waits for the vectors."""
        pending = PendingEmbedding(list(texts))
        if not pending.texts:
            pending._finish(0)
            return pending
        with self._cond:
            self._ensure_thread()
            if not self._queue:
                self._oldest = time.monotonic()
            self._queue.append(pending)
            self._waiting += len(pending.texts)
            self._cond.notify()
        return pending

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    # --- the batcher's thread --------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            parts = self._next_batch()
            try:
                self._process(parts)
            except BaseException as exc:  # noqa: BLE001  (the thread must outlive anything a batch raises)
                logger.exception("embedding batch failed unexpectedly")
                for pending, _, _ in parts:
                    if not pending.finished:
                        self._fail(pending, exc)

    def _next_batch(self) -> list[tuple[PendingEmbedding, int, int]]:
        """Wait for texts (at most max_wait after the oldest arrived, unless a batch is full) and take a batch."""
        with self._cond:
            while not self._queue:
                self._cond.wait()
            while self._waiting < self.max_batch:
                remaining = self._oldest + self.max_wait - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self._take()

    def _take(self) -> list[tuple[PendingEmbedding, int, int]]:
        """Up to max_batch texts shared round-robin between the waiting requests (called under the lock)."""
        parts: list[tuple[PendingEmbedding, int, int]] = []
        room = self.max_batch
        while room and self._queue:
            share = max(1, room // len(self._queue))
            unfinished: list[PendingEmbedding] = []
            while room and self._queue:
                pending = self._queue.popleft()
                count = min(share, len(pending.texts) - pending.taken, room)
                parts.append((pending, pending.taken, pending.taken + count))
                pending.taken += count
                room -= count
                if pending.taken < len(pending.texts):
                    unfinished.append(pending)
            # Requests not reached this time stay first in line; the ones just served go behind them.
            self._queue.extend(unfinished)
        self._waiting -= self.max_batch - room
        # Texts still waiting have waited since before this batch: no extra wait for them next time.
        self._oldest = 0.0 if self._queue else time.monotonic()
        return parts

    def _process(self, parts: list[tuple[PendingEmbedding, int, int]]) -> None:
        texts = [text for pending, start, end in parts for text in pending.texts[start:end]]
        self.stats.batches += 1
        self.stats.largest_batch = max(self.stats.largest_batch, len(texts))
        try:
            vectors = self.encode(texts)
        except Exception as exc:
            owners = {id(pending) for pending, _, _ in parts}
            if len(owners) == 1:
                self._fail(parts[0][0], exc)
                return
            # Someone's text broke the batch: retry each request's share alone, so only its owner fails.
            self.stats.retried_batches += 1
            for pending, start, end in parts:
                if pending.finished:
                    continue
                try:
                    self._deliver(pending, start, self.encode(pending.texts[start:end]))
                except Exception as own_exc:
                    self._fail(pending, own_exc)
            return
        offset = 0
        for pending, start, end in parts:
            self._deliver(pending, start, vectors[offset : offset + end - start])
            offset += end - start

    def _deliver(self, pending: PendingEmbedding, start: int, vectors: Sequence[Sequence[float]]) -> None:
        if pending.finished:  # failed in an earlier batch
            return
        rows = vectors.tolist() if hasattr(vectors, "tolist") else [list(v) for v in vectors]
        pending.vectors[start : start + len(rows)] = rows
        pending.done += len(rows)
        self.stats.texts += len(rows)
        if pending.done == len(pending.texts):
            self.stats.requests += 1
            pending._finish(self.stats.batches)

    def _fail(self, pending: PendingEmbedding, exc: BaseException) -> None:
        with self._cond:
            # Its texts still waiting are dropped: nobody will read their vectors.
            if pending in self._queue:
                self._queue.remove(pending)
                self._waiting -= len(pending.texts) - pending.taken
            pending.taken = len(pending.texts)
        self.stats.requests += 1
        pending._finish(self.stats.batches, exc)
