"""A memory export requested through the Platform API (POST /v1/exports/): what to export and what came out."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class MemoryExport(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        RUNNING = "RUNNING"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Who asked (tenancy, as Memory.account): only that account reads it. NULL for the admin principal
    # (ADMIN_API_KEY / AUTH_DISABLED). An account's exports go with it.
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # The memory filters (top-level scope ids merged in), as get_all takes them ...
    filters = models.JSONField(default=dict, blank=True)
    # ... and the scope ids among them, which POST /v1/exports/get/ matches to find "the latest export".
    scope = models.JSONField(default=dict, blank=True)
    # The JSON Schema the LLM shapes the memories into; NULL: the memories as plain JSON.
    schema = models.JSONField(null=True, blank=True)
    export_instructions = models.TextField(blank=True, default="")
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    memory_count = models.PositiveIntegerField(null=True, blank=True, help_text="Memories the export read.")
    # Runs started (a run whose worker died is one more): at most settings.WORKER_MAX_ATTEMPTS, as an async add's.
    attempts = models.PositiveIntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "-created_at"], name="export_account_created")]

    def __str__(self) -> str:
        return f"export {self.id} ({self.status})"


class MemoryImport(models.Model):
    """A file of memories uploaded on the dashboard's Import page, imported into its uploader's account by a job."""

    Status = MemoryExport.Status  # the same four states

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Every memory of the file goes to this account (whatever account a line names); its imports go with it.
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    file_name = models.CharField(max_length=255)
    # The file's memories as import lines (exports/backup.py), emptied once the import has finished.
    lines = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    memory_count = models.PositiveIntegerField(null=True, blank=True, help_text="Memories in the file.")
    imported = models.PositiveIntegerField(default=0, help_text="Memories written so far.")
    skipped = models.PositiveIntegerField(null=True, blank=True, help_text="Memories whose id was already here.")
    history_rows = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    # Runs started (a run whose worker died is one more): at most settings.WORKER_MAX_ATTEMPTS, as an export's.
    attempts = models.PositiveIntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "-created_at"], name="import_account_created")]

    def __str__(self) -> str:
        return f"import {self.id} ({self.status})"
