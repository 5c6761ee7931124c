"""What the Platform API keeps beside the memories: each account's project settings, and memory feedback."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ProjectSettings(models.Model):
    """The settings of an account's one project (Mem0: one organisation with one project per account).

    `account` is NULL for the admin principal (ADMIN_API_KEY / AUTH_DISABLED), which has no account.
    """

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    custom_instructions = models.TextField(blank=True, default="")
    agent_custom_instructions = models.TextField(blank=True, default="")
    custom_categories = models.JSONField(null=True, blank=True)
    memory_depth = models.CharField(max_length=64, blank=True, default="")
    usecase_setting = models.JSONField(null=True, blank=True)
    multilingual = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "project settings"
        constraints = [
            models.UniqueConstraint(fields=["account"], nulls_distinct=False, name="project_settings_one_per_account")
        ]

    def __str__(self) -> str:
        return f"project of {self.account or 'the admin key'}"


class Feedback(models.Model):
    """A caller's verdict on one memory (POST /v1/feedback/), kept for the operator to read in the admin."""

    class Verdict(models.TextChoices):
        POSITIVE = "POSITIVE"
        NEGATIVE = "NEGATIVE"
        VERY_NEGATIVE = "VERY_NEGATIVE"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Not a foreign key: feedback outlives the memory it is about, as history does.
    memory_id = models.UUIDField()
    feedback = models.CharField(max_length=16, choices=Verdict.choices, null=True, blank=True)
    feedback_reason = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "feedback"
        indexes = [models.Index(fields=["memory_id"], name="feedback_memory")]

    def __str__(self) -> str:
        return f"{self.feedback or 'no verdict'} on {self.memory_id}"
