"""What reads cost as one account grows: 45,000 memories, their history, and a request log of 500-character paths.

    .venv/bin/python bench/account_cost.py                  # load once (kept in database mem0_account_cost), measure
    .venv/bin/python bench/account_cost.py --repeat 5       # each request five times (the figures: min and max)
    .venv/bin/python bench/account_cost.py --drop           # delete the database

Like bench/scale.py it never touches real data: a database of its own next to the project's (the embedded one in
$MEM0_DATA_DIR/pg, or the server of DATABASE_URL), migrated. One member account holds MEMORIES memories (random unit
vectors, short texts) in 1,000 users, 50 agents, 10 apps and runs on two memories in three; an ADD history row for
each and 200 UPDATEs of one memory; LOG_ROWS request-log rows whose paths are 500 characters of `a`. Requests go
through Django's test client with the member's key or session (the server's own code, no network); each prints its
status, size, queries and time (min and max of --repeat runs). `--save DIR` keeps each API answer, to compare two
versions byte for byte; `--explain` prints EXPLAIN ANALYZE of the stats, entity-page and deep memory-page statements.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
from scratch_database import django_on_scratch_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "mem0_account_cost"
EMAIL = "big@example.com"


def setup_django(drop: bool) -> None:
    # The load's inserts; requests are timed, not cut.
    django_on_scratch_database(DB_NAME, drop=drop, DB_STATEMENT_TIMEOUT_MS="0")


def load(memories: int, log_rows: int) -> None:
    from django.db import connection, transaction

    from accounts.models import User

    if User.objects.filter(email=EMAIL).exists():
        return
    started = time.perf_counter()
    with transaction.atomic():  # all or nothing: a load cut short is loaded again next time
        hnsw = _rows(user_email=EMAIL, memories=memories, log_rows=log_rows)
    with connection.cursor() as cursor:
        cursor.execute(hnsw)
        cursor.execute("VACUUM ANALYZE")
    print(f"loaded {memories} memories, {log_rows} log rows in {time.perf_counter() - started:.1f} s")


def _rows(*, user_email: str, memories: int, log_rows: int) -> str:
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from memories.models import Memory, MemoryHistory
    from requestlog.models import RequestLog

    user = User.objects.create_user(user_email, "x" * 20)
    rng = np.random.default_rng(1)
    now = timezone.now()
    with connection.cursor() as cursor:  # the HNSW index is built once at the end, not row by row
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'memory_embedding_hnsw'")
        (hnsw,) = cursor.fetchone()
        cursor.execute("DROP INDEX memory_embedding_hnsw")
    for start in range(0, memories, 5000):
        vectors = rng.normal(size=(min(5000, memories - start), settings.EMBEDDING_DIMS)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        rows = []
        for offset, vector in enumerate(vectors):
            n = start + offset
            rows.append(
                Memory(
                    account=user,
                    text=f"memory number {n} about topic {n % 37}",
                    hash=uuid.uuid4().hex,
                    user_id=f"user-{n % 1000}",
                    agent_id=f"agent-{n % 50}",
                    app_id=f"app-{n % 10}",
                    run_id=f"run-{n}" if n % 3 else None,
                    metadata={"topic": n % 10},
                    embedding=vector.tolist(),
                )
            )
        made = Memory.objects.bulk_create(rows)
        MemoryHistory.objects.bulk_create(
            MemoryHistory(memory_id=m.id, account=user, new_memory=m.text, event="ADD", created_at=now) for m in made
        )
    first = Memory.objects.filter(account=user).order_by("created_at").first()
    MemoryHistory.objects.bulk_create(
        MemoryHistory(
            memory_id=first.id,
            account=user,
            old_memory=first.text,
            new_memory=f"{first.text} v{i}",
            event="UPDATE",
            created_at=now + timedelta(seconds=i),
        )
        for i in range(200)
    )
    path = "/v1/memories/" + "a" * 486
    for start in range(0, log_rows, 10000):
        RequestLog.objects.bulk_create(
            RequestLog(
                method="GET",
                path=path,
                route=path,
                status_code=200,
                latency_ms=1.0,
                auth_type="api_key",
                account=user,
                created_at=now - timedelta(seconds=i),
            )
            for i in range(start, min(start + 10000, log_rows))
        )
    return hnsw


def measure(repeat: int, explain: bool, save: Path | None) -> None:
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from apikeys.services import apikey_create
    from memories.models import Memory

    user = User.objects.get(email=EMAIL)
    _key, secret = apikey_create(user=user, label="bench")
    api = Client(HTTP_AUTHORIZATION=f"Token {secret}", SERVER_NAME="localhost")
    page = Client(SERVER_NAME="localhost")
    page.force_login(user)
    updated = Memory.objects.filter(account=user).order_by("created_at").first()
    crafted = "a" * 243 + "b"
    requests = [
        ("api", "GET /v1/stats/", "/v1/stats/"),
        ("api", "GET /v1/entities/ (page 1 of 10)", "/v1/entities/?page=1&page_size=10"),
        ("api", "GET /v1/entities/ (page 3,000 of 10)", "/v1/entities/?page=3000&page_size=10"),
        ("api", "GET /entities (first page)", "/entities"),
        ("api", "GET /memories?user_id=user-1", "/memories?user_id=user-1"),
        ("api", "GET /memories (no limit)", "/memories"),
        ("api", "GET /v1/memories/events/", "/v1/memories/events/"),
        ("api", "GET /v1/memories/events/ page 4,000 of 10", "/v1/memories/events/?page=4000&limit=10"),
        ("api", "GET /memories/{id}/history (200 updates)", f"/memories/{updated.id}/history"),
        ("api", "GET /v1/events/", "/v1/events/"),
        ("api", "GET /api/v1/webhooks/projects/p/", "/api/v1/webhooks/projects/p/"),
        (
            "post",
            "POST /v2/memories/ page 4,000 of 10",
            ("/v2/memories/", {"filters": {}, "page": 4000, "page_size": 10}),
        ),
        (
            "post",
            "POST /v2/memories/ user-1, metadata, page 4",
            ("/v2/memories/", {"filters": {"AND": [{"user_id": "user-1"}, {"topic": 1}]}, "page": 4, "page_size": 1}),
        ),
        ("api", "GET /requests?limit=1000", "/requests?limit=1000"),
        ("page", "dashboard overview", "/dashboard/"),
        ("page", "dashboard memories", "/dashboard/memories/"),
        ("page", "dashboard memories page 4,000", "/dashboard/memories/?page=4000"),
        ("page", "dashboard memories user-1 page 40", "/dashboard/memories/?user_id=user-1&page=40"),
        ("page", "dashboard entities", "/dashboard/entities/"),
        ("page", "dashboard requests", "/dashboard/requests/"),
        ("page", "dashboard requests, path contains 'memories'", "/dashboard/requests/?path=memories"),
        ("page", "dashboard requests, path contains crafted", f"/dashboard/requests/?path={crafted}"),
        ("page", "dashboard requests, crafted, within 1h", f"/dashboard/requests/?path={crafted}&within=1h"),
    ]
    print(f"{'request':<50} {'status':>6} {'bytes':>9} {'queries':>7} {'ms min':>8} {'ms max':>8}")
    for kind, label, url in requests:
        client = page if kind == "page" else api
        times = []
        for _ in range(repeat):
            reset_queries()
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                if kind == "post":
                    response = client.post(url[0], url[1], content_type="application/json")
                else:
                    response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
        body = response.content if not response.streaming else b"".join(response.streaming_content)
        size = len(body)
        if save is not None and kind != "page":  # pages carry a CSRF token and times: not comparable byte for byte
            save.mkdir(parents=True, exist_ok=True)
            (save / f"{len(list(save.iterdir())):02d}.json").write_bytes(body)
        print(
            f"{label:<50} {response.status_code:>6} {size:>9} {len(queries):>7} {min(times):>8.1f} {max(times):>8.1f}"
        )
    if explain:
        from entities.selectors import entities_page
        from memories.selectors import memories_list, memories_stats

        principal = user  # a member's principal is its account
        for label, call in [
            ("stats", lambda: memories_stats(principal=principal)),
            ("entities page", lambda: entities_page(principal=principal, page=1, page_size=10)),
            (
                "memories page 4,000 of 10",
                lambda: memories_list(principal=principal, scope={}, top_k=10, page=4000, with_count=True),
            ),
        ]:
            with CaptureQueriesContext(connection) as queries:
                call()
            for query in queries:
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                    print(f"--- {label}\n" + "\n".join(row[0] for row in cursor.fetchall()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=45_000)
    parser.add_argument("--log-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--drop", action="store_true")
    parser.add_argument("--save", type=Path, help="write each API answer's body to this folder (to compare runs)")
    args = parser.parse_args()
    setup_django(args.drop)
    load(args.memories, args.log_rows)
    measure(args.repeat, args.explain, args.save)


if __name__ == "__main__":
    main()
