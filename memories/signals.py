"""`memories_changed`: sent inside the transaction that adds, updates or deletes memories, once its history rows
are written, so what a listener writes (the webhook delivery jobs) commits with the change or not at all: a
server that dies just after the commit has already queued the change's deliveries. A listener that must see the
committed state waits for it itself (transaction.on_commit, as the profiles' clean-up does).

Every write path (OSS and Platform routes, batches, MCP, inference, background adds) records its history rows
through history_record(), inside its transaction and after its memory writes, so listeners hear of every change
without the writers knowing them; deletes write theirs in SQL (services.delete_with_history) and announce them
through history_announce().
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.dispatch import Signal

from memories.models import MemoryHistory

# Sent with account_id (None for the admin principal's memories) and changes: a list of dicts
# {"event_id", "event" ("ADD" | "UPDATE" | "DELETE"), "memory_id", "actor_id", "role", "created_at"}, all plain JSON
# values. No memory text: a listener that needs it reads the history row (event_id), as the webhook deliveries do, so
# a delete of a large scope does not hold its texts in Python. One transaction may send it several times for one
# account (a delete of a scope: DELETE_BATCH changes at a time). A listener that raises rolls the change back with it.
memories_changed = Signal()

# Sent, with no argument, inside POST /reset's transaction once every memory and history row is gone (TRUNCATE,
# which sends no memories_changed): each listener deletes what it keeps of the memories' text (the events: finished
# adds' results, and queued adds, which would store theirs after it; exports, webhook delivery payloads, profiles), so
# a reset leaves no copy of them behind. A listener that raises rolls the reset back.
memories_wiped = Signal()

# Sent inside the transaction of a delete of a whole scope (every memory of it the caller sees, no other filter), once
# the writes into it under way have committed (services.scope_delete_lock), with `principal`, `scope` and `filters`
# (scope ids every deleted memory has, both), and `any_of` (Mem0's "*": scope fields of which every deleted memory has
# one). A listener drops what would write into the scope later on the caller's behalf (the async adds queued before
# it) and returns how many it dropped. A listener that raises rolls the delete back.
scope_deleted = Signal()


def history_record(rows: Iterable[MemoryHistory]) -> list[MemoryHistory]:
    """Insert the history rows and send memories_changed, in the caller's transaction (after its memory writes:
    listeners see the memories as the change leaves them)."""
    rows = MemoryHistory.objects.bulk_create(list(rows))
    history_announce(rows)
    return rows


def history_announce(rows: Iterable[MemoryHistory]) -> None:
    """Send memories_changed for these history rows, already written (their texts need not be loaded), once per
    account."""
    by_account: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        by_account.setdefault(row.account_id, []).append(history_change(row))
    for account_id, changes in by_account.items():
        memories_changed.send(sender=MemoryHistory, account_id=account_id, changes=changes)


def history_change(row: MemoryHistory) -> dict[str, Any]:
    """One history row as a memories_changed change. Its event_id is the row's id: a listener reads the texts there."""
    return {
        "event_id": str(row.id),
        "event": row.event,
        "memory_id": str(row.memory_id),
        "actor_id": row.actor_id,
        "role": row.role,
        "created_at": row.created_at.isoformat(),
    }
