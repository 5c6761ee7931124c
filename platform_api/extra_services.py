"""Writes of the Platform API's own rows (the memories themselves go through memories.services)."""

from __future__ import annotations

import uuid

from memories.selectors import memory_get
from platform_api.models import Feedback


def feedback_create(*, principal, memory_id: uuid.UUID, feedback: str | None, feedback_reason: str | None) -> Feedback:
    """Store a verdict on one of the caller's memories; NotFound for an unknown or another account's memory."""
    memory_get(principal=principal, memory_id=memory_id)
    return Feedback.objects.create(
        account=principal.account, memory_id=memory_id, feedback=feedback, feedback_reason=feedback_reason
    )
