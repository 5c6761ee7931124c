"""How many database connections gunicorn's layout may open, against how many PostgreSQL takes: one line at start
(gunicorn.conf.py, the first worker), a warning when the layout may need more; and a job worker's, at its start
(accounts/management/commands/procrastinate.py), against what the connections open then leave.

Each worker process keeps a pool of up to DB_POOL_MAX_SIZE connections and one more listening for key revocations
(apikeys/listener.py). The default layout grows with the cores (README, Sizing): on 8 cores, 16 workers may open 176
connections, and PostgreSQL's default max_connections is 100. Past it, a connection PostgreSQL refuses ("too many
clients already") leaves requests waiting DB_POOL_TIMEOUT for one of their worker's, then answering 503, and a job
worker or `manage.py` command that cannot connect fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

# Besides its pool, each server process keeps one connection listening (mem0server/listening.py: key revocations,
# MCP SSE answers).
LISTENING = 1


def per_worker(threads: int, pool_size: int | None) -> tuple[int, str]:
    """The connections one server process may hold, and what they are."""
    if pool_size:
        return pool_size + LISTENING, f"a pool of DB_POOL_MAX_SIZE {pool_size} and 1 listening"
    # Without a pool, each thread keeps its own (DB_CONN_MAX_AGE), and so does the request log's writer.
    return threads + 1 + LISTENING, f"without a pool: one for each of {threads} threads, the request log's, 1 listening"


def database_takes() -> tuple[int, int, int]:
    """PostgreSQL's max_connections, the connections it keeps for superusers and reserved roles, and the client
    connections open now."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int"
            "     + coalesce(current_setting('reserved_connections', true)::int, 0), "
            "  (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
        )
        return cursor.fetchone()


def _takes(most: int, reserved: int, open_now: int) -> str:
    return f"PostgreSQL takes {most - reserved} (max_connections {most}, {reserved} reserved), {open_now} open now"


def connection_budget(workers: int, threads: int, pool_size: int | None) -> tuple[int, str]:
    """(logging level, message): what `workers` server processes of `threads` threads, with pools of `pool_size`
    connections (None: no pool), may open against what PostgreSQL takes."""
    each, what = per_worker(threads, pool_size)
    needed = workers * each
    most, reserved, open_now = database_takes()
    said = (
        f"database connections: the {workers} worker{'s' * (workers != 1)} may open up to {needed} ({each} each: "
        f"{what}); {_takes(most, reserved, open_now)}"
    )
    if needed <= most - reserved:
        return logging.INFO, said
    return logging.WARNING, (
        f"{said}. Under load the workers may be refused connections (requests answer 503 after DB_POOL_TIMEOUT): "
        f"raise PostgreSQL's max_connections to {needed + 10} or more (10 for manage.py), and by what each job "
        "worker logs at its start (16 at its defaults), or lower GUNICORN_WORKERS or DB_POOL_MAX_SIZE. Behind a "
        "pooler (PgBouncer) the workers' connections count against its max_client_conn instead"
    )


def job_worker_budget(*, threads: int, pool_size: int | None, own_pool: int, listening: int) -> tuple[int, str]:
    """(logging level, message): what a job worker process may open (its jobs' `threads`, with a pool of `pool_size`
    (None: no pool); procrastinate's own pool of `own_pool`; `listening` workers' listeners) against what PostgreSQL
    takes besides the connections open now (the web processes', other job workers')."""
    jobs = pool_size if pool_size else threads
    needed = jobs + own_pool + listening
    jobs_what = (
        f"a pool of {pool_size} for its {threads} job threads"
        if pool_size
        else f"without a pool: one for each of its {threads} job threads"
    )
    most, reserved, open_now = database_takes()
    said = (
        f"job worker: database connections: this process may open up to {needed} ({jobs_what}, {own_pool} of the "
        f"job queue's, {listening} listening); {_takes(most, reserved, open_now)}"
    )
    if needed <= most - reserved - open_now:
        return logging.INFO, said
    return logging.WARNING, (
        f"{said}. With the connections open now, its jobs may be refused connections (they fail their attempt): "
        f"raise PostgreSQL's max_connections to {open_now + needed + reserved + 10} or more, or lower "
        "WORKER_CONCURRENCY or WEBHOOK_WORKER_CONCURRENCY"
    )


def pool_size() -> int | None:
    """The max_size of this process's Django connection pool, or None without one (DB_POOL=false)."""
    pool = settings.DATABASES[DEFAULT_DB_ALIAS]["OPTIONS"].get("pool")
    return pool["max_size"] if pool else None


def log_budget(budget: Callable[[], tuple[int, str]], log) -> None:
    """Log a budget's line (connection_budget, job_worker_budget), or why it could not be worked out; never stops a
    process from starting."""
    try:
        level, message = budget()
    except DatabaseError as exc:
        log.info("database connections: not checked at start (%s)", " ".join(str(exc).split()))
        return
    finally:
        connections[DEFAULT_DB_ALIAS].close()
    (log.warning if level == logging.WARNING else log.info)("%s", message)


def log_connection_budget(workers: int, threads: int, log) -> None:
    """Log connection_budget's line for gunicorn's layout."""
    log_budget(lambda: connection_budget(workers, threads, pool_size()), log)
