"""Cross-request batching for an in-process embedding model.

The request threads of a process hand their texts to one `EmbeddingBatcher`. One of the waiting request
threads at a time (the runner) calls the model on a batch that mixes the texts of every waiting request,
and each request gets its own vectors back. A model call costs much less per text in a batch than one at
a time, and one caller at a time keeps HF fast tokenizers (not thread-safe) away from concurrent use.
A lone request runs the model in its own thread: no hand-off to another thread, whose wake-up costs a
scheduler slice on a busy machine. Requests arriving while the model runs make up the next batch. A batch
waits up to `max_wait_ms` for more texts only while `company()` says others may come (the server: another
request is in progress in this process); a request alone runs at once.

Fairness: a batch holds at most `max_batch` texts, shared out round-robin between the waiting requests,
so a request with 500 texts takes many batches while a one-text search rides along in the next one
instead of waiting for the whole 500. The runner stops once its own texts are done and another waiting
request takes over. An error raised by the model reaches only the requests whose texts caused it: a
failed mixed batch is retried one request at a time.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Encode = Callable[[list[str]], Sequence[Sequence[float]]]
Part = tuple["PendingEmbedding", int, int]  # a request and the slice of its texts in a batch


class PendingEmbedding:
    """One caller's texts on their way through the batcher."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.vectors: list[list[float] | None] = [None] * len(texts)
        self.taken = 0  # texts handed to a batch so far
        self.done = 0  # texts whose vectors are back
        self.error: BaseException | None = None
        self.finished = False
        # Number of the model call that completed this request (1-based), for tests and the bench.
        self.finished_in_batch = 0


@dataclass
class BatcherStats:
    batches: int = 0  # model calls made for mixed batches
    texts: int = 0  # texts embedded
    largest_batch: int = 0
    requests: int = 0  # requests finished (with vectors or an error)
    retried_batches: int = 0  # mixed batches that failed and were retried one request at a time


class EmbeddingBatcher:
    """Runs concurrent callers' texts through `encode` in shared, fairly mixed batches, one batch at a time."""

    def __init__(
        self,
        encode: Encode,
        *,
        max_batch: int,
        max_wait_ms: float,
        company: Callable[[], bool] | None = None,
        max_chars: int | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if max_chars is not None and max_chars < 1:
            raise ValueError("max_chars must be at least 1")
        if max_wait_ms < 0:
            raise ValueError("max_wait_ms must not be negative")
        self.encode = encode
        self.max_batch = max_batch
        # Most characters one model call takes, counting each text as long as the call's longest (a text longer
        # than that alone): a call's time grows with its padded length, and every other caller's texts wait for it.
        self.max_chars = max_chars
        self.max_wait = max_wait_ms / 1000
        # Whether other texts may arrive soon (default: always). When not, a batch runs without waiting.
        self.company = company or (lambda: True)
        self.stats = BatcherStats()
        self._reset()
        # A forked child (e.g. a gunicorn worker of a preloaded app) may inherit a held lock or a runner
        # that does not exist there: it starts with a fresh lock and queue.
        reference = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (batcher := reference()) and batcher._reset())

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._queue: deque[PendingEmbedding] = deque()  # requests with texts not yet in a batch
        self._waiting = 0  # texts not yet in a batch, over the whole queue
        self._oldest = 0.0  # monotonic time the oldest waiting text arrived
        self._running = False  # a caller is running batches

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors for `texts`, in order; blocks until they are embedded, raises what the model raised."""
        if not texts:
            return []
        return self.result(self.submit(texts))

    def submit(self, texts: list[str]) -> PendingEmbedding:
        """Queue `texts` without waiting; `result()` waits for (and if need be computes) the vectors."""
        pending = PendingEmbedding(list(texts))
        with self._cond:
            if not pending.texts:
                pending.finished = True
                return pending
            if not self._queue:
                self._oldest = time.monotonic()
            self._queue.append(pending)
            self._waiting += len(pending.texts)
            self._cond.notify_all()  # a runner waiting out its window may now have a full batch
        return pending

    def result(self, pending: PendingEmbedding) -> list[list[float]]:
        """The vectors of a submitted request: waits while another caller runs the model, else runs it."""
        with self._cond:
            while not pending.finished and self._running:
                self._cond.wait()
            if not pending.finished:
                self._running = True
        if not pending.finished:
            try:
                self._run_until_finished(pending)
            finally:
                with self._cond:
                    self._running = False
                    self._cond.notify_all()  # the next waiting caller takes over
        if pending.error is not None:
            raise pending.error
        return pending.vectors  # type: ignore[return-value]  (every slot is filled once finished without error)

    def _run_until_finished(self, pending: PendingEmbedding) -> None:
        """As the runner: run batches (everyone's texts, round-robin) until `pending`'s own are done."""
        while not pending.finished:
            with self._cond:
                wait_for_company = self.company()
                while wait_for_company and self._waiting < self.max_batch:
                    remaining = self._oldest + self.max_wait - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                parts = self._take()
            try:
                self._process(parts)
            except BaseException as exc:
                for owner, _, _ in parts:
                    if not owner.finished:
                        self._fail(owner, exc)
                raise
            finally:
                with self._cond:
                    self._cond.notify_all()  # owners whose requests this batch finished

    def _take(self) -> list[Part]:
        """Up to max_batch texts shared round-robin between the waiting requests (called under the lock)."""
        parts: list[Part] = []
        room = self.max_batch
        longest = 0  # characters of the batch's longest text so far
        while room and self._queue:
            share = max(1, room // len(self._queue))
            unfinished: list[PendingEmbedding] = []
            while room and self._queue:
                pending = self._queue[0]
                count = min(share, len(pending.texts) - pending.taken, room)
                if self.max_chars is not None:
                    count, longest = self._fitting(pending, count, self.max_batch - room, longest)
                if not count:
                    room = 0  # the batch is full of characters: the rest wait for the next one
                    break
                self._queue.popleft()
                parts.append((pending, pending.taken, pending.taken + count))
                pending.taken += count
                room -= count
                if pending.taken < len(pending.texts):
                    unfinished.append(pending)
            # Requests not reached this time stay first in line; the ones just served go behind them.
            self._queue.extend(unfinished)
        self._waiting -= sum(end - start for _, start, end in parts)
        # Texts still waiting have waited since before this batch: no extra wait for them next time.
        self._oldest = 0.0
        return parts

    def _fitting(self, pending: PendingEmbedding, count: int, filled: int, longest: int) -> tuple[int, int]:
        """How many of `pending`'s next `count` texts fit in a batch of `filled` texts whose longest has `longest`
        characters, and the longest then: the model pads every text of a call to its longest, so a call costs its
        texts times the longest's length, kept within max_chars (the batch's first text always fits)."""
        fits = 0
        for text in pending.texts[pending.taken : pending.taken + count]:
            size = len(text) if isinstance(text, str) else sum(len(part) for part in text)
            if filled + fits and max(longest, size) * (filled + fits + 1) > self.max_chars:
                break
            longest = max(longest, size)
            fits += 1
        return fits, longest

    def _process(self, parts: list[Part]) -> None:
        texts = [text for pending, start, end in parts for text in pending.texts[start:end]]
        self.stats.batches += 1
        self.stats.largest_batch = max(self.stats.largest_batch, len(texts))
        try:
            vectors = self.encode(texts)
        except Exception as exc:
            if len({id(pending) for pending, _, _ in parts}) == 1:
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
        # A numpy array becomes lists of floats; other rows (the ONNX encoder's Encoded) pass as they are.
        rows = vectors.tolist() if hasattr(vectors, "tolist") else list(vectors)
        pending.vectors[start : start + len(rows)] = rows
        pending.done += len(rows)
        self.stats.texts += len(rows)
        if pending.done == len(pending.texts):
            self._finish(pending, None)

    def _fail(self, pending: PendingEmbedding, exc: BaseException) -> None:
        with self._cond:
            # Its texts still waiting are dropped: nobody will read their vectors.
            if pending in self._queue:
                self._queue.remove(pending)
                self._waiting -= len(pending.texts) - pending.taken
            pending.taken = len(pending.texts)
        self._finish(pending, exc)

    def _finish(self, pending: PendingEmbedding, error: BaseException | None) -> None:
        self.stats.requests += 1
        pending.error = error
        pending.finished_in_batch = self.stats.batches
        pending.finished = True
