"""Webhooks and their delivery log: fields, constraints and indexes only (logic lives in services)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from mem0server.sealing import SealedTextField


class EventType(models.TextChoices):
    """The Platform's webhook event types. This server emits the three memory_* changes; the others are
    accepted so a webhook set up for Mem0's Platform can be created here unchanged."""

    MEMORY_ADD = "memory_add"
    MEMORY_UPDATE = "memory_update"
    MEMORY_DELETE = "memory_delete"
    MEMORY_CATEGORIZE = "memory_categorize"
    INGEST_JOB_COMPLETED = "ingest_job_completed"
    INGEST_JOB_PARTIALLY_COMPLETED = "ingest_job_partially_completed"
    INGEST_JOB_FAILED = "ingest_job_failed"
    INGEST_JOB_CANCELLED = "ingest_job_cancelled"


class Webhook(models.Model):
    # The account whose memories it reports (tenancy), as Memory.account; NULL: the admin principal's.
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    name = models.CharField(max_length=255)
    url = models.URLField(max_length=2048)
    event_types = ArrayField(models.CharField(max_length=40, choices=EventType.choices))
    is_active = models.BooleanField(default=True)
    # The HMAC key of the X-Mem0-Signature header: shown once at creation, masked everywhere after. Signing
    # needs it back (a digest would not do), so it is stored sealed; None if this SECRET_KEY cannot open it.
    secret = SealedTextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["account", "is_active"], name="webhook_account_active")]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One attempt to deliver one event to one webhook (a retried delivery has one row per attempt)."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    # The X-Mem0-Event-Id header: the same for every attempt of one event, so receivers can de-duplicate.
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    payload = models.JSONField()
    attempt = models.PositiveIntegerField()
    # NULL when no answer came (refused address, connection error, timeout).
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    succeeded = models.BooleanField(default=False)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["webhook", "-created_at"], name="delivery_webhook_created"),
            models.Index(fields=["event_id"], name="delivery_event"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.webhook_id} #{self.attempt}"
