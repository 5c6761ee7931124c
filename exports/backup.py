"""Backups and moves between servers: memories as JSON lines (manage.py export_memories / import_memories).

One memory per line, with its history rows and its account's email; no embedding (the importing server
computes its own, so the two servers may even use different embedders). An import keeps ids, dates and
history. It is idempotent: a memory whose id its account already holds is skipped, with its history (never updated).
A memory deleted here since (its history ending with DELETE) gains an ADD row dated the import, so its history says it
came back.
Into an account, one whose id another account (or nobody) holds here is copied under a new id, the same each time for
that account and id (a rerun finds the copy, and skips it), its history following; a memory of nobody's (the admin's,
who sees every account's) whose id exists here is skipped.
Every line is checked before anything is written; the writes go in batches of settings.EXPORT_IMPORT_BATCH
memories, one transaction each (embedding happens between them, outside any transaction).
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from accounts.models import User
from accounts.selectors import users_by_email
from accounts.services import account_deactivated
from mem0server.exceptions import InvalidInput
from mem0server.rows import rows_streamed
from mem0server.text import counted, unstorable_json, unstorable_text
from memories.configuration import configuration_checked_once
from memories.embeddings import get_embedder
from memories.filters import scope_id_refusal
from memories.models import MAX_TEXT_CHARS, SCOPE_FIELDS, Memory, MemoryHistory
from memories.sentences import MemoryVectors, embed_memories, vectors_save
from memories.services import history_row, import_write_lock, metadata_size_check

# pg_advisory_xact_lock's key for "an import is writing a batch" (any fixed bigint; this one spells "m0import").
IMPORT_LOCK_KEY = 0x6D30696D706F7274
# Memories read from the database per query when exporting.
EXPORT_CHUNK = 500
# Problems listed before "… and N more".
MAX_PROBLEMS = 20
# Lines read and looked up at once (their ids, whether already here) on the way to being written.
PLACED_AT_ONCE = 500
# Names the copies of memories whose id another account holds (copy_id); fixed, so that every import agrees.
COPY_NAMESPACE = uuid.UUID("3f0c1d6e-6b4a-5e2f-9a57-6d30636f7079")


class ImportRefused(Exception):
    """The file cannot be imported; nothing was written. `problems` are sentences starting with 'line N:'."""

    def __init__(self, problems: list[str], total: int):
        self.problems, self.total = problems, total
        more = f"\n… and {total - len(problems)} more" if total > len(problems) else ""
        super().__init__("\n".join(problems) + more)


class ImportInterrupted(Exception):
    """A batch failed after earlier ones were written; the message says how far it got."""


class ImportDeactivated(ImportInterrupted):
    """The account the import writes into was deactivated while it ran: the batch it was about to write is not."""


# --- export -------------------------------------------------------------------------------------------


def memories_for_backup(
    *, accounts: Iterable[User] | None = None, scope: dict[str, str] | None = None
) -> QuerySet[Memory]:
    """Every memory (expired ones too) of the given accounts (all when None) and scope ids, oldest first."""
    memories = Memory.objects.defer("embedding", "search_vector").select_related("account")
    if accounts is not None:
        memories = memories.filter(account__in=accounts)
    return memories.filter(**(scope or {})).order_by("created_at", "id")


def _when(value) -> str | None:
    return value.isoformat() if value is not None else None


def _history_line(row: MemoryHistory) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "event": row.event,
        "old_memory": row.old_memory,
        "new_memory": row.new_memory,
        "created_at": _when(row.created_at),
        "updated_at": _when(row.updated_at),
        "is_deleted": row.is_deleted,
        "actor_id": row.actor_id,
        "role": row.role,
    }


def memory_line(memory: Memory, history: list[MemoryHistory]) -> dict[str, Any]:
    """One memory as its backup line (a JSON object)."""
    return {
        "id": str(memory.id),
        "account": memory.account.email if memory.account is not None else None,
        "memory": memory.text,
        "hash": memory.hash,
        "metadata": memory.metadata,
        **{name: getattr(memory, name) for name in SCOPE_FIELDS},
        "actor_id": memory.actor_id,
        "role": memory.role,
        "expiration_date": memory.expiration_date.isoformat() if memory.expiration_date else None,
        "timestamp": _when(memory.occurred_at),
        # The time its text names, read when that text was written (not always when the memory was stored).
        "event_start": _when(memory.event_start),
        "event_end": _when(memory.event_end),
        "categories": list(memory.categories),
        "created_at": _when(memory.created_at),
        "updated_at": _when(memory.updated_at),
        "history": [_history_line(row) for row in history],
    }


def export_jsonl(*, memories: QuerySet[Memory], out: IO[str]) -> tuple[int, int]:
    """Write each memory as one JSON line, with its history; returns (memories, history rows) written.

    The memories and their history are read as they were when the export began (one snapshot): read each as it was
    when its chunk came, a memory updated or deleted meanwhile was written as it was beside the history of its change
    (the old text followed by an UPDATE to another, a deleted memory with its DELETE row, which an import stores)."""
    count = history_count = 0
    with rows_streamed(memories, chunk_size=EXPORT_CHUNK, snapshot=True) as rows:
        for chunk in _chunks(rows, EXPORT_CHUNK):
            history: dict[Any, list[MemoryHistory]] = {m.id: [] for m in chunk}
            owners = {m.id: m.account_id for m in chunk}
            for row in MemoryHistory.objects.filter(memory_id__in=list(history)).order_by("created_at", "id"):
                # Only the memory's own account's rows: an id can be another account's deleted memory's (an import
                # keeps ids that are free), whose history stays that account's alone.
                if row.account_id == owners[row.memory_id]:
                    history[row.memory_id].append(row)
            for memory in chunk:
                out.write(json.dumps(memory_line(memory, history[memory.id]), ensure_ascii=False) + "\n")
                count += 1
                history_count += len(history[memory.id])
    return count, history_count


def backup_file(*, account: User) -> tuple[IO[bytes], int, int]:
    """The account's memories as export_memories writes them, in a temporary file (rewound), and the memory and
    history counts; InvalidInput when it has more than EXPORT_MAX_MEMORIES (export_memories has no bound)."""
    # The account itself, not its email: another account may hold it in other case (made before emails were stored
    # in lower case), and its memories are not this one's.
    memories = memories_for_backup(accounts=[account])
    total = memories.count()
    if total > settings.EXPORT_MAX_MEMORIES:
        raise InvalidInput(
            f"This account has {total} memories; a backup from the dashboard takes at most "
            f"{settings.EXPORT_MAX_MEMORIES} (EXPORT_MAX_MEMORIES). Run manage.py export_memories --email "
            f"{account.email} --output backup.jsonl on the server instead."
        )
    file = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    text = io.TextIOWrapper(file, encoding="utf-8", newline="\n")
    count, history = export_jsonl(memories=memories, out=text)
    text.flush()
    text.detach()
    file.seek(0)
    return file, count, history


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- checking a line ----------------------------------------------------------------------------------


class _Text(serializers.CharField):
    """Text kept exactly as written (no trimming), and storable in PostgreSQL."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        # DRF's own check for surrogates, a Python loop over every character (over half of reading a file's lines),
        # never finds one: to_internal_value below has refused the text already.
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitSurrogateCharactersValidator)]

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError(f"Must be a string, not {type(data).__name__}.")
        value = super().to_internal_value(data)
        if problem := unstorable_text(value):
            raise serializers.ValidationError(f"Must not contain {problem}.")
        return value


def _optional(max_length: int | None = 255) -> _Text:
    return _Text(required=False, allow_null=True, allow_blank=True, max_length=max_length)


class HistoryLineSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    event = serializers.ChoiceField(choices=MemoryHistory.Event.values)
    old_memory = _optional(None)
    new_memory = _optional(None)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(required=False, allow_null=True)
    is_deleted = serializers.BooleanField(required=False, default=False)
    actor_id = _optional()
    role = _optional(32)


class MemoryLineSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    account = serializers.EmailField(required=False, allow_null=True)
    memory = _Text()
    hash = serializers.CharField(required=False, allow_null=True, help_text="Ignored: recomputed from the text.")
    metadata = serializers.JSONField(required=False, allow_null=True)
    user_id = _optional()
    agent_id = _optional()
    app_id = _optional()
    run_id = _optional()
    actor_id = _optional()
    role = _optional(32)
    expiration_date = serializers.DateField(required=False, allow_null=True)
    timestamp = serializers.DateTimeField(required=False, allow_null=True)
    event_start = serializers.DateTimeField(required=False, allow_null=True)
    event_end = serializers.DateTimeField(required=False, allow_null=True)
    categories = serializers.ListField(child=_Text(max_length=100), required=False, max_length=100)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    history = HistoryLineSerializer(many=True, required=False)

    def validate(self, attrs):
        # An id the API refuses ("*", which in filters means any value; whitespace; "." or ".."): stored, no search
        # or URL by that id could find it.
        ids = {name: attrs[name] for name in SCOPE_FIELDS if attrs.get(name)}
        if refused := {name: why for name, value in ids.items() if (why := scope_id_refusal(name, value))}:
            raise serializers.ValidationError(
                {
                    name: f"{why} Change it in the file (or clear it) to import this memory."
                    for name, why in refused.items()
                }
            )
        start, end = attrs.get("event_start"), attrs.get("event_end")
        if (start is None) != (end is None):
            raise serializers.ValidationError("Give both event_start and event_end, or neither.")
        if start is not None and not start < end:
            raise serializers.ValidationError("event_start must be before event_end.")
        return attrs

    def validate_metadata(self, value):
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object or null.")
        if problem := unstorable_json(value):
            raise serializers.ValidationError(f"Must not contain {problem}.")
        return value


def _flatten(errors: Any, prefix: str = "") -> list[str]:
    if isinstance(errors, dict):
        return [msg for key, value in errors.items() for msg in _flatten(value, f"{prefix}{key}.")]
    if isinstance(errors, list):
        if all(isinstance(item, str) for item in errors):
            return [f"{prefix[:-1]}: {item}" if prefix else str(item) for item in errors]
        return [msg for index, item in enumerate(errors) for msg in _flatten(item, f"{prefix}{index}.") if item]
    return [f"{prefix[:-1]}: {errors}"]


# --- import -------------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    lines: int = 0
    created: int = 0
    skipped: int = 0
    history_created: int = 0
    batches: int = 0
    skipped_ids: list[str] = field(default_factory=list)
    # Memories written (or, in a dry run, to be written) under a new id: theirs is another account's here.
    copied: int = 0


class Reiterable:
    """Lines made anew each time they are iterated, as import_jsonl reads them twice: `make` gives them (Mem0's
    memories as lines; a file's lines from its start: lines_reread)."""

    def __init__(self, make: Callable[[], Iterable[str]]) -> None:
        self.make = make

    def __iter__(self) -> Iterator[str]:
        return iter(self.make())


def lines_reread(file: IO[str]) -> Reiterable:
    """A seekable text file's lines, read from its start each time."""

    def rewound() -> IO[str]:
        file.seek(0)
        return file

    return Reiterable(rewound)


def line_label(number: int) -> str:
    return f"line {number}"


@dataclass
class _Problems:
    """What is wrong with a file: the first MAX_PROBLEMS sentences, and how many in all (a file of nothing but bad
    lines, a CSV given by mistake, holds no more than those)."""

    listed: list[str] = field(default_factory=list)
    total: int = 0

    def add(self, problem: str) -> None:
        self.total += 1
        if len(self.listed) < MAX_PROBLEMS:
            self.listed.append(problem)


def _checked(
    lines: Iterable[str],
    where: Callable[[int], str],
    problems: _Problems,
    *,
    within_limits: bool = False,
    seen: dict[int, int] | None = None,
) -> Iterator[tuple[int, dict]]:
    """(line number, validated data) of each good non-blank line, read one at a time; each bad line's problems go to
    `problems`, saying `where(line number)` it is. `within_limits`: a text or metadata larger than an add may write is
    one. `seen` (each id, as a number, with its line): an id repeated in the file is one."""
    # One serializer for every line: binding its fields (deep copies) for each line took most of the time.
    checker = MemoryLineSerializer()
    for number, raw in enumerate(lines, start=1):
        if number == 1:
            raw = raw.removeprefix("\ufeff")  # a byte order mark, as an editor may save UTF-8 (the Import page's too)
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            problems.add(f"{where(number)}: not JSON ({str(exc)[:120]}).")
            continue
        if not isinstance(value, dict):
            problems.add(f"{where(number)}: must be a JSON object (one memory), not {type(value).__name__}.")
            continue
        try:
            data = checker.run_validation(value)
        except serializers.ValidationError as exc:
            for message in _flatten(exc.detail):
                problems.add(f"{where(number)}: {message}")
            continue
        if within_limits and (too_large := _over_limits(data)):
            for message in too_large:
                problems.add(f"{where(number)}: {message}")
            continue
        if seen is not None and (first := seen.setdefault(data["id"].int, number)) != number:
            problems.add(f"{where(number)}: id {data['id']} is already on {where(first)}.")
            continue
        yield number, data


def _over_limits(data: dict) -> list[str]:
    """What of a line is larger than an add or an update may write here: its text (MAX_TEXT_CHARS), a history row's
    texts, its metadata (METADATA_MAX_BYTES)."""
    found = []
    texts = [("memory", data["memory"])]
    for index, row in enumerate(data.get("history") or []):
        texts += [(f"history.{index}.{name}", row.get(name)) for name in ("old_memory", "new_memory")]
    for name, text in texts:
        if text is not None and len(text) > MAX_TEXT_CHARS:
            found.append(f"{name}: {len(text)} characters, more than a memory holds ({MAX_TEXT_CHARS}).")
    try:
        metadata_size_check(data.get("metadata"))
    except InvalidInput as exc:
        found.append(f"metadata: {exc.detail}")
    return found


def _accounts(first_line: dict[str, int], problems: _Problems, where: Callable[[int], str]) -> dict[str, User]:
    """The account of each email in the file (with the first line naming it): the one holding it exactly, else the one
    holding it in other case (users_by_email); none, or several in other case, is a problem."""
    found = {}
    for email, number in first_line.items():
        holding = users_by_email(email=email)
        if len(holding) == 1:
            found[email] = holding[0]
        elif holding:
            problems.add(
                f"{where(number)}: {len(holding)} accounts have the email {email} here, in other case "
                f"({', '.join(user.email for user in holding)}); write the one meant exactly so in the file, or pass "
                "--account to import every memory into one account."
            )
        else:
            problems.add(
                f"{where(number)}: no account with email {email} here; create it first (manage.py createuser "
                "--email …), or pass --account to import every memory into one account."
            )
    return found


def import_jsonl(
    *,
    lines: Iterable[str],
    account: User | None = None,
    dry_run: bool = False,
    batch_size: int | None = None,
    progress: Callable[[ImportReport], None] | None = None,
    where: Callable[[int], str] = line_label,
    within_limits: bool = False,
) -> ImportReport:
    """Import backup lines: check them all (ImportRefused, nothing written), then write in batches.

    The lines are read twice, one at a time (a list, a file's lines_reread, a Reiterable): first to check every
    line, then to place and write them a batch at a time; between the two only each line's id is kept, so a large
    file costs its ids, not its memories. A line that no longer passes when read again (a file changed meanwhile)
    stops the import there (ImportInterrupted). `account`: every memory goes to it, whatever its line says. A memory
    its account holds already is skipped; one whose id another account holds is copied under a new id (_placed). A
    failure in a later batch (the embedder, say) raises ImportInterrupted after earlier batches were committed;
    importing the same file again carries on where it stopped, since what was written is skipped. `within_limits`: a
    memory whose text or metadata is larger than an add may write (an account's upload) is a problem of its line, as
    are history texts larger than a memory's.
    """
    if isinstance(lines, Iterator):
        raise TypeError("import_jsonl reads the lines twice: give a list or a Reiterable, not an iterator.")
    problems, seen, first_line = _Problems(), {}, {}
    for number, data in _checked(lines, where, problems, within_limits=within_limits, seen=seen):
        if account is None and data.get("account"):
            first_line.setdefault(data["account"], number)
    accounts = _accounts(first_line, problems, where)
    if problems.total:
        raise ImportRefused(problems.listed, problems.total)
    report = ImportReport(lines=len(seen))
    del seen
    changed = _Problems()

    def todo() -> Iterator[tuple[dict, User | None]]:
        """The lines read again, each with its owner, but for those skipped (counted in the report)."""
        for chunk in _chunks(_checked(lines, where, changed, within_limits=within_limits), PLACED_AT_ONCE):
            for number, data in chunk:
                if account is None and data.get("account") and data["account"] not in accounts:
                    changed.add(f"{where(number)}: the account {data['account']} is new")
            if changed.total:
                raise ImportInterrupted(
                    f"{stopped_after(report)}: the file changed while it was imported ({changed.listed[0]}). "
                    "Importing it again checks it all again and skips what was written."
                )
            owned = [(data, _owner(data, account, accounts)) for _, data in chunk]
            for (data, owner), target in zip(owned, _placed(owned), strict=True):
                if target is None:
                    report.skipped += 1
                    report.skipped_ids.append(str(data["id"]))
                    continue
                if dry_run:
                    report.history_created += len(data.get("history") or [])
                    report.copied += target != data["id"]
                yield data, owner

    if dry_run:
        for _ in todo():
            pass
        return report
    with configuration_checked_once():  # the embedder stored through POST /configure, not only the environment's
        embedder = get_embedder()
    for batch in _chunks(todo(), batch_size or settings.EXPORT_IMPORT_BATCH):
        try:
            vectors = embed_memories(embedder, [(data["memory"], data.get("timestamp")) for data, _ in batch])
            with transaction.atomic():
                # One import's batch at a time, each writing only the memories still missing: another import of the
                # same memories (replicas importing a seed file as they start) may have written some since the check
                # above.
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK_KEY])
                import_write_lock()
                # Share-locked until this batch commits: a deactivation waits for it, or this batch sees it and stops.
                if account is not None and account_deactivated(account.pk, hold=True):
                    raise ImportDeactivated(
                        f"{stopped_after(report)}: {account.email} was deactivated meanwhile, and nothing more is "
                        "imported into it."
                    )
                targets = _placed(batch)
                fresh = [index for index, target in enumerate(targets) if target is not None]
                if fresh:
                    fresh_batch = [(*batch[i], targets[i]) for i in fresh]
                    report.history_created += _write(fresh_batch, [vectors[i] for i in fresh])
        except ImportDeactivated:
            raise
        except Exception as exc:
            raise ImportInterrupted(
                f"{stopped_after(report)}: {str(exc).rstrip('.')}. "
                "Importing the same file again skips what was written and carries on."
            ) from exc
        report.created += len(fresh)
        report.copied += sum(targets[i] != batch[i][0]["id"] for i in fresh)
        report.skipped += len(batch) - len(fresh)
        report.skipped_ids += [
            str(data["id"]) for (data, _), target in zip(batch, targets, strict=True) if target is None
        ]
        report.batches += 1
        if progress is not None:
            progress(report)
    return report


def stopped_after(report: ImportReport) -> str:
    """How far an import that stopped got, to begin its message."""
    written = "was" if report.created == 1 else "were"
    batches = counted(report.batches, "batch", "batches")
    return f"Stopped after {counted(report.created, 'new memory', 'new memories')} ({batches}) {written} written"


def copies_said(report: ImportReport) -> str:
    """What the import commands add to their summary when memories were copied under a new id (or nothing)."""
    return f", {report.copied} of them under a new id (theirs is another account's here)" if report.copied else ""


def _owner(data: dict, account: User | None, accounts: dict[str, User]) -> User | None:
    """The account a line's memory goes to: the one imported into, else the one its line names (None: nobody's)."""
    return account if account is not None else accounts.get(data.get("account") or "")


def copy_id(owner: User, memory_id: uuid.UUID) -> uuid.UUID:
    """The id a memory (or history row) is copied under into `owner`'s when its own id is another's here: the same
    for every import of it into that account, so that a rerun finds the copy."""
    return uuid.uuid5(COPY_NAMESPACE, f"{owner.pk}:{memory_id}")


_FREE = object()


def _placed(lines: list[tuple[dict, User | None]]) -> list[uuid.UUID | None]:
    """The id each line's memory is written under: its own when free here; None (skipped) when its account holds
    it already, by that id or as a copy; else, into an account, its copy's (copy_id): Bob importing Alice's backup
    on her server gets copies of her memories, not nothing. A memory of nobody's (the admin's, who sees every
    account's) is skipped when its id exists here at all."""
    own = [data["id"] for data, _ in lines]
    copies = [copy_id(owner, data["id"]) if owner is not None else data["id"] for data, owner in lines]
    held: dict[Any, Any] = dict.fromkeys([*own, *copies], _FREE)
    held.update(Memory.objects.filter(id__in=list(held)).values_list("id", "account_id"))

    def holder(memory_id: uuid.UUID) -> Any:
        """The account id holding this id (None: nobody's), or _FREE."""
        if memory_id not in held:  # a copy's copy: its copy_id was another account's too (hardly ever)
            held[memory_id] = next(
                iter(Memory.objects.filter(id=memory_id).values_list("account_id", flat=True)), _FREE
            )
        return held[memory_id]

    placed: list[uuid.UUID | None] = []
    taken: set[uuid.UUID] = set()  # by an earlier line of these, not yet written
    for (data, owner), copy in zip(lines, copies, strict=True):
        target: uuid.UUID | None = data["id"]
        if owner is None:  # the admin's, who sees every account's memories: an id here at all is theirs already
            target = target if held[target] is _FREE and target not in taken else None
        elif owner.pk in (held[target], held[copy]):
            target = None  # its own, or imported before (a rerun)
        else:
            while target in taken or holder(target) is not _FREE:
                if target not in taken and holder(target) == owner.pk:
                    target = None  # a copy's copy, imported before
                    break
                target = copy_id(owner, target)
        if target is not None:
            taken.add(target)
        placed.append(target)
    return placed


def _write(batch: list[tuple[dict, User | None, uuid.UUID]], vectors: list[MemoryVectors]) -> int:
    """Write each (line, owner, id it goes under) of a batch, with its history; returns how many history rows."""
    memories = []
    history = []
    for (data, owner, target), vector in zip(batch, vectors, strict=True):
        memory = Memory(
            id=target,
            account=owner,
            text=data["memory"],
            hash=hashlib.md5(data["memory"].encode(), usedforsecurity=False).hexdigest(),
            metadata=data.get("metadata"),
            actor_id=data.get("actor_id"),
            role=data.get("role"),
            expiration_date=data.get("expiration_date"),
            occurred_at=data.get("timestamp"),
            categories=data.get("categories") or [],
            embedding=vector.whole,
            **{name: data.get(name) for name in SCOPE_FIELDS},
        )
        if "event_start" in data:
            memory.event_start, memory.event_end = data["event_start"], data.get("event_end")
        else:  # a backup from before lines carried them: the text read from when the memory was stored
            memory.date_event(data["created_at"])
        memories.append(memory)
        for row in data.get("history") or []:
            # A copy's history rows are copies too: the original's are another account's.
            row_id = row["id"] if target == data["id"] else copy_id(owner, row["id"])
            history.append(MemoryHistory(memory_id=memory.id, account=owner, **{**row, "id": row_id}))
    # Memory's created_at / updated_at are auto_now fields, which an insert overwrites: put the file's back.
    Memory.objects.bulk_create(memories)
    vectors_save({m.id: (m.hash, v) for m, v in zip(memories, vectors, strict=True)}, replace=False)
    for memory, (data, _, _) in zip(memories, batch, strict=True):
        memory.created_at, memory.updated_at = data["created_at"], data["updated_at"]
    Memory.objects.bulk_update(memories, ["created_at", "updated_at"])
    # A history id already present (an earlier, partial copy) is left as it is, and not counted: bulk_create answers
    # every row it was given, written or not. (Batches write one at a time, under IMPORT_LOCK_KEY.)
    # A row whose id another account's row holds here (a memory deleted by its account and imported into another's
    # under its own, now free, id) is written under a copy's id: skipped, the memory had no history in its account.
    holders = dict(MemoryHistory.objects.filter(id__in=[row.id for row in history]).values_list("id", "account_id"))
    for row in history:
        if row.id in holders and holders[row.id] != row.account_id:
            row.id = uuid.uuid5(COPY_NAMESPACE, f"{row.account_id}:{row.id}")
    present = set(MemoryHistory.objects.filter(id__in=[row.id for row in history]).values_list("id", flat=True))
    MemoryHistory.objects.bulk_create(history, ignore_conflicts=True)
    restored = _restored(memories)
    MemoryHistory.objects.bulk_create(restored)
    return len(history) - len(present) + len(restored)


def _restored(memories: list[Memory]) -> list[MemoryHistory]:
    """An ADD row, dated now, for each memory just written whose history here ends with its DELETE (deleted since the
    backup, or deleted when it was taken): its history reads that it came back, not that it is gone."""
    last = (
        MemoryHistory.objects.filter(memory_id__in=[m.id for m in memories])
        .order_by("memory_id", "account_id", "-created_at", "-id")
        .distinct("memory_id", "account_id")
        .values_list("memory_id", "account_id", "event")
    )
    deleted = {(memory_id, account_id) for memory_id, account_id, event in last if event == MemoryHistory.Event.DELETE}
    now = timezone.now()
    return [
        history_row(m, None, m.text, MemoryHistory.Event.ADD, now) for m in memories if (m.id, m.account_id) in deleted
    ]
