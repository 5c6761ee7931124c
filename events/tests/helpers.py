"""Shared steps of the events tests: run queued jobs in this process, poll an event over HTTP."""

from __future__ import annotations

from typing import Any

from procrastinate.contrib.django import app

from mem0server.tests.server_process import wait_for

DONE = ("SUCCEEDED", "FAILED")


def run_jobs_here() -> None:
    """Run every job that is due now, in this process, then return (the worker needs its psycopg connector:
    Django's returns jsonb as str). One at a time: the worker stops at the first fetch that finds nothing, so
    the jobs a job queues (webhook deliveries of an add) are found only if it fetches after that job is done."""
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(wait=False, concurrency=1, install_signal_handlers=False, listen_notify=False)


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
