"""Reads: get, list, search and history. Every filter runs in SQL, before any LIMIT."""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Collate, Length
from django.utils import timezone

from mem0server.answer_size import UTF8_MAX_BYTES, OctetLength, answer_refuse_beyond, json_bytes, page_refuse_beyond
from mem0server.exceptions import InvalidInput, NotFound
from mem0server.rows import one_moment, rows_loaded
from memories import coherence, late_interaction, search
from memories.embeddings import embed_query, local_embedder
from memories.filters import SEARCH_SCOPE_HELP, build_filter, filter_check_size, filter_keys, scope_part
from memories.models import MAX_TEXT_CHARS, SCOPE_FIELDS, Memory, MemoryHistory, Posting
from memories.rerank import RerankOutcome
from memories.rerank import rerank as rerank_memories
from memories.temporal import named_window


def parse_memory_id(raw: str) -> uuid.UUID:
    """The UUID of a memory id given as a value (a body field, a tool's argument) or in a Platform route's path (Mem0's
    Platform API answers such an id with a 400), or a 400 that says what a memory id looks like."""
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise InvalidInput(_not_a_memory_id(raw)) from None


def memory_id_from_path(raw: str) -> uuid.UUID:
    """The UUID in a URL path. One that is no UUID names no memory: a 404, as for an unknown id, which clients take for
    what it is (one deleting what is gone, an agent's plugin after an id its model made up, which counts a 400 as the
    server failing), saying what a memory id looks like."""
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise NotFound(_not_a_memory_id(raw)) from None


def _not_a_memory_id(raw: str) -> str:
    return f"{str(raw)[:64]!r} is not a valid memory id; memory ids are UUIDs."


def memories_visible(*, principal) -> QuerySet[Memory]:
    """Every memory the caller may see: all of them for admins, its own account's for a member."""
    # The embedding (384 floats) and the tsvector are only ever compared in SQL: never fetch them.
    return _owned(Memory.objects.defer("embedding", "search_vector"), principal)


def _owned(qs: QuerySet, principal) -> QuerySet:
    """All of `qs` (memories or postings) for admins, the rows of the caller's own account for a member."""
    return qs if principal.is_admin else qs.filter(account=principal.account)


# memory_get's statement: the columns memories_visible loads, by id, for an admin (every account's) or within a
# member's account. Every read of one memory (GET /memories/{id}, GET /v1/memories/{id}/, MCP's get_memory, an
# update's first read) built and compiled the same queryset again: 0.44 ms of CPU of memory_get's 0.83
# (bench/request_overhead.py).
_GET_COLUMNS = ", ".join(f'"{field.column}"' for field in search.LOADED_FIELDS)
_GET_SQL = f"SELECT {_GET_COLUMNS} FROM {Memory._meta.db_table} WHERE id = %s"  # noqa: S608  (the model's names)
_GET_OF_ACCOUNT_SQL = f"{_GET_SQL} AND account_id = %s"


def memory_get(*, principal, memory_id: uuid.UUID) -> Memory:
    """One memory by id, or NotFound (also for another account's memory, so ids do not leak); loaded as
    memories_visible would load it (embedding and search vector deferred)."""
    with connection.cursor() as cursor:
        if principal.is_admin:
            cursor.execute(_GET_SQL, [memory_id])
        else:
            cursor.execute(_GET_OF_ACCOUNT_SQL, [memory_id, principal.account.pk])
        rows = cursor.fetchall()
    if not rows:
        raise NotFound(f"Memory {memory_id} not found.")
    return search.memories_from_rows(rows)[0]


def _visible(
    *, principal, scope: dict[str, str], filters: dict | None, show_expired: bool, today: date | None = None
) -> QuerySet[Memory]:
    return _narrowed(memories_visible(principal=principal).filter(**scope), filters, show_expired, today)


def _narrowed(qs: QuerySet, filters: dict | None, show_expired: bool, today: date | None = None) -> QuerySet:
    """`qs` (memories, or postings, which hold the same scope ids and expiration date) cut to the filters; what
    expired before `today` (default: the local date now) is left out unless show_expired."""
    if filters:
        qs = qs.filter(build_filter(filters))
    if not show_expired:
        qs = qs.filter(unexpired(today))
    return qs


def unexpired(today: date | None = None) -> Q:
    """Rows (memories, or postings) that have not expired by `today` (default: the local date now): an expired
    memory is gone for its caller, hidden from list and search."""
    return Q(expiration_date__isnull=True) | Q(expiration_date__gte=today or timezone.localdate())


def postings_matching(
    *, principal, filters: dict | None, show_expired: bool = False, today: date | None = None
) -> QuerySet[Posting] | None:
    """The postings of exactly the memories memories_matching gives, when the filters are on scope ids alone
    (the postings hold those, the account and the expiration date, and nothing else); None otherwise."""
    if not filter_keys(filters) <= set(SCOPE_FIELDS):
        return None
    return _narrowed(_owned(Posting.objects.all(), principal), filters, show_expired, today)


# Per-process caches of this module (compiled scopes, scope plans) hold at most this many entries each: one
# that is full is emptied before the next entry goes in (_keep).
CACHE_SIZE = 10_000
# Entries whose key (the filters' JSON, mostly) is longer are not kept: a flood of distinct filters of long ids or
# 1,000-value lists, each near a request body in size, would otherwise hold gigabytes. Four scope ids of 255
# characters fit.
MAX_KEY_CHARS = 2_048


def _keep(cache: dict, key, value) -> None:
    if len(repr(key)) > MAX_KEY_CHARS:  # filters of long ids or lists: each as large as a request body
        return
    if len(cache) >= CACHE_SIZE:
        cache.clear()
    cache[key] = value


# Compiled search scopes (see _search_scope).
_scope_cache: dict[tuple, search.Scope] = {}


def _search_scope(*, principal, filters: dict, show_expired: bool) -> search.Scope:
    """The caller's search scope and its postings as SQL.

    Building and compiling the two querysets costs about 1.5 ms of Python per search. When the filters are
    scope ids, as the SDKs send them (`{"user_id": "alice"}`, or `{"AND": [{"user_id": "alice"}, ...]}`), the
    SQL is kept per process under everything it depends on: whose memories (every account's for an admin,
    one account's for a member), the filters as given, show_expired and today's date (for expiry). Other
    filters are compiled for each search.
    """
    today = timezone.localdate()
    owner = None if principal.is_admin else getattr(principal.account, "pk", None)
    key = None
    if (principal.is_admin or owner is not None) and _scope_ids_only(filters):
        filter_check_size(filters)  # the limits apply to a kept scope as to a compiled one
        # For string keys and values in dicts and lists, the JSON text names the filters exactly.
        key = (principal.is_admin, owner, json.dumps(filters), show_expired, today)
        scope = _scope_cache.get(key)
        if scope is not None:
            return scope
    scope = search.compiled_scope(
        _visible(principal=principal, scope={}, filters=filters, show_expired=show_expired, today=today),
        postings_matching(principal=principal, filters=filters, show_expired=show_expired, today=today),
        prepared=key is not None and _scope_id_count(filters) == 1,
    )
    if key is not None:
        _keep(_scope_cache, key, scope)
    return scope


def _scope_ids(filters: Any) -> bool:
    return isinstance(filters, dict) and all(
        field in SCOPE_FIELDS and isinstance(value, str) for field, value in filters.items()
    )


def _scope_id_count(filters: dict) -> int:
    """How many scope ids filters of scope ids alone (_scope_ids_only) name."""
    return len(filters) - ("AND" in filters) + sum(len(item) for item in filters.get("AND", []))


def _scope_ids_only(filters: dict) -> bool:
    """Whether `filters` holds scope ids with string values alone, at the top level or in one level of AND."""
    rest = {key: value for key, value in filters.items() if key != "AND"}
    within = filters.get("AND", [])
    return _scope_ids(rest) and isinstance(within, list) and all(_scope_ids(item) for item in within)


@dataclass
class MemoryPage:
    results: list[Memory]
    next_cursor: str | None
    next_page: int | None
    # Every memory the filters match (all pages); only counted when asked (with_count=True).
    count: int | None = None


def _encode_cursor(memory: Memory) -> str:
    raw = json.dumps([memory.created_at.isoformat(), str(memory.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """What _encode_cursor wrote: [aware ISO time, UUID text]; anything else (a cursor made by hand) is a 400."""
    invalid = InvalidInput("cursor is not valid; pass the next_cursor value of a previous page.", field="cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(item, str) for item in value)):
            raise invalid
        created, memory_id = datetime.fromisoformat(value[0]), uuid.UUID(value[1])
    except (binascii.Error, ValueError, TypeError):
        raise invalid from None
    # Written in UTC. Another zone is no cursor of ours, and PostgreSQL refuses some that Python reads (beyond
    # ±15:59:59, or in fractions of a second): a DataError that named no field, and a 500 on the dashboard.
    if created.utcoffset() != timedelta(0):
        raise invalid
    return created, memory_id


def memories_list(
    *,
    principal,
    scope: dict[str, str],
    filters: dict | None = None,
    top_k: int = 100,
    page: int | None = None,
    cursor: str | None = None,
    show_expired: bool = False,
    with_count: bool = False,
) -> MemoryPage:
    """Newest first, `top_k` per page, paged by page number or by an opaque cursor; with_count also counts
    every match (one more query)."""
    offset = (page - 1) * top_k if page else 0
    statements = None if cursor else _list_statements_kept(principal, scope, filters, show_expired, offset, top_k)
    if statements is not None:
        count, rows = _list_run(statements, offset, with_count)
    else:
        count, rows = _list_read(principal, scope, filters, show_expired, cursor, offset, top_k, with_count)
    # top_k 0 pages nothing: every page would be empty, and a client following next_page would never stop.
    has_more = top_k > 0 and len(rows) > top_k
    rows = rows[:top_k]
    return MemoryPage(
        results=rows,
        next_cursor=_encode_cursor(rows[-1]) if has_more and rows else None,
        next_page=(page or 1) + 1 if has_more and not cursor else None,
        count=count,
    )


def _list_queryset(principal, scope, filters, show_expired, today=None) -> QuerySet[Memory]:
    qs = _visible(principal=principal, scope=scope, filters=filters, show_expired=show_expired, today=today)
    return qs.order_by("-created_at", "-id")


def _list_read(principal, scope, filters, show_expired, cursor, offset, top_k, with_count) -> tuple:
    """A list page's count (None unless with_count) and rows (top_k + 1 of them at most), through the ORM."""
    qs = _list_queryset(principal, scope, filters, show_expired)
    if cursor:
        created, memory_id = _decode_cursor(cursor)
        qs = qs.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=memory_id))
    count = qs.count() if with_count else None
    rows = []
    # A page past the last is empty by the count: its OFFSET read every match to find nothing (130 ms for page
    # 1,000,000 at 45,000 memories).
    if count is None or offset < count:
        _answer_size_check(page_of(qs, offset, top_k), top_k)
        rows = rows_loaded(page_of(qs, offset, top_k + 1))
    return count, rows


@dataclass(frozen=True)
class _ListStatements:
    """A list page's SQL: its count and its top_k + 1 rows (the columns memories_visible loads), with their values."""

    count: tuple[str, tuple]
    page: tuple[str, tuple]


# Compiled list pages (see _list_statements_kept).
_list_cache: dict[tuple, _ListStatements] = {}


def _list_statements_kept(principal, scope, filters, show_expired, offset, top_k) -> _ListStatements | None:
    """The SQL of a list page by page number (not cursor) whose scope and filters are scope ids, as the SDKs and
    agents list (`?user_id=alice`, `{"filters": {"user_id": "alice"}}`), kept per process under everything it
    depends on, as search keeps its scopes (_search_scope): building and compiling the page's two querysets was
    about 1 ms of CPU on every such request. None for others (a cursor, other filters, a page that may be larger
    than one answer carries, which is weighed first): they are built each time."""
    owner = None if principal.is_admin else getattr(principal.account, "pk", None)
    if not (principal.is_admin or owner is not None) or not _scope_ids(scope) or _answer_may_be_too_large(top_k):
        return None
    if filters and not _scope_ids_only(filters):
        return None
    if filters:
        filter_check_size(filters)  # the limits apply to a kept page as to a compiled one
    today = timezone.localdate()
    # For string keys and values in dicts and lists, the JSON text names the scope and filters exactly.
    key = (principal.is_admin, owner, json.dumps(scope), json.dumps(filters), show_expired, today, offset, top_k)
    statements = _list_cache.get(key)
    if statements is None:
        qs = _list_queryset(principal, scope, filters, show_expired, today)
        inner, values = qs.order_by().values("pk").query.sql_with_params()
        statements = _ListStatements(
            count=(f"SELECT COUNT(*) FROM ({inner}) matches", values),  # noqa: S608  (the ORM's SQL)
            page=page_of(qs, offset, top_k + 1).query.sql_with_params(),
        )
        _keep(_list_cache, key, statements)
    return statements


def _list_run(statements: _ListStatements, offset: int, with_count: bool) -> tuple:
    """What _list_read gives, from kept statements."""
    rows = []
    with connection.cursor() as cursor:
        count = None
        if with_count:
            cursor.execute(*statements.count)
            count = cursor.fetchone()[0]
        if count is None or offset < count:
            cursor.execute(*statements.page)
            rows = search.memories_from_rows(cursor.fetchall())
    return count, rows


def page_of(qs: QuerySet, offset: int, limit: int) -> QuerySet:
    """`limit` rows of `qs` (ordered) after the first `offset`. A deep page skips by ids alone, which an index holds
    in list order (memory_account_created, with the expiration date, or memory_created for an admin; likewise
    history_account_created and history_created), so the skipped rows are read from the index and only the page's
    rows from the table. (OFFSET read every skipped row from the table: page 4,000 of 10 at 45,000 memories took
    29-155 ms, and grows with the account.)"""
    if not offset:
        return qs[:limit]
    return qs.filter(pk__in=qs.values("pk")[offset : offset + limit])


def _answer_may_be_too_large(count: int) -> bool:
    """Whether `count` memories could hold more than one answer carries (LIST_MAX_BYTES): each the longest text a
    memory holds and the largest metadata. A page of 100, the default, cannot."""
    return count * (UTF8_MAX_BYTES * MAX_TEXT_CHARS + settings.METADATA_MAX_BYTES) > settings.LIST_MAX_BYTES


def _answer_size_check(page: QuerySet[Memory], top_k: int) -> None:
    """InvalidInput when a page's memories hold more bytes of text and metadata (as JSON text) than one answer carries
    (LIST_MAX_BYTES): the answer is built whole in the worker's memory, and 1,000 memories of 100,000 characters made
    one of 108 MB (0.9 s and 330 MB of Python memory in process). Weighed in PostgreSQL before they are read (a text's
    octet_length is read from its header, not decompressed), and only when a page of top_k could be that large."""
    if not _answer_may_be_too_large(top_k):
        return
    page_refuse_beyond(
        page,
        OctetLength("text") + json_bytes("metadata"),
        noun="memories",
        ask="ask for fewer at a time (top_k, page_size or limit) and page through them",
    )


def _bounds_each(bounds: dict) -> list[dict]:
    """The conditions of a search's scope (filters.scope_part) that each bound it alone: every scope id, and
    every OR of them, at the top level or in AND lists; each once (an AND repeating one costs one estimate)."""
    each = [{key: value} for key, value in bounds.items() if key != "AND"]
    for item in bounds.get("AND", []):
        each.extend([item] if "OR" in item else _bounds_each(item))
    return list({json.dumps(bound, sort_keys=True): bound for bound in each}.values())


def _scope_rows_estimate(bounds: dict) -> float:
    """PostgreSQL's estimate of the rows of the search scope: the smallest of its bounds' row counts.

    Scope ids only, each bound alone: metadata filters and the account do not count (an estimate of several
    correlated conditions multiplies their selectivities, and a low estimate would send a large scope to the
    exact path). Planning only, nothing is read: well under a millisecond.
    """
    rows = []
    for bound in _bounds_each(bounds):
        plan = json.loads(Memory.objects.filter(build_filter(bound)).explain(format="json"))
        rows.append(plan[0]["Plan"]["Plan Rows"])
    return min(rows)


# Exact search reads every row of the scope (~2.5 µs each here): always worth it for small scopes. For larger
# ones only when they are a small share of the table, where a filtered HNSW scan would walk past mostly other
# scopes' rows; a 10,000-memory user in a 40,000-memory table took 26 ms exactly and 0.4 ms through HNSW.
EXACT_ALWAYS_ROWS = 1_000
EXACT_MAX_SHARE = 0.1


@dataclass(frozen=True)
class ScopePlan:
    """How to search one caller's scope: exactly or through HNSW, and (HNSW) its memory count for BM25."""

    exact: bool
    # The caller's memories in the scope, counted (_scope_rows); None: counted in the search.
    scope_rows: int | None
    # The scope is an OR of scope ids, which only bitmap scans read through their indexes (search.settings_sql).
    bitmaps: bool = False
    # Small enough to compare the memories of a time the query names one by one (search.WINDOW_CANDIDATES_MAX_ROWS).
    few: bool = False


_plan_cache: dict[tuple, tuple[float, ScopePlan]] = {}


def _scope_plan(*, principal, bounds: dict) -> ScopePlan:
    """Whether to compare every memory of the scope rather than walk the HNSW index (see memories_search).

    PostgreSQL's estimate decides first; it covers every account's memories under the scope's ids. A scope it
    finds too large for exact search is then counted, the caller's own memories only (_scope_rows): another
    account's memories under the same user_id neither send this account's small scope through HNSW nor move
    its keyword scores (BM25's idf takes the count), which told it roughly how many memories others keep.

    Kept per process and caller for settings.SEARCH_PLAN_CACHE_SECONDS per scope: a scope's size moves slowly,
    and the table size, planner estimate and count behind it cost up to three round trips.
    """
    owner = None if principal.is_admin else getattr(principal.account, "pk", None)
    key = (principal.is_admin, owner, json.dumps(bounds, sort_keys=True, default=str))
    now = time.monotonic()
    cached = _plan_cache.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    total, rows, exact = _decide_exact(bounds)
    scope_rows = None
    if not exact:
        scope_rows = _scope_rows(principal=principal, bounds=bounds)
        rows = min(rows, scope_rows)
        exact = _exact_for(float(scope_rows), total)
    plan = ScopePlan(
        exact=exact,
        scope_rows=None if exact else scope_rows,
        bitmaps=any("OR" in bound for bound in _bounds_each(bounds)),
        few=rows <= search.WINDOW_CANDIDATES_MAX_ROWS,
    )
    if settings.SEARCH_PLAN_CACHE_SECONDS > 0:
        _keep(_plan_cache, key, (now + settings.SEARCH_PLAN_CACHE_SECONDS, plan))
    return plan


def search_plan_cache_clear() -> None:
    """Forget every cached exact-or-HNSW decision (tests that grow a scope past the threshold)."""
    _plan_cache.clear()


# A large scope's count stops at this many: it is read from the scope's index (which holds the account,
# models.Memory), 5 ms for 10,000 memories and 17 ms for 100,000 here, and idf moves little past it
# (ln(N / df) grows by ln 2 when N doubles, for every word alike).
SCOPE_ROWS_COUNTED_MAX = 100_000


def _scope_rows(*, principal, bounds: dict) -> int:
    """The caller's memories in the scope (every account's for an admin), up to SCOPE_ROWS_COUNTED_MAX."""
    visible = memories_visible(principal=principal).filter(build_filter(bounds)).order_by()
    return max(visible[:SCOPE_ROWS_COUNTED_MAX].count(), 1)


def _decide_exact(bounds: dict) -> tuple[float, float, bool]:
    """The table's size, the scope's size by PostgreSQL's estimate, and whether that is small enough to search
    exactly."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Memory._meta.db_table])
        total = cursor.fetchone()[0]
    if total < 0:
        # Never analyzed (a new database, until autovacuum's first ANALYZE): the planner's estimate is a default
        # guess (half a percent of the table), which sent a freshly loaded large scope down the exact path,
        # counted in full by every search. Count the scope instead, as far as the decisions need (ScopePlan.few too:
        # counted only to SEARCH_EXACT_MAX_ROWS = 500, a scope of any size read as small enough to compare one by one).
        enough = max(settings.SEARCH_EXACT_MAX_ROWS, EXACT_ALWAYS_ROWS, search.WINDOW_CANDIDATES_MAX_ROWS)
        rows = float(_scope_rows_counted(bounds, limit=enough + 1))
    else:
        rows = _scope_rows_estimate(bounds)
    return total, rows, _exact_for(rows, total)


def _exact_for(rows: float, total: float) -> bool:
    """Whether a scope of `rows` memories in a table of `total` (negative: never analyzed) is searched exactly."""
    if rows > settings.SEARCH_EXACT_MAX_ROWS:
        return False
    return rows <= EXACT_ALWAYS_ROWS or (total >= 0 and rows <= total * EXACT_MAX_SHARE)


def _scope_rows_counted(bounds: dict, *, limit: int) -> int:
    """The smallest of the scope's bounds' row counts, each counted up to `limit` (through the btree indexes)."""
    return min(Memory.objects.filter(build_filter(bound)).order_by()[:limit].count() for bound in _bounds_each(bounds))


def memories_search(
    *,
    principal,
    query: str,
    filters: dict,
    top_k: int = 20,
    threshold: float = 0.1,
    show_expired: bool = False,
    reference_date: datetime | None = None,
    with_tokens: bool = False,
) -> list[Memory]:
    """Hybrid search inside one scope: BM25 and vector candidates, fused; best first, at most top_k.

    Candidates come from vector similarity (the CANDIDATE_DEPTH nearest by meaning, or top_k when it is more) and
    from BM25 over the full-text index (as many memories sharing the query's rarest keywords), both inside the
    caller's scope and filters, fused, filtered by `threshold` and cut to top_k in PostgreSQL (memories/search.py;
    the keyword side runs while another thread embeds the query). Each memory carries `score` and `score_details`.

    `score` (0..1) is settings.SEARCH_FUSION: "score" (default) is (1 - w) x cosine similarity + w x the BM25
    score divided by the best BM25 this query could reach (each of its terms present, saturated), w =
    settings.SEARCH_KEYWORD_WEIGHT; `threshold` then drops memories that are neither close by meaning nor
    share the query's distinctive words. "rrf" is reciprocal-rank fusion scaled so that first on both lists
    is 1; `threshold` is then relative to the other candidates, not absolute.

    A query that names a time ("last week", "in March 2025"; memories/temporal.py), read relative to
    `reference_date` (default: now), ranks memories of that time higher: score = (1 - t) x the fused score + t
    for a memory whose time (the time its text names, Memory.date_event; else its timestamp, else when it was
    stored) is inside, (1 - t) x the fused score for one outside, t = settings.SEARCH_TEMPORAL_WEIGHT. In a scope
    of at most search.WINDOW_CANDIDATES_MAX_ROWS memories, that time's nearest memories are candidates too.

    Late interaction (memories/late_interaction.py; SEARCH_LATE_INTERACTION, with the local embedder on ONNX Runtime):
    the best max(top_k, SEARCH_LATE_INTERACTION_CANDIDATES) of them are scored again by their words' token
    vectors, score = (fused + late interaction) / 2, and those whose score is still at least `threshold` are
    ranked by it, each then scoring a little more per better result of its conversation (memories/coherence.py,
    SEARCH_SESSION_BONUS). `with_tokens` (for the late-interaction reranker): each memory carries its stored token
    vectors (`tokens`), and its late-interaction score in score_details when the query's embedding has token vectors.

    A small scope (PostgreSQL's estimate: at most EXACT_ALWAYS_ROWS memories, or at most
    settings.SEARCH_EXACT_MAX_ROWS and under EXACT_MAX_SHARE of the table) is searched exactly: its rows are read
    through the scope's btree index and every one is compared. Other scopes use the HNSW index with iterative
    scans. bench/scale.py measured why: at 1M memories, a 1,000-memory user took ~5 ms
    exactly and 80-130 ms through HNSW, which walks past the other users' rows and stops (at its scan memory
    limit) with most true neighbours missed; PostgreSQL itself chose HNSW from ~5,000 rows on.
    """
    # Scope ids at the top level of the filters or inside an AND list (Mem0's SDKs send {"AND": [{...}]}), as
    # `in` lists, or in every branch of an OR: a search is sized by its scope (see filters.scope_part).
    bounds = scope_part(filters)
    if not bounds:
        raise InvalidInput(f"Search needs a scope: {SEARCH_SCOPE_HELP}")
    if top_k == 0:
        return []
    # The query is embedded on another thread while PostgreSQL plans the scope and ranks by keywords.
    embedding = embed_query(query)
    try:
        scope = _search_scope(principal=principal, filters=filters, show_expired=show_expired)
    except EmptyResultSet:
        return []  # filters no memory can match, such as {"key": {"in": []}}: Django compiles them to no SQL
    plan = _scope_plan(principal=principal, bounds=bounds)
    window = named_window(query, reference_date or timezone.now()) if settings.SEARCH_TEMPORAL_WEIGHT > 0 else None
    rescore = late_interaction.enabled()
    found = search.ranked(
        scope=scope,
        query=query,
        query_vector=lambda: embedding.result()[0].vector,
        exact=plan.exact,
        scope_rows=plan.scope_rows,
        bitmaps=plan.bitmaps,
        method=settings.SEARCH_FUSION,
        weight=settings.SEARCH_KEYWORD_WEIGHT,
        threshold=threshold,
        limit=max(top_k, settings.SEARCH_LATE_INTERACTION_CANDIDATES) if rescore else top_k,
        window=window,
        window_candidates=plan.few,
        temporal_weight=settings.SEARCH_TEMPORAL_WEIGHT,
        tokens=rescore or with_tokens,
        # As many candidates as top_k asks for: else a top_k of 150 answered 100 when no keyword matched.
        depth=max(search.CANDIDATE_DEPTH, top_k),
    )
    if rescore:
        found = late_interaction.rescored(embedding.result()[0], found, threshold=threshold, embedder=local_embedder())
        found = coherence.boosted(found, bonus=settings.SEARCH_SESSION_BONUS)
    elif with_tokens:
        late_interaction.annotate(embedding.result()[0], found, embedder=local_embedder())
    return found[:top_k]


# Most results a reranker reorders, whatever top_k (up to 1000) asks for: a cross-encoder on the CPU took the worker
# 54 s for top_k 1000 (bench/heavy_rerank.py). Those after them follow in fused order.
RERANK_MAX_CANDIDATES = search.CANDIDATE_DEPTH


@dataclass
class SearchOutcome:
    results: list[Memory]
    rerank: RerankOutcome | None


def memories_search_reranked(*, rerank: bool | None, query: str, top_k: int = 20, **search_args) -> SearchOutcome:
    """memories_search, then (rerank=true, or None and settings.SEARCH_RERANK_DEFAULT) the reranker.

    The reranker sees the best max(top_k, SEARCH_RERANK_CANDIDATES) memories that pass `threshold`, at most
    max(RERANK_MAX_CANDIDATES, SEARCH_RERANK_CANDIDATES) of them, and reorders them (any others follow in fused
    order); `score` stays the fused score. `rerank` in the outcome says whether it ran and, if not, why.
    """
    if rerank is None:
        rerank = settings.SEARCH_RERANK_DEFAULT
    if not rerank or top_k == 0:
        return SearchOutcome(_results_size_check(memories_search(query=query, top_k=top_k, **search_args)), None)
    pool = memories_search(
        query=query,
        top_k=max(top_k, settings.SEARCH_RERANK_CANDIDATES),
        with_tokens=settings.SEARCH_RERANKER == "late-interaction",
        **search_args,
    )
    bound = max(RERANK_MAX_CANDIDATES, settings.SEARCH_RERANK_CANDIDATES)
    ranked, outcome = rerank_memories(query=query, memories=pool[:bound])
    return SearchOutcome(_results_size_check([*ranked, *pool[bound:]][:top_k]), outcome)


def _results_size_check(results: list[Memory]) -> list[Memory]:
    """The results, unless they hold more bytes of text and metadata than one answer carries (LIST_MAX_BYTES, as a
    list's page: _answer_size_check), which is an InvalidInput. They are read already (at most the search's
    candidates), but not yet turned into the answer, which takes as much memory again and more."""
    if _answer_may_be_too_large(len(results)):
        size = sum(
            len(m.text.encode())
            + (len(json.dumps(m.metadata, ensure_ascii=False).encode()) if m.metadata is not None else 0)
            for m in results
        )
        ask = "ask for fewer (top_k or limit), or raise threshold"
        answer_refuse_beyond(size, f"These {len(results)} results", ask)
    return results


def _history_visible(principal) -> QuerySet[MemoryHistory]:
    """The history the caller may read: its account's (of its deleted memories too); an admin's, all."""
    rows = MemoryHistory.objects.all()
    return rows if principal.is_admin else rows.filter(account=principal.account)


def _history(principal, memory_id: uuid.UUID) -> QuerySet[MemoryHistory]:
    return _history_visible(principal).filter(memory_id=memory_id)


# What an event of a history answer holds beside its two texts (its ids, event, dates, flags, as JSON), in characters:
# 254 for an UPDATE without actor or role. Counted toward HISTORY_MAX_CHARS, so that a history of many short events
# is bounded too (100,000 of them made an answer of 26 MB, 4 s and 186 MB of Python memory to build).
HISTORY_EVENT_CHARS = 256


# The scope ids Mem0's history events carry (its run id as session_id), as _scoped() sets them.
HISTORY_SCOPE_FIELDS = {"user_id": "user_id", "agent_id": "agent_id", "app_id": "app_id", "session_id": "run_id"}


def memory_history(
    *, principal, memory_id: uuid.UUID, page: int | None = None, page_size: int = 50, scoped: bool = False
) -> tuple[list[MemoryHistory], int | None]:
    """Every event of a memory, oldest first, or with `page` that page of `page_size` of them, and the number of the
    next page when there are more events; NotFound if the caller never could see that id. Unpaged, a history whose
    texts, with HISTORY_EVENT_CHARS for each event, hold more than HISTORY_MAX_CHARS characters is an InvalidInput
    saying to page: one answer would be built whole in the worker's memory. `scoped`: each event also carries the
    memory's scope ids (HISTORY_SCOPE_FIELDS; None once the memory is deleted: history rows do not keep them) and
    `input`, the messages that led to it, which are not kept ([])."""
    rows = _history(principal, memory_id).order_by("created_at", "id")
    scope = _memory_scope(memory_id) if scoped else {}
    if page is not None:
        found = list(rows[(page - 1) * page_size : page * page_size + 1])  # one more: is there a next page?
        if not found and not rows.exists():
            raise NotFound(f"Memory {memory_id} not found.")
        return _scoped(found[:page_size], scope), page + 1 if len(found) > page_size else None
    size = rows.aggregate(
        events=Count("id"), chars=Sum(Coalesce(Length("old_memory"), 0) + Coalesce(Length("new_memory"), 0))
    )
    if not size["events"]:
        raise NotFound(f"Memory {memory_id} not found.")
    per_event = HISTORY_EVENT_CHARS + sum(len(value or "") for value in scope.values())
    if size["chars"] + size["events"] * per_event > settings.HISTORY_MAX_CHARS:
        raise InvalidInput(
            f"This memory's history holds {size['chars']} characters of texts in {size['events']} events (each "
            f"counting {per_event} more for its other fields), more than one answer carries "
            f"(HISTORY_MAX_CHARS, {settings.HISTORY_MAX_CHARS}): read it a page at a time, oldest "
            "first, with ?page=1&page_size=50, then page=2 and on until a page is empty (or follow each page's "
            'Link rel="next").'
        )
    return _scoped(list(rows), scope), None


def _memory_scope(memory_id: uuid.UUID) -> dict[str, str | None]:
    """The memory's scope ids under their history names; all None once it is deleted. (A memory's scope never
    changes, so its history's events share it.)"""
    columns = list(HISTORY_SCOPE_FIELDS.values())
    found = Memory.objects.filter(id=memory_id).values_list(*columns).first() or (None,) * len(columns)
    return dict(zip(HISTORY_SCOPE_FIELDS, found, strict=True))


def _scoped(rows: list[MemoryHistory], scope: dict[str, str | None]) -> list[MemoryHistory]:
    if scope:
        for row in rows:
            row.input = []
            for name, value in scope.items():
                setattr(row, name, value)
    return rows


def history_newest_page(*, principal, page: int, page_size: int) -> tuple[list[MemoryHistory], int]:
    """A page of every memory's history the caller may read (its account's; an admin's: all), newest first, and
    how many events that is in all."""
    rows = _history_visible(principal)
    start = (page - 1) * page_size
    count = rows.count()
    # Past the last page, nothing to read (its OFFSET read every event to find none).
    return (list(page_of(rows.order_by("-created_at", "-id"), start, page_size)) if start < count else []), count


# A timeline (the dashboard's, the admin's) shows a memory's newest events, at most this many: each keeps up to two
# 100,000-character texts.
HISTORY_SHOWN = 50


def memory_history_newest(*, principal, memory_id: uuid.UUID, limit: int) -> tuple[list[MemoryHistory], int]:
    """A memory's `limit` newest events, newest first, and how many it has (the dashboard's and admin's timeline)."""
    rows = _history(principal, memory_id)
    return list(rows.order_by("-created_at", "-id")[:limit]), rows.count()


def memories_matching(*, principal, filters: dict | None, show_expired: bool = False) -> QuerySet[Memory]:
    """The caller's memories that pass Mem0-style `filters` (scope ids, metadata, AND/OR/NOT), newest first."""
    qs = _visible(principal=principal, scope={}, filters=filters, show_expired=show_expired)
    return qs.order_by("-created_at", "-id")


def scope_id_counts(*, principal, fields: list[str]) -> dict[str, tuple[int, int]]:
    """For each scope field: how many distinct ids the caller's memories carry in it and how many memories carry one;
    and under "" how many memories there are. One statement.

    Each field is counted from its memory_<type>_entity index alone, the ids in byte order (one pass, no sort): the
    same distinct ids as the database's collation, which, being deterministic, calls only equal bytes equal. (Counted
    from the table, one pass with a sort per field took 125-150 ms at 45,000 memories; 50-57 ms so.)"""
    rows = memories_visible(principal=principal)
    total_sql, params = rows.annotate(one=Value(1)).values("one").query.sql_with_params()
    columns = [f"(SELECT COUNT(*) FROM ({total_sql}) AS t)"]  # noqa: S608  (SQL Django wrote, values are parameters)
    params = list(params)
    parts = []
    for n, field in enumerate(fields):
        groups = (
            rows.filter(**{f"{field}__isnull": False})
            .annotate(key=Collate(field, "C"))
            .values("key")
            .annotate(n=Count("*"))
            .values("n")
        )
        group_sql, group_params = groups.query.sql_with_params()
        counted = f"SELECT COUNT(*) AS ids, COALESCE(SUM(g.n), 0) AS carrying FROM ({group_sql}) AS g"  # noqa: S608
        parts.append(f"({counted}) AS s{n}")
        params += group_params
        columns += [f"s{n}.ids", f"s{n}.carrying"]
    sql = f"SELECT {', '.join(columns)}" + (f" FROM {', '.join(parts)}" if parts else "")  # noqa: S608  (as above)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        total, *counts = (int(value) for value in cursor.fetchone())
    return {"": (total, total), **{field: (counts[2 * n], counts[2 * n + 1]) for n, field in enumerate(fields)}}


def memories_stats(*, principal) -> dict[str, int]:
    """Counts over the caller's memories (expired ones included) and their history, in two queries.

    `total_<type>s_with_memories`: distinct ids of that scope; `memories_with_<type>_id`: memories carrying one. Both
    queries read one moment (as many memories as ADD events less DELETE events, while others write).
    """
    history = MemoryHistory.objects.all()
    if not principal.is_admin:
        history = history.filter(account=principal.account)
    with one_moment():
        counts = scope_id_counts(principal=principal, fields=list(SCOPE_FIELDS))
        events = history.aggregate(
            **{
                f"total_{event.lower()}_events": Count("id", filter=Q(event=event))
                for event in MemoryHistory.Event.values
            }
        )
    stats = {"total_memories": counts[""][0]}
    for field in SCOPE_FIELDS:
        stats[f"total_{field.removesuffix('_id')}s_with_memories"], stats[f"memories_with_{field}"] = counts[field]
    return {**stats, **events}


def memories_count(*, principal, scope: dict[str, str]) -> int:
    """How many memories the caller sees in a scope (all of them when the scope is empty)."""
    return memories_visible(principal=principal).filter(**scope).count()
