"""Writes request-log rows off the request path: a queue drained in batches by one thread per process.

A request only appends to a queue (microseconds); the writer thread inserts what has gathered every half
second with one bulk INSERT, prunes rows past the retention about once an hour, and drains the queue when
the process exits normally (gunicorn's graceful shutdown included). If the database is down, the batch is
dropped with a warning: the log must never break or block a request.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from requestlog.models import RequestLog

logger = logging.getLogger("mem0server.requestlog")

BATCH_SIZE = 500
FLUSH_INTERVAL = 0.5
# Bounded, so a database outage cannot grow memory without limit.
MAX_PENDING = 20_000
PRUNE_EVERY = 3600.0


def prune(*, older_than_days: int, batch: int = 10_000) -> int:
    """Delete rows older than the retention, in batches so no long lock is held; returns how many."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    total = 0
    while True:
        ids = list(RequestLog.objects.filter(created_at__lt=cutoff).values_list("id", flat=True)[:batch])
        if not ids:
            return total
        total += RequestLog.objects.filter(id__in=ids).delete()[0]


class RequestLogWriter:
    def __init__(self) -> None:
        self._queue: queue.Queue[RequestLog | threading.Event | None] = queue.Queue(maxsize=MAX_PENDING)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._last_prune = 0.0
        atexit.register(self.close)

    def submit(self, entry: RequestLog) -> None:
        if not settings.REQUEST_LOG_BACKGROUND:
            # Tests: write in the caller's transaction, so each test sees exactly its own rows.
            entry.save()
            return
        self._ensure_thread()
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            logger.warning("request log queue is full; dropping an entry")

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until everything submitted before this call is in the database."""
        if self._thread is None or not self._thread.is_alive():
            return
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=10)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="request-log-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        try:
            running = True
            while running:
                batch, waiters, running = self._collect()
                self._write(batch)
                for event in waiters:
                    event.set()
                self._maybe_prune()
        finally:
            connection.close()

    def _collect(self) -> tuple[list[RequestLog], list[threading.Event], bool]:
        """Block for the first item, then gather more for up to FLUSH_INTERVAL; False once asked to stop."""
        batch: list[RequestLog] = []
        waiters: list[threading.Event] = []
        item = self._queue.get()
        deadline = time.monotonic() + FLUSH_INTERVAL
        while True:
            if item is None:
                self._drain(batch, waiters)
                return batch, waiters, False
            if isinstance(item, threading.Event):
                waiters.append(item)
                return batch, waiters, True
            batch.append(item)
            remaining = deadline - time.monotonic()
            if len(batch) >= BATCH_SIZE or remaining <= 0:
                return batch, waiters, True
            try:
                item = self._queue.get(timeout=remaining)
            except queue.Empty:
                return batch, waiters, True

    def _drain(self, batch: list[RequestLog], waiters: list[threading.Event]) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, RequestLog):
                batch.append(item)
            elif isinstance(item, threading.Event):
                waiters.append(item)

    def _write(self, batch: list[RequestLog]) -> None:
        if not batch:
            return
        try:
            RequestLog.objects.bulk_create(batch)
            return
        except Exception:  # the log must never take the server down
            logger.exception("could not write %d request log rows; retrying them one by one", len(batch))
        # One bad row must not cost the whole batch; if the database is down these fail fast too.
        for entry in batch:
            try:
                entry.save()
            except Exception:
                logger.warning("dropped a request log row for %s %s", entry.method, entry.path[:100])
                connection.close()

    def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        try:
            deleted = prune(older_than_days=settings.REQUEST_LOG_RETENTION_DAYS)
        except Exception:
            logger.exception("could not prune the request log")
            connection.close()
            return
        if deleted:
            logger.info("pruned %d request log rows older than %d days", deleted, settings.REQUEST_LOG_RETENTION_DAYS)


writer = RequestLogWriter()
