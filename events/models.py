"""An async add's event: what was asked, where it stands, and what it did. Fields and indexes only."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Event(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        RUNNING = "RUNNING"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"

    class Type(models.TextChoices):
        ADD = "ADD"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The account whose credentials asked (tenancy, as Memory.account); NULL for ADMIN_API_KEY / AUTH_DISABLED.
    # A deleted account's events go with it: its queued adds must not land as nobody's memories.
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    event_type = models.CharField(max_length=16, choices=Type.choices, default=Type.ADD)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # The validated request in plain JSON (platform_api.services.add_payload): all the job needs to run it.
    payload = models.JSONField()
    # The ADD / UPDATE / DELETE / NONE items a synchronous add answers; written with the memories.
    results = models.JSONField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    # Runs started so far (a retry after an LLM failure or a dead worker is one more).
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A FAILED add queued again (the dashboard's "Queue again"): the event that runs it now; queued again once.
    queued_again_as = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        indexes = [
            models.Index(fields=["account", "-created_at"], name="event_account_created"),
            models.Index(fields=["status", "created_at"], name="event_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id} ({self.status})"
