"""Hybrid search: BM25 over the scope's full-text index and vector neighbours, fused in PostgreSQL.

Why BM25 and not PostgreSQL's ts_rank: ts_rank has no inverse document frequency, so a speaker's name that
starts half the memories of a scope counts as much as the one rare word (a place, an object) that decides
the question. Here every statistic is taken inside the caller's scope and filters, in the same statement
that finds the candidates:
- a term's document frequency df is the number of the scope's memories that contain it (an inverted index,
  memories_posting, or the GIN index on search_vector finds them), N the number of memories of the scope,
  and idf = ln(1 + (N - df + 0.5) / (df + 0.5)): a term in most of the scope weighs almost nothing;
- term frequencies come from the stored tsvector's positions;
- there is no length normalisation (BM25's b = 0): a memory is one unit, and a long one that holds the
  decisive word is as likely to answer as a short one. Normalising by length (b = 0.75, the usual value)
  favoured short generic turns (a reaction, a question back) over the long turn that holds the answer.
  With b = 0, R@10 went from 0.893 to 0.932 on bench/data and from 0.560 to 0.579 on REALTALK, a public
  dataset of real chats (bench/data/realtalk.py). Lowering b in steps (0.5, 0.4, 0.3, 0.2, 0.1) never made
  bench/data worse; REALTALK rose to 0.574 at 0.3, held 0.573 at 0.2 and 0.1, then 0.579. k1 (0.5 to 2) made
  no difference at b = 0: most words occur once in a memory.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from types import MappingProxyType

from django.conf import settings
from django.db import connection, connections
from django.db.models import QuerySet, signals
from django.db.models.base import ModelState

from mem0server.db import prepared
from memories.models import MAX_LEXEME_BYTES, TEXT_SEARCH_CONFIG, Memory, MemorySentence, MemoryTokens, Posting
from memories.temporal import TimeWindow

# BM25's term-frequency saturation (its usual value); no length normalisation, see above.
BM25_K1 = 1.2
# Longer queries are ranked on their first lexemes only; the vector part still sees the whole query.
MAX_KEYWORDS = 32
# Each candidate list (by meaning, by keywords) is this deep before fusion, so an answer that one side ranks
# low is not cut before the other side can lift it.
CANDIDATE_DEPTH = 100
# A search of one scope id runs its statements prepared, on one plan for any id (Scope.prepared): an exact search's
# plan is fixed by its settings; one through HNSW is pinned to walking the index from this many memories on, as
# PostgreSQL's own plans did from about 5,000 (bench/scale.py). Under it PostgreSQL plans each search, and may find
# reading the scope cheaper than the walk (a scope of a few thousand that is a tenth of the table or more).
PREPARED_HNSW_MIN_ROWS = 5_000
# A query that names a time also takes that time's nearest memories as candidates in scopes of at most this many
# memories (PostgreSQL's estimate; _fusion_sql): they are compared one by one, about 1.5 ms per 1,000.
WINDOW_CANDIDATES_MAX_ROWS = 2_000
# Reciprocal-rank fusion's damping constant (Cormack et al. 2009).
RRF_K = 60

# Fields a search result carries, in the model's order (the embedding and the tsvector stay in PostgreSQL).
LOADED_FIELDS = [f for f in Memory._meta.concrete_fields if f.column not in ("embedding", "search_vector")]
# What the fusion statement adds to each row, in its order: the attributes ranked() reads.
_PARTS = ("similarity", "bm25", "keyword", "weight", "vector_rank", "keyword_rank", "temporal", "score")


@dataclasses.dataclass(frozen=True)
class Scope:
    """A search scope as SQL: its memories and, when its filters allow (selectors.postings_matching), its postings.

    Compiled once from querysets (compiled_scope), then only read: selectors keep one per caller and scope.
    """

    sql: str
    params: Mapping
    postings_sql: str | None = None
    postings_params: Mapping = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    # Its statements run prepared, on one plan for any values (mem0server/db/prepared.py): a scope of one scope id,
    # whose best plan does not depend on its value. Others' do: which of two ids' indexes to read, or whether to
    # read a metadata index, depends on how common each value is.
    prepared: bool = False


def compiled_scope(memories: QuerySet[Memory], postings: QuerySet[Posting] | None, *, prepared: bool = False) -> Scope:
    """The SQL of a scope's memories and postings, with named placeholders for the search statements."""
    columns = ("id", "hash", "search_vector", "embedding", "occurred_at", "created_at", "event_start", "event_end")
    sql, params = _named(memories.values(*columns), "s")
    if postings is None:
        return Scope(sql, MappingProxyType(params), prepared=prepared)
    postings_sql, postings_params = _named(postings.values("memory_id", "lexeme", "tf"), "p")
    return Scope(sql, MappingProxyType(params), postings_sql, MappingProxyType(postings_params), prepared=prepared)


def _keyword_sql(scope_sql: str, postings_sql: str | None, scope_rows: float | None, depth: int) -> str:
    """BM25's best `depth` memories of the scope (ids and scores, best first), and the query's max_score.

    With `postings_sql` (the scope's postings, see models.Posting) the term frequencies come from the inverted
    index: one index-only scan per query word. Without (filters on metadata or times, which postings do not
    hold) they come from the memories that the GIN index finds, whose tsvectors are unnested row by row. On
    a 10,000-memory scope that costs 3.2x the time when a sixth of the scope holds a query word (10.7 vs
    3.3 ms, 1,675 memories) and 2.9x over the 16 bench queries (77 vs 26 ms); the rankings are the same.
    """
    # The scope is inlined (NOT MATERIALIZED): without postings the keyword side walks the GIN index on
    # search_vector, with them it is read only to count a small scope (scope_rows None). Only placeholders, constants
    # and Django's own compiled queries are formatted in; every value travels as a parameter.
    if scope_rows is None:
        stats_sql = "SELECT count(*)::float8 AS n FROM scope s"
    else:
        stats_sql = "SELECT %(scope_rows)s::float8 AS n"
    # The query's first MAX_KEYWORDS lexemes (in the tsvector's sorted order), and the same lexemes OR-ed into a
    # tsquery. Both are expressions of the parameters, not CTEs, so the planner evaluates them while planning:
    # it then estimates from the column's statistics how many memories match, and intersects the GIN bitmap
    # with the scope's btree when other scopes' memories share the words (a fifth less time over the bench
    # queries on a table of three 10,000-memory users; a CTE's tsquery left it a default guess). The tsvector's
    # text form quotes and escapes each lexeme, so joining its entries with ' | ' makes a valid tsquery.
    lexemes = f"(tsvector_to_array(to_tsvector(%(config)s::regconfig, %(query)s)))[1:{MAX_KEYWORDS}]"
    matches = f"NULLIF(replace(array_to_tsvector({lexemes})::text, ''' ''', ''' | '''), '')::tsquery"
    if postings_sql is not None:
        tf_sql = f"""
    SELECT p.memory_id AS id, p.lexeme, p.tf FROM ({postings_sql}) p WHERE p.lexeme = ANY({lexemes})"""  # noqa: S608
    else:
        tf_sql = f"""
    -- Only the query's own lexemes of each matching memory are unnested: setweight marks them (stored
    -- vectors carry no weights) and ts_filter keeps them, with their positions (term frequency). unnest in the
    -- select list (a ProjectSet node) costs less per memory than a LATERAL function scan (7.5 vs 8.1 ms, 1,600 rows).
    SELECT id, (u).lexeme, coalesce(array_length((u).positions, 1), 1) AS tf FROM (
        SELECT s.id, unnest(ts_filter(setweight(s.search_vector, 'A', {lexemes}), '{{a}}')) AS u
        FROM scope s
        WHERE s.search_vector @@ {matches}
    ) matching
    -- As the postings: a lexeme too long to index counts for nothing (models.MAX_LEXEME_BYTES).
    WHERE octet_length((u).lexeme) <= {MAX_LEXEME_BYTES}"""  # noqa: S608
    return f"""
WITH scope AS NOT MATERIALIZED (
    {scope_sql}
), tf AS MATERIALIZED ({tf_sql}
), stats AS MATERIALIZED (
    {stats_sql}
), df AS MATERIALIZED (
    SELECT lexeme, count(*) AS df, ln(1 + ((SELECT n FROM stats) - count(*) + 0.5) / (count(*) + 0.5)) AS idf
    FROM tf GROUP BY lexeme
), bm25 AS (
    -- float8 constants: a bare 1.2 is numeric, and numeric arithmetic on every row costs more.
    SELECT tf.id, sum(df.idf * tf.tf * {BM25_K1 + 1}::float8 / (tf.tf + {BM25_K1}::float8)) AS score
    FROM tf JOIN df USING (lexeme) GROUP BY tf.id ORDER BY score DESC, tf.id LIMIT {int(depth)}
)
-- max_score: what a memory holding every term of the query once scores.
-- The lists travel as text: they go back into the next statement as they are, never read in Python.
SELECT (SELECT coalesce(sum(idf), 0) FROM df) AS max_score,
       coalesce((SELECT array_agg(id ORDER BY score DESC, id) FROM bm25), '{{}}')::text AS ids,
       coalesce((SELECT array_agg(score ORDER BY score DESC, id) FROM bm25), '{{}}')::text AS scores
"""  # noqa: S608  (constants and Django's compiled scope query only)


def _fusion_sql(
    scope_sql: str,
    exact: bool,
    method: str,
    timed: bool = False,
    window_candidates: bool = False,
    tokens: bool = False,
    depth: int = CANDIDATE_DEPTH,
) -> str:
    """The vector side's `depth` candidates and the keyword side's (parameters), fused, ranked and cut to the limit.

    `timed` (the query names a time, memories/temporal.py): `score` becomes (1 - t) x the fused score + t x (1
    inside the window %(window_start)s..%(window_end)s, else 0), t = %(temporal_weight)s; when no candidate is
    inside, scores are as without a window. `window_candidates`: the CANDIDATE_DEPTH nearest memories of the window
    are candidates too, compared one by one (the HNSW index walked 60 ms through a 10,000-memory scope for the
    few of a year that its texts named; reading such a scope whole took 15 ms), so only in scopes of at most
    WINDOW_CANDIDATES_MAX_ROWS memories. `tokens`: each row also carries the memory's stored token vectors
    (MemoryTokens, late interaction) when they are of its present text, else NULL. A memory is inside
    when the time its text names (event_start..event_end, Memory.date_event) overlaps the window, or, when its
    text names none, when its time (timestamp, else when stored) is inside."""
    # Exact: the same distance (adding 0.0 changes no value), but not the bare `embedding <=> vector` expression
    # that the HNSW index serves.
    distance = "(s.embedding <=> %(vector)s::vector) + 0.0" if exact else "s.embedding <=> %(vector)s::vector"
    columns = ", ".join(f'm."{field.column}"' for field in LOADED_FIELDS)
    if method == "rrf":
        # Reciprocal-rank fusion, scaled so that first on both lists is 1.
        rrf = f"1::float8 / ({RRF_K} + vector_rank) + coalesce(1::float8 / ({RRF_K} + keyword_rank), 0)"
        score = f"({rrf}) / (2::float8 / ({RRF_K} + 1))"
    else:
        score = "(1 - weight) * greatest(similarity, 0) + weight * keyword"
    moment = "coalesce(s.occurred_at, s.created_at)"
    if timed:
        # Each candidate carries its time only when the query names one: otherwise the statement is as before.
        carried = f", {moment} AS moment, s.event_start, s.event_end"
        temporal = f"CASE WHEN {_inside('event_start', 'event_end', 'moment')} THEN 1.0 ELSE 0.0 END"
        score = (
            f"CASE WHEN temporal IS NOT NULL THEN (1 - %(temporal_weight)s::float8) * ({score}) "
            f"+ %(temporal_weight)s::float8 * temporal ELSE {score} END"
        )
    else:
        carried = ""
        temporal = "NULL::float8"
    if timed and window_candidates:
        inside = _inside("s.event_start", "s.event_end", moment)
        window = f"""
), win AS (
    -- The window's own nearest memories: "what happened last week" has few words that find them otherwise.
    SELECT s.id, (s.embedding <=> %(vector)s::vector) + 0.0 AS distance, s.hash{carried} FROM scope s
    WHERE {inside} ORDER BY 2 LIMIT {CANDIDATE_DEPTH}"""  # noqa: S608  (constants only)
        from_window = """
        UNION ALL
        SELECT * FROM win WHERE NOT EXISTS (SELECT FROM vec WHERE vec.id = win.id)"""
        not_in_window = "AND NOT EXISTS (SELECT FROM win WHERE win.id = k.id)"
    else:
        window = from_window = not_in_window = ""
    token_join = f"\nLEFT JOIN {MemoryTokens._meta.db_table} t ON t.memory_id = r.id AND t.hash = m.hash"
    return f"""
WITH scope AS NOT MATERIALIZED (
    {scope_sql}
), bm25 AS (
    SELECT b.id, b.score FROM unnest(%(keyword_ids)s::uuid[], %(keyword_scores)s::float8[]) AS b(id, score)
), vec AS (
    -- Each neighbour leaves with its distance (the index scan's own order), so only the keyword side's other
    -- candidates are read again to compare their vectors.
    SELECT s.id, {distance} AS distance, s.hash{carried} FROM scope s ORDER BY 2 LIMIT {int(depth)}{window}
), found AS (
    -- A long memory is as similar as its closest sentence when that is closer than its whole text
    -- (memories/sentences.py); greatest() passes over the NULL of a memory without sentences.
    SELECT c.id, greatest(1 - c.distance, sentence.similarity) AS similarity, coalesce(b.score, 0) AS bm25,
           {temporal} AS temporal
    FROM (
        SELECT * FROM vec{from_window}
        UNION ALL
        -- Read through the scope again, not the table: the keyword statement ran before this one, and a memory
        -- it found may have left the scope since (its metadata or expiration changed), or been deleted.
        SELECT k.id, s.embedding <=> %(vector)s::vector, s.hash{carried}
        FROM bm25 k JOIN scope s ON s.id = k.id
        WHERE NOT EXISTS (SELECT FROM vec WHERE vec.id = k.id) {not_in_window}
    ) c
    LEFT JOIN bm25 b ON b.id = c.id
    -- Only sentences cut from the memory's present text (their hash is its own).
    LEFT JOIN LATERAL (
        SELECT max(1 - (e.embedding <=> %(vector)s::vector)) AS similarity FROM {MemorySentence._meta.db_table} e
        WHERE e.memory_id = c.id AND e.hash = c.hash
    ) sentence ON true
), ranked AS (
    -- Each list's rank among all candidates (1 = best); a memory without keywords has no keyword rank.
    SELECT id, similarity, bm25,
           -- Inside the query's time or not; NULL for every candidate when none is inside (scores as untimed).
           CASE WHEN bool_or(temporal > 0) OVER () THEN temporal END AS temporal,
           row_number() OVER (ORDER BY similarity DESC, id) AS vector_rank,
           CASE WHEN bm25 > 0 THEN row_number() OVER (ORDER BY bm25 DESC, id) END AS keyword_rank,
           CASE WHEN %(max_score)s::float8 > 0 THEN least(1.0, bm25 / %(max_score)s::float8) ELSE 0.0 END AS keyword,
           -- A query without keywords (only stop words) is ranked by meaning alone, on the same 0..1 scale.
           CASE WHEN bool_or(bm25 > 0) OVER () THEN %(weight)s::float8 ELSE 0.0 END AS weight
    FROM found
), scored AS (
    SELECT *, least(1.0, greatest(0.0, {score})) AS score FROM ranked
), best AS (
    -- Cut to the limit before reading the answered memories' columns (20 rows, not every candidate).
    SELECT * FROM scored WHERE score >= %(threshold)s ORDER BY score DESC, id LIMIT %(limit)s
)
SELECT {columns}, {", ".join(f"r.{part}" for part in _PARTS)}{", t.vectors, t.partial" if tokens else ""}
FROM best r JOIN {Memory._meta.db_table} m ON m.id = r.id{token_join if tokens else ""}
ORDER BY r.score DESC, r.id
"""  # noqa: S608  (constants and Django's compiled scope query only)


def _inside(start: str, end: str, moment: str) -> str:
    """Whether a memory is of the query's window: the time its text names overlaps it, or, naming none, its time
    is in it."""
    window_start, window_end = "%(window_start)s::timestamptz", "%(window_end)s::timestamptz"
    return (
        f"(CASE WHEN {start} IS NOT NULL THEN {start} < {window_end} AND {end} > {window_start} "
        f"ELSE {moment} >= {window_start} AND {moment} < {window_end} END)"
    )


def settings_sql(exact: bool, *, bitmaps: bool = False) -> str:
    """The planner and pgvector settings of one search, as one round trip (constants only)."""
    if exact and bitmaps:
        # A scope that is an OR of scope ids (`bitmaps`) has one index per branch, which only a BitmapOr
        # combines: without bitmap scans its keyword statement read every posting of the query's words in the
        # whole database (131-225 ms against 16-18 ms, 200,000 memories holding the word).
        return "SET LOCAL enable_seqscan = off"
    if exact:
        # Plain index scans only: the scope's btree finds its rows, and metadata or keyword conditions are
        # checked on those rows instead of being intersected with a GIN bitmap of a common value (which costs
        # more than reading the scope: 16 ms for a topic shared by 10% of 1M rows). Nor a sequential scan,
        # which the planner picks for a scope of a few % of a small table: 13 ms vs 3 ms for 3,000 of 40,000.
        return "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off"
    # Filtered HNSW scans keep going until enough rows pass the filter (pgvector >= 0.8).
    return f"SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL hnsw.ef_search = {int(settings.HNSW_EF_SEARCH)}"


def ranked(
    *,
    scope: Scope,
    query: str,
    query_vector: Callable[[], list[float]],
    exact: bool,
    scope_rows: float | None,
    method: str,
    weight: float,
    threshold: float,
    limit: int,
    bitmaps: bool = False,
    window: TimeWindow | None = None,
    window_candidates: bool = False,
    temporal_weight: float = 0.0,
    tokens: bool = False,
    depth: int | None = None,
) -> list[Memory]:
    """The best `limit` memories of the scope scoring at least `threshold`, best first, fused in PostgreSQL.

    Candidates: the `depth` (CANDIDATE_DEPTH unless given) nearest memories by meaning and as many best by BM25.
    Each result carries `score` (0..1, see memories_search for the two fusion methods) and `score_details` (each
    part and each list's rank among the candidates). Ties are broken by id, so the order is stable. `scope_rows` (the
    scope's memory count, for BM25's idf): counted in the statement when None; large scopes pass the
    planner's estimate instead (see selectors.memories_search). With the scope's postings,
    BM25 reads their index; without, the memories' tsvectors.

    Two statements: the keyword side first, which needs no vector, then the vector side and the fusion.
    `window` (the time the query names) with `temporal_weight` > 0 favours memories of that time (_fusion_sql);
    `window_candidates` (a scope of at most WINDOW_CANDIDATES_MAX_ROWS) also takes its nearest as candidates.
    `tokens`: each memory carries `tokens`, its stored token vectors or None, and `tokens_partial` (late interaction).

    `query_vector` is called between them, so an embedding computed meanwhile (another thread, another core)
    costs the search no time of its own while PostgreSQL ranks by keywords. Each statement goes out behind the
    search's settings (settings_sql; `bitmaps`: an exact search keeps bitmap scans) in one query string, which
    PostgreSQL runs as one implicit transaction: the SET LOCALs end with it, and no BEGIN and COMMIT cost a round
    trip each. A scope of one scope id (`scope.prepared`) has both statements planned once per connection, as
    prepared statements on one plan for any id (mem0server/db/prepared.py; PREPARED_HNSW_MIN_ROWS).
    """
    scope_sql, params = scope.sql, dict(scope.params)
    keyword_params = params | dict(scope.postings_params) | {"config": TEXT_SEARCH_CONFIG, "query": query}
    if scope_rows is not None:
        keyword_params["scope_rows"] = float(scope_rows)
    sets = settings_sql(exact, bitmaps=bitmaps)
    depth = depth or CANDIDATE_DEPTH
    # A deeper search (a top_k over CANDIDATE_DEPTH, rare) is planned for its values: a prepared statement for each
    # depth would push the usual searches' statements out of the connection's few (prepared.KEPT).
    prepare = depth == CANDIDATE_DEPTH and scope.prepared and (exact or (scope_rows or 0) >= PREPARED_HNSW_MIN_ROWS)
    if prepare and not exact:
        # One plan serves every scope of this shape, made without knowing how large each is: without sorts the only
        # plan left takes the nearest memories in the HNSW index's order (not a sort of all the scope's distances).
        sets += "; SET LOCAL enable_sort = off"
    with connection.cursor() as cursor:
        keywords = _keyword_sql(scope_sql, scope.postings_sql, scope_rows, depth)
        prepared.execute(cursor, sets, keywords, keyword_params, prepare=prepare)
        max_score, keyword_ids, keyword_scores = cursor.fetchone()
        params |= {"keyword_ids": keyword_ids, "keyword_scores": keyword_scores, "max_score": float(max_score)}
        params |= {"vector": _vector_literal(query_vector())}
        params |= {"weight": float(weight), "threshold": float(threshold), "limit": int(limit)}
        timed = window is not None and temporal_weight > 0
        if timed:
            params |= {"window_start": window.start, "window_end": window.end, "temporal_weight": temporal_weight}
        statement = _fusion_sql(scope_sql, exact, method, timed, timed and window_candidates, tokens, depth)
        prepared.execute(cursor, sets, statement, params, prepare=prepare)
        rows = memories_from_rows(cursor.fetchall(), (*_PARTS, "tokens", "tokens_partial") if tokens else _PARTS)
    for memory in rows:
        memory.score = float(memory.score)
        memory.score_details = {
            "method": method,
            "vector": float(memory.similarity),
            "keyword": float(memory.keyword),
            "keyword_weight": float(memory.weight),
            "bm25": float(memory.bm25),
            "vector_rank": memory.vector_rank,
            "keyword_rank": memory.keyword_rank,
            "temporal": None if memory.temporal is None else float(memory.temporal),
            "temporal_weight": float(temporal_weight) if memory.temporal is not None else 0.0,
        }
    return rows


def memories_from_rows(rows: list[tuple], parts: tuple[str, ...] = ()) -> list[Memory]:
    """Memories from rows of LOADED_FIELDS (the fusion statement's, memory_get's), then `parts` as attributes, as the
    ORM would load them.

    The fields' own conversions (the metadata's JSON) apply through Django's compiler, as in a queryset (raw() took
    half as long again: it maps columns to fields by name for every statement). Each memory is then made as
    Model.from_db makes one, its values set straight into its __dict__ instead of through Model.__init__, which checks
    its arguments and sets each field in turn: 0.20 against 0.75 ms for 40 rows. Model.__init__ also sends pre_init
    and post_init, so while a receiver listens to either for Memory, memories are made by Model.from_db.
    """
    alias = connection.alias  # read once: each read of the connection proxy goes through asgiref's Local
    converters = _converters(alias)
    if converters:
        compiler = connection.ops.compiler("SQLCompiler")(Memory.objects.none().query, connection, alias)
        rows = list(compiler.apply_converters(rows, converters))
    names = [field.attname for field in LOADED_FIELDS]
    if signals.pre_init.has_listeners(Memory) or signals.post_init.has_listeners(Memory):
        count = len(LOADED_FIELDS)
        memories = [Memory.from_db(alias, names, row[:count]) for row in rows]
        for memory, row in zip(memories, rows, strict=True):
            memory.__dict__.update(zip(parts, row[count:], strict=True))
        return memories
    names += parts
    memories = []
    for row in rows:
        memory = Memory.__new__(Memory)
        memory.__dict__.update(zip(names, row, strict=True))
        memory._state = state = ModelState()
        state.adding, state.db = False, alias
        memories.append(memory)
    return memories


@functools.cache
def _converters(alias: str) -> dict:
    """The conversions of LOADED_FIELDS' columns (each field's from_db_value), found once per database: finding them
    took 0.25 ms a search."""
    connection = connections[alias]
    compiler = connection.ops.compiler("SQLCompiler")(Memory.objects.none().query, connection, alias)
    return compiler.get_converters([field.get_col(Memory._meta.db_table) for field in LOADED_FIELDS])


def _named(queryset: QuerySet, prefix: str) -> tuple[str, dict]:
    """A queryset's SQL with named placeholders (prefix0, prefix1, ...) for the outer statements, and its values."""
    sql, values = queryset.query.sql_with_params()
    names = [f"{prefix}{i}" for i in range(len(values))]
    return sql.replace("%%", "%%%%") % tuple(f"%({name})s" for name in names), dict(zip(names, values, strict=True))


def _vector_literal(vector: list[float]) -> str:
    """pgvector's text form of `vector`, as the float32 values it stores (non-finite values as 0).

    Rounded to float32 here as PostgreSQL would round the full decimals, then written with 9 significant
    digits, which name each float32 exactly: the same vector from a third less text, written in a third to
    a half of the time (0.11-0.13 against 0.26-0.43 ms for 384 values).
    """
    import numpy as np

    values = np.nan_to_num(np.asarray(vector, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    return _vector_format(len(values)) % tuple(values.tolist())


@functools.cache
def _vector_format(dims: int) -> str:
    return "[" + ",".join(["%.9g"] * dims) + "]"
