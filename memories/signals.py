"""`memories_changed`: sent inside the transaction that adds, updates or deletes memories, once its history rows
are written, so what a listener writes (the webhook delivery jobs) commits with the change or not at all: a
server that dies just after the commit has already queued the change's deliveries. A listener that must see the
committed state waits for it itself (transaction.on_commit, as the profiles' clean-up does).

Every write path (OSS and Platform routes, batches, MCP, inference, background adds) records its history rows
through history_record(), inside its transaction and after its memory writes, so listeners hear of every change
without the writers knowing them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.dispatch import Signal

from memories.models import MemoryHistory

# Sent with account_id (None for the admin principal's memories) and changes: a list of dicts
# {"event_id", "event" ("ADD" | "UPDATE" | "DELETE"), "memory_id", "memory", "previous_memory", "actor_id",
# "role", "created_at"}, all plain JSON values. A listener that raises rolls the change back with it.
memories_changed = Signal()

# Sent, with no argument, inside POST /reset's transaction once every memory and history row is gone (TRUNCATE,
# which sends no memories_changed): each listener deletes what it keeps of the memories' text (finished events'
# results, exports, webhook delivery payloads, profiles), so a reset leaves no copy of them behind. A listener
# that raises rolls the reset back.
memories_wiped = Signal()


def history_record(rows: Iterable[MemoryHistory]) -> list[MemoryHistory]:
    """Insert the history rows and send memories_changed, in the caller's transaction (after its memory writes:
    listeners see the memories as the change leaves them)."""
    rows = MemoryHistory.objects.bulk_create(list(rows))
    by_account: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        by_account.setdefault(row.account_id, []).append(history_change(row))
    for account_id, changes in by_account.items():
        memories_changed.send(sender=MemoryHistory, account_id=account_id, changes=changes)
    return rows


def history_change(row: MemoryHistory) -> dict[str, Any]:
    """One history row as a memories_changed change (the memory's text after the change; before it, for a
    DELETE). Its event_id is the row's id, so a listener can read the row again later."""
    return {
        "event_id": str(row.id),
        "event": row.event,
        "memory_id": str(row.memory_id),
        "memory": row.new_memory if row.event != MemoryHistory.Event.DELETE else row.old_memory,
        "previous_memory": row.old_memory if row.event == MemoryHistory.Event.UPDATE else None,
        "actor_id": row.actor_id,
        "role": row.role,
        "created_at": row.created_at.isoformat(),
    }
