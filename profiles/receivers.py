"""Listens to memories_changed: a user's profile goes once the user has no memory left (connected in
ProfilesConfig.ready), so deleting a user (delete_users, DELETE /memories?user_id=…, a batch) deletes what the
LLM wrote about them too."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from memories.signals import memories_changed
from profiles import services


@receiver(memories_changed, dispatch_uid="profiles.forget_users_gone")
def on_memories_changed(sender, *, account_id: int | None, changes: list[dict[str, Any]], **kwargs) -> None:
    if any(change["event"] == "DELETE" for change in changes):
        services.profiles_forget_users_gone(account_id=account_id)
