"""The profile job: thin, as every job: it receives the job's id and runs the service (safe to run twice)."""

from __future__ import annotations

import uuid

from procrastinate.contrib.django import app

from events.tasks import ProviderBackoff
from profiles.services import job_run


# A run that an LLM failure that may pass cut short is retried as an async add is (events/tasks.py).
@app.task(name="profiles.generate_profiles", retry=ProviderBackoff())
def generate_profiles_job(*, job_id: str) -> None:
    job_run(job_id=uuid.UUID(job_id))
