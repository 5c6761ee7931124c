"""Filtered vector search at scale: 1M memories across 1,000 users, latency and recall@10 vs exact search.

    .venv/bin/python bench/scale.py                      # load 1,000,000 memories, build indexes, measure
    .venv/bin/python bench/scale.py --keep --json bench/results/scale.json   # reuse the loaded data next time
    .venv/bin/python bench/scale.py --drop               # delete the mem0_scale database

It never touches real data: it creates a database `mem0_scale` on the same PostgreSQL the project uses (the
embedded one in $MEM0_DATA_DIR/pg, or the server of DATABASE_URL), points Django at it through DATABASE_URL
before django.setup(), and migrates it. Memories are random unit vectors (numpy, fixed seed) with short texts
and metadata {"topic": one of 10, "rating": 1..5}, loaded with COPY while the table's secondary indexes are
dropped; the indexes of the Memory model are then rebuilt (each timed), then VACUUM ANALYZE.

Queries: a random user's stored vector plus noise (cosine ~0.9), filtered (a) by user_id, (b) by user_id and
that memory's topic (~10% of the user's rows). Each setting runs the vector-candidate query of
memories.selectors.memories_search (same queryset, top 10) under some planner / pgvector settings, and the
last rows call memories_search itself with a fake embedder. recall@10 is against exact search (no index
scans: a bitmap scan of the user's rows and a sort). `short` counts queries that got fewer than 10 rows.
EXPLAIN ANALYZE plans of one query go to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from scratch_database import django_on_scratch_database

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "mem0_scale"
DIMS = 384
CHUNK = 100_000
TOP_K = 10
TOPICS = ["food", "travel", "work", "health", "family", "music", "sports", "money", "books", "tech"]
SYLLABLES = ["ka", "lo", "mi", "ren", "tu", "sa", "vo", "ple", "dri", "om", "nex", "qua", "bel", "tor", "zi", "un"]
# (label, SET LOCAL settings) for the vector-candidate query. enable_sort=off forces the HNSW path,
# enable_indexscan=off forces exact search (bitmap scan of the filtered rows + sort), enable_bitmapscan=off is
# memories_search's exact path (the scope's btree, every row compared: see candidates()).
PLANNER = {"hnsw.iterative_scan": "relaxed_order", "hnsw.ef_search": "100"}
EXACT = {"enable_indexscan": "off"}
SCOPE_SCAN = {"enable_bitmapscan": "off"}
SETTINGS: list[tuple[str, dict[str, str]]] = [
    ("planner's choice, HNSW settings", PLANNER),
    ("scope btree + sort (exact path)", SCOPE_SCAN),
    *[
        (f"HNSW ef={ef} {mode}", {"enable_sort": "off", "hnsw.iterative_scan": mode, "hnsw.ef_search": str(ef)})
        for mode in ("relaxed_order", "strict_order")
        for ef in (40, 100, 200)
    ],
    ("HNSW ef=100 relaxed max_scan_tuples=100k", {"enable_sort": "off", **PLANNER, "hnsw.max_scan_tuples": "100000"}),
    (
        "HNSW ef=100 relaxed 100k tuples, mem x8",
        {"enable_sort": "off", **PLANNER, "hnsw.max_scan_tuples": "100000", "hnsw.scan_mem_multiplier": "8"},
    ),
]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def setup_django(drop: bool = False) -> dict:
    """Create mem0_scale next to the project's database, point Django at it and migrate it (or drop it)."""
    return django_on_scratch_database(DB_NAME, drop=drop, say=log)


def index_sql() -> dict[str, str]:
    """CREATE INDEX statements of the Memory model's indexes, by name."""
    from django.db import connection

    from memories.models import Memory

    with connection.schema_editor() as editor:
        return {index.name: str(index.create_sql(Memory, editor)) for index in Memory._meta.indexes}


def vocabulary(rng: np.random.Generator, size: int = 5000) -> list[str]:
    words = {"".join(rng.choice(SYLLABLES, int(rng.integers(2, 4)))) for _ in range(size * 3)}
    return sorted(words)[:size]


def load(params: dict, memories: int, users: int, rng: np.random.Generator, words: list[str]) -> float:
    import psycopg
    from pgvector.psycopg import register_vector

    start = time.perf_counter()
    now = datetime.now(UTC)
    with psycopg.connect(autocommit=True, **params) as conn:
        register_vector(conn)
        # CASCADE: and the tables that refer to memories (their tokens), empty here
        conn.execute("TRUNCATE memories_memory, memories_posting, memories_memorysentence CASCADE")
        for name in index_sql():
            conn.execute(f'DROP INDEX IF EXISTS "{name}"')
        columns = "id, text, hash, user_id, metadata, categories, embedding, created_at, updated_at"
        types = ["uuid", "text", "varchar", "varchar", "jsonb", "varchar[]", "vector", "timestamptz", "timestamptz"]
        for first in range(0, memories, CHUNK):
            count = min(CHUNK, memories - first)
            vectors = rng.standard_normal((count, DIMS), dtype=np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            owners = rng.integers(0, users, count)
            topics, ratings = rng.integers(0, len(TOPICS), count), rng.integers(1, 6, count)
            lengths, picks = rng.integers(4, 10, count), rng.integers(0, len(words), (count, 9))
            ids, ages = rng.bytes(16 * count), rng.integers(0, 365 * 86400, count)
            with conn.cursor() as cur, cur.copy(f"COPY memories_memory ({columns}) FROM STDIN (FORMAT BINARY)") as cp:
                cp.set_types(types)
                for i in range(count):
                    text = " ".join(words[w] for w in picks[i, : lengths[i]])
                    created = now - timedelta(seconds=int(ages[i]))
                    metadata = {"topic": TOPICS[topics[i]], "rating": int(ratings[i])}
                    digest = hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - the model's content hash
                    memory_id = uuid.UUID(bytes=ids[16 * i : 16 * i + 16], version=4)
                    cp.write_row(
                        (memory_id, text, digest, f"user-{owners[i]:05d}", metadata, [], vectors[i], created, created)
                    )
            log(f"loaded {first + count:,}/{memories:,} rows ({time.perf_counter() - start:.0f} s)")
    return time.perf_counter() - start


def build_indexes(params: dict) -> dict[str, float]:
    """Create the model's missing indexes (HNSW with lots of maintenance memory), then VACUUM ANALYZE."""
    import psycopg

    timings: dict[str, float] = {}
    with psycopg.connect(autocommit=True, **params) as conn, psycopg.connect(autocommit=True, **params) as watcher:
        conn.execute("SET maintenance_work_mem = '4GB'")
        conn.execute("SET max_parallel_maintenance_workers = 1")  # the leader works too: 2 processes
        existing = {
            row[0] for row in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'memories_memory'")
        }
        for name, sql in index_sql().items():
            if name in existing:
                continue
            log(f"building {name} ...")
            done = threading.Event()
            thread = threading.Thread(target=_progress, args=(watcher, name, done), daemon=True)
            thread.start()
            start = time.perf_counter()
            conn.execute(sql)
            timings[name] = round(time.perf_counter() - start, 1)
            done.set()
            thread.join()
            log(f"built {name} in {timings[name]:.1f} s")
        start = time.perf_counter()
        conn.execute("VACUUM ANALYZE memories_memory")
        timings["vacuum analyze"] = round(time.perf_counter() - start, 1)
        log(f"VACUUM ANALYZE in {timings['vacuum analyze']:.1f} s")
    return timings


def _progress(watcher, name: str, done: threading.Event) -> None:
    sql = (
        "SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total FROM pg_stat_progress_create_index"
        " WHERE relid = 'memories_memory'::regclass"
    )
    while not done.wait(15):
        row = watcher.execute(sql).fetchone()
        if row:
            log(f"  {name}: {row[0]}, blocks {row[1]:,}/{row[2]:,}, tuples {row[3]:,}/{row[4]:,}")


def sizes(params: dict) -> dict[str, str]:
    import psycopg

    with psycopg.connect(**params) as conn:
        out = dict(
            conn.execute(
                "SELECT 'table (heap + toast)', pg_size_pretty(pg_table_size('memories_memory')) UNION ALL"
                " SELECT 'all indexes', pg_size_pretty(pg_indexes_size('memories_memory')) UNION ALL"
                " SELECT indexrelid::regclass::text, pg_size_pretty(pg_relation_size(indexrelid)) FROM pg_index"
                " WHERE indrelid = 'memories_memory'::regclass"
            ).fetchall()
        )
        count = conn.execute("SELECT count(*) FROM memories_memory").fetchone()[0]
        out["rows"] = f"{count:,}"
    return out


class FakeEmbedder:
    """Stands in for the local model: memories_search embeds the query, and gets the bench's vector."""

    name, dims = "bench", DIMS
    vector: list[float] = []

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [self.vector for _ in texts]


def make_queries(count: int, rng: np.random.Generator) -> list[dict]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT DISTINCT user_id FROM memories_memory WHERE user_id IS NOT NULL")
        users = sorted(row[0] for row in cur.fetchall())
        queries = []
        for user in rng.choice(users, count):
            cur.execute(
                "SELECT embedding::text, metadata->>'topic' FROM memories_memory WHERE user_id = %s"
                " ORDER BY random() LIMIT 1",
                [str(user)],
            )
            text, topic = cur.fetchone()
            vector = np.array(json.loads(text)) + rng.standard_normal(DIMS) * 0.5 / np.sqrt(DIMS)
            queries.append({"user_id": str(user), "topic": topic, "vector": (vector / np.linalg.norm(vector)).tolist()})
    return queries


def candidates(query: dict, filters: dict, gucs: dict[str, str], explain: bool = False) -> list | str:
    """The vector-candidate query of memories_search (same queryset), under the given settings."""
    from django.db import connection, transaction
    from django.db.models import F, FloatField, Value
    from pgvector.django import CosineDistance

    from apikeys.authentication import AdminPrincipal
    from memories.selectors import _visible

    qs = _visible(principal=AdminPrincipal(auth_type="bench"), scope={}, filters=filters, show_expired=False)
    qs = qs.annotate(distance=CosineDistance("embedding", query["vector"]))
    # memories_search's exact path orders by distance + 0, an expression the HNSW index does not serve.
    plus_zero = gucs.get("enable_bitmapscan") == "off"
    qs = qs.order_by(F("distance") + Value(0.0, output_field=FloatField()) if plus_zero else "distance")[:TOP_K]
    with transaction.atomic(), connection.cursor() as cur:
        for name, value in gucs.items():
            cur.execute("SELECT set_config(%s, %s, true)", [name, value])
        if explain:  # without the 384 numbers of the query vector
            return re.sub(r"'\[[^\]]*\]'::vector", "'[...]'::vector", qs.explain(analyze=True, buffers=True))
        return [memory.id for memory in qs]


def measure(label: str, queries: list[dict], kind: str, run, exact: dict[int, list] | None) -> dict:
    latencies, recalls, short = [], [], 0
    for number, query in enumerate(queries):
        filters = {"user_id": query["user_id"], **({"topic": query["topic"]} if kind == "user+topic" else {})}
        start = time.perf_counter()
        ids = run(query, filters)
        latencies.append((time.perf_counter() - start) * 1000)
        short += len(ids) < TOP_K
        if exact is not None:
            truth = exact[number]
            recalls.append(len(set(ids) & set(truth)) / max(len(truth), 1))
    cuts = statistics.quantiles(latencies, n=100)
    row = {"setting": label, "filter": kind, "p50_ms": round(cuts[49], 2), "p95_ms": round(cuts[94], 2)}
    row |= {"recall@10": round(statistics.fmean(recalls), 3) if recalls else None, "short": short}
    log(f"{label:44} {kind:10} p50 {row['p50_ms']:7.2f}  p95 {row['p95_ms']:7.2f}  recall {row['recall@10']}")
    return row


def benchmark(queries: list[dict]) -> tuple[list[dict], dict[str, str]]:
    from apikeys.authentication import AdminPrincipal
    from memories import embeddings, selectors

    fake = FakeEmbedder()
    embeddings._embedder = fake

    def server(text: str):
        def run(query: dict, filters: dict) -> list:
            fake.vector = query["vector"]
            found = selectors.memories_search(
                principal=AdminPrincipal(auth_type="bench"), query=text, filters=filters, top_k=TOP_K, threshold=-1
            )
            return [memory.id for memory in found]

        return run

    rows, plans = [], {}
    for kind in ("user", "user+topic"):

        def filters_of(q: dict, kind: str = kind) -> dict:
            return {"user_id": q["user_id"], **({"topic": q["topic"]} if kind == "user+topic" else {})}

        measure("warm-up", queries, kind, lambda q, f: candidates(q, f, EXACT), None)
        exact = {i: candidates(q, filters_of(q), EXACT) for i, q in enumerate(queries)}
        rows.append(measure("exact (bitmap scan + sort)", queries, kind, lambda q, f: candidates(q, f, EXACT), exact))
        for label, gucs in SETTINGS:
            rows.append(measure(label, queries, kind, lambda q, f, g=gucs: candidates(q, f, g), exact))
        rows.append(measure("memories_search, no keywords", queries, kind, server("what is it"), exact))
        words = " ".join(selectors.Memory.objects.filter(user_id=queries[0]["user_id"]).first().text.split()[:2])
        rows.append(measure(f"memories_search, keywords ({words!r})", queries, kind, server(words), None))
        for label, gucs in (("planner", PLANNER), ("hnsw", SETTINGS[3][1]), ("exact", EXACT), ("scope", SCOPE_SCAN)):
            plans[f"{kind}: {label}"] = candidates(queries[0], filters_of(queries[0]), gucs, explain=True)
    return rows, plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="reuse the loaded data if it has --memories rows")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--drop", action="store_true", help=f"delete the {DB_NAME} database and stop")
    args = parser.parse_args()
    params = setup_django(drop=args.drop)
    rng = np.random.default_rng(args.seed)
    report: dict = {"memories": args.memories, "users": args.users, "queries": args.queries, "load_s": None}
    import psycopg

    with psycopg.connect(**params) as conn:
        rows = conn.execute("SELECT count(*) FROM memories_memory").fetchone()[0]
    if args.keep and rows == args.memories:
        log(f"--keep: reusing {rows:,} memories in {DB_NAME}")
    else:
        report["load_s"] = round(load(params, args.memories, args.users, rng, vocabulary(rng)), 1)
    report["index_build_s"] = build_indexes(params)
    report["sizes"] = sizes(params)
    for name, size in report["sizes"].items():
        log(f"size {name}: {size}")
    report["loadavg_before"] = os.getloadavg()
    report["results"], report["plans"] = benchmark(make_queries(args.queries, np.random.default_rng(args.seed + 1)))
    report["loadavg_after"] = os.getloadavg()
    for label, plan in report["plans"].items():
        print(f"--- EXPLAIN ANALYZE, {label}\n{plan}\n", file=sys.stderr)
    print(json.dumps({key: report[key] for key in report if key != "plans"}, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
