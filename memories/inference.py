"""infer=true with an LLM: extract facts, compare them with what the scope already holds, let the LLM
choose ADD / UPDATE / DELETE / NONE, and write the outcome in one transaction. Also procedural memories.

Calls per add: one LLM call for the facts, one embedding batch for them, and a second LLM call only when
the scope holds memories to compare with; an add longer than LLM_EXTRACTION_CHUNK_CHARS is read in runs, one call
each, and more than MAX_FACTS facts are decided in batches of that many. The extraction runs first, side by side
with other adds; from embedding the facts to the write, the add is one transaction holding its scope's decision lock
(services.scope_decision_lock), the decision's LLM call included, and the write re-checks its decisions under
the per-scope add lock against what concurrent adds committed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mem0server.exceptions import InvalidInput, UpstreamError
from memories import prompts
from memories.categories import categorize
from memories.configuration import HOW_TO_TURN_ON, Runtime, server_config_current
from memories.documents import document_passages
from memories.llm import MalformedReply, beside, side_by_side
from memories.models import SCOPE_FIELDS, Memory, MemoryHistory, SessionMessage
from memories.sentences import MemoryVectors, embed_memories, vectors_save
from memories.services import (
    BatchDuplicates,
    Message,
    clean_metadata,
    delete_with_history,
    history_row,
    lock_scope,
    merged_metadata,
    near_duplicates,
    nearest_in_scope,
    scope_decision_lock,
    scope_write_lock,
    text_hash,
)
from memories.signals import history_record
from memories.timestamps import dated_text

logger = logging.getLogger("mem0server")
T = TypeVar("T")

# Earlier messages of the same scope shown to the fact extractor (and kept per scope).
SESSION_CONTEXT_MESSAGES = 10
# Stored memories fetched per fact for the decision.
CANDIDATES_PER_FACT = 5
MAX_FACTS = 50
MAX_MEMORY_CHARS = 2000
PROCEDURAL = "procedural_memory"


@dataclass(frozen=True)
class Operation:
    event: str  # ADD, UPDATE, DELETE or NONE
    text: str | None = None
    target: Memory | None = None


def llm_available() -> bool:
    """Whether an LLM is configured, i.e. infer=true means extraction rather than storing as given."""
    return server_config_current().llm.client is not None


def _llm(runtime: Runtime, what: str):
    if runtime.llm.client is None:
        raise InvalidInput(f"{what} needs an LLM, and inference is off ({runtime.llm.missing}). {HOW_TO_TURN_ON}")
    return runtime.llm.client


# --- reading the model's answers ---------------------------------------------------------------------------


def _clean_text(value: Any) -> str | None:
    if isinstance(value, dict):  # {"fact": "..."} or {"text": "..."}
        value = value.get("fact") or value.get("text") or value.get("memory")
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value[:MAX_MEMORY_CHARS] or None


def parse_facts(payload: Any) -> list[str]:
    """Distinct non-empty facts from {"facts": [...]} (or a bare list)."""
    items = payload.get("facts") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise MalformedReply('expected {"facts": [...]}')
    facts = [text for text in (_clean_text(item) for item in items) if text]
    return list(dict.fromkeys(facts))[:MAX_FACTS]


def parse_operations(payload: Any, stored: Sequence[Memory]) -> list[Operation]:
    """Operations with the short ids mapped back to memories; ids the model made up are dropped, and each
    stored memory is changed at most once."""
    items = payload
    if isinstance(payload, dict):
        items = next((payload[key] for key in ("operations", "memory", "memories") if key in payload), None)
    if not isinstance(items, list):
        raise MalformedReply('expected {"operations": [...]}')
    by_short_id = {str(index): memory for index, memory in enumerate(stored)}
    operations: list[Operation] = []
    changed: set[uuid.UUID] = set()
    for item in items:
        if not isinstance(item, dict):
            continue
        event = str(item.get("event") or "").strip().upper()
        text = _clean_text(item.get("text"))
        if event == "ADD":
            if text and all(op.text != text for op in operations if op.event == "ADD"):
                operations.append(Operation("ADD", text=text))
            continue
        if event not in ("UPDATE", "DELETE", "NONE"):
            continue
        target = by_short_id.get(str(item.get("id")).strip())
        if target is None:
            logger.info("LLM chose %s for an id it was not given (%r); ignored", event, item.get("id"))
            continue
        if event == "UPDATE" and not text or target.id in changed:
            continue
        if event != "NONE":
            changed.add(target.id)
            # A change wins over an earlier NONE for the same memory.
            operations = [op for op in operations if not (op.event == "NONE" and op.target.id == target.id)]
        elif any(op.target is not None and op.target.id == target.id for op in operations):
            continue
        operations.append(Operation(event, text=text if event == "UPDATE" else None, target=target))
    return operations


# --- the add pipeline -------------------------------------------------------------------------------------


def _session_scope(account, scope: dict[str, str]) -> dict[str, Any]:
    return {"account": account, **{field: scope.get(field) for field in SCOPE_FIELDS}}


def _session_context(account, scope: dict[str, str]) -> list[SessionMessage]:
    recent = SessionMessage.objects.filter(**_session_scope(account, scope)).order_by("-created_at", "-id")
    return list(reversed(recent[:SESSION_CONTEXT_MESSAGES]))


def _remember_session(account, scope: dict[str, str], messages: Sequence[Message]) -> None:
    """Keep the newest messages of this scope as context for its next add; older ones are dropped."""
    now = timezone.now()
    columns = _session_scope(account, scope)
    SessionMessage.objects.bulk_create(
        SessionMessage(
            **columns, role=m.role, content=m.content[: prompts.CONTEXT_MESSAGE_CHARS], name=m.name, created_at=now
        )
        for m in messages
    )
    newest = SessionMessage.objects.filter(**columns).order_by("-created_at", "-id").values("id")
    SessionMessage.objects.filter(**columns).exclude(id__in=newest[:SESSION_CONTEXT_MESSAGES]).delete()


def _after_context(messages: list[Message], context: Sequence[SessionMessage]) -> list[Message]:
    """The messages after the scope's remembered ones, when the add sends those again in order and more after them
    (the last such run), else all of them (a message said again alone is extracted from again). A client that sends
    the whole conversation so far with each turn (Pipecat) sends what the adds before extracted from: sent as new
    again, the LLM read a prompt growing with the conversation each turn and drew its facts again. Those messages
    stay the extraction's context, as for any add."""
    seen = [(m.role, m.content) for m in context]  # kept cut at CONTEXT_MESSAGE_CHARS
    sent = [(m.role, m.content[: prompts.CONTEXT_MESSAGE_CHARS]) for m in messages]
    for end in range(len(sent) - 1, len(seen) - 1, -1) if seen else ():  # something new after the run
        if sent[end - len(seen) : end] == seen:
            return messages[end:]
    return messages


def _extraction_runs(
    context: Sequence[SessionMessage], messages: list[Message]
) -> list[tuple[list[SessionMessage | Message], list[Message]]]:
    """The messages to draw facts from in runs of at most LLM_EXTRACTION_CHUNK_CHARS characters: one extraction call
    each, as if the client had sent them in several adds. Each run's context is the last of the messages before it (the
    scope's remembered ones, then the add's) that fit in what the run leaves of LLM_EXTRACTION_CHUNK_CHARS, or in a
    quarter of it (at least one message): a prompt holds a run and its context within 1.25 times the setting, where the
    first run's context was the ten remembered messages whatever their length (20,000 characters beside a run of
    12,000). A long document (its passages, memories/documents.py) is read whole so, and each run gives up to MAX_FACTS
    facts, where one call read as much of it as the model's context window held and gave 50 facts at most. A message
    longer than a run is cut at its paragraphs' and sentences' ends."""
    size = settings.LLM_EXTRACTION_CHUNK_CHARS
    runs: list[list[Message]] = [[]]
    held = [0]  # characters in each run
    for message in messages:
        pieces = document_passages(message.content, size) if len(message.content) > size else [message.content]
        for piece in pieces:
            if runs[-1] and held[-1] + len(piece) > size:
                runs.append([])
                held.append(0)
            runs[-1].append(replace(message, content=piece) if len(pieces) > 1 else message)
            held[-1] += len(piece)
    chunks = []
    earlier: list[SessionMessage | Message] = list(context)
    for run, chars in zip(runs, held, strict=True):
        room = max(size - chars, size // 4)
        shown: list[SessionMessage | Message] = []
        shown_chars = 0  # as the prompt shows them: each cut at CONTEXT_MESSAGE_CHARS
        for message in reversed(earlier[-SESSION_CONTEXT_MESSAGES:]):
            shown_chars += min(len(message.content), prompts.CONTEXT_MESSAGE_CHARS)
            if shown and shown_chars > room:
                break
            shown.insert(0, message)
        chunks.append((shown, run))
        earlier += run
    return chunks


def _tags(llm, texts: list[str], categories: dict[str, str]) -> dict[str, list[str]]:
    """Each text's categories (memories/categories.py): MAX_FACTS texts a call, the calls side by side."""
    tags: dict[str, list[str]] = {}
    batches = [texts[start : start + MAX_FACTS] for start in range(0, len(texts), MAX_FACTS)]
    for tagged in side_by_side([partial(categorize, llm, batch, categories) for batch in batches]):
        tags |= tagged
    return tags


def _answers(llm, asked: list[tuple[str, str, Callable[[Any], T]]]) -> list[T]:
    """Each (system, user, parse) call's parsed answer, in their order, asked side by side (memories/llm.py): one
    add's extraction runs, or its decisions of MAX_FACTS facts each. One after another, a long document took the sum
    of their times, and its decisions held the scope's lock that long."""
    return side_by_side(
        [partial(llm.complete_json, system=system, user=user, parse=parse) for system, user, parse in asked]
    )


def _merged(operations: list[Operation], decided: list[Operation]) -> list[Operation]:
    """A later decision's operations after an earlier one's: as within one decision (parse_operations), a stored
    memory is changed at most once, and a change wins over a NONE. The later decision did not see the earlier one's
    change: its rewrite of a memory changed already is added as a memory of its own (no fact is lost; one that says
    the same is found a duplicate when written)."""
    merged = list(operations)
    for operation in decided:
        if operation.target is None:
            merged.append(operation)
            continue
        same = [op for op in merged if op.target is not None and op.target.id == operation.target.id]
        if any(op.event != "NONE" for op in same):
            if operation.event == "UPDATE":
                merged.append(Operation("ADD", text=operation.text))
            continue
        if operation.event == "NONE" and same:
            continue
        merged = [op for op in merged if op not in same] + [operation]
    return merged


def _similar(account, scope: dict[str, str], vectors: Sequence[list[float]]) -> list[Memory]:
    """The closest unexpired memories of the account's scope for each vector, without repeats, closest first."""
    found: dict[uuid.UUID, Memory] = {}
    for nearest in nearest_in_scope(account, scope, vectors, limit=CANDIDATES_PER_FACT):
        for memory in nearest:
            found.setdefault(memory.id, memory)
    return list(found.values())


def memories_add_inferred(
    *,
    account,
    messages: list[Message],
    scope: dict[str, str],
    metadata: dict[str, Any] | None = None,
    expiration_date: date | None = None,
    prompt: str | None = None,
    occurred_at: datetime | None = None,
    before_commit: Callable[[list[dict[str, Any]]], None] | None = None,
    categories: dict[str, str] | None = None,
    said_at: datetime | None = None,
    includes: str | None = None,
    excludes: str | None = None,
    facts: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Mem0's add with infer=true: facts extracted and reconciled with the scope's memories by the LLM; with a
    catalog of `categories` (name → description), the memories it adds or rewrites are tagged from it. `said_at`:
    when the messages were sent (services.memories_add), the day the LLM reads relative dates against. `includes`
    and `excludes`: what the extraction keeps to and leaves out (prompts.extraction). `facts` given (the caller's
    deduced memories): no extraction, only the reconciliation."""
    runtime = server_config_current()
    llm = _llm(runtime, "infer=true")
    embedder = runtime.usable_embedder()  # a 409 before spending an LLM call
    started = time.monotonic()
    if facts is None:
        context = _session_context(account, scope)
        messages = _after_context(messages, context)
        asked = [
            (
                *prompts.extraction(
                    messages=run,
                    context=earlier,
                    today=timezone.localdate(said_at),
                    occurred_at=occurred_at,
                    about_agent=bool(scope.get("agent_id") and not scope.get("user_id")),
                    custom=prompt or runtime.prompt("custom_fact_extraction_prompt"),
                    includes=includes,
                    excludes=excludes,
                ),
                parse_facts,
            )
            for earlier, run in _extraction_runs(context, messages)
        ]
        facts = [fact for drawn in _answers(llm, asked) for fact in drawn]
    facts = list(dict.fromkeys(facts))
    tagging = bool(categories) and settings.CATEGORIZE_MEMORIES
    # Most facts are written as they are: their categories are asked now, beside the decisions, rather than after
    # them while the add holds its scope's turn (a text a decision rewords is tagged after it, as all were). An add to
    # a scope holding memories waited for three calls one after another, two of them in its turn; now two. Not when
    # LLM_ADD_CONCURRENCY asks for one call at a time.
    early = None
    if tagging and facts and settings.LLM_ADD_CONCURRENCY > 1:
        early = beside(partial(_tags, llm, facts, categories))
    # From here to the write, one add of the scope at a time (the extraction above runs side by side). The turn is
    # waited for what the extraction left of one LLM timeout: with the decision's own call, the add keeps within the
    # two LLM timeouts a reverse proxy is told to allow (README "Sizing"); it waited a whole one more.
    timeout = llm.endpoint.timeout
    wait = max(min(1.0, timeout), timeout - (time.monotonic() - started))
    with scope_decision_lock(account, scope, wait=wait, llm_timeout=timeout):
        operations: list[Operation] = []
        vectors: dict[str, MemoryVectors] = {}
        if facts:
            # Embedded with the conversation's day when it is known (memories/timestamps.py: dated_text), and a
            # long fact sentence by sentence too (memories/sentences.py).
            vectors = dict(zip(facts, embed_memories(embedder, [(f, occurred_at) for f in facts]), strict=True))
            # At most MAX_FACTS facts a decision (a long document's runs draw more): each batch compared with the
            # stored memories closest to it, the decisions asked side by side, all written together below.
            batches = [facts[start : start + MAX_FACTS] for start in range(0, len(facts), MAX_FACTS)]
            closest = [_similar(account, scope, [vectors[fact].whole for fact in batch]) for batch in batches]
            custom = runtime.prompt("custom_update_memory_prompt")
            asked = [
                (
                    *prompts.decision(
                        stored=[(str(index), memory.text) for index, memory in enumerate(stored)],
                        facts=batch,
                        custom=custom,
                    ),
                    lambda payload, stored=stored: parse_operations(payload, stored),
                )
                for batch, stored in zip(batches, closest, strict=True)
                if stored
            ]
            decisions = iter(_answers(llm, asked))
            for batch, stored in zip(batches, closest, strict=True):
                # Nothing to compare with: every fact is new, no call needed.
                decided = next(decisions) if stored else [Operation("ADD", text=fact) for fact in batch]
                operations = _merged(operations, decided)
            # The model may reword a fact (a merged UPDATE): those texts need vectors of their own.
            reworded = list(dict.fromkeys(op.text for op in operations if op.text and op.text not in vectors))
            if reworded:
                more = embed_memories(embedder, [(text, occurred_at) for text in reworded])
                vectors.update(zip(reworded, more, strict=True))
        redated = _redated(embedder, operations, occurred_at)
        tags: dict[str, list[str]] = {}
        if tagging:
            # An UPDATE to the same text writes nothing (_apply answers NONE): nothing to tag.
            written = [
                op.text
                for op in operations
                if op.text and (op.event == "ADD" or (op.event == "UPDATE" and op.text != op.target.text))
            ]
            written = list(dict.fromkeys(written))
            asked = early.result() if early else {}
            tags = {text: asked[text] for text in written if text in asked}
            tags |= _tags(llm, [text for text in written if text not in asked], categories)
        names = {m.name for m in messages if m.name}
        return _apply(
            operations,
            account=account,
            vectors=vectors,
            redated=redated,
            embedder=embedder,
            scope=scope,
            metadata=clean_metadata(metadata),
            expiration_date=expiration_date,
            occurred_at=occurred_at,
            actor_id=names.pop() if len(names) == 1 else None,
            messages=messages,
            before_commit=before_commit,
            tags=tags,
            said_at=said_at,
        )


def _repeats(text: str, in_scope: dict[str, Memory | None], vectors, *kept: BatchDuplicates) -> bool:
    """Whether `text` nearly repeats a memory of the scope that the add leaves (`in_scope`, by text), or one of
    `kept`."""
    vector = vectors[text].whole
    return in_scope[text] is not None or any(batch.find(vector) is not None for batch in kept)


def _redated(embedder, operations: Sequence[Operation], occurred_at: datetime | None) -> dict[str, MemoryVectors]:
    """The vectors of the new texts of the memories that an add without a timestamp rewrites and that have one, by
    what the embedder saw (dated_text): such a memory keeps its timestamp (as memory_update keeps it for a new text),
    so its new text is embedded with its day, not undated as the add's facts are."""
    if occurred_at is not None:
        return {}
    rewrites = {op.target.id: op.text for op in operations if op.event == "UPDATE" and op.text != op.target.text}
    days = Memory.objects.filter(id__in=list(rewrites), occurred_at__isnull=False).values_list("id", "occurred_at")
    items = list(dict.fromkeys((rewrites[memory_id], when) for memory_id, when in days))
    return {dated_text(*item): v for item, v in zip(items, embed_memories(embedder, items), strict=True)}


def _apply(
    operations: Sequence[Operation],
    *,
    account,
    vectors: dict[str, MemoryVectors],
    redated: dict[str, MemoryVectors],
    embedder,
    scope: dict[str, str],
    metadata: dict[str, Any] | None,
    expiration_date: date | None,
    occurred_at: datetime | None,
    actor_id: str | None,
    messages: Sequence[Message],
    before_commit: Callable[[list[dict[str, Any]]], None] | None = None,
    tags: dict[str, list[str]] | None = None,
    said_at: datetime | None = None,
) -> list[dict[str, Any]]:
    """Write the operations and their history in one transaction, re-checked under the scope lock; `tags`
    gives the categories of the texts written (an UPDATE without any keeps the memory's). A rewritten memory takes
    the add's timestamp, or keeps its own when the add has none, and is embedded with that day: `vectors` are the
    texts dated by the add's, `redated` (_redated) by a rewritten memory's own."""
    tags = tags or {}
    dated = {dated_text(text, occurred_at): v for text, v in vectors.items()} | redated
    results: list[dict[str, Any]] = []
    with transaction.atomic():
        scope_write_lock(account, scope)
        lock_scope(account, scope)
        # Targets as they are now: a concurrent add or delete may have changed them since the decision.
        ids = [op.target.id for op in operations if op.target is not None]
        targets = Memory.objects.select_for_update().filter(id__in=ids, account=account, **scope).order_by("id")
        current = {m.id: m for m in targets}  # locked in id order, as every multi-row writer
        now = timezone.now()
        added = BatchDuplicates()
        rewrote = BatchDuplicates()  # the memories rewritten so far, by their new texts
        history: list[MemoryHistory] = []
        new_vectors, changed_vectors = {}, {}
        # What the scope holds already of each text the operations may add (one pass for them all), as these
        # operations leave it: not the memories they delete or rewrite, whose text a fact may nearly repeat ("Is not
        # allergic to peanuts" beside the deleted "Is allergic to peanuts": taken for a repeat of the memory going,
        # it was lost with it), and the rewritten memories' new texts.
        replaced: set[uuid.UUID] = set()
        rewritten = BatchDuplicates()
        for op in operations:
            target = current.get(op.target.id) if op.target is not None else None
            if target is None or target.text != op.target.text or op.event not in ("UPDATE", "DELETE"):
                continue
            if op.event == "DELETE" or op.text != target.text:
                replaced.add(target.id)
            if op.event == "UPDATE" and op.text != target.text:
                rewritten.keep(vectors[op.text].whole, Memory(id=target.id, text=op.text))
        texts = list(dict.fromkeys(op.text for op in operations if op.event in ("ADD", "UPDATE") and op.text))
        found = near_duplicates(account, scope, [vectors[t].whole for t in texts], exclude=replaced)
        in_scope = dict(zip(texts, found, strict=True))
        for op in operations:
            target = current.get(op.target.id) if op.target is not None else None
            if op.event in ("UPDATE", "DELETE") and target is not None and target.text != op.target.text:
                # Edited since the model saw it (an update does not wait for the scope's decision): the decision was
                # about a text no longer stored. As for a deleted target, the edit stays and an UPDATE's text is new.
                target = None
            if op.event == "ADD" or (op.event == "UPDATE" and target is None):
                vector = vectors[op.text].whole
                duplicate = in_scope[op.text] or rewritten.find(vector) or added.find(vector)
                if duplicate is not None:  # e.g. stored by a concurrent add of the same fact
                    results.append({"id": str(duplicate.id), "memory": duplicate.text, "event": "NONE"})
                    continue
                memory = Memory(
                    id=uuid.uuid4(),
                    account=account,
                    text=op.text,
                    hash=text_hash(op.text),
                    actor_id=actor_id,
                    metadata=metadata,
                    embedding=vector,
                    expiration_date=expiration_date,
                    occurred_at=occurred_at,
                    categories=tags.get(op.text, []),
                    **scope,
                )
                memory.date_event(said_at or now)
                added.keep(vector, memory)
                new_vectors[memory.id] = (memory.hash, vectors[op.text])
                history.append(history_row(memory, None, memory.text, MemoryHistory.Event.ADD, now))
                results.append({"id": str(memory.id), "memory": memory.text, "event": "ADD"})
            elif target is None:
                continue  # deleted meanwhile: nothing left to delete or to point at
            elif (
                op.event == "UPDATE" and op.text != target.text and _repeats(op.text, in_scope, vectors, added, rewrote)
            ):
                # Its new text is another memory's already (or one this add writes), as a fact added is found a
                # duplicate: two memories would say the same. That one says it, and this one's old text is what the
                # model replaced, so this one goes.
                delete_with_history([target.id])
                results.append({"id": str(target.id), "memory": target.text, "event": "DELETE"})
            elif op.event == "UPDATE" and op.text != target.text:
                previous = target.text
                # Its new text was said at the add's time, which the memory takes when the add has one.
                target.occurred_at = occurred_at or target.occurred_at
                rewrite = dated.get(dated_text(op.text, target.occurred_at))
                if rewrite is None:  # its timestamp changed since read (an update does not wait for the decision)
                    [rewrite] = embed_memories(embedder, [(op.text, target.occurred_at)])
                target.text, target.hash, target.embedding = op.text, text_hash(op.text), rewrite.whole
                rewrote.keep(vectors[op.text].whole, target)
                changed_vectors[target.id] = (target.hash, rewrite)
                if metadata:
                    target.metadata = merged_metadata(target, metadata)
                target.categories = tags.get(op.text, target.categories)
                # Its new text was said in this conversation: read from its time, not the old memory's.
                target.date_event(now, said_at=occurred_at or said_at or now)
                changed = [
                    "text",
                    "hash",
                    "embedding",
                    "occurred_at",
                    "metadata",
                    "categories",
                    "updated_at",
                    "event_start",
                    "event_end",
                ]
                target.save(update_fields=changed)
                history.append(history_row(target, previous, target.text, MemoryHistory.Event.UPDATE, now))
                results.append(
                    {"id": str(target.id), "memory": target.text, "event": "UPDATE", "previous_memory": previous}
                )
            elif op.event == "DELETE":
                delete_with_history([target.id])
                results.append({"id": str(target.id), "memory": target.text, "event": "DELETE"})
            else:  # NONE, or an UPDATE to the same text
                results.append({"id": str(target.id), "memory": target.text, "event": "NONE"})
        Memory.objects.bulk_create(added.memories)
        # Only those of memories still written (a duplicate found under the lock was not).
        kept = {memory.id for memory in added.memories}
        vectors_save({k: v for k, v in new_vectors.items() if k in kept}, replace=False)
        vectors_save(changed_vectors, replace=True)
        history_record(history)
        _remember_session(account, scope, messages)
        if before_commit is not None:
            before_commit(results)
    return results


# --- procedural memory ------------------------------------------------------------------------------------


def memory_add_procedural(
    *,
    account,
    messages: list[Message],
    scope: dict[str, str],
    metadata: dict[str, Any] | None = None,
    expiration_date: date | None = None,
    prompt: str | None = None,
    occurred_at: datetime | None = None,
    before_commit: Callable[[list[dict[str, Any]]], None] | None = None,
    said_at: datetime | None = None,
) -> list[dict[str, Any]]:
    """memory_type="procedural_memory": the LLM summarises the agent's conversation into one memory (`said_at`:
    when it was sent, see services.memories_add)."""
    if not scope.get("agent_id"):
        raise InvalidInput("memory_type procedural_memory needs an agent_id.")
    runtime = server_config_current()
    llm = _llm(runtime, "memory_type=procedural_memory")
    embedder = runtime.usable_embedder()
    system, user = prompts.procedural(messages=messages, today=timezone.localdate(said_at), custom=prompt)
    summary = llm.complete_text(system=system, user=user)
    if not summary:
        raise UpstreamError(
            f"The LLM ({llm.describe()}) returned an empty summary; nothing was stored.", code="provider_unavailable"
        )
    [vectors] = embed_memories(embedder, [(summary, occurred_at)])
    memory = Memory(
        id=uuid.uuid4(),
        account=account,
        text=summary,
        hash=text_hash(summary),
        metadata={**(clean_metadata(metadata) or {}), "memory_type": PROCEDURAL},
        embedding=vectors.whole,
        expiration_date=expiration_date,
        occurred_at=occurred_at,
        **scope,
    )
    memory.date_event(said_at or timezone.now())
    with transaction.atomic():
        scope_write_lock(account, scope)
        memory.save(force_insert=True)
        vectors_save({memory.id: (memory.hash, vectors)}, replace=False)
        history_record([history_row(memory, None, summary, MemoryHistory.Event.ADD, memory.created_at)])
        results = [{"id": str(memory.id), "memory": summary, "event": "ADD"}]
        if before_commit is not None:
            before_commit(results)
    return results
