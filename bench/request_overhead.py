"""The fixed CPU cost of an API request: the cheapest requests, through the server's own WSGI application, timed and
profiled in this process.

    .venv/bin/python bench/request_overhead.py                    # CPU per request of each, 10 rounds of 200
    .venv/bin/python bench/request_overhead.py --profile get      # and cProfile's top functions for one of them
    .venv/bin/python bench/request_overhead.py --drop             # delete its database

Like bench/account_cost.py it never touches real data: a database of its own (mem0_request_overhead) next to the
project's (the embedded one in $MEM0_DATA_DIR/pg, or the server of DATABASE_URL), migrated. One member account holds
--memories memories (random unit vectors, short texts) of one user; each request carries a per-user API key (the
usual path: the key cache, the account's turns, the request log's background writer), and goes through
mem0server.wsgi's application with a prepared WSGI environ, as gunicorn hands it over, without a network.

For each request it prints the CPU time of this process per request (every thread: the request log's writer too),
the least and the median of --rounds rounds of --requests requests (after a warm-up), the median wall time, and the
PostgreSQL statements per request. On a shared machine the least round is the one others' work disturbed least:
compare those, of runs taken one after the other. Search (POST /search, infer off) embeds its query: the process
loads the embedder first, as a server does (exporting it once to MEM0_MODELS_DIR), and waits for it before timing
anything. `--profile NAME` runs NAME's requests again under cProfile and prints the --top functions by own time and
by cumulative time (CPU time of the request's thread).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
from scratch_database import django_on_scratch_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "mem0_request_overhead"
EMAIL = "overhead@example.com"
USER_ID = "alice"


def load(memories: int) -> None:
    from django.conf import settings

    from accounts.models import User
    from memories.models import Memory, MemoryHistory

    if User.objects.filter(email=EMAIL).exists():
        return
    user = User.objects.create_user(EMAIL, "x" * 20)
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(memories, settings.EMBEDDING_DIMS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    made = Memory.objects.bulk_create(
        Memory(
            account=user,
            text=f"memory number {n} about topic {n % 37}",
            hash=uuid.uuid4().hex,
            user_id=USER_ID,
            metadata={"topic": n % 10},
            embedding=vector.tolist(),
        )
        for n, vector in enumerate(vectors)
    )
    MemoryHistory.objects.bulk_create(
        MemoryHistory(memory_id=m.id, account=user, new_memory=m.text, event="ADD") for m in made
    )


def requests_of(memory_id: str) -> dict[str, tuple[str, str, dict | None]]:
    return {
        "get": ("GET", f"/memories/{memory_id}", None),
        "pget": ("GET", f"/v1/memories/{memory_id}/", None),
        "list": ("GET", f"/memories?user_id={USER_ID}&top_k=10", None),
        "plist": ("POST", "/v2/memories/", {"filters": {"user_id": USER_ID}, "page": 1, "page_size": 10}),
        "search": ("POST", "/search", {"query": "what food does she like", "user_id": USER_ID, "limit": 5}),
    }


def environ_of(method: str, path: str, body: dict | None, key: str) -> tuple[dict, bytes]:
    raw = json.dumps(body).encode() if body is not None else b""
    path_info, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_AUTHORIZATION": f"Token {key}",
        "HTTP_ACCEPT": "*/*",
        "HTTP_USER_AGENT": "request_overhead",
        "HTTP_CONNECTION": "keep-alive",
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.errors": sys.stderr,
    }
    if raw:
        environ["CONTENT_TYPE"] = "application/json"
        environ["CONTENT_LENGTH"] = str(len(raw))
    return environ, raw


def one(application, environ: dict, raw: bytes) -> tuple[str, bytes]:
    status = []
    request = dict(environ)
    request["wsgi.input"] = io.BytesIO(raw)
    result = application(request, lambda s, headers, exc_info=None: status.append(s))
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return status[0], body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200, help="requests per round (default 200)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds per request kind (default 10)")
    parser.add_argument("--only", help="comma-separated request names (default: all)")
    parser.add_argument("--profile", metavar="NAME", help="profile NAME's requests with cProfile")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--drop", action="store_true", help="delete the benchmark's database and exit")
    args = parser.parse_args()

    # A serving process needs a JWT secret (this one signs no token); its connections come from a pool, as a server's.
    django_on_scratch_database(
        DB_NAME, drop=args.drop, DB_STATEMENT_TIMEOUT_MS="0", JWT_SECRET="j" * 40, DB_POOL="true"
    )
    load(args.memories)
    from django.db import connection

    from accounts.models import User
    from apikeys.services import apikey_create
    from mem0server.wsgi import application
    from memories.models import Memory

    for thread in threading.enumerate():  # the embedder's load (a first run exports it): not beside the timings
        if thread.name == "embedder-warm-up":
            thread.join()

    user = User.objects.get(email=EMAIL)
    _row, key = apikey_create(user=user, label=f"bench {uuid.uuid4().hex[:6]}")
    memory_id = str(Memory.objects.filter(account=user).order_by("id").values_list("id", flat=True).first())
    connection.close()  # requests open their own, as in a server
    catalogue = requests_of(memory_id)
    names = args.only.split(",") if args.only else list(catalogue)

    heading = f"{'request':<8} {'status':<7} {'queries':>7} {'CPU min':>8} {'CPU median':>10} {'wall median':>11}"
    print(f"{heading}  (ms/request)")
    for name in names:
        environ, raw = environ_of(*catalogue[name], key)
        for _ in range(20):  # warm-up: connections, caches, the key cache
            status, body = one(application, environ, raw)
        queries = []  # Django's own log is emptied at each request's start

        def counted(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counted):
            status, body = one(application, environ, raw)
        cpu, wall = [], []
        for _ in range(args.rounds):
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(args.requests):
                one(application, environ, raw)
            cpu.append((time.process_time() - c0) * 1000 / args.requests)
            wall.append((time.perf_counter() - w0) * 1000 / args.requests)
        print(
            f"{name:<8} {status.split()[0]:<7} {len(queries):>7} {min(cpu):>8.3f} {statistics.median(cpu):>10.3f}"
            f" {statistics.median(wall):>11.3f}"
        )
    if args.profile:
        environ, raw = environ_of(*catalogue[args.profile], key)
        profiler = cProfile.Profile(time.thread_time)  # CPU of the request's thread, not its waits
        profiler.enable()
        for _ in range(args.requests):
            one(application, environ, raw)
        profiler.disable()
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
            print(f"--- {args.profile}: top {args.top} by {order}, {args.requests} requests")
            print(out.getvalue().split("\n\n", 1)[-1].replace(str(ROOT) + "/", "").rstrip())


if __name__ == "__main__":
    main()
