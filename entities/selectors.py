"""Reads: the users, agents, apps and runs that own memories, aggregated in PostgreSQL in one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Count, Max, Min, QuerySet
from django.db.models.functions import Collate

from mem0server.exceptions import InvalidInput, NotFound
from mem0server.paging import cursor_decode, cursor_encode
from mem0server.rows import one_moment
from mem0server.text import unstorable_text
from memories.models import Memory
from memories.selectors import memories_visible, scope_id_counts

# Entity type -> the memory column holding its id. Types sort alphabetically in listings.
ENTITY_FIELDS = {"agent": "agent_id", "app": "app_id", "run": "run_id", "user": "user_id"}
# Mem0's REST paths use the plural ("/entities/users/alice"); both spellings are accepted.
_TYPE_ALIASES = {**{t: t for t in ENTITY_FIELDS}, **{f"{t}s": t for t in ENTITY_FIELDS}}
MAX_ENTITIES_LIMIT = 10_000


def parse_entity_type(raw: str) -> str:
    """'user' for 'user' or 'users' (likewise agent, app, run), or a 400 naming the allowed types."""
    entity_type = _TYPE_ALIASES.get(str(raw).strip().lower())
    if entity_type is None:
        raise InvalidInput(
            f"Unknown entity type {str(raw)[:64]!r}; use one of user, agent, app, run (or users, agents, apps, runs)."
        )
    return entity_type


def parse_entity_id(raw: str) -> str:
    """The id from a path; 400 for what PostgreSQL text cannot hold (a NUL), which no memory has."""
    if problem := unstorable_text(raw):
        raise InvalidInput(f"Entity id must not contain {problem}.")
    return raw


def _entity_base_queryset(principal) -> QuerySet[Memory]:
    """Every memory that entities are computed from: the caller's visible memories (tenancy)."""
    return memories_visible(principal=principal)


@dataclass(frozen=True)
class Entity:
    type: str
    id: str
    total_memories: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class EntityPage:
    results: list[Entity]
    next_cursor: str | None


def _encode_cursor(entity: Entity) -> str:
    return cursor_encode([entity.type, entity.id])


class InvalidCursor(InvalidInput):
    """A cursor that no page of ours gave. The message names the REST header; MCP words its own."""


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        entity_type, entity_id = cursor_decode(cursor)
        # The id is compared in SQL: one PostgreSQL cannot hold (JSON may spell a NUL or a lone surrogate) is no
        # id of ours, and was a 500 when the driver could not encode it.
        if entity_type not in ENTITY_FIELDS or not isinstance(entity_id, str) or unstorable_text(entity_id):
            raise ValueError(entity_type)
    except (ValueError, TypeError):
        raise InvalidCursor("cursor is not valid; pass the X-Next-Cursor value of a previous page.") from None
    return entity_type, entity_id


def _first_of_type(principal, entity_type: str, after_id: str | None) -> QuerySet:
    """The caller's entities of one type (after `after_id`) as rows (id, total_memories, created_at, updated_at) in
    byte order, grouped from the memory_<type>_entity indexes, so that a LIMIT reads only its entities' memories."""
    column = ENTITY_FIELDS[entity_type]
    rows = _entity_base_queryset(principal).filter(**{f"{column}__isnull": False}).annotate(key=Collate(column, "C"))
    if after_id is not None:
        rows = rows.filter(key__gt=after_id)
    return (
        rows.values("key")
        .annotate(total=Count("*"), created=Min("created_at"), updated=Max("updated_at"))
        .order_by("key")
    )


def entities_list(
    *, principal, entity_type: str | None = None, limit: int = MAX_ENTITIES_LIMIT, cursor: str | None = None
) -> EntityPage:
    """Distinct user/agent/app/run ids with their memory count, first creation and last update.

    Sorted by type, then id (byte order); one SQL statement, which groups only the page's entities' memories: each
    type takes, in its index's order, what the types before it left of the page (limit + 1 rows in all).
    (It grouped every memory of the caller for each page: 62 ms a page at 30,000 memories, growing with them.)
    """
    types = [entity_type] if entity_type else sorted(ENTITY_FIELDS)
    after = _decode_cursor(cursor) if cursor else None
    if after:
        types = [t for t in types if t >= after[0]]
    if not types or limit < 1:
        return EntityPage(results=[], next_cursor=None)
    # Only fixed type literals and CTE names are interpolated (noqa: S608 below); values are parameters.
    parts, params = [], []
    for n, t in enumerate(types):
        after_id = after[1] if after and t == after[0] else None
        type_sql, type_params = _first_of_type(principal, t, after_id).query.sql_with_params()
        taken = "".join(f" - (SELECT COUNT(*) FROM e{i})" for i in range(n))  # noqa: S608
        limited = f"{type_sql} LIMIT GREATEST(%s{taken}, 0)"
        parts.append(f"e{n} AS (SELECT '{t}' AS type, g.* FROM ({limited}) AS g)")  # noqa: S608
        params += [*type_params, limit + 1]
    union = " UNION ALL ".join(f"SELECT * FROM e{n}" for n in range(len(types)))  # noqa: S608
    sql = f"WITH {', '.join(parts)} {union} ORDER BY 1, 2"
    with connection.cursor() as db:
        db.execute(sql, params)
        rows = [Entity(*row) for row in db.fetchall()]
    has_more = len(rows) > limit
    rows = rows[:limit]
    return EntityPage(results=rows, next_cursor=_encode_cursor(rows[-1]) if has_more else None)


@dataclass(frozen=True)
class EntityListing:
    results: list[Entity]
    # How many entities of each type the caller's memories have, on every page.
    totals: dict[str, int]

    @property
    def count(self) -> int:
        return sum(self.totals.values())


def entities_page(*, principal, page: int, page_size: int | None) -> EntityListing:
    """One page of all the caller's entities, sorted as entities_list (page_size None: every entity, on page 1), and
    how many there are of each type; in two statements, the counts then the page.

    The counts come from the memory_<type>_entity indexes alone (memories.selectors.scope_id_counts); the page takes,
    from each type its rows fall in, only those rows, in that type's index order. (One statement grouped every memory
    with GROUPING SETS, sorted the groups and counted them over a window: 256-278 ms at 45,000 memories.) Both read one
    moment: the page lists what the counts count while others write."""
    with one_moment():
        return _entities_page(principal=principal, page=page, page_size=page_size)


def _entities_page(*, principal, page: int, page_size: int | None) -> EntityListing:
    types = sorted(ENTITY_FIELDS)
    counts = scope_id_counts(principal=principal, fields=[ENTITY_FIELDS[t] for t in types])
    totals = {t: counts[ENTITY_FIELDS[t]][0] for t in types}
    if page_size is None:
        start, stop = 0, (sum(totals.values()) if page == 1 else 0)
    else:
        start, stop = (page - 1) * page_size, page * page_size
    parts, params, before = [], [], 0
    for t in types:
        low, high = max(start - before, 0), min(stop - before, totals[t])
        if low < high:
            type_sql, type_params = _first_of_type(principal, t, None).query.sql_with_params()
            # Only fixed type literals are interpolated; values are parameters.
            parts.append(f"(SELECT '{t}' AS type, g.* FROM ({type_sql} LIMIT %s OFFSET %s) AS g)")  # noqa: S608
            params += [*type_params, high - low, low]
        before += totals[t]
    rows: list[tuple] = []
    if parts:
        with connection.cursor() as db:
            db.execute(" UNION ALL ".join(parts) + " ORDER BY 1, 2", params)
            rows = db.fetchall()
    return EntityListing(results=[Entity(*row) for row in rows], totals=totals)


def entity_get(*, principal, entity_type: str, entity_id: str) -> Entity:
    """One user/agent/app/run id of the caller's memories with its count and dates; NotFound when it has none."""
    found = (
        _entity_base_queryset(principal)
        .filter(**{ENTITY_FIELDS[entity_type]: entity_id})
        .aggregate(total=Count("id"), created=Min("created_at"), updated=Max("updated_at"))
    )
    if not found["total"]:
        raise NotFound(f"No memories for {entity_type} {entity_id[:255]!r}.")
    return Entity(entity_type, entity_id, found["total"], found["created"], found["updated"])
