"""What GET /healthz reports: does the database answer, is the embedder ready. Read-only and time-bounded."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from psycopg_pool import PoolTimeout

from memories.embeddings import get_embedder

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


def database_status(*, using: str = DEFAULT_DB_ALIAS, timeout: float) -> str:
    """'ok' if the database answers SELECT 1 within about `timeout` seconds, else 'unavailable'.

    With Django's pool (DB_POOL=true) the check borrows a pooled connection, waiting at most `timeout`
    (the pool's own wait is 10 s); without it, it opens a short-lived connection with a connect timeout.
    """
    wrapper = connections[using]
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
            remaining = deadline - time.monotonic()
            try:
                with pool.connection(timeout=max(0.05, remaining)) as conn:
                    _ping(conn, max(0.05, remaining))
                return "ok"
            except PoolTimeout:
                raise
            except psycopg.OperationalError:
                # A pooled connection can be stale after a database restart; the pool drops it on return,
                # so one more try tells a dead database from a dead connection.
                if attempt or time.monotonic() >= deadline:
                    raise
    except psycopg.Error as exc:
        logger.warning("healthz: database unavailable: %s", exc)
    return "unavailable"


def embedder_status() -> str:
    """'ok', 'loading' (the model is still being read) or 'unavailable' (loading failed)."""
    status = getattr(get_embedder(), "status", None)
    # Embedders without a local model (remote APIs) have nothing to load.
    return status() if callable(status) else "ok"


def health_check(*, using: str = DEFAULT_DB_ALIAS) -> Health:
    """Database and embedder state for /healthz; writes nothing, waits at most about HEALTHZ_TIMEOUT_MS."""
    return Health(
        database=database_status(using=using, timeout=settings.HEALTHZ_TIMEOUT_MS / 1000),
        embedder=embedder_status(),
    )
