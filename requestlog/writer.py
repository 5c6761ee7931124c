"""Writes request-log rows off the request path: a queue drained in batches by one thread per process.

A request only appends a tuple to a queue (microseconds); the writer thread copies what has gathered
every half second into the table with one COPY. (Model instances and a bulk INSERT cost requests ~10% of
their time on the fastest endpoint: the writer thread competes with them for the interpreter.) It also
prunes rows past the retention at its first round and then about once an hour, and drains the queue when
the process exits normally (gunicorn's graceful shutdown included). If the database is down, the batch is
dropped with a warning: the log must never break or block a request.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.db import connection

from mem0server.database_failures import connection_lost
from mem0server.retention import delete_older_than
from requestlog.models import RequestLog

logger = logging.getLogger("mem0server.requestlog")

# Rows per COPY.
BATCH_SIZE = 2000
FLUSH_INTERVAL = 0.5
# Bounded, so a database outage cannot grow memory without limit.
MAX_PENDING = 20_000
PRUNE_EVERY = 3600.0


class Row(NamedTuple):
    """One request-log row, in the table's column order."""

    method: str
    path: str
    status_code: int
    latency_ms: float
    auth_type: str
    account_id: int | None
    api_key_id: int | None
    client_ip: str | None
    request_id: str
    created_at: datetime
    tool: str = ""
    client: str = ""
    error: str = ""
    route: str = ""


def prune(*, older_than_days: int, batch: int = 10_000) -> int:
    """Delete rows older than the retention, in batches so no long lock is held; returns how many."""
    return delete_older_than(RequestLog.objects.all(), field="created_at", days=older_than_days, batch=batch)


class RequestLogWriter:
    """Rows wait in a deque (an append takes no lock and wakes nobody); one thread wakes every FLUSH_INTERVAL,
    or when flushed or closed, and writes everything that has gathered."""

    def __init__(self) -> None:
        self._rows: deque[Row] = deque()
        self._waiters: list[threading.Event] = []
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._last_prune: float | None = None  # none yet: the first round prunes
        atexit.register(self.close)

    def submit(self, entry: Row) -> None:
        if not settings.REQUEST_LOG_BACKGROUND:
            # Tests: write in the caller's transaction, so each test sees exactly its own rows.
            RequestLog.objects.create(**entry._asdict())
            return
        if len(self._rows) >= MAX_PENDING:
            logger.warning("request log backlog is full; dropping an entry")
            return
        self._rows.append(entry)
        if self._thread is None:
            self._start()

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until everything submitted before this call is in the database."""
        if self._thread is None or not self._thread.is_alive():
            return
        done = threading.Event()
        self._waiters.append(done)
        self._wake.set()
        done.wait(timeout)

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._stopping = True
            self._wake.set()
            self._thread.join(timeout=10)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="request-log-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                self._wake.wait(FLUSH_INTERVAL)
                self._wake.clear()
                # Waiters first: every row submitted before a flush() is then in the drained batch.
                waiters, self._waiters = self._waiters, []
                batch = self._drain()
                for start in range(0, len(batch), BATCH_SIZE):
                    self._write(batch[start : start + BATCH_SIZE])
                for event in waiters:
                    event.set()
                if self._stopping and not self._rows:
                    return
                self._maybe_prune()
        finally:
            connection.close()

    def _drain(self) -> list[Row]:
        batch = []
        while self._rows:
            batch.append(self._rows.popleft())
        return batch

    def _write(self, batch: list[Row]) -> None:
        if not batch:
            return
        columns = ", ".join(Row._fields)
        try:
            with (
                connection.cursor() as cursor,
                cursor.cursor.copy(
                    f"COPY {RequestLog._meta.db_table} ({columns}) FROM STDIN"  # fixed names only
                ) as copy,
            ):
                for row in batch:
                    copy.write_row(row)
            return
        except Exception as exc:  # the log must never take the server down
            if connection_lost(exc):  # a database restarted since the last batch: one line, the rows written again
                logger.warning("request log: %s; writing %d rows again on a new connection", exc, len(batch))
            else:
                logger.exception("could not write %d request log rows; retrying them one by one", len(batch))
            connection.close()
        # One bad row must not cost the whole batch; if the database is down these fail fast too.
        for row in batch:
            try:
                RequestLog.objects.create(**row._asdict())
            except Exception:
                logger.warning("dropped a request log row for %s %s", row.method, row.path[:100])
                connection.close()

    def _maybe_prune(self) -> None:
        # time.monotonic() counts from an arbitrary point (the host's boot on Linux): only differences mean anything.
        now = time.monotonic()
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        try:
            deleted = prune(older_than_days=settings.REQUEST_LOG_RETENTION_DAYS)
        except Exception as exc:
            if connection_lost(exc):  # a database restarted since the last batch: one line, as for a batch
                logger.warning("request log: %s; pruning again in %d s on a new connection", exc, PRUNE_EVERY)
            else:
                logger.exception("could not prune the request log")
            connection.close()
            return
        if deleted:
            logger.info("pruned %d request log rows older than %d days", deleted, settings.REQUEST_LOG_RETENTION_DAYS)


writer = RequestLogWriter()
