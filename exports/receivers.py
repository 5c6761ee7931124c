"""Listens to memories_wiped (POST /reset), connected in the app's ready()."""

from __future__ import annotations

from django.dispatch import receiver

from exports import services
from memories.signals import memories_wiped


@receiver(memories_wiped, dispatch_uid="exports.forget")
def on_memories_wiped(sender, **kwargs) -> None:
    services.exports_forget()
    services.imports_forget()
