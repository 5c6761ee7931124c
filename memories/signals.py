"""`memories_changed`: sent once a transaction that added, updated or deleted memories has committed.

Every write path (OSS and Platform routes, batches, MCP, inference, background adds) records its history rows
through history_record(), so listeners (webhooks) hear of every change without the writers knowing them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.dispatch import Signal

from memories.models import MemoryHistory

logger = logging.getLogger(__name__)

# Sent with account_id (None for the admin principal's memories) and changes: a list of dicts
# {"event_id", "event" ("ADD" | "UPDATE" | "DELETE"), "memory_id", "memory", "previous_memory", "actor_id",
# "role", "created_at"}, all plain JSON values. Never sent for a rolled-back transaction.
memories_changed = Signal()


def history_record(rows: Iterable[MemoryHistory]) -> list[MemoryHistory]:
    """Insert the history rows and, once the surrounding transaction commits, send memories_changed."""
    rows = MemoryHistory.objects.bulk_create(list(rows))
    by_account: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        by_account.setdefault(row.account_id, []).append(history_change(row))
    if by_account:
        transaction.on_commit(lambda: _send(by_account))
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


def _send(by_account: dict[Any, list[dict[str, Any]]]) -> None:
    # Robust: the memories are committed by now, so a failing listener must not turn the answer into an error.
    for account_id, changes in by_account.items():
        for receiver, result in memories_changed.send_robust(
            sender=MemoryHistory, account_id=account_id, changes=changes
        ):
            if isinstance(result, Exception):
                logger.error("memories_changed listener %s failed: %r", receiver, result, exc_info=result)
