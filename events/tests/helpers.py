"""Shared steps of the events tests: run queued jobs in this process, poll an event over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.periodic import PeriodicRegistry

from mem0server.tests.server_process import wait_for

DONE = ("SUCCEEDED", "FAILED")


def run_jobs_here() -> None:
    """Run every job that is due now, in this process, then return (the worker needs its psycopg connector:
    Django's returns jsonb as str). One at a time: the worker stops at the first fetch that finds nothing, so
    the jobs a job queues (webhook deliveries of an add) are found only if it fetches after that job is done.
    Only the jobs queued: without its periodic tasks, the worker's deferrer queued (and often ran here) the stalled-job
    check at each call and, in the ten minutes after each hourly prune's minute, that prune too, behind the test."""
    periodic, app.periodic_registry = app.periodic_registry, PeriodicRegistry()
    try:
        with app.replace_connector(app.connector.get_worker_connector()):
            app.run_worker(wait=False, concurrency=1, install_signal_handlers=False, listen_notify=False)
    finally:
        app.periodic_registry = periodic


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


def run_through_a_restart(
    run_jobs: Callable[[], None], task_name: str, *refusals: tuple[str, str, str], **args
) -> None:
    """Run the due jobs while the database refuses the writes of `refusals` (refused_as_by_a_restart's table, when
    and on, each); the job of `task_name` with `args` must then be queued to run again (a retry, not failed for
    good). Then it runs at once (its backoff skipped), the database answering again."""
    with ExitStack() as refusing:
        for table, when, on in refusals:
            refusing.enter_context(refused_as_by_a_restart(table, when, on=on))
        run_jobs()
    job = ProcrastinateJob.objects.filter(task_name=task_name, **{f"args__{name}": v for name, v in args.items()})
    assert job.values_list("status", flat=True).get() == "todo"  # not "failed"
    job.update(scheduled_at=timezone.now())
    run_jobs()


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
