"""Listens to memories_wiped (POST /reset) and scope_deleted (a delete of a scope), connected in the app's ready()."""

from __future__ import annotations

from django.dispatch import receiver

from events import services
from memories.signals import memories_wiped, scope_deleted


@receiver(memories_wiped, dispatch_uid="events.forget")
def on_memories_wiped(sender, **kwargs) -> None:
    services.events_forget()


@receiver(scope_deleted, dispatch_uid="events.cancel_in_scope")
def on_scope_deleted(sender, *, principal, scope, filters, any_of, **kwargs) -> int:
    return services.events_cancel_in_scope(principal=principal, scopes=[scope, filters], any_of=any_of)
