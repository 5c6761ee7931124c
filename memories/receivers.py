"""Listens to memories_changed (connected in MemoriesConfig.ready): a deleted user's kept texts go with their last
memory (memories/kept_texts.py)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import receiver

from memories.kept_texts import kept_forget_users_gone
from memories.signals import memories_changed


@receiver(memories_changed, dispatch_uid="memories.forget_kept_texts_of_users_gone")
def on_memories_changed(sender, *, account_id: int | None, changes: list[dict[str, Any]], **kwargs) -> None:
    # After the commit, as profiles/receivers.py: a decision that deletes a user's only memory and adds its replacement
    # records the DELETE before the ADD is written. Robust: the change is kept.
    if any(change["event"] == "DELETE" for change in changes):
        transaction.on_commit(lambda: kept_forget_users_gone(account_id=account_id), robust=True)
