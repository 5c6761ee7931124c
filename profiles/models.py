"""Profiles: each account's profile settings, one profile per user, and the jobs that generate them.

`account` is NULL for the admin principal (ADMIN_API_KEY / AUTH_DISABLED), as on exports; an account's rows go
with it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ProfileSettings(models.Model):
    """The profile settings of an account's project: on or off, and the users' schema and instructions."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    enabled = models.BooleanField(default=False)
    # The JSON Schema a user's profile is filled into; NULL until the caller sets one.
    schema = models.JSONField(null=True, blank=True)
    custom_instructions = models.TextField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "profile settings"
        constraints = [
            models.UniqueConstraint(fields=["account"], nulls_distinct=False, name="profile_settings_one_per_account")
        ]

    def __str__(self) -> str:
        return f"profile settings of {self.account or 'the admin key'}"


class Profile(models.Model):
    """One user's profile, as the caller's memories of that user (user_id) last filled it in."""

    class Status(models.TextChoices):
        PENDING = "pending"  # a generation is queued or running
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        INSUFFICIENT_DATA = "insufficient_data"  # the user had no memories when the generation ran

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    entity_type = models.CharField(max_length=16, default="user")
    entity_id = models.CharField(max_length=255)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # The last successful generation's object ({} before the first); kept while a new one is pending or fails.
    profile = models.JSONField(default=dict, blank=True)
    error = models.TextField(null=True, blank=True, help_text="Why the last generation failed.")
    generation_count = models.PositiveIntegerField(default=0, help_text="Successful generations.")
    memories_read = models.PositiveIntegerField(default=0, help_text="Memories the last generation read.")
    generated_at = models.DateTimeField(null=True, blank=True, help_text="When the profile was last filled in.")
    # When the last generation (whatever came of it) read the user's memories: a memory changed after it is news.
    # A generation given up for its dead workers counts as read then, the memories as they were (_give_up).
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "entity_type", "entity_id"], nulls_distinct=False, name="profile_one_per_entity"
            )
        ]

    def __str__(self) -> str:
        return f"profile of {self.entity_type} {self.entity_id} ({self.status})"


class ProfileJob(models.Model):
    """A generation: asked for through POST /v2/profiles/jobs/ for one user (trigger) or a few (sample), or
    queued when a profile is read that was never generated or whose user's memories changed since (auto)."""

    class Operation(models.TextChoices):
        TRIGGER = "trigger"
        SAMPLE = "sample"
        AUTO = "auto"  # queued by the server: a profile read before its first generation, or after its memories changed

    class Status(models.TextChoices):
        PENDING = "pending"  # queued, or waiting for another run after an LLM failure that may pass
        RUNNING = "running"
        SUCCEEDED = "succeeded"  # every user's profile was generated, or skipped for want of memories
        FAILED = "failed"  # at least one user's generation failed (each profile says why)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    operation = models.CharField(max_length=16, choices=Operation.choices)
    entity_type = models.CharField(max_length=16, default="user")
    entity_ids = models.JSONField(default=list)
    # The users whose profile this job has yet to write: all of them at first; those an LLM failure that may pass
    # (429, 5xx, timeout) left for the next run.
    remaining = models.JSONField(default=list)
    attempts = models.PositiveIntegerField(default=0, help_text="Runs started (at most WORKER_MAX_ATTEMPTS).")
    # Why a run stopped before finishing (its database lost), said by the last run's message (WORKER_MAX_ATTEMPTS).
    last_failure = models.TextField(blank=True, default="", db_default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # The Idempotency-Key the request carried: the same key again answers this job instead of a new one.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_digest = models.CharField(max_length=64, blank=True, default="", help_text="What the key was used for.")
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "-created_at"], name="profile_job_account_created")]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "idempotency_key"],
                nulls_distinct=False,
                condition=models.Q(idempotency_key__isnull=False),
                name="profile_job_idempotency_key",
            )
        ]

    def __str__(self) -> str:
        return f"profile job {self.id} ({self.operation}, {self.status})"
