"""Memory exports (the Platform's POST /v1/exports/): create one and queue its job, run the job.

The job reads the caller's memories that pass the filters (the selectors get_all uses, so tenancy and the filter
language are the same), newest first and at most settings.EXPORT_MAX_MEMORIES of them. Without a schema, or
without an LLM, the export is the memories as plain JSON; with both, the LLM shapes them into the schema
(exports/shaping.py) and the answer is validated against it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import jsonschema
import referencing.exceptions
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apikeys.authentication import acting_for
from exports.models import MemoryExport
from mem0server.exceptions import DomainError, InvalidInput
from memories.configuration import configuration_checked_once, server_config_current
from memories.filters import build_filter, required_scope
from memories.selectors import memories_matching
from memories.serializers import MemorySerializer

logger = logging.getLogger("mem0server")

CREATED_MESSAGE = "Memory export request received. The export will be ready in a few seconds."


ENDLESS_REF = "its $refs lead back to themselves without end."


def unresolvable(exc: Exception) -> str:
    return f"a $ref cannot be resolved ({str(exc)[:300]}); only references inside the schema work."


class ExportFailed(Exception):
    """The export cannot be produced; the message is what the caller reads."""


def schema_check(schema: Any) -> dict | None:
    """The JSON Schema an export is shaped into (None or {}: plain JSON), or InvalidInput saying what is wrong."""
    if schema is None or schema == {}:
        return None
    if not isinstance(schema, dict):
        raise InvalidInput("schema must be a JSON Schema object (or a string holding one).", field="schema")
    if not isinstance(schema.get("$schema", ""), str):
        raise InvalidInput("schema.$schema must be a string: the URI of a JSON Schema draft.", field="schema")
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(part) for part in exc.path) or "the top level"
        raise InvalidInput(f"schema is not a valid JSON Schema: {exc.message} (at {where}).", field="schema") from None
    try:  # what only using the schema shows: a $ref to nowhere, or to itself
        validator(schema).is_valid({})
    except referencing.exceptions.Unresolvable as exc:
        raise InvalidInput(f"schema: {unresolvable(exc)}", field="schema") from None
    except RecursionError:
        raise InvalidInput(f"schema: {ENDLESS_REF}", field="schema") from None
    if schema.get("type", "object") != "object":
        raise InvalidInput(
            f"An export is a JSON object, so the schema's top-level type must be object, not {schema['type']!r}.",
            field="schema",
        )
    return schema


def export_create(*, principal, filters: dict, schema: Any = None, export_instructions: str = "") -> MemoryExport:
    """Store a PENDING export of the caller's memories passing `filters` and queue its job (one transaction)."""
    from exports.tasks import export_memories_job  # the task module imports this one

    schema = schema_check(schema)
    if filters:
        build_filter(filters)  # an unknown operator or a filter too large is a 400 now, not a failed export
    with transaction.atomic():
        export = MemoryExport.objects.create(
            account=principal.account,
            filters=filters,
            scope=required_scope(filters),
            schema=schema,
            export_instructions=export_instructions or "",
        )
        export_memories_job.defer(export_id=str(export.id))
    return export


def export_run(*, export_id: uuid.UUID) -> MemoryExport | None:
    """Produce one export. Safe to run twice: a finished export is left as it is; None for an unknown id."""
    with transaction.atomic():
        export = (
            MemoryExport.objects.select_for_update(of=("self",)).select_related("account").filter(id=export_id).first()
        )
        if export is None or export.status in (MemoryExport.Status.SUCCEEDED, MemoryExport.Status.FAILED):
            return export
        export.status = MemoryExport.Status.RUNNING
        export.save(update_fields=["status", "updated_at"])
    # Outside any transaction: the LLM call may take long.
    try:
        with configuration_checked_once():  # as a request does: the LLM stored through POST /configure counts
            result, count = _produce(export)
    except (ExportFailed, DomainError) as exc:
        message = getattr(exc, "detail", None) or str(exc)
        return _finish(export, status=MemoryExport.Status.FAILED, error=message)
    except Exception:
        logger.exception("export %s failed", export.id)
        _finish(export, status=MemoryExport.Status.FAILED, error="The export failed unexpectedly; see the server log.")
        raise
    return _finish(export, status=MemoryExport.Status.SUCCEEDED, result=result, count=count)


def _finish(export: MemoryExport, *, status: str, result: Any = None, count: int | None = None, error: str = ""):
    export.status, export.result, export.memory_count, export.error = status, result, count, error
    export.finished_at = timezone.now()
    export.save(update_fields=["status", "result", "memory_count", "error", "finished_at", "updated_at"])
    return export


def _produce(export: MemoryExport) -> tuple[Any, int]:
    """The export's data and how many memories it read."""
    principal = acting_for(export.account, auth_type="export")
    matching = memories_matching(principal=principal, filters=export.filters or None)
    limit = settings.EXPORT_MAX_MEMORIES
    memories = list(matching[: limit + 1])
    truncated = len(memories) > limit
    memories = memories[:limit]
    llm = server_config_current().llm
    if export.schema is None or llm.client is None:
        items = MemorySerializer(memories, many=True).data
        return {"memories": items, "count": len(items), "truncated": truncated}, len(memories)
    from exports.shaping import memories_shape

    shown = memories[: settings.EXPORT_LLM_MAX_MEMORIES]
    shaped = memories_shape(
        client=llm.client, memories=shown, schema=export.schema, instructions=export.export_instructions
    )
    return shaped, len(shown)
