"""Reads of exports: one by id, or the caller's latest matching filters (as the Platform's POST /v1/exports/get/).

An export is its creator's alone: another account's export is as unknown as a made-up id (404).
"""

from __future__ import annotations

import io
import json
import tempfile
import uuid
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
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
    export = exports_visible(principal=principal).defer("result").filter(id=key).first()
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
    exports = exports_visible(principal=principal).defer("result").filter(condition)
    export = exports.order_by("-created_at", "-id").first()
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


# A finished export's data read from PostgreSQL a piece at a time: each member of its object, and each item of a member
# that is a list (the memories), one row; so much as this many rows at once.
RESULT_ROWS = 100
_RESULT_PIECES = """
    SELECT member.key, jsonb_typeof(member.value) = 'array',
           CASE WHEN jsonb_typeof(member.value) = 'array' THEN item.value ELSE member.value END::text
    FROM exports_memoryexport export
    LEFT JOIN LATERAL jsonb_each(export.result) WITH ORDINALITY AS member(key, value, place) ON true
    LEFT JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(member.value) = 'array' THEN member.value END)
        WITH ORDINALITY AS item(value, place) ON true
    WHERE export.id = %s
    ORDER BY member.place, item.place
"""


def export_result_file(*, export: MemoryExport, indent: int | None = None) -> IO[bytes]:
    """A finished export's data as JSON in a temporary file (rewound): the bytes DRF's JSONRenderer writes for it
    (indent None), or json.dumps(..., ensure_ascii=False, indent=indent) (the dashboard's download).

    Read from PostgreSQL a memory at a time and written as it comes, so that a large export (up to
    EXPORT_MAX_TEXT_BYTES of text) costs the web process a few memories' worth of memory, not the export parsed
    whole and rendered again (a 66 MB export: 431 MiB more at the worker's peak, bench/export_read.py). NotFound
    when it is gone (deleted by the retention days or a reset since it was looked up)."""
    file = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    out = io.TextIOWrapper(file, encoding="utf-8", newline="\n")
    out.write("{")
    found = False
    member, member_is_list, items = None, False, 0  # the member being written; a list's items written so far
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(_RESULT_PIECES, [export.id])
        while chunk := cursor.fetchmany(RESULT_ROWS):
            found = True
            for key, is_list, text in chunk:
                if key is None:  # the data is an empty object
                    continue
                if key != member:
                    if member is not None:
                        out.write((_list_end(items, indent) if member_is_list else "") + ",")
                    out.write(f"{_newline(indent, 1)}{_dumps(key, indent, 1)}{':' if indent is None else ': '}")
                    member, member_is_list, items = key, is_list, 0
                    out.write("[" if is_list else _dumps(json.loads(text), indent, 1))
                if is_list and text is not None:
                    out.write(f"{',' if items else ''}{_newline(indent, 2)}{_dumps(json.loads(text), indent, 2)}")
                    items += 1
    if not found:
        out.close()
        raise NotFound(f"Memory export {export.id} was deleted meanwhile (EXPORT_RETENTION_DAYS, or a reset).")
    if member is not None:
        out.write((_list_end(items, indent) if member_is_list else "") + _newline(indent, 0))
    out.write("}")
    out.flush()
    out.detach()
    file.seek(0)
    return file


def _newline(indent: int | None, level: int) -> str:
    return "" if indent is None else "\n" + " " * (indent * level)


def _dumps(value: Any, indent: int | None, level: int) -> str:
    """`value` as JSON written `level` deep into an object as the renderer writes it (see export_result_file)."""
    if indent is None:  # DRF's JSONRenderer, compact, with the line separators escaped as it escapes them
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return json.dumps(value, ensure_ascii=False, indent=indent).replace("\n", _newline(indent, level))


def _list_end(items: int, indent: int | None) -> str:
    return f"{_newline(indent, 1) if items else ''}]"


def exports_recent(*, principal, limit: int = 50) -> list[MemoryExport]:
    """The caller's newest exports, newest first (results deferred: a list shows their status only)."""
    return list(exports_visible(principal=principal).defer("result").order_by("-created_at", "-id")[:limit])


def imports_recent(*, account, limit: int = 50) -> list[MemoryImport]:
    """The account's newest imports from the dashboard, newest first (their lines deferred: a list shows status)."""
    imports = MemoryImport.objects.filter(account=account).defer("lines")
    return list(imports.order_by("-created_at", "-id")[:limit])
