"""Memory exports (the Platform's POST /v1/exports/): create one and queue its job, run the job.

The job reads the caller's memories that pass the filters (the selectors get_all uses, so tenancy and the filter
language are the same), newest first, at most settings.EXPORT_MAX_MEMORIES of them and EXPORT_MAX_TEXT_BYTES of
their text. Without a schema, or without an LLM, the export is the memories as plain JSON; with both, the LLM
shapes them into the schema (exports/shaping.py) and the answer is validated against it.
"""

from __future__ import annotations

import json
import logging
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from io import IOBase
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts.services import account_deactivated, job_gone
from apikeys.authentication import acting_for
from exports.backup import ImportDeactivated, ImportInterrupted, ImportRefused, ImportReport, import_jsonl
from exports.models import MemoryExport, MemoryImport
from mem0server.database_failures import DATABASE_LOST, connection_dropped, connection_lost, database_lost_on_run
from mem0server.exceptions import DomainError, InvalidInput
from mem0server.queueing import deferrer, fair_priority
from mem0server.retention import delete_older_than
from mem0server.rows import rows_streamed
from mem0server.text import counted, unstorable_text
from memories.configuration import configuration_checked_once, server_config_current
from memories.filters import build_filter, required_scope
from memories.selectors import memories_matching
from memories.serializers import MemorySerializer

logger = logging.getLogger("mem0server")

CREATED_MESSAGE = "Memory export request received. The export will be ready in a few seconds."


ENDLESS_REF = "its $refs lead back to themselves without end."
# Subschemas a caller's schema may hold with every $ref written out in place: far above what a profile or an
# export asks for (tens), and low enough that checking an answer against it costs milliseconds.
MAX_SCHEMA_NODES = 1_000

# Items a list in a schema may hold where the metaschema asks for unique items, unless they are all strings or all
# numbers: jsonschema compares every pair of items it cannot sort (objects, strings among numbers), and a `type` list
# or a draft 4 `enum` of 4,000 objects (50 KB) took 14 s of the request to check, growing with the square of their
# number (hours for 1 MiB of them). Real lists there are short (`type`: at most 7 names) or sortable.
MAX_UNSORTED_ITEMS = 100
# The keywords whose value is such a list, and those whose value maps names to one.
_UNIQUE_LISTS = ("type", "enum", "required")
_NAMED_UNIQUE_LISTS = ("dependentRequired", "dependencies")

# The keywords whose values are subschemas (JSON Schema 2020-12 and the drafts before it, back to draft 4): one, a
# list of them, or an object mapping names to them. Others hold data or annotations, where "$ref" or "pattern" is
# just a name.
_SUBSCHEMA = {
    "additionalItems", "additionalProperties", "contains", "else", "if", "items", "not", "propertyNames",
    "then", "unevaluatedItems", "unevaluatedProperties",
}  # fmt: skip
_SUBSCHEMAS = {"allOf", "anyOf", "oneOf", "prefixItems", "items"}
_NAMED_SUBSCHEMAS = {"dependentSchemas", "dependencies", "properties", "patternProperties"}


def unresolvable(exc: Exception) -> str:
    return f"a $ref cannot be resolved ({str(exc)[:300]}); only references inside the schema work."


def schema_cost_check(schema: dict) -> None:
    """InvalidInput when checking a value against `schema` could cost without bound.

    What makes it so: a regular expression (`pattern`, `patternProperties`), which Python may match in time
    exponential in the answer's length; a $ref that leads back to itself, through which `anyOf` can branch
    again at every level of the answer; and $refs that multiply, where 30 lines of $defs, each `anyOf` twice the
    one before, stand for a billion subschemas. So every $ref must be a JSON pointer into the schema (#/...),
    none may lead back to itself, and the schema with its $refs written out holds at most MAX_SCHEMA_NODES
    subschemas, counted without writing them out. A draft 3 schema (its `$schema`) is refused: it nests subschemas
    where later drafts do not (`extends`, and the lists of `type` and `disallow`), where a pattern went unseen, and
    jsonschema failed on some of them while saying why an answer did not fit.
    """
    import jsonschema  # by the first schema checked, not by every start (~0.08 s of CPU)

    if jsonschema.validators.validator_for(schema, default=None) is jsonschema.Draft3Validator:
        raise InvalidInput(
            "schema: JSON Schema draft 3 is not supported; name a later draft in $schema (or none: 2020-12).",
            field="schema",
        )
    sizes: dict[str, int] = {}  # a $ref's target: its subschemas written out

    def size(node: Any, at: str, refs: tuple[str, ...]) -> int:
        if not isinstance(node, dict):
            return 0  # a boolean schema, or a keyword's malformed value (check_schema reports those)
        for keyword in ("pattern", "patternProperties"):
            if keyword in node:
                raise InvalidInput(
                    f"schema: `{keyword}` (at {at or '/'}) is not supported: a regular expression can take "
                    "unbounded time to match against an answer.",
                    field="schema",
                )
        total = 1
        if "$dynamicRef" in node or "$recursiveRef" in node:
            raise InvalidInput(f"schema: dynamic $refs (at {at or '/'}) are not supported.", field="schema")
        if isinstance(ref := node.get("$ref"), str):
            total += referred(ref, refs)
        for keyword, value in node.items():
            where = f"{at}/{keyword}"
            if keyword in _SUBSCHEMAS and isinstance(value, list):
                total += sum(size(item, f"{where}/{i}", refs) for i, item in enumerate(value))
            elif keyword in _SUBSCHEMA:
                total += size(value, where, refs)
            elif keyword in _NAMED_SUBSCHEMAS and isinstance(value, dict):
                total += sum(size(item, f"{where}/{name}", refs) for name, item in value.items())
            if total > MAX_SCHEMA_NODES:
                raise InvalidInput(
                    f"schema: too large with its $refs written out (more than {MAX_SCHEMA_NODES} subschemas).",
                    field="schema",
                )
        return total

    def referred(ref: str, refs: tuple[str, ...]) -> int:
        if ref != "#" and not ref.startswith("#/"):
            raise InvalidInput(
                f"schema: a $ref cannot be resolved ({ref[:100]!r}); only references inside the schema work, "
                "as JSON pointers such as #/$defs/name.",
                field="schema",
            )
        if ref in refs:
            raise InvalidInput(
                f"schema: its $refs lead back to themselves ({ref[:100]}); recursive schemas are not supported.",
                field="schema",
            )
        if ref not in sizes:
            target = _pointed(schema, ref)
            # A pointer at a keyword's value (#/required, a list; #/minProperties, a number) names no schema:
            # jsonschema raised AttributeError or TypeError when it followed one (a 500, or a failed export).
            if not isinstance(target, dict | bool):
                raise InvalidInput(
                    f"schema: the $ref {ref[:100]!r} points at {type(target).__name__} {str(target)[:40]}, not at a "
                    "schema (an object).",
                    field="schema",
                )
            sizes[ref] = size(target, ref[1:], (*refs, ref))
        return sizes[ref]

    try:
        size(schema, "", ())  # $defs count where they are referred to: one never referred to is never used
    except RecursionError:
        raise InvalidInput("schema: nested too deeply.", field="schema") from None


def unique_lists_check(schema: Any) -> None:
    """InvalidInput when a list whose items the metaschema asks to be unique holds more than MAX_UNSORTED_ITEMS items
    that are not all strings or all numbers. Every object of the schema is looked at, $defs never referred to too, as
    the metaschema checks them all."""
    nodes = [(schema, "")]
    while nodes:
        node, at = nodes.pop()
        if isinstance(node, list):
            nodes += [(item, f"{at}/{index}") for index, item in enumerate(node)]
            continue
        if not isinstance(node, dict):
            continue
        lists = [(key, node[key]) for key in _UNIQUE_LISTS if key in node]
        for key in _NAMED_UNIQUE_LISTS:
            if isinstance(node.get(key), dict):
                lists += [(f"{key}/{name}", value) for name, value in node[key].items()]
        for key, items in lists:
            if isinstance(items, list) and len(items) > MAX_UNSORTED_ITEMS and not _sortable(items):
                raise InvalidInput(
                    f"schema: `{key}` (at {at or '/'}) lists {len(items)} items that are not all strings or all "
                    f"numbers; at most {MAX_UNSORTED_ITEMS} such items (checking that they differ costs the square of "
                    "their number).",
                    field="schema",
                )
        nodes += [(value, f"{at}/{key}") for key, value in node.items()]


def _sortable(items: list) -> bool:
    """Whether the items are all strings or all numbers (not booleans): jsonschema sorts those to find repeats."""
    if all(isinstance(item, str) for item in items):
        return True
    return all(isinstance(item, int | float) and not isinstance(item, bool) for item in items)


def _pointed(schema: dict, ref: str) -> Any:
    """What the JSON pointer of a $ref (#/a/b) names in `schema`, or InvalidInput."""
    node: Any = schema
    for token in filter(None, ref[2:].split("/")):
        token = unquote(token).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise InvalidInput(
                f"schema: a $ref cannot be resolved ({ref[:100]}); only references inside the schema work.",
                field="schema",
            )
    return node


class ExportFailed(Exception):
    """The export cannot be produced; the message is what the caller reads."""


def schema_check(schema: Any) -> dict | None:
    """The JSON Schema an export is shaped into (None or {}: plain JSON), or InvalidInput saying what is wrong."""
    import jsonschema
    import referencing.exceptions

    if schema is None or schema == {}:
        return None
    if not isinstance(schema, dict):
        raise InvalidInput("schema must be a JSON Schema object (or a string holding one).", field="schema")
    if not isinstance(schema.get("$schema", ""), str):
        raise InvalidInput("schema.$schema must be a string: the URI of a JSON Schema draft.", field="schema")
    # First, as it costs milliseconds: checking a schema of 30,000 properties (0.9 MB) against its metaschema took
    # 5.6 s of the request before it was refused for its size.
    schema_cost_check(schema)
    unique_lists_check(schema)
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
        unfinished = MemoryExport.Status.PENDING, MemoryExport.Status.RUNNING
        priority = fair_priority(MemoryExport.objects.filter(account=principal.account, status__in=unfinished))
        export = MemoryExport.objects.create(
            account=principal.account,
            filters=filters,
            scope=required_scope(filters),
            schema=schema,
            export_instructions=export_instructions or "",
        )
        deferrer(export_memories_job, priority=priority).defer(export_id=str(export.id))
    return export


DEACTIVATED = "The account was deactivated after this export was asked for; nothing was exported."
RESET = "Every memory was deleted (POST /reset) while this export ran; nothing was kept. Ask for it again."


def exports_forget() -> int:
    """POST /reset: delete every finished export (their results hold the memories) and fail each running one, whose
    result, read before the reset, is not kept. A queued export stays and reads what is left when it runs.
    Returns how many were deleted or failed."""
    finished = (MemoryExport.Status.SUCCEEDED, MemoryExport.Status.FAILED)
    deleted = MemoryExport.objects.filter(status__in=finished).delete()[0]
    failed = MemoryExport.objects.filter(status=MemoryExport.Status.RUNNING).update(
        status=MemoryExport.Status.FAILED, error=RESET, finished_at=timezone.now(), updated_at=timezone.now()
    )
    return deleted + failed


def export_run(*, export_id: uuid.UUID) -> MemoryExport | None:
    """Produce one export. Safe to run twice: a finished export is left as it is; None for an unknown id. A run
    after settings.WORKER_MAX_ATTEMPTS started ones (each cut off with its worker) fails the export instead."""
    with transaction.atomic():
        export = (
            MemoryExport.objects.select_for_update(of=("self",)).select_related("account").filter(id=export_id).first()
        )
        if export is None or export.status in (MemoryExport.Status.SUCCEEDED, MemoryExport.Status.FAILED):
            return export
        if export.attempts >= settings.WORKER_MAX_ATTEMPTS:
            # Each run before died with its worker (the stalled-job check queued it again), or lost its database
            # (its `error` says so): one more would likely take the next worker down too, and for ever.
            why = (
                f". Last failure: {export.error};"
                if export.error
                else ": its worker stopped while running it each time. Ask for fewer memories (filters), or"
            )
            return _finish(
                export,
                status=MemoryExport.Status.FAILED,
                error=f"The export was started {counted(export.attempts, 'time')} without finishing "
                f"(WORKER_MAX_ATTEMPTS){why} see the server log.",
            )
        if account_deactivated(export.account_id):
            return _finish(export, status=MemoryExport.Status.FAILED, error=DEACTIVATED)
        export.status, export.attempts = MemoryExport.Status.RUNNING, export.attempts + 1
        export.save(update_fields=["status", "attempts", "updated_at"])
    # Outside any transaction: the LLM call may take long.
    try:
        with configuration_checked_once():  # as a request does: the LLM stored through POST /configure counts
            result, count = _produce(export)
        return _kept(export, result=result, count=count)
    except (ExportFailed, DomainError) as exc:
        message = getattr(exc, "detail", None) or str(exc)
        return _finish(export, status=MemoryExport.Status.FAILED, error=message)
    except Exception as exc:
        if connection_lost(exc):  # not the export's fault: its next run (DatabaseLossRetry) may well succeed
            logger.warning("export %s: %s: %s", export.id, DATABASE_LOST, exc)
            connection_dropped()  # if the database is not back yet, storing this fails too: the job is retried
            _lost_database(MemoryExport.objects.filter(id=export.id), attempts=export.attempts)
            raise
        if not MemoryExport.objects.filter(id=export.id).exists():  # its account was deleted meanwhile
            job_gone(job=f"export {export.id}", account_id=export.account_id)
            return None
        logger.exception("export %s failed", export.id)
        _finish(export, status=MemoryExport.Status.FAILED, error="The export failed unexpectedly; see the server log.")
        raise


def export_lost_database(*, export_id: str) -> None:
    """A run of this export that its worker left when the database went away (events/worker.py runs_lost_database):
    PENDING again, saying why in the message of its last run (WORKER_MAX_ATTEMPTS)."""
    rows = MemoryExport.objects.filter(id=export_id)
    for attempts in rows.filter(status=MemoryExport.Status.RUNNING).values_list("attempts", flat=True):
        _lost_database(rows, attempts=attempts, final=False)


def import_lost_database(*, import_id: str) -> None:
    """As export_lost_database, for an import."""
    rows = MemoryImport.objects.filter(id=import_id)
    for attempts in rows.filter(status=MemoryImport.Status.RUNNING).values_list("attempts", flat=True):
        _lost_database(rows, attempts=attempts, final=False)


def _lost_database(rows: models.QuerySet, *, attempts: int, final: bool | None = None, **on_failure: Any) -> None:
    """An export's or import's run that lost its database: PENDING again, its `error` saying why for the message of
    its last run; FAILED, saying so, when this was that run (`final`; by default, its run WORKER_MAX_ATTEMPTS)."""
    said = database_lost_on_run(attempts)
    now = timezone.now()
    if not (attempts >= settings.WORKER_MAX_ATTEMPTS if final is None else final):
        rows.filter(status="RUNNING").update(status="PENDING", error=said, updated_at=now)
        return
    error = f"Given up: {said}; see the server log."
    rows.filter(status="RUNNING").update(status="FAILED", error=error, finished_at=now, updated_at=now, **on_failure)


def _kept(export: MemoryExport, *, result: Any, count: int) -> MemoryExport | None:
    """Store what the export read, unless a reset, a deactivation or a deletion of its account came meanwhile."""
    # Without a schema the data is in a temporary file (_produce): closed, so deleted, however this ends.
    with result if isinstance(result, IOBase) else nullcontext(), transaction.atomic():
        # Failed by a reset while it ran (exports_forget), or gone: what it read is not kept.
        current = MemoryExport.objects.select_for_update().filter(id=export.id).values_list("status", flat=True)
        current = current.first()
        if current is None:  # its account was deleted meanwhile
            job_gone(job=f"export {export.id}", account_id=export.account_id)
            return None
        if current != MemoryExport.Status.RUNNING:
            return MemoryExport.objects.filter(id=export.id).first()
        # Deactivated while it ran: nothing of the account's is kept; else the deactivation waits for this commit.
        if account_deactivated(export.account_id, hold=True):
            return _finish(export, status=MemoryExport.Status.FAILED, error=DEACTIVATED)
        return _finish(export, status=MemoryExport.Status.SUCCEEDED, result=result, count=count)


def exports_prune(*, older_than_days: int) -> int:
    """Delete the exports that finished (succeeded or failed) more than `older_than_days` ago; returns how many."""
    return delete_older_than(MemoryExport.objects.all(), field="finished_at", days=older_than_days)


def _finish(export: MemoryExport, *, status: str, result: Any = None, count: int | None = None, error: str = ""):
    """Record how the export ended; None (said in the log) when its row is gone: its account was deleted meanwhile.
    `result`: the data, or a file holding its JSON text (_produce), stored without being read into memory whole."""
    in_file = isinstance(result, IOBase)
    export.status, export.result, export.memory_count, export.error = status, result, count, error
    export.finished_at = export.updated_at = timezone.now()
    fields = ("status", "result", "memory_count", "error", "finished_at", "updated_at")
    values = {field: getattr(export, field) for field in fields}
    with _json_copied(result) if in_file else nullcontext(result) as stored:
        updated = MemoryExport.objects.filter(id=export.id).update(**{**values, "result": stored})
    if in_file:
        del export.result  # deferred: read from the database when asked for, not held here
    if not updated:
        job_gone(job=f"export {export.id}", account_id=export.account_id)
        return None
    return export


# The piece of an export's JSON text sent to PostgreSQL at once (_json_copied).
COPY_BYTES = 256 * 1024


@contextmanager
def _json_copied(file: IOBase) -> Iterator[RawSQL]:
    """The JSON text in `file` as the value of an update, which casts it to jsonb: copied into a temporary table a
    piece at a time (COPY), so that the job holds a piece of it, not the whole (up to EXPORT_MAX_TEXT_BYTES of
    text) and a copy of it as the statement's parameter. The table goes with the transaction."""
    file.seek(0)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE export_text (body text) ON COMMIT DROP")
        with cursor.copy("COPY export_text (body) FROM STDIN") as copy:
            while piece := file.read(COPY_BYTES):
                # COPY's text format escapes with a backslash; JSON holds no raw tab, newline or carriage return.
                copy.write(piece.replace(b"\\", b"\\\\"))
        yield RawSQL("(SELECT body::jsonb FROM export_text)", [], output_field=models.JSONField())
        cursor.execute("DROP TABLE export_text")  # inside a caller's transaction, a second export may come


def _produce(export: MemoryExport) -> tuple[Any, int]:
    """The export's data and how many memories it read: the LLM's answer, or (without a schema or an LLM) the
    memories' JSON text in a temporary file, which the caller closes."""
    principal = acting_for(export.account, auth_type="export")
    matching = memories_matching(principal=principal, filters=export.filters or None)
    llm = server_config_current().llm
    shaping = export.schema is not None and llm.client is not None
    # Read one by one (not the whole list first), up to EXPORT_MAX_MEMORIES memories and EXPORT_MAX_TEXT_BYTES of
    # their text, so that an account of long memories cannot make one export hold gigabytes in a worker; and each
    # written to the file as it comes: held all at once with their JSON, a 65 MB export raised the worker's peak
    # memory by 285-365 MiB (bench/export_build.py). The LLM sees the newest EXPORT_LLM_MAX_MEMORIES: no more is read.
    limit, budget = settings.EXPORT_MAX_MEMORIES, settings.EXPORT_MAX_TEXT_BYTES
    if shaping:
        limit = min(limit, settings.EXPORT_LLM_MAX_MEMORIES)
    shown, count, size, truncated = [], 0, 0, False
    file = None if shaping else tempfile.TemporaryFile()  # noqa: SIM115 - returned, closed by export_run
    try:
        if file:
            file.write(b'{"memories":[')
        serializer = MemorySerializer()
        with rows_streamed(matching[: limit + 1], chunk_size=100) as rows:
            for memory in rows:
                size += len(memory.text.encode())
                if count == limit or (count and size > budget):
                    truncated = True
                    break
                if file:
                    item = json.dumps(serializer.to_representation(memory), ensure_ascii=False)
                    file.write((b"," if count else b"") + item.encode())
                else:
                    shown.append(memory)
                count += 1
        if file:
            file.write(f'],"count":{count},"truncated":{json.dumps(truncated)}}}'.encode())
            return file, count
    except BaseException:
        if file:
            file.close()
        raise
    from exports.shaping import memories_shape

    shaped = memories_shape(
        client=llm.client, memories=shown, schema=export.schema, instructions=export.export_instructions
    )
    return shaped, len(shown)


# --- imports (the dashboard's Import page) ------------------------------------------------------------------

IMPORT_DEACTIVATED = "The account was deactivated after this file was uploaded; nothing more was imported."
IMPORT_RESET = "Every memory was deleted (POST /reset) while this import ran; it stopped there. Upload the file again."


class ImportStopped(Exception):
    """An import's account was deactivated, or the memories were reset, between two of its batches."""


def import_lines(text: str) -> str:
    """An uploaded file's memories as import lines, one a line: export_memories' JSON lines as they are, or the JSON
    of an export (the dashboard's download, the SDKs' get_memory_export()): an object whose `memories` are memory
    objects. InvalidInput says what the file is not."""
    stripped = text.strip()
    if not stripped:
        raise InvalidInput("The file is empty.", field="file")
    if problem := unstorable_text(text):
        raise InvalidInput(f"The file contains {problem}, which no memory can hold.", field="file")
    if stripped.startswith("{"):
        try:
            whole = json.loads(stripped)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's json decodes
            whole = None  # JSON lines (each is checked by the import, which names the line)
        if isinstance(whole, dict) and "memories" in whole:
            if not isinstance(whole["memories"], list):
                raise InvalidInput("The file's `memories` is not a list of memories.", field="file")
            return "\n".join(json.dumps(memory) for memory in whole["memories"])
    return text


def import_create(*, account, file_name: str, text: str) -> MemoryImport:
    """Store a PENDING import of the file's memories into `account` and queue its job (one transaction)."""
    from exports.tasks import import_memories_job  # the task module imports this one

    lines = import_lines(text)
    with transaction.atomic():
        unfinished = MemoryImport.Status.PENDING, MemoryImport.Status.RUNNING
        priority = fair_priority(MemoryImport.objects.filter(account=account, status__in=unfinished))
        name = file_name.replace("\x00", "")[:255]
        memory_import = MemoryImport.objects.create(account=account, file_name=name, lines=lines)
        deferrer(import_memories_job, priority=priority).defer(import_id=str(memory_import.id))
    return memory_import


def import_run(*, import_id: uuid.UUID) -> MemoryImport | None:
    """Import one uploaded file. Safe to run twice (a finished import is left as it is; memories already written are
    skipped by id); None for an unknown id."""
    with transaction.atomic():
        job = MemoryImport.objects.select_for_update(of=("self",)).select_related("account").filter(id=import_id)
        job = job.first()
        if job is None or job.status in (MemoryImport.Status.SUCCEEDED, MemoryImport.Status.FAILED):
            return job
        if job.attempts >= settings.WORKER_MAX_ATTEMPTS:
            why = f". Last failure: {job.error}" if job.error else ": its worker stopped while running it each time"
            return _import_finish(
                job,
                status=MemoryImport.Status.FAILED,
                error=f"The import was started {counted(job.attempts, 'time')} without finishing "
                f"(WORKER_MAX_ATTEMPTS){why}; see the server log.",
            )
        if account_deactivated(job.account_id):
            return _import_finish(job, status=MemoryImport.Status.FAILED, error=IMPORT_DEACTIVATED)
        job.status, job.attempts = MemoryImport.Status.RUNNING, job.attempts + 1
        job.save(update_fields=["status", "attempts", "updated_at"])
    # Written by earlier runs of this import (each cut off with its worker): this run skips them by id, but they came
    # from this file, so they count as imported, not as ids that were already here.
    earlier = job.imported

    def progress(report: ImportReport) -> None:
        """After each batch: how far it got, and whether to go on."""
        MemoryImport.objects.filter(id=job.id).update(imported=earlier + report.created, updated_at=timezone.now())
        if account_deactivated(job.account_id):
            raise ImportStopped(IMPORT_DEACTIVATED)
        if MemoryImport.objects.filter(id=job.id, status=MemoryImport.Status.RUNNING).exists():
            return
        raise ImportStopped(IMPORT_RESET)

    try:
        # Split at "\n" only, as a file is read line by line: str.splitlines() also splits at U+2028, U+0085 and
        # others, which a line's JSON holds unescaped inside a memory's text (export_memories writes them as they are).
        report = import_jsonl(lines=job.lines.split("\n"), account=job.account, progress=progress, within_limits=True)
        return _import_finish(
            job,
            status=MemoryImport.Status.SUCCEEDED,
            memory_count=report.lines,
            imported=earlier + report.created,
            skipped=max(report.skipped - earlier, 0),
            history_rows=report.history_created,
        )
    except ImportRefused as exc:
        return _import_finish(
            job, status=MemoryImport.Status.FAILED, error=f"Nothing was imported: {exc.total} problem(s).\n{exc}"
        )
    except (ImportInterrupted, ImportStopped) as exc:
        written = MemoryImport.objects.filter(id=job.id).values_list("imported", flat=True).first()
        error = IMPORT_DEACTIVATED if isinstance(exc, ImportDeactivated) else str(exc)
        return _import_finish(job, status=MemoryImport.Status.FAILED, error=error, imported=written or 0)
    except Exception as exc:
        if connection_lost(exc):  # as an export's: run again (DatabaseLossRetry), skipping what it wrote
            logger.warning("import %s: %s: %s", job.id, DATABASE_LOST, exc)
            connection_dropped()
            _lost_database(MemoryImport.objects.filter(id=job.id), attempts=job.attempts, lines="")
            raise
        if not MemoryImport.objects.filter(id=job.id).exists():  # its account was deleted meanwhile
            job_gone(job=f"import {job.id}", account_id=job.account_id)
            return None
        logger.exception("import %s failed", job.id)
        _import_finish(
            job, status=MemoryImport.Status.FAILED, error="The import failed unexpectedly; see the server log."
        )
        raise


def _import_finish(job: MemoryImport, *, status: str, error: str = "", **counts) -> MemoryImport | None:
    """Record how the import ended (unless a reset failed it meanwhile: imports_forget's message stays); the file's
    lines are not kept past it. None (said in the log) when its row is gone: its account was deleted meanwhile."""
    now = timezone.now()
    rows = MemoryImport.objects.filter(id=job.id)
    with transaction.atomic():  # a database lost in between kept neither: the next run has the lines
        rows.update(lines="", updated_at=now)
        rows.exclude(status=MemoryImport.Status.FAILED).update(status=status, error=error, finished_at=now, **counts)
    finished = rows.first()
    if finished is None:
        job_gone(job=f"import {job.id}", account_id=job.account_id)
    return finished


def imports_forget() -> int:
    """POST /reset: fail each running import (it stops before its next batch); finished ones stay listed."""
    return MemoryImport.objects.filter(status=MemoryImport.Status.RUNNING).update(
        status=MemoryImport.Status.FAILED, error=IMPORT_RESET, finished_at=timezone.now(), updated_at=timezone.now()
    )


def imports_prune(*, older_than_days: int) -> int:
    """Delete the imports that finished more than `older_than_days` ago; returns how many."""
    return delete_older_than(MemoryImport.objects.all(), field="finished_at", days=older_than_days)
