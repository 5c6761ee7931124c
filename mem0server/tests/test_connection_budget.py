"""The line the first gunicorn worker logs at start: the database connections its layout may open against what
PostgreSQL takes (mem0server/connection_budget.py), checked against the test PostgreSQL's own settings."""

from __future__ import annotations

import logging

from django.db import connection

from mem0server.connection_budget import connection_budget, database_takes, job_worker_budget


def takes() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
            " - coalesce(current_setting('reserved_connections', true)::int, 0)"
        )
        return cursor.fetchone()[0]


def test_a_layout_that_fits_is_one_line_saying_so(db):
    level, message = connection_budget(workers=4, threads=8, pool_size=10)
    assert level == logging.INFO
    assert message.startswith(
        "database connections: the 4 workers may open up to 44 (11 each: a pool of DB_POOL_MAX_SIZE 10 and 1 "
        f"listening); PostgreSQL takes {takes()} (max_connections "
    )


def test_a_layout_that_may_not_fit_is_a_warning_saying_what_to_change(db):
    workers = takes() // 11 + 1  # as the default layout on enough cores: two workers per core
    level, message = connection_budget(workers=workers, threads=8, pool_size=10)
    assert level == logging.WARNING
    assert f"the {workers} workers may open up to {workers * 11} " in message
    assert f"raise PostgreSQL's max_connections to {workers * 11 + 10} or more" in message
    assert "or lower GUNICORN_WORKERS or DB_POOL_MAX_SIZE" in message


def test_without_a_pool_each_thread_counts(db):
    level, message = connection_budget(workers=2, threads=8, pool_size=None)
    assert level == logging.INFO
    assert "the 2 workers may open up to 20 (10 each: without a pool: one for each of 8 threads" in message


def test_a_job_worker_that_fits_beside_the_connections_open_is_one_line_saying_so(db):
    level, message = job_worker_budget(threads=10, pool_size=10, own_pool=4, listening=2)
    assert level == logging.INFO
    assert message.startswith(
        "job worker: database connections: this process may open up to 16 (a pool of 10 for its 10 job threads, "
        f"4 of the job queue's, 2 listening); PostgreSQL takes {takes()} (max_connections "
    )


def test_a_job_worker_past_what_the_open_connections_leave_is_a_warning_saying_what_to_change(db):
    most, reserved, open_now = database_takes()
    threads = most - reserved - open_now  # with procrastinate's pool and the listeners, more than is left
    level, message = job_worker_budget(threads=threads, pool_size=threads, own_pool=4, listening=2)
    assert level == logging.WARNING
    assert f"this process may open up to {threads + 6} (a pool of {threads} for its {threads} job threads" in message
    assert "raise PostgreSQL's max_connections to " in message
    assert "or lower WORKER_CONCURRENCY or WEBHOOK_WORKER_CONCURRENCY" in message


def test_a_job_worker_without_a_pool_counts_a_connection_per_job_thread(db):
    level, message = job_worker_budget(threads=6, pool_size=None, own_pool=4, listening=1)
    assert (
        "may open up to 11 (without a pool: one for each of its 6 job threads, 4 of the job queue's, 1 listening)"
        in (message)
    )
