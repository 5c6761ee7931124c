"""Writes: add, update, delete, delete by scope, reset. Each write and its history rows commit together.

Embeddings are computed before a transaction opens, so no transaction waits on the model.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.db import OperationalError, connection, connections, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Length
from django.utils import timezone
from pgvector.django import CosineDistance
from psycopg.errors import LockNotAvailable, QueryCanceled

from mem0server.exceptions import Conflict, InvalidInput, NotFound
from mem0server.rows import transaction_waiting
from memories import search
from memories.configuration import configuration_checked_once
from memories.documents import documents_read
from memories.embeddings import get_embedder
from memories.filters import (
    WILDCARD,
    build_filter,
    required_scope,
    scope_id_refusal,
    scope_named,
)
from memories.models import (
    SCOPE_FIELDS,
    SCOPE_NAMES,
    DocumentText,
    ImageDescription,
    Memory,
    MemoryHistory,
    MemorySentence,
    MemoryTokens,
    Posting,
    SessionMessage,
)
from memories.selectors import EXACT_ALWAYS_ROWS, memories_visible, memory_get, unexpired
from memories.sentences import MIN_CHARS as MIN_SENTENCE_MEMORY_CHARS
from memories.sentences import MemoryVectors, embed_memories, vectors_save
from memories.signals import history_announce, history_record, memories_wiped, scope_deleted
from memories.temporal import named_window
from memories.timestamps import dated_text
from memories.vision import images_undescribed, messages_described

if TYPE_CHECKING:
    import numpy as np

# Keys that describe who a memory belongs to; callers cannot smuggle them in through metadata.
IDENTITY_KEYS = frozenset({*SCOPE_FIELDS, "actor_id", "role", "id", "hash", "memory", "created_at", "updated_at"})
# infer=true without an LLM: a message this close to a stored memory in its scope is a repeat.
NEAR_DUPLICATE_SIMILARITY = 0.95


@dataclass(frozen=True)
class Message:
    role: str
    content: str
    name: str | None = None
    # The URLs of the images it carries (memories/vision.py): described after its text, or left out.
    images: Sequence[str] = ()
    # The documents it carries ({"type": "pdf_url", "url": …, "name"?, "optional"?}, memories/documents.py): their
    # text follows it.
    documents: Sequence[dict] = ()


def text_hash(text: str) -> str:
    """A memory's `hash` (MD5 of its text, as Mem0 stores it; not a security measure)."""
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def clean_metadata(metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    """Metadata without identity keys (None stays None)."""
    if metadata is None:
        return None
    return {key: value for key, value in metadata.items() if key not in IDENTITY_KEYS}


def metadata_bytes(metadata: dict[str, Any]) -> int:
    """Bytes of `metadata` as compact JSON (UTF-8), as the limits count them."""
    return len(json.dumps(metadata, separators=(",", ":"), ensure_ascii=False).encode())


def metadata_size_check(metadata: dict[str, Any] | None, *, memory_id: uuid.UUID | str | None = None) -> None:
    """InvalidInput when `metadata`, as compact JSON, holds more bytes than a memory keeps (METADATA_MAX_BYTES).

    Every memory of an add carries the add's metadata, and every list and search answer returns it: 900 KB of it
    on an add of 100 messages stored 86 MB in 27 s, and one page of those memories was an 85 MB answer."""
    if metadata is None:
        return
    size = metadata_bytes(metadata)
    if size > settings.METADATA_MAX_BYTES:
        which = f"Memory {memory_id}: " if memory_id is not None else ""
        raise InvalidInput(
            f"{which}metadata holds {size} bytes as JSON, more than a memory keeps (METADATA_MAX_BYTES, "
            f"{settings.METADATA_MAX_BYTES}): each memory carries it, and every list and search answer returns it. "
            "Keep long content in the memory's text.",
            field="metadata",
        )


# The memories of one add hold at most this many copies' worth of METADATA_MAX_BYTES of its metadata in all: as many
# as when an add held at most 100 messages (6.4 MiB by default). 1,000 messages of 64 KiB metadata stored 71 MB.
METADATA_COPIES = 100


def metadata_copies_check(metadata: dict[str, Any], memories: int) -> None:
    """InvalidInput when `memories` copies of an add's metadata would hold more than METADATA_COPIES times
    METADATA_MAX_BYTES together."""
    size = metadata_bytes(metadata)
    bound = METADATA_COPIES * settings.METADATA_MAX_BYTES
    if size * memories > bound:
        raise InvalidInput(
            f"metadata holds {size} bytes as JSON and each of the add's {memories} memories would carry it: "
            f"{size * memories} bytes in all, more than one add stores ({METADATA_COPIES} × METADATA_MAX_BYTES, "
            f"{bound}). Send the messages in several adds, or less metadata.",
            field="metadata",
        )


def merged_metadata(memory: Memory, change: dict[str, Any]) -> dict[str, Any]:
    """A memory's metadata with `change` merged in (identity keys left out), checked as metadata_size_check does."""
    merged = {**(memory.metadata or {}), **clean_metadata(change)}
    metadata_size_check(merged, memory_id=memory.id)
    return merged


def _scope_lock_keys(account, scope: dict[str, str], kind: str) -> list[str]:
    """One advisory lock key per id of the scope, in one order (so two holders cannot deadlock): an add to
    {user_id} reads the user's memories that also carry an agent_id, so it must wait for an add to
    {user_id, agent_id} too. With one lock per whole scope, the two took different locks."""
    owner = f"{kind}|account={account.pk if account else ''}"
    return sorted(f"{owner}|{field}={scope[field]}" for field in SCOPE_FIELDS if scope.get(field))


def lock_scope(account, scope: dict[str, str]) -> None:
    """Serialise near-duplicate checks of adds whose scopes overlap, so two concurrent adds cannot both insert
    (until the transaction ends)."""
    with connection.cursor() as cursor:
        for key in _scope_lock_keys(account, scope, "add"):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def _write_lock_keys(account, scope: dict[str, str]) -> list[str]:
    """The keys a write of memories into `scope` holds shared: its account's and every account's, each whole and by
    each scope id, so that whichever of them a delete of the scope takes (scope_delete_lock) is among them."""
    owners = ["write|account=*", f"write|account={account.pk if account else ''}"]
    ids = [f"{field}={scope[field]}" for field in SCOPE_FIELDS if scope.get(field)]
    return sorted(owners + [f"{owner}|{scope_id}" for owner in owners for scope_id in ids])


def scope_write_lock(account, scope: dict[str, str]) -> None:
    """Hold off a delete of the scope (scope_delete_lock) until this transaction ends. Shared: writes of one scope do
    not wait for each other. Taken before any row lock of the transaction, so that it cannot close a cycle with a
    delete holding the scope's key and waiting for those rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock_shared(hashtextextended(key, 0))) FROM unnest(%s::text[]) AS key",
            [_write_lock_keys(account, scope)],
        )


def scope_delete_lock(principal, scopes: Sequence[dict[str, str]]) -> None:
    """Wait for the writes of memories into these scopes that are under way (scope_write_lock), and hold off new ones,
    until this transaction ends: a delete then reads every memory that committed before it did, and an add that
    committed between its read and its commit no longer survives it. Per scope one key, that of one of its ids (every
    memory of the scope has it), for the caller's account (an admin's: every account's); the whole account when no
    id is given (Mem0's "*"). Writes to other scopes do not wait. Taken before the delete locks any row, in one order
    (so two deletes cannot deadlock)."""
    owner = "write|account=*" if principal.is_admin else f"write|account={principal.account.pk}"
    keys = set()
    for scope in scopes:
        ids = [f"{field}={scope[field]}" for field in SCOPE_FIELDS if scope.get(field)]
        keys.add(f"{owner}|{ids[0]}" if ids else owner)
    with connection.cursor() as cursor:
        # Shared: deletes do not wait for each other there.
        cursor.execute("SELECT pg_advisory_xact_lock_shared(hashtextextended(%s, 0))", [IMPORT_WRITE_KEY])
        for key in sorted(keys):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


# An import's batch writes memories of many scopes at once (a key of each would be thousands of locks): it waits for
# every delete of a scope under way, and they for it, on this one key.
IMPORT_WRITE_KEY = "write|import"


def import_write_lock() -> None:
    """Wait for the deletes of scopes under way (scope_delete_lock) and hold off new ones until this transaction ends:
    what an import's batch writes is then deleted by a delete that commits after it, as an add's is."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [IMPORT_WRITE_KEY])


class Busy(Conflict):
    """A 409 the caller can send again after Retry-After seconds."""

    def __init__(self, detail: str, *, retry_after: int):
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


class ScopeBusy(Busy):
    """Another add to the scope was still deciding after the wait (by Retry-After, the other add's LLM call has
    answered or timed out)."""


@contextmanager
def scope_decision_lock(
    account, scope: dict[str, str], *, wait: float, llm_timeout: float | None = None
) -> Iterator[None]:
    """One inferring add of a scope (or an overlapping one) decides at a time: it reads the scope, asks the LLM
    what to change and writes that while the next one waits, which then decides against what this one wrote.
    Side by side, "I live in Berlin" and "I live in Munich" each found nothing stored and both were added.

    The block is one transaction (a savepoint inside a caller's), holding transaction-level advisory locks across
    the LLM calls: a pooler in transaction mode (PgBouncer) keeps it on one server connection, where a session-level
    lock belonged to a server connection the pooler shares between clients. A lock on a connection of its own
    would have needed a second server connection for the add's reads and writes: with every one held by deciding
    adds, they waited for each other. Between its statements the transaction holds no snapshot and, until it
    writes, no transaction id, so vacuum goes on; the tables it read stay locked in share mode, which only a
    migration altering them waits for. It waits on the LLM: mem0server.rows.transaction_waiting. Each lock is waited
    for at most `wait` seconds, then ScopeBusy; `llm_timeout` (default `wait`) is how long the holder's LLM call may
    still take, said in its Retry-After."""
    keys = _scope_lock_keys(account, scope, "decide")
    with transaction_waiting():
        with _busy_after(wait, wait if llm_timeout is None else llm_timeout), connection.cursor() as cursor:
            limit = f"{max(1, int(wait * 1000))}ms"
            cursor.execute(
                "SELECT current_setting('lock_timeout'), current_setting('statement_timeout'), "
                "set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)",
                [limit, limit],
            )
            lock_timeout, statement_timeout = cursor.fetchone()[:2]
            for key in keys:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])
            # The decision's own statements get their usual limits again.
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)",
                [lock_timeout, statement_timeout],
            )
        yield


@contextmanager
def _busy_after(wait: float, llm_timeout: float) -> Iterator[None]:
    """A lock not had within `wait` seconds (lock_timeout or statement_timeout) is ScopeBusy, a 409."""
    try:
        yield
    except OperationalError as exc:
        if not isinstance(exc.__cause__, LockNotAvailable | QueryCanceled):
            raise
        # The holder has decided for `wait` seconds at least: its LLM call answers, or times out, within the rest.
        retry_after = max(1, math.ceil(llm_timeout - wait))
        raise ScopeBusy(
            f"Another add to this scope was still being decided after this one waited {wait:.3g} s for its turn; "
            f"nothing was stored. Send it again in {retry_after} s (Retry-After), or queue it (the Platform API's "
            "async_mode): queued adds of a scope wait for their turn.",
            retry_after=retry_after,
        ) from None


def unexpired_in_scope(account, scope: dict[str, str]) -> QuerySet[Memory]:
    """The account's memories in `scope` (and narrower scopes) that have not expired (selectors.unexpired): the same
    text as an expired one is new."""
    return Memory.objects.filter(unexpired(), account=account, **scope)


def stored_verbatim(account, scope: dict[str, str], texts: Sequence[str], occurred_at) -> dict[str, Memory]:
    """The unexpired memories of the account's scope whose text is one of `texts` exactly, by text (their id and
    text), found by the text's hash (indexed): those that happened at `occurred_at`, as a text dated otherwise is
    embedded otherwise (memories/timestamps.py)."""
    rows = unexpired_in_scope(account, scope).filter(hash__in={text_hash(t) for t in texts}, occurred_at=occurred_at)
    wanted = set(texts)
    return {memory.text: memory for memory in rows.only("id", "text") if memory.text in wanted}


def nearest_in_scope(
    account,
    scope: dict[str, str],
    vectors: Sequence[list[float]],
    *,
    limit: int,
    within: float | None = None,
    exclude: Collection[uuid.UUID] = (),
) -> list[list[Memory]]:
    """For each vector, the `limit` closest unexpired memories of the account's scope (at most `within` away in
    cosine distance when given), closest first, leaving out those of `exclude`: their id and text (the rest
    deferred), and `distance`.

    A scope of at most EXACT_ALWAYS_ROWS memories (counted, to that many, from its index) is compared memory by
    memory, as search compares one; a larger one goes through the HNSW index, whose filtered scan goes on until
    enough of the scope's rows pass. Through the index alone, which the planner takes when its statistics call the
    scope large, a small scope's nearest memory was missed beside 500 other users' memories closer to the vector
    (HNSW links copies of one text poorly): the LLM then saw nothing to update, and a duplicate was stored again.
    An expired memory is gone for the caller (hidden from list and search): the same text again is new.
    """
    if not vectors:
        return []
    visible = unexpired_in_scope(account, scope)
    if exclude:
        visible = visible.exclude(id__in=list(exclude))
    found = []
    with transaction.atomic(), connection.cursor() as cursor:
        # The scope's own index for the count and, when small, for its rows: with statistics that call the scope
        # large the planner would read the whole table instead. SET LOCAL lasts to the end of the transaction.
        cursor.execute(search.settings_sql(exact=True))
        exact = visible[: EXACT_ALWAYS_ROWS + 1].count() <= EXACT_ALWAYS_ROWS
        if not exact:
            cursor.execute(search.settings_sql(exact=False))
        for vector in vectors:
            distance = CosineDistance("embedding", vector)
            if exact:  # the same distance, not the bare expression the HNSW index serves (as search.py's)
                distance = distance + Value(0.0)
            rows = visible.annotate(distance=distance)
            if within is not None:
                rows = rows.filter(distance__lte=within)
            found.append(list(rows.order_by("distance").only("id", "text")[:limit]))
    return found


def near_duplicates(
    account, scope: dict[str, str], vectors: Sequence[list[float]], *, exclude: Collection[uuid.UUID] = ()
) -> list[Memory | None]:
    """For each vector, the closest unexpired memory of the account's scope at NEAR_DUPLICATE_SIMILARITY or more (not
    one of `exclude`)."""
    found = nearest_in_scope(account, scope, vectors, limit=1, within=1 - NEAR_DUPLICATE_SIMILARITY, exclude=exclude)
    return [nearest[0] if nearest else None for nearest in found]


def history_row(memory: Memory, old: str | None, new: str | None, event: str, at) -> MemoryHistory:
    """The history row of one change to `memory` at `at` (ADD: old None; DELETE: new None, is_deleted)."""
    return MemoryHistory(
        memory_id=memory.id,
        account_id=memory.account_id,
        old_memory=old,
        new_memory=new,
        event=event,
        created_at=at,
        updated_at=at,
        is_deleted=event == MemoryHistory.Event.DELETE,
        actor_id=memory.actor_id,
        role=memory.role,
    )


def memories_add_check(
    *,
    account,
    messages: list[Message],
    scope: dict[str, str],
    metadata: dict[str, Any] | None = None,
    deduced: list[str] | None = None,
) -> list[Message]:
    """InvalidInput unless an add has a message to store and a scope id, metadata its memories keep, and at most
    MAX_IMAGES_PER_ADD images for the model to describe (those described for the account before are not described
    again); returns the messages to store (system messages are not stored). Run by memories_add, and before an add is
    queued (events). `deduced`: the facts stored instead of the messages, when given."""
    metadata = clean_metadata(metadata)
    metadata_size_check(metadata)
    messages = [m for m in messages if m.role != "system" and (m.content or m.images or m.documents)]
    if not messages:
        raise InvalidInput(
            "messages has no user or assistant message with text to store (system messages, and messages without "
            "text such as an assistant's tool calls, or an image while enable_vision is off, are not stored)."
        )
    if metadata:  # each message (or deduced fact) may become a memory
        metadata_copies_check(metadata, len(deduced or messages))
    if not any(scope.get(field) for field in SCOPE_FIELDS):
        raise InvalidInput(f"One of {SCOPE_NAMES} is required.")
    new = 0 if deduced else images_undescribed([url for m in messages for url in m.images], account)
    if new > settings.MAX_IMAGES_PER_ADD:
        raise InvalidInput(
            f"The messages hold {new} images not described before; at most {settings.MAX_IMAGES_PER_ADD} per "
            "request are described (MAX_IMAGES_PER_ADD, one LLM call each): send them in several requests."
        )
    for field in SCOPE_FIELDS:
        if scope.get(field) and (why := scope_id_refusal(field, scope[field])):
            raise InvalidInput(f"{field}: {why}", field=field)
    return messages


def memories_add(
    *,
    principal,
    messages: list[Message],
    scope: dict[str, str],
    metadata: dict[str, Any] | None = None,
    infer: bool = True,
    expiration_date: date | None = None,
    prompt: str | None = None,
    memory_type: str | None = None,
    timestamp: datetime | None = None,
    before_commit: Callable[[list[dict[str, Any]]], None] | None = None,
    categories: dict[str, str] | None = None,
    said_at: datetime | None = None,
    includes: str | None = None,
    excludes: str | None = None,
    deduced: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Add memories from messages and return Mem0's result items.

    With an LLM configured, infer=true extracts facts and reconciles them with the scope's memories
    (memories/inference.py), and memory_type="procedural_memory" stores one LLM summary. Otherwise each
    non-system message becomes a memory (role kept); infer=true then skips near-duplicates (event NONE).
    `timestamp` is when the conversation happened: stored as occurred_at, and the date the LLM resolves
    relative dates ("yesterday") against. `before_commit` is called with the result items inside the write
    transaction, so what it writes commits with the memories or not at all (events/tasks.py). `categories` (a
    catalog, memories/categories.py) tags what inference writes. `said_at` is when the messages were sent (a
    queued add's request; default now): without a `timestamp`, the times a text names ("yesterday") are read
    from it, not from when a worker gets to the add. `includes` and `excludes` narrow what inference extracts.
    `deduced`: facts the caller already drew from the messages, stored instead of them (one memory each); with
    inference they are reconciled with the scope's memories, not extracted again.
    """
    from memories import inference  # it builds on the helpers below

    account = principal.account
    messages = memories_add_check(account=account, messages=messages, scope=scope, metadata=metadata, deduced=deduced)
    # Deduced facts replace the messages: no image or document is worth reading.
    if not deduced and any(m.images or m.documents for m in messages):
        # What is stored and extracted from is text: the images' descriptions (or nothing, vision off meanwhile), and
        # the documents' text in passages.
        images = sum(len(message.images) for message in messages)
        user_id = scope.get("user_id")  # noted on what is read, forgotten with the user (memories/kept_texts.py)
        read = documents_read(messages_described(messages, account, user_id), account, images=images, user_id=user_id)
        messages = memories_add_check(account=account, messages=read, scope=scope, metadata=metadata, deduced=deduced)
    llm_kwargs = {
        "account": account,
        "messages": messages,
        "scope": scope,
        "metadata": metadata,
        "expiration_date": expiration_date,
        "prompt": prompt,
        "occurred_at": timestamp,
        "before_commit": before_commit,
        "said_at": said_at,
    }
    if memory_type == inference.PROCEDURAL:
        return inference.memory_add_procedural(**llm_kwargs)
    if infer and inference.llm_available():
        return inference.memories_add_inferred(
            **llm_kwargs, categories=categories, includes=includes, excludes=excludes, facts=deduced
        )
    if deduced:
        messages = [Message(role="user", content=fact) for fact in deduced]
    texts = [m.content for m in messages]
    # With infer, a text stored as it is in the scope is that memory (NONE), found without embedding it again: a
    # client that sends the whole conversation so far with each turn (Pipecat) sends every earlier message again.
    # Checked again under the scope's lock, where a memory deleted meanwhile leaves its text to be embedded there.
    verbatim = stored_verbatim(account, scope, texts, timestamp) if infer else {}
    embedded = _embedded([t for t in texts if t not in verbatim], timestamp)
    metadata = clean_metadata(metadata)
    results: list[dict[str, Any]] = []
    with transaction.atomic():
        scope_write_lock(account, scope)
        if infer:
            lock_scope(account, scope)
            if verbatim:
                verbatim = stored_verbatim(account, scope, list(verbatim), timestamp)
                embedded |= _embedded([t for t in texts if t not in verbatim and t not in embedded], timestamp)
        now = timezone.now()  # after the scope's lock: later than what committed while this add waited
        stored: list[tuple[Memory, MemoryVectors]] = []
        batch = BatchDuplicates()
        in_scope: dict[str, Memory | None] = {}
        if infer:
            nearest = near_duplicates(account, scope, [vectors.whole for vectors in embedded.values()])
            in_scope = dict(zip(embedded, nearest, strict=True))
        for message in messages:
            if message.content in verbatim:
                memory = verbatim[message.content]
                results.append({"id": str(memory.id), "memory": memory.text, "event": "NONE"})
                continue
            vectors = embedded[message.content]
            vector = vectors.whole
            if infer:
                duplicate = in_scope[message.content] or batch.find(vector)
                if duplicate is not None:
                    results.append({"id": str(duplicate.id), "memory": duplicate.text, "event": "NONE"})
                    continue
            memory = Memory(
                id=uuid.uuid4(),
                account=account,
                text=message.content,
                hash=text_hash(message.content),
                actor_id=message.name,
                role=message.role,
                metadata=metadata,
                embedding=vector,
                expiration_date=expiration_date,
                occurred_at=timestamp,
                **scope,
            )
            memory.date_event(said_at or now)
            stored.append((memory, vectors))
            batch.keep(vector, memory)
            results.append(
                {
                    "id": str(memory.id),
                    "memory": memory.text,
                    "event": "ADD",
                    "actor_id": memory.actor_id,
                    "role": memory.role,
                }
            )
        memories = [memory for memory, _ in stored]
        Memory.objects.bulk_create(memories)
        vectors_save({memory.id: (memory.hash, vectors) for memory, vectors in stored}, replace=False)
        history_record(history_row(m, None, m.text, MemoryHistory.Event.ADD, now) for m in memories)
        if before_commit is not None:
            before_commit(results)
    return results


def _embedded(texts: list[str], occurred_at) -> dict[str, MemoryVectors]:
    """Each distinct text's vectors: a memory that happened at a known time is embedded with its day
    (memories/timestamps.py: dated_text), and a long one sentence by sentence too (memories/sentences.py)."""
    distinct = list(dict.fromkeys(texts))
    return dict(zip(distinct, embed_memories(get_embedder(), [(t, occurred_at) for t in distinct]), strict=True))


class BatchDuplicates:
    """The memories one add has kept so far, to find a new one that nearly repeats one of them.

    Their vectors sit in one numpy matrix, so each check is one matrix-vector product (vectors are unit
    length: the dot product is the cosine similarity). Dot products in Python made a 2,000-message add
    take 81 s.
    """

    def __init__(self) -> None:
        self._matrix: np.ndarray | None = None
        self._memories: list[Memory] = []

    def find(self, vector: list[float]) -> Memory | None:
        """The first kept memory at NEAR_DUPLICATE_SIMILARITY or more, if any."""
        import numpy as np

        if not self._memories:
            return None
        # einsum, not "@": BLAS spreads each small product over threads, 10x slower on a busy machine.
        similarity = np.einsum("ij,j->i", self._matrix[: len(self._memories)], np.asarray(vector, dtype=np.float32))
        hits = np.flatnonzero(similarity >= NEAR_DUPLICATE_SIMILARITY)
        return self._memories[hits[0]] if hits.size else None

    def keep(self, vector: list[float], memory: Memory) -> None:
        import numpy as np

        row = np.asarray(vector, dtype=np.float32)
        if self._matrix is None:
            self._matrix = np.empty((16, row.size), dtype=np.float32)
        elif len(self._memories) == len(self._matrix):  # full: double it
            self._matrix = np.concatenate([self._matrix, np.empty_like(self._matrix)])
        self._matrix[len(self._memories)] = row
        self._memories.append(memory)

    @property
    def memories(self) -> list[Memory]:
        return list(self._memories)


_UNSET: Any = object()


class NothingChanged(Exception):
    """memory_update(only_if_changed=True) found the update would leave the memory as it is, and wrote nothing."""


# How many times an update embeds what it writes before doing so under the memory's lock: each try after the first
# is for another write that changed the memory's text or day (its timestamp) while this one was embedding.
UPDATE_EMBED_TRIES = 3


def memory_update(
    *,
    principal,
    memory_id: uuid.UUID,
    text: str | None = None,
    metadata: dict[str, Any] | None = None,
    expiration_date: date | None = _UNSET,
    occurred_at: datetime | None = _UNSET,
    text_was: str | None = None,
    only_if_changed: bool = False,
) -> Memory:
    """Change text, merge metadata, set or clear the expiration or when it happened (`occurred_at`, the
    timestamp); new text or a new time is embedded again (a memory is embedded with its day); history UPDATE.
    `text_was`: the hash of the text the caller read (the dashboard's edit form, which sends the text with every
    change): that text sent back is no change of it, and another over a text changed since is a Conflict.
    `only_if_changed` (the dashboard's Save): an update leaving the memory as it is, decided under its lock (a Save
    sent twice at once), writes no history UPDATE and raises NothingChanged; the API's writes one every time."""
    if text is not None and text_was is not None and text_hash(text) == text_was:
        text = None  # as the caller read it: not to be written back over what another write made of it since
        if metadata is None and expiration_date is _UNSET and occurred_at is _UNSET:
            memory = memory_get(principal=principal, memory_id=memory_id)  # nothing to change
            if only_if_changed:
                raise NothingChanged
            return memory
    if text is None and metadata is None and expiration_date is _UNSET and occurred_at is _UNSET:
        raise InvalidInput("Give at least one of text, metadata, expiration_date or timestamp to update.")
    tries = 1
    while True:
        current = memory_get(principal=principal, memory_id=memory_id)  # NotFound before spending time embedding
        embedded = _update_embeds(current, text, occurred_at)
        [vectors] = embed_memories(get_embedder(), [embedded]) if embedded else [None]
        with transaction.atomic():
            memory = memories_visible(principal=principal).select_for_update().filter(id=memory_id).first()
            if memory is None:  # deleted while we were embedding
                raise NotFound(f"Memory {memory_id} not found.")
            if only_if_changed and _changes_nothing(memory, text, metadata, expiration_date, occurred_at):
                raise NothingChanged  # before the Conflict: the text sent is the memory's now (a Save sent twice)
            if text is not None and text_was is not None and memory.hash != text_was:
                raise Conflict(
                    f"Memory {memory_id} was changed since it was read (its text is now: {memory.text[:200]}); "
                    "nothing was saved. Read it again, then change it."
                )
            wanted = _update_embeds(memory, text, occurred_at)
            if wanted and (not embedded or dated_text(*wanted) != dated_text(*embedded)):
                # Another write changed the text or the day meanwhile: what was embedded would date the memory's
                # vectors by a day it no longer has (or be of a text it no longer has). Read and embed again.
                if tries < UPDATE_EMBED_TRIES:
                    tries += 1
                    continue
                [vectors] = embed_memories(get_embedder(), [wanted])
            _memory_update_write(
                memory,
                text=text,
                vectors=vectors if wanted else None,
                metadata=metadata,
                expiration_date=expiration_date,
                occurred_at=occurred_at,
            )
            return memory


def _changes_nothing(memory: Memory, text: str | None, metadata, expiration_date, occurred_at) -> bool:
    """Whether memory_update would leave `memory` as it is: its own text (or none), metadata it holds already (or
    none), no new dates."""
    return (
        text in (None, memory.text)
        and (metadata is None or merged_metadata(memory, metadata) == (memory.metadata or {}))
        and expiration_date is _UNSET
        and occurred_at is _UNSET
    )


def _update_embeds(memory: Memory, text: str | None, occurred_at) -> tuple[str, datetime | None] | None:
    """What the embedder must see for this update of `memory` (text, when), or None when its vectors stay: a new
    text is embedded again, a time alone when the day changes (the embedder sees the text dated by it)."""
    when = memory.occurred_at if occurred_at is _UNSET else occurred_at
    if text is None and dated_text(memory.text, when) == dated_text(memory.text, memory.occurred_at):
        return None
    return (memory.text if text is None else text, when)


def _memory_update_write(
    memory: Memory, *, text, vectors: MemoryVectors | None, metadata, expiration_date, occurred_at
) -> None:
    """memory_update's write of the locked `memory`, with its history row."""
    old_text, old_when = memory.text, memory.occurred_at
    if text is not None:
        memory.text, memory.hash = text, text_hash(text)
    if vectors is not None:
        memory.embedding = vectors.whole
        vectors_save({memory.id: (memory.hash, vectors)}, replace=True)
    if metadata is not None:
        memory.metadata = merged_metadata(memory, metadata)
    if expiration_date is not _UNSET:
        memory.expiration_date = expiration_date
    if occurred_at is not _UNSET:
        memory.occurred_at = occurred_at
    # A new text is read from now (when it is written), a new time alone from when the text was stored. A text
    # sent back as it was (the dashboard's edit form sends it with every change of metadata) keeps its time:
    # "Yesterday I met Maya", stored last week, is not of the day before the edit.
    if memory.text != old_text:
        memory.date_event(timezone.now())
    elif memory.occurred_at != old_when:
        memory.date_event(memory.created_at)
    memory.save()
    history_record([history_row(memory, old_text, memory.text, MemoryHistory.Event.UPDATE, memory.updated_at)])


# How many memories a delete removes per statement: what it holds of them in Python at once (ids, never texts).
DELETE_BATCH = 1_000

# The memories deleted and their DELETE history rows written from them by PostgreSQL, so no text comes to Python
# (a scope of memories of MAX_TEXT_CHARS took gigabytes there); the fields are history_row's.
_DELETE_SQL = """
WITH gone AS (
    DELETE FROM memories_memory WHERE id = ANY(%(ids)s::uuid[])
    RETURNING id, account_id, text, actor_id, role
)
INSERT INTO memories_memoryhistory
    (id, memory_id, account_id, old_memory, new_memory, event, created_at, updated_at, is_deleted, actor_id, role)
SELECT gen_random_uuid(), id, account_id, text, NULL, %(event)s, %(at)s, %(at)s, true, actor_id, role FROM gone
RETURNING id, memory_id, account_id, actor_id, role
"""


def delete_with_history(memory_ids: Sequence[uuid.UUID | str]) -> int:
    """Delete these memories (locked by the caller), with a DELETE history row each (dated now, after the locks) and
    its change signal, in the order given, DELETE_BATCH at a time; returns how many."""
    at = timezone.now()
    memory_ids = [memory_id if isinstance(memory_id, uuid.UUID) else uuid.UUID(memory_id) for memory_id in memory_ids]
    deleted = 0
    for first in range(0, len(memory_ids), DELETE_BATCH):
        ids = memory_ids[first : first + DELETE_BATCH]
        with connection.cursor() as cursor:
            cursor.execute(_DELETE_SQL, {"ids": list(ids), "event": MemoryHistory.Event.DELETE, "at": at})
            returned = cursor.fetchall()
        place = {memory_id: n for n, memory_id in enumerate(ids)}
        returned.sort(key=lambda row: place[row[1]])
        history_announce(
            MemoryHistory(
                id=row_id,
                memory_id=memory_id,
                account_id=account_id,
                event=MemoryHistory.Event.DELETE,
                created_at=at,
                updated_at=at,
                is_deleted=True,
                actor_id=actor_id,
                role=role,
            )
            for row_id, memory_id, account_id, actor_id, role in returned
        )
        deleted += len(returned)
    return deleted


def memories_lock(memories: QuerySet[Memory]) -> int:
    """Lock every memory of `memories` until the transaction ends, in id order as every multi-row writer; returns
    how many. One row comes back, not one per memory."""
    sql, params = memories.select_for_update().order_by("id").values_list("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql}) AS locked", params)  # noqa: S608  (Django's own SQL)
        return cursor.fetchone()[0]


def delete_all_with_history(memories: QuerySet[Memory]) -> int:
    """Lock and delete every memory of `memories` as delete_with_history does, read from a server-side cursor
    DELETE_BATCH ids at a time: what the worker holds does not grow with the scope. Locked in id order, as every
    multi-row writer, each when fetched; each batch's DELETE rows are dated once it is locked, after any change that
    committed while the delete waited for its rows (dated before, an update it waited for read as made after it)."""
    sql, params = memories.select_for_update().order_by("id").values_list("id").query.sql_with_params()
    name = f"deleting_{uuid.uuid4().hex}"
    deleted = 0
    with connection.cursor() as cursor:
        cursor.execute(f"DECLARE {name} NO SCROLL CURSOR FOR {sql}", params)
        while True:
            cursor.execute(f"FETCH {DELETE_BATCH} FROM {name}")  # noqa: S608  (a number and our own name)
            if not (ids := [row[0] for row in cursor.fetchall()]):
                break
            deleted += delete_with_history(ids)
        cursor.execute(f"CLOSE {name}")
    return deleted


def memory_delete(*, principal, memory_id: uuid.UUID) -> None:
    """Delete one memory; its history gains a DELETE row and stays readable."""
    with transaction.atomic():
        found = memories_visible(principal=principal).select_for_update().filter(id=memory_id)
        if found.values_list("id", flat=True).first() is None:
            raise NotFound(f"Memory {memory_id} not found.")
        delete_with_history([memory_id])


def memories_delete_ids(*, principal, memory_ids: list[uuid.UUID]) -> int:
    """Delete the given memories that the caller sees, with DELETE history rows; returns how many."""
    with transaction.atomic():
        # every multi-row writer locks in id order: two of them cannot deadlock
        memories = memories_visible(principal=principal).select_for_update().filter(id__in=memory_ids).order_by("id")
        return delete_with_history(list(memories.values_list("id", flat=True)))


class ScopeDeleted(NamedTuple):
    memories: int
    adds_dropped: int  # adds queued into the scope before the delete, dropped with it (scope_deleted's listener)


def memories_delete_scope(
    *, principal, scope: dict[str, str], filters: dict[str, Any] | None = None, any_of: Sequence[str] = ()
) -> ScopeDeleted:
    """Delete every memory the caller sees that matches all the given scope ids (and `filters`, Mem0's filter
    language, when given); returns how many, and how many queued adds went with them. A scope id is required, in
    `scope` or required by `filters`, unless `any_of` names scope fields (Mem0's "*"): then only memories having one
    of them set (all four: every one)."""
    scope = {**required_scope(filters), **scope}
    if not (any_of or any(scope.get(field) for field in SCOPE_FIELDS)):
        raise InvalidInput(f"One of {SCOPE_NAMES} is required.")
    # Every memory has a scope id, so any_of naming all four deletes all of the caller's memories.
    having = build_filter({"OR": [{field: WILDCARD} for field in any_of]}) if any_of else Q()
    with transaction.atomic():
        scope_delete_lock(principal, [scope])
        memories = memories_visible(principal=principal).select_for_update().filter(having, **scope)
        if filters:
            memories = memories.filter(build_filter(filters))
        deleted = delete_all_with_history(memories)
        # The scope's conversation context goes with it, and the adds queued to it before (scope_deleted's listener);
        # not when other filters delete only part of the scope. Filters naming only scope ids (in Mem0's v2 forms too:
        # {"AND": [{"user_id": "alice"}]}) narrow the messages as they narrow the memories: `user_id=alice` with
        # filters naming bob deletes neither alice's nor bob's.
        named = scope_named(filters) if filters else {}
        if named is None:
            return ScopeDeleted(deleted, 0)
        session = SessionMessage.objects.filter(having, **scope).filter(**named)
        if not principal.is_admin:
            session = session.filter(account=principal.account)
        session.delete()
        dropped = scope_deleted.send(sender=Memory, principal=principal, scope=scope, filters=named, any_of=any_of)
        return ScopeDeleted(deleted, sum(count for _, count in dropped))


def memories_reembed(*, dated_only: bool = True, batch_size: int = 256, progress=None) -> int:
    """Embed stored memories again (those with occurred_at, or all), batch by batch in id order, each batch in
    its own transaction; a memory changed meanwhile keeps the vector its change gave it. Returns the count."""
    with configuration_checked_once():  # the embedder stored through POST /configure, not only the environment's
        return _reembed(dated_only=dated_only, batch_size=batch_size, progress=progress)


def _reembed(*, dated_only: bool, batch_size: int, progress) -> int:
    memories = Memory.objects.order_by("id").only("id", "text", "occurred_at", "updated_at")
    if dated_only:
        memories = memories.filter(occurred_at__isnull=False)
    done, after = 0, None
    while True:
        page = memories.filter(id__gt=after) if after is not None else memories
        batch = list(page[:batch_size])
        if not batch:
            return done
        embedded = embed_memories(get_embedder(), [(m.text, m.occurred_at) for m in batch])
        with transaction.atomic():
            renewed = {}
            for memory, vectors in zip(batch, embedded, strict=True):
                if Memory.objects.filter(id=memory.id, text=memory.text, updated_at=memory.updated_at).update(
                    embedding=vectors.whole
                ):
                    renewed[memory.id] = (text_hash(memory.text), vectors)
            vectors_save(renewed, replace=True)
        done += len(batch)
        after = batch[-1].id
        if progress is not None:
            progress(done)


def memories_sentences_fill(*, batch_size: int = 256, progress=None) -> int:
    """Give long memories without sentence vectors (stored before this version had them) their sentences, batch by
    batch in id order, each batch in its own transaction; whole vectors stay as they are. A memory changed
    meanwhile keeps what its change gave it. Returns how many memories got sentences."""
    with configuration_checked_once():  # the embedder stored through POST /configure, not only the environment's
        return _sentences_fill(batch_size=batch_size, progress=progress)


def _sentences_fill(*, batch_size: int, progress) -> int:
    has_sentences = MemorySentence.objects.filter(memory_id=OuterRef("id"), hash=OuterRef("hash"))
    long_ones = Memory.objects.annotate(chars=Length("text")).filter(chars__gte=MIN_SENTENCE_MEMORY_CHARS)
    missing = long_ones.exclude(Exists(has_sentences)).order_by("id").only("id", "text", "hash", "occurred_at")
    done, after = 0, None
    while True:
        batch = list((missing.filter(id__gt=after) if after is not None else missing)[:batch_size])
        if not batch:
            return done
        embedded = embed_memories(get_embedder(), [(m.text, m.occurred_at) for m in batch], whole=False)
        pending = [(m, vectors) for m, vectors in zip(batch, embedded, strict=True) if vectors.sentences]
        with transaction.atomic():
            rows = Memory.objects.select_for_update().filter(id__in=[m.id for m, _ in pending])
            # Locked in id order, as every writer. Sentences are dated by the memory's day (dated_text): a new
            # timestamp meanwhile gave the memory sentences of its new day, which these must not replace.
            current = set(rows.order_by("id").values_list("id", "hash", "occurred_at"))
            filled = {m.id: (m.hash, vectors) for m, vectors in pending if (m.id, m.hash, m.occurred_at) in current}
            vectors_save(filled, replace=True)
        done += len(filled)
        after = batch[-1].id
        if progress is not None:
            progress(done)


_DATE_EVENTS = f"""
UPDATE {Memory._meta.db_table} m SET event_start = v.event_start, event_end = v.event_end
FROM unnest(%s::uuid[], %s::text[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[])
    AS v(id, hash, occurred_at, event_start, event_end)
WHERE m.id = v.id AND m.hash = v.hash AND m.occurred_at IS NOT DISTINCT FROM v.occurred_at AND m.event_start IS NULL
"""  # noqa: S608  (the table name only)


def memories_events_fill(*, model=Memory, using: str = "default", batch_size: int = 2_000, progress=None) -> int:
    """Date the memories whose text names a time but that have no event dates (stored before migration 0015, or by
    an older server during an upgrade), as Memory.date_event does, reading the text from its timestamp, else from
    when it was stored. Batch by batch in id order, each committed on its own, so the table is never held for long;
    a memory changed meanwhile (its hash or timestamp no longer what the batch read), or dated meanwhile, keeps what
    that change set. `model`: migration 0015's historical model. Returns how many memories were dated."""
    undated = model.objects.using(using).filter(event_start__isnull=True).order_by("id")
    undated = undated.values_list("id", "text", "hash", "occurred_at", "created_at")
    done, after = 0, None
    while True:
        batch = list((undated.filter(id__gt=after) if after is not None else undated)[:batch_size])
        if not batch:
            return done
        dated = []
        for memory_id, text, text_hash, occurred_at, created_at in batch:
            window = named_window(text, (occurred_at or created_at).astimezone(UTC))
            if window is not None:
                dated.append((memory_id, text_hash, occurred_at, window.start, window.end))
        if dated:
            with transaction.atomic(using=using), connections[using].cursor() as cursor:
                cursor.execute(_DATE_EVENTS, [list(column) for column in zip(*dated, strict=True)])
                done += cursor.rowcount
        after = batch[-1][0]
        if progress is not None:
            progress(done)


# How long POST /reset's lock of the memory tables waits at a time for the transactions using them, and steps aside
# between tries (RESET_RETRY_AFTER: the Retry-After of the 409 it answers when they are never all free).
RESET_LOCK_WAIT_MS = 200
RESET_RETRY_AFTER = 5


def memories_reset() -> None:
    """Remove every memory, all history, the kept conversation context and the texts kept for images and documents sent
    again, and (memories_wiped's listeners) every copy of their text kept elsewhere; accounts, keys, webhooks, request
    logs and config stay.

    Its TRUNCATE needs the tables to itself, and while it waited for a transaction that had read one (an add deciding
    with its LLM, an export reading in chunks), every later query of them waited behind it: every account's requests
    stalled for as long as that transaction lasted. It now waits RESET_LOCK_WAIT_MS at a time and steps aside as long
    between tries, for up to DB_STATEMENT_TIMEOUT_MS in all (0: as long as it takes); then Busy (a 409), nothing
    deleted."""
    tables = ", ".join(
        model._meta.db_table
        for model in (
            Memory,
            MemorySentence,
            MemoryTokens,
            Posting,
            MemoryHistory,
            SessionMessage,
            ImageDescription,
            DocumentText,
        )
    )
    patience = settings.DB_STATEMENT_TIMEOUT_MS / 1000
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        # TRUNCATE refuses to run while deferred foreign-key checks are pending in the transaction.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)", [f"{RESET_LOCK_WAIT_MS}ms"]
        )
        lock_timeout = cursor.fetchone()[0]
        while True:
            try:
                with transaction.atomic():  # a try that timed out gives back the locks it had
                    cursor.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
                break
            except OperationalError as exc:
                waited = time.monotonic() - started
                if not isinstance(exc.__cause__, LockNotAvailable):
                    raise
                if patience and waited >= patience:
                    raise Busy(
                        f"POST /reset waited {waited:.0f} s for the memory tables while other requests kept using "
                        "them (an add deciding with its LLM, an export reading them); nothing was deleted. Send it "
                        f"again in {RESET_RETRY_AFTER} s (Retry-After).",
                        retry_after=RESET_RETRY_AFTER,
                    ) from None
            time.sleep(RESET_LOCK_WAIT_MS / 1000)  # the queries that queued behind this try go first
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
        cursor.execute(f"TRUNCATE {tables}")
        memories_wiped.send(sender=Memory)


# --- batches (the Platform API's PUT and DELETE /v1/batch/) ---------------------------------------------------

MAX_BATCH = 1000


@dataclass(frozen=True)
class BatchChange:
    memory_id: uuid.UUID
    text: str | None = None
    metadata: dict[str, Any] | None = None


def _check_batch(memory_ids: list[uuid.UUID], verb: str) -> None:
    if not memory_ids:
        raise InvalidInput(f"memories is empty: give between 1 and {MAX_BATCH} memories to {verb}.")
    if len(memory_ids) > MAX_BATCH:
        raise InvalidInput(f"At most {MAX_BATCH} memories can be {verb}d in one request; got {len(memory_ids)}.")
    seen: set[uuid.UUID] = set()
    for memory_id in memory_ids:
        if memory_id in seen:
            raise InvalidInput(f"Memory {memory_id} appears twice; give each memory once per request.")
        seen.add(memory_id)


def _lock_all_visible(principal, memory_ids: list[uuid.UUID], *fields: str) -> list[Memory]:
    """The memories, locked (in id order, as every multi-row writer, so that two cannot deadlock), returned in
    the order given; NotFound naming the first one the caller cannot see."""
    rows = memories_visible(principal=principal).select_for_update().filter(id__in=memory_ids).order_by("id")
    if fields:
        rows = rows.only(*fields)
    found = {memory.id: memory for memory in rows}
    _raise_if_missing(memory_ids, found)
    return [found[memory_id] for memory_id in memory_ids]


def _raise_if_missing(memory_ids: list[uuid.UUID], found) -> None:
    if missing := [memory_id for memory_id in memory_ids if memory_id not in found]:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise NotFound(f"Memory {missing[0]} not found{more}; nothing was changed.")


def memories_update_batch(*, principal, changes: list[BatchChange]) -> int:
    """Update up to MAX_BATCH memories all or nothing, their new texts MAX_ADD_CHARS at most together: new texts
    embedded first (one batch), then one transaction with an UPDATE history row per memory. NotFound (nothing
    changed) if any id is not the caller's."""
    _check_batch([change.memory_id for change in changes], "update")
    for change in changes:
        if change.text is None and change.metadata is None:
            raise InvalidInput(f"Memory {change.memory_id}: give text or metadata to update.")
    ids = [change.memory_id for change in changes]
    texts = {c.memory_id: c.text for c in changes if c.text is not None}
    # Every new text is embedded in this request: as much text as an add takes, no more.
    total = sum(len(text) for text in texts.values())
    if total > settings.MAX_ADD_CHARS:
        raise InvalidInput(
            f"The new texts hold {total} characters together; at most {settings.MAX_ADD_CHARS} per request are "
            "allowed (MAX_ADD_CHARS): split the batch into several requests."
        )
    tries = 1
    while True:
        # NotFound before spending time on embeddings; checked again under the lock.
        occurred = dict(memories_visible(principal=principal).filter(id__in=ids).values_list("id", "occurred_at"))
        _raise_if_missing(ids, set(occurred))
        vectors = _embedded_by_id({memory_id: (text, occurred[memory_id]) for memory_id, text in texts.items()})
        with transaction.atomic():
            memories = _lock_all_visible(principal, ids)
            # A new text is embedded dated by its memory's day: a new timestamp meanwhile (another update) made
            # what was embedded that of a day the memory no longer has. Read and embed again (at last, under the
            # locks), so that its vectors are not dated by the old day.
            moved = {
                m.id: (texts[m.id], m.occurred_at)
                for m in memories
                if m.id in texts and dated_text(texts[m.id], m.occurred_at) != dated_text(texts[m.id], occurred[m.id])
            }
            if moved and tries < UPDATE_EMBED_TRIES:
                tries += 1
                continue
            vectors |= _embedded_by_id(moved)
            return _memories_update_batch_write(memories, changes, vectors)


def _embedded_by_id(items: dict[uuid.UUID, tuple[str, datetime | None]]) -> dict[uuid.UUID, MemoryVectors]:
    """Each memory's vectors for its (text, when)."""
    embedded = embed_memories(get_embedder(), list(items.values())) if items else []
    return dict(zip(items, embedded, strict=True))


def _memories_update_batch_write(memories: list[Memory], changes: list[BatchChange], vectors) -> int:
    """memories_update_batch's write of the locked memories (in the order of `changes`), with history rows."""
    # After the locks: a change that committed while this batch waited for them is older than its own.
    now = timezone.now()
    history = []
    for memory, change in zip(memories, changes, strict=True):
        old_text = memory.text
        if change.text is not None:
            memory.text, memory.hash = change.text, text_hash(change.text)
            memory.embedding = vectors[memory.id].whole
            if memory.text != old_text:  # as memory_update: a text sent back as it was keeps its time
                memory.date_event(now)
        if change.metadata is not None:
            memory.metadata = merged_metadata(memory, change.metadata)
        memory.updated_at = now
        history.append(history_row(memory, old_text, memory.text, MemoryHistory.Event.UPDATE, now))
    # Two statements at most: the embedding column is written only for memories with a new text (the
    # others' vectors were never read, see memories_visible).
    retexted = [m for m, change in zip(memories, changes, strict=True) if change.text is not None]
    kept = [m for m, change in zip(memories, changes, strict=True) if change.text is None]
    retext_fields = ["text", "hash", "embedding", "metadata", "updated_at", "event_start", "event_end"]
    Memory.objects.bulk_update(retexted, retext_fields, batch_size=200)
    Memory.objects.bulk_update(kept, ["metadata", "updated_at"], batch_size=200)
    vectors_save({m.id: (m.hash, vectors[m.id]) for m in retexted}, replace=True)
    history_record(history)
    return len(memories)


def memories_delete_batch(*, principal, memory_ids: list[uuid.UUID]) -> int:
    """Delete up to MAX_BATCH memories all or nothing, each with a DELETE history row; NotFound (nothing
    deleted) if any id is not the caller's."""
    _check_batch(memory_ids, "delete")
    with transaction.atomic():
        _lock_all_visible(principal, memory_ids, "id")
        return delete_with_history(memory_ids)
