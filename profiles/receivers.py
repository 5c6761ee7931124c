"""Listens to memories_changed: a user's profile goes once the user has no memory left (connected in
ProfilesConfig.ready), so deleting a user (delete_users, DELETE /memories?user_id=…, a batch) deletes what the
LLM wrote about them too; and to memories_wiped (POST /reset): every profile goes."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import receiver

from memories.signals import memories_changed, memories_wiped
from profiles import services


@receiver(memories_changed, dispatch_uid="profiles.forget_users_gone")
def on_memories_changed(sender, *, account_id: int | None, changes: list[dict[str, Any]], **kwargs) -> None:
    # After the commit, not inside the change's transaction: an LLM decision that deletes a user's only memory
    # and adds its replacement records the DELETE before the ADD is written. Robust: the change is kept.
    if any(change["event"] == "DELETE" for change in changes):
        transaction.on_commit(lambda: services.profiles_forget_users_gone(account_id=account_id), robust=True)


@receiver(memories_wiped, dispatch_uid="profiles.forget_all")
def on_memories_wiped(sender, **kwargs) -> None:
    services.profiles_forget_all()
