"""Reads of exports: one by id, or the caller's latest matching filters (as the Platform's POST /v1/exports/get/).

An export is its creator's alone: another account's export is as unknown as a made-up id (404).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from exports.models import MemoryExport, MemoryImport
from mem0server.exceptions import InvalidInput, NotFound
from memories.filters import build_filter, filter_check_size
from memories.models import SCOPE_FIELDS
from memories.timestamps import parse_timestamp

TIME_KEYS = ("created_at", "updated_at")
TIME_OPERATORS = ("eq", "gt", "gte", "lt", "lte")


def exports_visible(*, principal) -> QuerySet[MemoryExport]:
    """The exports the caller created (the admin principal's are those with no account)."""
    account = principal.account
    if account is None:
        return MemoryExport.objects.filter(account__isnull=True)
    return MemoryExport.objects.filter(account=account)


def export_get(*, principal, export_id: str) -> MemoryExport:
    """One of the caller's exports by id; NotFound for an unknown or another account's id."""
    try:
        key = uuid.UUID(str(export_id))
    except ValueError:
        raise InvalidInput(
            f"{str(export_id)[:64]!r} is not a valid memory_export_id; export ids are UUIDs.", field="memory_export_id"
        ) from None
    export = exports_visible(principal=principal).filter(id=key).first()
    if export is None:
        raise NotFound(
            f"Memory export {key} not found (exports are kept {settings.EXPORT_RETENTION_DAYS} days after they "
            "finish: EXPORT_RETENTION_DAYS)."
        )
    return export


def export_latest(*, principal, filters: dict[str, Any] | None) -> MemoryExport:
    """The caller's newest export matching `filters`; NotFound when there is none.

    Filters of scope ids and times match each export's scope and its own created_at / updated_at. Any other
    filter a memory search takes (an `in` list, metadata, categories, OR) finds the newest export created with
    exactly those filters: what a client that created one that way asks for.
    """
    filters = filters or {}
    filter_check_size(filters)  # matched against exports or not, a filter's cost stays within the same limits
    try:
        condition = _condition(filters)
    except _OtherFilters:
        build_filter(filters)  # filters no memory search takes stay a 400 that names what is wrong
        condition = Q(filters=filters)
    export = exports_visible(principal=principal).filter(condition).order_by("-created_at", "-id").first()
    if export is None:
        raise NotFound(
            "No memory export matches these filters (scope ids and times match any export; other filters match an "
            "export created with exactly them); create one with POST /v1/exports/."
        )
    return export


class _OtherFilters(Exception):
    """Filters an export's scope and times cannot answer (an `in` list, metadata, OR, ...): matched whole."""


def _condition(filters: dict[str, Any]) -> Q:
    q = Q()
    for key, value in filters.items():
        if key == "AND":
            if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
                raise InvalidInput("filters.AND must be a list of filter objects.", field="filters")
            for item in value:
                q &= _condition(item)
        elif key in SCOPE_FIELDS:
            if isinstance(value, dict) and list(value) == ["eq"]:
                value = value["eq"]
            if isinstance(value, dict):
                raise _OtherFilters
            if not isinstance(value, str) or not value:
                raise InvalidInput(f"filters.{key} must be a non-empty string.", field="filters")
            q &= Q(**{f"scope__{key}": value})
        elif key in TIME_KEYS:
            q &= _time_condition(key, value)
        else:
            raise _OtherFilters
    return q


def _time_condition(key: str, value: Any) -> Q:
    operators = value if isinstance(value, dict) else {"eq": value}
    q = Q()
    for op, bound in operators.items():
        if op not in TIME_OPERATORS:
            raise _OtherFilters
        try:
            moment = parse_timestamp(bound)
        except ValueError as exc:
            raise InvalidInput(f"filters.{key}.{op}: {exc}", field="filters") from None
        q &= Q(**{key if op == "eq" else f"{key}__{op}": moment})
    return q


def exports_recent(*, principal, limit: int = 50) -> list[MemoryExport]:
    """The caller's newest exports, newest first (results deferred: a list shows their status only)."""
    return list(exports_visible(principal=principal).defer("result").order_by("-created_at", "-id")[:limit])


def imports_recent(*, account, limit: int = 50) -> list[MemoryImport]:
    """The account's newest imports from the dashboard, newest first (their lines deferred: a list shows status)."""
    imports = MemoryImport.objects.filter(account=account).defer("lines")
    return list(imports.order_by("-created_at", "-id")[:limit])
