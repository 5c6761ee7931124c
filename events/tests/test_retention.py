"""Finished jobs and async-add events are kept JOB_RETENTION_DAYS / EVENT_RETENTION_DAYS after they finish,
then deleted by hourly jobs, so their tables do not grow for ever (the stalled-job check alone queues a job every
WORKER_STALLED_CHECK_SECONDS, and every SDK add is an event holding its messages)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob

from events.models import Event
from events.tasks import prune_events, prune_finished_jobs
from events.tests.test_api import queue_add
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
        ("events.prune_events", "41 * * * *"),
        ("profiles.prune_profile_jobs", "53 * * * *"),
        ("memories.prune_image_descriptions", "29 * * * *"),
        ("memories.prune_document_texts", "31 * * * *"),
    }
    assert hourly <= crons


def test_jobs_run_by_a_test_are_the_queued_ones_not_the_workers_periodic_ones(run_jobs):
    """run_jobs ran procrastinate's periodic deferrer too: each run queued the stalled-job check and, depending on the
    minute of the hour, the hourly prunes, and ran them with the test's own jobs (events/tests/helpers.py)."""
    last = ProcrastinateJob.objects.order_by("-id").values_list("id", flat=True).first() or 0
    run_jobs()
    assert list(ProcrastinateJob.objects.filter(id__gt=last).values_list("task_name", flat=True)) == []
    assert app.periodic_registry.periodic_tasks  # the workers' own are kept


def test_finished_events_are_kept_the_retention_days_then_deleted_with_their_messages(
    member, member_client, embedder, settings, run_jobs
):
    settings.EVENT_RETENTION_DAYS = 30
    old, recent, queued = (queue_add(member, f"Fact {n}") for n in range(3))
    run_jobs()
    Event.objects.filter(id=queued.id).update(status="PENDING", finished_at=None)  # still waiting for a worker
    for event, days in ((old, 31), (recent, 29)):
        Event.objects.filter(id=event.id).update(finished_at=timezone.now() - timedelta(days=days))
    prune_events.defer(timestamp=0)  # what the workers queue every hour
    run_jobs()
    gone = member_client.get(f"/v1/event/{old.id}/")
    assert gone.status_code == 404
    assert "kept 30 days after they finish" in gone.json()["detail"]
    assert member_client.get(f"/v1/event/{recent.id}/").json()["status"] == "SUCCEEDED"
    assert member_client.get(f"/v1/event/{queued.id}/").json()["status"] == "PENDING"
    assert not Event.objects.filter(payload__messages__0__content="Fact 0").exists()
