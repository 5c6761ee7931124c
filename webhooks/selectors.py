"""Reads: an account's webhooks and their recent deliveries (another account's are invisible)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from mem0server.exceptions import InvalidInput, NotFound
from mem0server.paging import KeysetPage, cursor_decode, keyset_page_or_last
from webhooks.models import Webhook, WebhookDelivery


def webhooks_of(*, principal):
    """The caller's webhooks (the admin principal's are those of no account), oldest first."""
    return Webhook.objects.filter(account=principal.account).order_by("id")


def webhooks_page(*, principal, limit: int, cursor: str | None = None) -> KeysetPage:
    """The caller's webhooks, oldest first, `limit` at a time; `cursor` (a page's next_cursor) says where to go on (the
    last page when nothing is left there: keyset_page_or_last)."""
    after = Q(id__gt=_webhook_cursor_decode(cursor)) if cursor else None
    return keyset_page_or_last(
        webhooks_of(principal=principal), limit=limit, key=lambda webhook: [webhook.id], after=after, cursor=cursor
    )


def _webhook_cursor_decode(cursor: str) -> int:
    """[webhook id], as webhooks_page wrote it; anything else (made by hand) is InvalidInput."""
    try:
        (webhook_id,) = cursor_decode(cursor)
        # An id past a bigint is no cursor of ours, and PostgreSQL would refuse it (a 500).
        if type(webhook_id) is not int or not 0 <= webhook_id < 2**63:
            raise ValueError(cursor)
    except (ValueError, TypeError):
        raise InvalidInput(
            "cursor is not valid; follow the Next page link of a page of webhooks.", field="cursor"
        ) from None
    return webhook_id


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
