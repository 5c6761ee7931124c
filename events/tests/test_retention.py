"""Finished jobs are kept JOB_RETENTION_DAYS after they finish, then deleted by an hourly job, so the queue's
tables do not grow for ever (the stalled-job check alone queues a job every WORKER_STALLED_CHECK_SECONDS)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from events.tasks import prune_finished_jobs
from webhooks.tasks import deliver

pytestmark = pytest.mark.django_db(transaction=True)


def a_job(**configure) -> int:
    """A job that does nothing when it runs: a delivery to a webhook that does not exist."""
    task = deliver.configure(**configure) if configure else deliver
    return task.defer(webhook_id=0, event_id=str(uuid.uuid4()), event_type="memory_add")


def finished_days_ago(job_id: int, days: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_events SET at = at - make_interval(days => %s) WHERE job_id = %s", [days, job_id]
        )


def test_jobs_finished_before_the_retention_are_deleted_and_the_others_kept(settings, run_jobs):
    settings.JOB_RETENTION_DAYS = 7
    old, recent = a_job(), a_job()
    run_jobs()
    waiting = a_job(schedule_in={"days": 1})  # queued long ago, never run: not finished, so kept
    finished_days_ago(old, 8)
    finished_days_ago(recent, 6)
    finished_days_ago(waiting, 30)
    prune_finished_jobs.defer(timestamp=0)
    run_jobs()
    statuses = dict(ProcrastinateJob.objects.filter(id__in=[old, recent, waiting]).values_list("id", "status"))
    assert statuses == {recent: "succeeded", waiting: "todo"}


def test_the_prune_runs_every_hour_on_the_workers():
    crons = {(task.task.name, task.cron) for task in app.periodic_registry.periodic_tasks.values()}
    hourly = {
        ("events.prune_finished_jobs", "47 * * * *"),
        ("webhooks.prune_deliveries", "23 * * * *"),
        ("exports.prune_exports", "35 * * * *"),
    }
    assert hourly <= crons
