"""Reads: an account's webhooks and their recent deliveries (another account's are invisible)."""

from __future__ import annotations

from django.db.models import QuerySet

from mem0server.exceptions import NotFound
from webhooks.models import Webhook, WebhookDelivery


def webhooks_of(*, principal):
    """The caller's webhooks (the admin principal's are those of no account), oldest first."""
    return Webhook.objects.filter(account=principal.account).order_by("id")


def webhook_get(*, principal, webhook_id: int) -> Webhook:
    """One of the caller's webhooks; NotFound for another account's, as for a made-up id."""
    webhook = webhooks_of(principal=principal).filter(id=webhook_id).first()
    if webhook is None:
        raise NotFound(f"Webhook {webhook_id} not found.")
    return webhook


def deliveries_recent(*, principal, limit: int = 50) -> QuerySet[WebhookDelivery]:
    """The newest delivery attempts to the caller's webhooks, newest first."""
    return (
        WebhookDelivery.objects.filter(webhook__account=principal.account)
        .select_related("webhook")
        .order_by("-created_at", "-id")[:limit]
    )
