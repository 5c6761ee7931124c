"""Profile jobs: thin, as every job: each gets an id (or the hour) and runs a service (safe to run twice)."""

from __future__ import annotations

import uuid

from django.conf import settings
from procrastinate.contrib.django import app

from events.tasks import ProviderBackoff
from mem0server.queueing import UPKEEP_PRIORITY
from profiles.services import job_run, jobs_prune


# A run that an LLM failure that may pass cut short is retried as an async add is (events/tasks.py).
@app.task(name="profiles.generate_profiles", retry=ProviderBackoff())
def generate_profiles_job(*, job_id: str) -> None:
    job_run(job_id=uuid.UUID(job_id))


@app.periodic(cron="53 * * * *", periodic_id="prune_profile_jobs", priority=UPKEEP_PRIORITY)
@app.task(name="profiles.prune_profile_jobs")
def prune_profile_jobs(timestamp: int) -> None:
    """Hourly: finished profile jobs are kept PROFILE_JOB_RETENTION_DAYS."""
    jobs_prune(older_than_days=settings.PROFILE_JOB_RETENTION_DAYS)
