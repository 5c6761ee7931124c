"""Reads of profiles and their jobs: the caller's own (the admin principal's are those with no account)."""

from __future__ import annotations

import uuid

from django.conf import settings

from mem0server.exceptions import NotFound
from profiles.models import Profile, ProfileJob


def profiles_recent(*, principal, limit: int = 100) -> tuple[list[Profile], int]:
    """The caller's `limit` last changed profiles, the last changed first, and how many it has in all."""
    rows = Profile.objects.filter(account=principal.account)
    found = list(rows.order_by("-updated_at", "entity_id")[:limit])
    return found, len(found) if len(found) < limit else rows.count()


def job_get(*, principal, job_id: str) -> ProfileJob:
    """One of the caller's generation jobs; NotFound for an unknown or another account's id."""
    try:
        key = uuid.UUID(str(job_id))
    except ValueError:
        raise NotFound(f"Profile job {str(job_id)[:64]!r} not found; job ids are UUIDs.") from None
    job = ProfileJob.objects.filter(account=principal.account).filter(id=key).first()
    if job is None:
        raise NotFound(
            f"Profile job {key} not found (profile jobs are kept {settings.PROFILE_JOB_RETENTION_DAYS} days after "
            "they finish: PROFILE_JOB_RETENTION_DAYS)."
        )
    return job
