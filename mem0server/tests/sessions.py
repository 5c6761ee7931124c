"""Database sessions of their own for tests that play another process (a worker, a dashboard, a long transaction)
against the test database, a wait for one of them to block on a lock, and a call on a thread of its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from django.db import connection


def other_session(**kwargs) -> psycopg.Connection:
    """A new connection to the database Django uses here (in tests, the test database), not one of Django's."""
    params = connection.get_connection_params()
    keys = ("host", "port", "user", "password", "dbname")
    return psycopg.connect(**{key: params[key] for key in keys if params.get(key)}, **kwargs)


def wait_until_blocked(watcher: psycopg.Connection, pattern: str, count: int = 1) -> None:
    """Until `count` statements matching `pattern` wait for a lock (another session's), as the server's own view says:
    ones of `watcher`'s database, which is the test's (the other test processes under xdist share the server, each
    with a database of its own, and their statements wait for locks too)."""
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
        "AND query ILIKE %s"
    )
    for _ in range(600):
        if watcher.execute(query, [pattern]).fetchone()[0] >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} statements like {pattern!r} waited for a lock")


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Start `call` on a thread of its own (its own database session, closed after); its result lands in the dict's
    "response" once the thread is joined."""
    outcome: dict[str, Any] = {}

    def run():
        try:
            outcome["response"] = call()
        finally:
            connection.close()  # this thread's own database session

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome
