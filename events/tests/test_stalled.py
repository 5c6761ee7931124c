"""The stalled-job check: a stopped worker's job goes back in the queue once, whichever check gets there first."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from events.tasks import retry_stalled_jobs
from events.tests.test_api import queue_add

pytestmark = pytest.mark.django_db(transaction=True)


def left_running_by_a_stopped_worker(job_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 hour') RETURNING id"
        )
        [(worker_id,)] = cursor.fetchall()
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s", [worker_id, job_id]
        )


def test_two_checks_at_once_queue_a_stopped_workers_job_again_once_and_neither_fails(member):
    # A busy worker runs several checks side by side (one every WORKER_STALLED_CHECK_SECONDS, four job slots):
    # both find the job, the first puts it back, and the second used to fail on "invalid status to retry".
    event = queue_add(member, "Left behind")
    job = ProcrastinateJob.objects.get(args__event_id=str(event.id))
    left_running_by_a_stopped_worker(job.id)

    async def two_checks():
        context = SimpleNamespace(app=app)
        try:
            await asyncio.gather(*(retry_stalled_jobs.func(context, timestamp=t) for t in (1, 2)))
        finally:
            await sync_to_async(connections.close_all)()  # the connection of the thread the queries ran in

    asyncio.run(two_checks())
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("todo", 1)  # back in the queue, once
