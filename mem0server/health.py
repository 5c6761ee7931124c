"""What GET /healthz reports: does the database answer, is the embedder ready. Read-only and time-bounded."""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg_pool import PoolTimeout

from mem0server.database import embedded_revive
from memories.configuration import server_config_snapshot

logger = logging.getLogger("mem0server")


@dataclass(frozen=True)
class Health:
    database: str  # "ok" | "unavailable"
    embedder: str  # "ok" | "loading" | "unavailable"

    @property
    def status(self) -> str:
        # A model still loading is normal right after start: requests wait for it, they do not fail.
        return "ok" if self.database == "ok" and self.embedder != "unavailable" else "degraded"


def _ping(conn: psycopg.Connection, timeout: float) -> None:
    with conn.transaction():
        # Transaction-local, so a pooled connection goes back without the short timeout.
        conn.execute("SELECT set_config('statement_timeout', %s, true)", [f"{max(1, int(timeout * 1000))}ms"])
        conn.execute("SELECT 1").fetchone()


# Probes still waiting on a hung database; past this many, the answer is known without asking again.
MAX_PROBES_IN_FLIGHT = 4
_probes = threading.BoundedSemaphore(MAX_PROBES_IN_FLIGHT)


def _probe(wrapper: BaseDatabaseWrapper, timeout: float) -> str:
    """SELECT 1 on a pooled connection (pool wait bounded) or a fresh one (connect timeout)."""
    deadline = time.monotonic() + timeout
    pool = wrapper.pool
    try:
        if pool is None:
            params = wrapper.get_connection_params()
            params["connect_timeout"] = max(2, math.ceil(timeout))  # libpq's smallest effective value is 2 s
            with psycopg.connect(**params, autocommit=True) as conn:
                _ping(conn, timeout)
            return "ok"
        pool.open()  # Django opens its pool on first use; a no-op when already open
        for attempt in range(2):
            remaining = max(0.05, deadline - time.monotonic())
            try:
                with pool.connection(timeout=remaining) as conn:
                    _ping(conn, remaining)
                return "ok"
            except PoolTimeout:
                raise
            except psycopg.OperationalError:
                # A pooled connection can be stale after a database restart, and then so is every idle one:
                # the pool drops them all, so one more try tells a dead database from dead connections.
                if attempt or time.monotonic() >= deadline:
                    raise
                pool.check()
    except psycopg.Error as exc:
        logger.warning("healthz: database unavailable: %s", exc)
        if settings.EMBEDDED_DATABASE:
            embedded_revive(settings.DATA_DIR)  # its postmaster killed: started again (a probe's thread waits for it)
    return "unavailable"


def database_status(*, using: str = DEFAULT_DB_ALIAS, timeout: float) -> str:
    """'ok' if the database answers SELECT 1 within `timeout` seconds, else 'unavailable'.

    With Django's pool (DB_POOL=true) the probe borrows a pooled connection, waiting at most `timeout`
    (requests wait up to DB_POOL_TIMEOUT); without it, it opens a short-lived connection with a connect
    timeout.
    statement_timeout is enforced by the server, so a server that stops answering mid-query (frozen,
    or the network gone under an open connection) is bounded here instead: the probe runs in its own
    thread and the answer is 'unavailable' once `timeout` has passed, whatever that thread still waits on.
    """
    wrapper = connections[using]  # resolved in the caller's thread: Django's connections are per thread
    if not _probes.acquire(blocking=False):
        logger.warning(
            "healthz: %d earlier database checks are still waiting; not starting another", MAX_PROBES_IN_FLIGHT
        )
        return "unavailable"
    outcome: list[str] = []

    def run() -> None:
        try:
            outcome.append(_probe(wrapper, timeout))
        finally:
            _probes.release()

    probe = threading.Thread(target=run, name="healthz-database", daemon=True)
    probe.start()
    probe.join(timeout + 0.1)
    if not outcome:
        logger.warning("healthz: the database did not answer within %.1f s", timeout)
        return "unavailable"
    return outcome[0]


def embedder_status() -> str:
    """'ok', 'loading' (the model is still being read) or 'unavailable' (loading failed)."""
    # The snapshot, not a fresh read: the embedder's state must be reported while the database is down.
    status = getattr(server_config_snapshot().embedder, "status", None)
    # Embedders without a local model (remote APIs) have nothing to load.
    return status() if callable(status) else "ok"


def health_check(*, using: str = DEFAULT_DB_ALIAS) -> Health:
    """Database and embedder state for /healthz; writes nothing, waits at most about HEALTHZ_TIMEOUT_MS."""
    return Health(
        database=database_status(using=using, timeout=settings.HEALTHZ_TIMEOUT_MS / 1000),
        embedder=embedder_status(),
    )
