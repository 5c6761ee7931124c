"""Writes: delete everything an entity (a user, agent, app or run id) owns."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from entities.selectors import ENTITY_FIELDS
from mem0server.exceptions import NotFound
from memories.selectors import memories_visible
from memories.services import ScopeDeleted, memories_delete_scope, memories_lock, scope_delete_lock


def entity_delete(*, principal, entity_type: str, entity_id: str) -> ScopeDeleted:
    """Delete every memory of one user/agent/app/run in one transaction (history records DELETE); returns how many,
    and how many queued adds went with them.

    `entity_type` is already normalised (see selectors.parse_entity_type). NotFound when the id owns nothing: no
    memory, and no add queued for it (dropped by the delete, as the adds to any deleted scope are).
    """
    deleted = memories_delete_scope(principal=principal, scope={ENTITY_FIELDS[entity_type]: entity_id})
    if not (deleted.memories or deleted.adds_dropped):
        raise NotFound(f"No memories for {entity_type} {entity_id[:255]!r}.")
    return deleted


def entities_delete(*, principal, entities: dict[str, str]) -> dict[str, ScopeDeleted]:
    """Delete every memory of several entities ({entity type: id}) all or nothing; returns how many each delete
    removed (none for an id that owned nothing, or only memories an entity deleted before it also owned)."""
    owned = Q()
    for entity_type, entity_id in entities.items():
        owned |= Q(**{ENTITY_FIELDS[entity_type]: entity_id})
    deleted: dict[str, ScopeDeleted] = {}
    with transaction.atomic():
        # Adds to these scopes waited for first (memories_delete_scope takes the same keys again), then all their
        # memories locked, in one statement in id order as every multi-row writer locks them: one
        # entity's delete after another's locked them in two runs, and deadlocked with a batch holding one.
        scope_delete_lock(principal, [{ENTITY_FIELDS[kind]: entity_id} for kind, entity_id in entities.items()])
        memories_lock(memories_visible(principal=principal).filter(owned))
        for entity_type in ENTITY_FIELDS:
            if entity_type in entities:
                try:
                    deleted[entity_type] = entity_delete(
                        principal=principal, entity_type=entity_type, entity_id=entities[entity_type]
                    )
                except NotFound:
                    deleted[entity_type] = ScopeDeleted(0, 0)
    return deleted
