"""Shared steps of the events tests: run queued jobs in this process, poll an event over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from procrastinate.contrib.django import app

from mem0server.tests.server_process import wait_for

DONE = ("SUCCEEDED", "FAILED")


def run_jobs_here() -> None:
    """Run every job that is due now, in this process, then return (the worker needs its psycopg connector:
    Django's returns jsonb as str). One at a time: the worker stops at the first fetch that finds nothing, so
    the jobs a job queues (webhook deliveries of an add) are found only if it fetches after that job is done."""
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(wait=False, concurrency=1, install_signal_handlers=False, listen_notify=False)


@contextmanager
def refused_as_by_a_restart(table: str, when: str = "true", *, on: str = "INSERT") -> Iterator[None]:
    """Until the block ends, the database refuses each row written to `table` by `on` (INSERT, UPDATE) for which
    `when` holds (of NEW) with SQLSTATE 57P01, what a PostgreSQL restart or failover sends the connections it ends."""
    name = f"test_restarting_{table}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF {when} THEN RAISE EXCEPTION "
            "'terminating connection due to administrator command' USING ERRCODE = '57P01'; END IF; RETURN NEW; END $$"
        )
        cursor.execute(f"CREATE TRIGGER {name} BEFORE {on} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER {name} ON {table}")
            cursor.execute(f"DROP FUNCTION {name}()")


def sdk_event(client, event_id: str) -> dict[str, Any]:
    """GET /v1/event/{id}/ through the SDK's own HTTP client (its key, its host); the SDK has no method for it."""
    response = client.client.get(f"/v1/event/{event_id}/")
    response.raise_for_status()
    return response.json()


def sdk_wait_event(client, event_id: str, *, timeout: float = 120) -> dict[str, Any]:
    """Poll the event until it is SUCCEEDED or FAILED (the session's worker process runs it)."""
    return wait_for(
        lambda: (event := sdk_event(client, event_id))["status"] in DONE and event,
        timeout=timeout,
        what=f"event {event_id} finished",
    )
