"""Listens to memories_changed and queues the deliveries in the change's own transaction, and to memories_wiped
(POST /reset) to delete the delivery log (connected in WebhooksConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from memories.signals import memories_changed, memories_wiped
from webhooks import services


@receiver(memories_changed, dispatch_uid="webhooks.deliveries_enqueue")
def on_memories_changed(sender, *, account_id: int | None, changes: list[dict[str, Any]], **kwargs) -> None:
    services.deliveries_enqueue(account_id=account_id, changes=changes)


@receiver(memories_wiped, dispatch_uid="webhooks.deliveries_forget")
def on_memories_wiped(sender, **kwargs) -> None:
    services.deliveries_forget()
