"""Reads: get, list, search and history. Every filter runs in SQL, before any LIMIT."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, F, FloatField, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.utils import timezone
from pgvector.django import CosineDistance

from mem0server.exceptions import InvalidInput, NotFound
from memories.embeddings import get_embedder
from memories.filters import build_filter
from memories.models import SCOPE_FIELDS, TEXT_SEARCH_CONFIG, Memory, MemoryHistory


def parse_memory_id(raw: str) -> uuid.UUID:
    """The UUID in a path, or a 400 that says what a memory id looks like."""
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise InvalidInput(f"{str(raw)[:64]!r} is not a valid memory id; memory ids are UUIDs.") from None


def memories_visible(*, principal) -> QuerySet[Memory]:
    """Every memory the caller may see: all of them for admins, its own account's for a member."""
    # The embedding (384 floats) and the tsvector are only ever compared in SQL: never fetch them.
    memories = Memory.objects.defer("embedding", "search_vector")
    if principal.is_admin:
        return memories
    return memories.filter(account=principal.account)


def memory_get(*, principal, memory_id: uuid.UUID) -> Memory:
    """One memory by id, or NotFound (also for another account's memory, so ids do not leak)."""
    try:
        return memories_visible(principal=principal).get(id=memory_id)
    except Memory.DoesNotExist:
        raise NotFound(f"Memory {memory_id} not found.") from None


def _visible(*, principal, scope: dict[str, str], filters: dict | None, show_expired: bool) -> QuerySet[Memory]:
    qs = memories_visible(principal=principal).filter(**scope)
    if filters:
        qs = qs.filter(build_filter(filters))
    if not show_expired:
        qs = qs.filter(Q(expiration_date__isnull=True) | Q(expiration_date__gte=timezone.localdate()))
    return qs


@dataclass
class MemoryPage:
    results: list[Memory]
    next_cursor: str | None
    next_page: int | None


def _encode_cursor(memory: Memory) -> str:
    raw = json.dumps([memory.created_at.isoformat(), str(memory.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, memory_id = json.loads(raw)
        return datetime.fromisoformat(created), uuid.UUID(memory_id)
    except (binascii.Error, ValueError, TypeError):
        raise InvalidInput("cursor is not valid; pass the next_cursor value of a previous page.") from None


def memories_list(
    *,
    principal,
    scope: dict[str, str],
    filters: dict | None = None,
    top_k: int = 100,
    page: int | None = None,
    cursor: str | None = None,
    show_expired: bool = False,
) -> MemoryPage:
    """Newest first, `top_k` per page, paged by page number or by an opaque cursor."""
    qs = _visible(principal=principal, scope=scope, filters=filters, show_expired=show_expired)
    qs = qs.order_by("-created_at", "-id")
    if cursor:
        created, memory_id = _decode_cursor(cursor)
        qs = qs.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=memory_id))
    offset = (page - 1) * top_k if page else 0
    rows = list(qs[offset : offset + top_k + 1])
    has_more = len(rows) > top_k
    rows = rows[:top_k]
    return MemoryPage(
        results=rows,
        next_cursor=_encode_cursor(rows[-1]) if has_more and rows else None,
        next_page=(page or 1) + 1 if has_more and not cursor else None,
    )


# A memory that contains every keyword of the query gains this much on top of its vector similarity.
KEYWORD_WEIGHT = 0.15
# Longer queries are ranked on their first lexemes only; the vector part still sees the whole query.
MAX_KEYWORDS = 16


def _query_lexemes(cursor, query: str) -> list[str]:
    """The query's distinct lexemes under the same text-search configuration as the stored column."""
    cursor.execute(
        "SELECT array(SELECT unnest(tsvector_to_array(to_tsvector(%s::regconfig, %s))))", [TEXT_SEARCH_CONFIG, query]
    )
    return cursor.fetchone()[0][:MAX_KEYWORDS]


def _tsquery_term(lexeme: str) -> str:
    # tsquery syntax: a quoted lexeme, with quotes and backslashes escaped; cast as-is, never re-stemmed.
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _scope_rows_estimate(filters: dict) -> float:
    """PostgreSQL's estimate of the rows of the search scope: the smallest of its scope ids' row counts.

    Scope ids only, each alone: metadata filters and the account do not count (an estimate of several
    correlated conditions multiplies their selectivities, and a low estimate would send a large scope to the
    exact path). Planning only, nothing is read: well under a millisecond.
    """
    rows = []
    for field in SCOPE_FIELDS:
        if filters.get(field):
            plan = json.loads(Memory.objects.filter(build_filter({field: filters[field]})).explain(format="json"))
            rows.append(plan[0]["Plan"]["Plan Rows"])
    return min(rows)


# Exact search reads every row of the scope (~2.5 µs each here): always worth it for small scopes. For larger
# ones only when they are a small share of the table, where a filtered HNSW scan would walk past mostly other
# scopes' rows; a 10,000-memory user in a 40,000-memory table took 26 ms exactly and 0.4 ms through HNSW.
EXACT_ALWAYS_ROWS = 1_000
EXACT_MAX_SHARE = 0.1


def _search_exactly(filters: dict) -> bool:
    """Whether to compare every memory of the scope rather than walk the HNSW index (see memories_search)."""
    rows = _scope_rows_estimate(filters)
    if rows > settings.SEARCH_EXACT_MAX_ROWS:
        return False
    if rows <= EXACT_ALWAYS_ROWS:
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Memory._meta.db_table])
        total = cursor.fetchone()[0]
    # reltuples is -1 before the first ANALYZE: exact is never wrong, only slower.
    return total <= 0 or rows <= total * EXACT_MAX_SHARE


def memories_search(
    *,
    principal,
    query: str,
    filters: dict,
    top_k: int = 20,
    threshold: float = 0.1,
    show_expired: bool = False,
) -> list[Memory]:
    """Hybrid search inside one scope: cosine similarity plus a keyword boost; best first, at most top_k.

    Candidates come from vector similarity (nearest by meaning) and from the full-text index (memories sharing
    the query's keywords), both filtered in SQL. Each memory carries `score` (similarity + KEYWORD_WEIGHT x
    the share of query keywords it contains, at most 1) and `score_details` (the parts).

    A small scope (PostgreSQL's estimate: at most EXACT_ALWAYS_ROWS memories, or at most
    settings.SEARCH_EXACT_MAX_ROWS and under EXACT_MAX_SHARE of the table) is searched exactly: its rows are read
    through the scope's btree index and every one is compared. Other scopes use the HNSW index with iterative
    scans. bench/scale.py measured why: at 1M memories, a 1,000-memory user took ~5 ms
    exactly and 80-130 ms through HNSW, which walks past the other users' rows and stops (at its scan memory
    limit) with most true neighbours missed; PostgreSQL itself chose HNSW from ~5,000 rows on.
    """
    if not any(filters.get(field) for field in SCOPE_FIELDS):
        raise InvalidInput("Search needs a scope: give user_id, agent_id or run_id (top level or in filters).")
    if top_k == 0:
        return []
    vector = get_embedder().embed([query])[0]
    base = _visible(principal=principal, scope={}, filters=filters, show_expired=show_expired).annotate(
        distance=CosineDistance("embedding", vector)
    )
    exact = _search_exactly(filters)
    with transaction.atomic(), connection.cursor() as cursor:
        if exact:
            # Plain index scans only: the scope's btree finds its rows, and metadata or keyword conditions are
            # checked on those rows instead of being intersected with a GIN bitmap of a common value (which
            # costs more than reading the scope: 16 ms for a topic shared by 10% of 1M rows). Nor a sequential
            # scan, which the planner picks for a scope of a few % of a small table: 13 ms vs 3 ms for 3,000 of
            # 40,000 rows.
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SET LOCAL enable_seqscan = off")
            # The same order, but not the `embedding <=> vector` expression the HNSW index serves: every
            # filtered row's distance is computed and sorted.
            order = F("distance") + Value(0.0, output_field=FloatField())
        else:
            # Filtered HNSW scans keep going until top_k rows pass the filter (pgvector >= 0.8).
            cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(settings.HNSW_EF_SEARCH)])
            order = F("distance")
        terms = [_tsquery_term(lexeme) for lexeme in _query_lexemes(cursor, query)]
        if terms:
            matched = " + ".join(["(search_vector @@ %s::tsquery)::int"] * len(terms))
            # Only placeholders and a count are formatted into the SQL; the terms travel as parameters.
            share = RawSQL(f"({matched})::float / {len(terms)}", terms, output_field=FloatField())  # noqa: S611
            base = base.annotate(keyword=share)
            any_term = RawSQL("search_vector @@ %s::tsquery", [" | ".join(terms)], output_field=BooleanField())  # noqa: S611
            by_keyword = base.filter(any_term).order_by("-keyword", "distance")[:top_k]
        else:
            base = base.annotate(keyword=Value(0.0, output_field=FloatField()))
            by_keyword = base.none()
        candidates = {memory.id: memory for memory in base.order_by(order)[:top_k]}
        candidates.update({memory.id: memory for memory in by_keyword})
    rows = list(candidates.values())
    for memory in rows:
        similarity = 1.0 - float(memory.distance)
        keyword = float(memory.keyword)
        memory.score = min(1.0, similarity + KEYWORD_WEIGHT * keyword)
        memory.score_details = {"vector": similarity, "keyword": keyword, "keyword_weight": KEYWORD_WEIGHT}
    # relaxed_order may return neighbours slightly out of order, and the two lists interleave: sort them.
    rows.sort(key=lambda memory: memory.score, reverse=True)
    return [memory for memory in rows if memory.score >= threshold][:top_k]


def memory_history(*, principal, memory_id: uuid.UUID) -> list[MemoryHistory]:
    """Every event of a memory, oldest first; NotFound if the caller never could see that id."""
    rows = MemoryHistory.objects.filter(memory_id=memory_id)
    if not principal.is_admin:
        rows = rows.filter(account=principal.account)
    rows = list(rows.order_by("created_at", "id"))
    if not rows:
        raise NotFound(f"Memory {memory_id} not found.")
    return rows


def memories_count(*, principal, scope: dict[str, str]) -> int:
    """How many memories the caller sees in a scope (all of them when the scope is empty)."""
    return memories_visible(principal=principal).filter(**scope).count()
