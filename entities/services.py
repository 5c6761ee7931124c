"""Writes: delete everything an entity (a user, agent, app or run id) owns."""

from __future__ import annotations

from entities.selectors import ENTITY_FIELDS
from mem0server.exceptions import NotFound
from memories.services import memories_delete_scope


def entity_delete(*, principal, entity_type: str, entity_id: str) -> int:
    """Delete every memory of one user/agent/app/run in one transaction (history records DELETE); returns how many.

    `entity_type` is already normalised (see selectors.parse_entity_type). NotFound when the id owns nothing.
    """
    deleted = memories_delete_scope(principal=principal, scope={ENTITY_FIELDS[entity_type]: entity_id})
    if not deleted:
        raise NotFound(f"No memories for {entity_type} {entity_id[:255]!r}.")
    return deleted
