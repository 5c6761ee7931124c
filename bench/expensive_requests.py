"""What one expensive request costs, with the limits of issue 11 and without them.

Starts its own server (gunicorn, one worker, its own embedded PostgreSQL in a temporary folder, as the
fault tests do: mem0server/tests/server_process.py), then times, one at a time:

  - POST /memories, infer=false, with MESSAGES messages (the issue measured 2,000 in 81 s),
  - POST /memories, infer=true without an LLM (the near-duplicate check), with MESSAGES messages,
  - POST /search with a metadata `in` of IN_VALUES values (60,000 took 97 s),
  - POST /search with an OR of OR_CLAUSES clauses (20,000 took 25 s),
  - POST /memories, infer=false, 100 messages with METADATA_KB of metadata (small keys; 900 KB took 27 s),
    then GET /memories of those 100 memories (85 MB; METADATA_MAX_BYTES refuses such an add),
  - GET /memories?top_k=1000 of 1,000 memories of 100,000 characters (108 MB; LIST_MAX_BYTES refuses the page),
  - GET /v1/events/?page_size=100 of 100 queued adds of a 1 MB image each (100 MB; LIST_MAX_BYTES refuses it),
    and a page of 20 of them,
  - the same at the default limits (MAX_MESSAGES_PER_ADD messages, 1,000 values, 100 clauses), which are served;

and, in this process, the in-batch near-duplicate check alone: the former pure-Python loop against
memories.services.BatchDuplicates (numpy) on random unit vectors.

    .venv/bin/python bench/expensive_requests.py                 # limits on: the big requests are 400s
    .venv/bin/python bench/expensive_requests.py --no-limits     # limits raised: what they would cost
    .venv/bin/python bench/expensive_requests.py --messages 500 --in-values 5000 --or-clauses 2000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NO_LIMITS = {
    "MAX_MESSAGES_PER_ADD": "1000000",
    "MAX_ADD_CHARS": "100000000",
    "MAX_FILTER_CONDITIONS": "1000000",
    "MAX_FILTER_LIST": "1000000",
    "MAX_REQUEST_BYTES": str(64 * 1024 * 1024),
    "DB_STATEMENT_TIMEOUT_MS": "0",
    "METADATA_MAX_BYTES": str(64 * 1024 * 1024),
    "LIST_MAX_BYTES": str(10**12),
}


def dedupe_python(vectors: list[list[float]], threshold: float) -> int:
    """The check as it was: each vector against every kept one, dot products in Python."""
    kept: list[list[float]] = []
    for vector in vectors:
        if not any(sum(a * b for a, b in zip(vector, other, strict=True)) >= threshold for other in kept):
            kept.append(vector)
    return len(kept)


def dedupe_numpy(vectors: list[list[float]]) -> int:
    from memories.services import BatchDuplicates

    batch = BatchDuplicates()
    for vector in vectors:
        if batch.find(vector) is None:
            batch.keep(vector, object())
    return len(batch.memories)


def unit_vectors(count: int, dims: int = 384) -> list[list[float]]:
    matrix = np.random.default_rng(1).normal(size=(count, dims)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix.tolist()


def timed(label: str, call) -> None:
    started = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - started
    detail = f" {len(response.body) / 1e6:.1f} MB answered" if len(response.body) >= 100_000 else ""
    if response.status != 200:
        detail = " " + str(response.json().get("detail", ""))[:110]
    print(f"  {label:<58} {response.status}  {elapsed:8.2f} s{detail}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--in-values", type=int, default=60_000)
    parser.add_argument("--or-clauses", type=int, default=20_000)
    parser.add_argument("--metadata-kb", type=int, default=880, help="metadata on an add of 100 messages")
    parser.add_argument("--dedupe-vectors", type=int, default=1000, help="for the in-process check")
    parser.add_argument("--no-limits", action="store_true", help="raise every limit of issue 11")
    parser.add_argument("--skip-server", action="store_true", help="only the in-process near-duplicate check")
    args = parser.parse_args()

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")
    django.setup()
    print(f"near-duplicate check within one add, {args.dedupe_vectors} random 384-d vectors (in process):")
    vectors = unit_vectors(args.dedupe_vectors)
    started = time.perf_counter()
    dedupe_python(vectors, 0.95)
    print(f"  pure Python loop (before)                                 {time.perf_counter() - started:8.2f} s")
    started = time.perf_counter()
    dedupe_numpy(vectors)
    print(f"  BatchDuplicates, numpy (after)                            {time.perf_counter() - started:8.2f} s")
    if args.skip_server:
        return

    from django.conf import settings

    from mem0server.tests.server_process import ServerProcess

    env = dict(NO_LIMITS) if args.no_limits else {}
    server = ServerProcess(Path(tempfile.mkdtemp(prefix="mem0-bench-")), env=env)
    print(f"\nstarting a server ({'limits raised' if args.no_limits else 'default limits'}) …", flush=True)
    server.start()
    try:
        messages = [
            {"role": "user", "content": f"Fact number {i}: likes item {i * 7919 % 100_003}"}
            for i in range(max(args.messages, settings.MAX_MESSAGES_PER_ADD))
        ]
        server.add("bench", "Warm-up: likes tea")
        server.call(
            "POST",
            "/memories",
            {"messages": messages[:100], "user_id": "bench", "infer": False, "metadata": {"topic": "t1"}},
        )

        def add(count: int, infer: bool, user: str):
            body = {"messages": messages[:count], "user_id": user, "infer": infer}
            return lambda: server.call("POST", "/memories", body, timeout=900)

        def search(filters: dict):
            body = {"query": "likes item", "user_id": "bench", "filters": filters}
            return lambda: server.call("POST", "/search", body, timeout=900)

        print("requests (one at a time):")
        timed(f"add, infer=false, {args.messages} messages", add(args.messages, False, "big-false"))
        timed(f"add, infer=true (no LLM), {args.messages} messages", add(args.messages, True, "big-true"))
        limit = settings.MAX_MESSAGES_PER_ADD
        timed(f"add, infer=false, {limit} messages", add(limit, False, "small-false"))
        timed(f"add, infer=true (no LLM), {limit} messages", add(limit, True, "small-true"))
        # The same messages again, as a client that sends the whole conversation so far with each turn (Pipecat).
        timed(f"add, infer=true (no LLM), the same {limit} again", add(limit, True, "small-true"))
        values = [f"t{i}" for i in range(args.in_values)]
        timed(f"search, metadata `in` of {args.in_values} values", search({"topic": {"in": values}}))
        timed("search, metadata `in` of 1000 values", search({"topic": {"in": values[:1000]}}))
        clauses = [{"topic": f"t{i}"} for i in range(args.or_clauses)]
        timed(f"search, OR of {args.or_clauses} clauses", search({"OR": clauses}))
        timed("search, OR of 100 clauses", search({"OR": clauses[:100]}))
        # Small keys: one long string value is refused by the metadata index's row size already.
        metadata = {f"key{i:06d}": f"value-{i:06d}-abcdefgh" for i in range(args.metadata_kb * 1024 // 36)}
        body = {"messages": messages[:100], "user_id": "metadata", "infer": False, "metadata": metadata}
        timed(f"add, 100 messages, {args.metadata_kb} KB of metadata", lambda: server.call("POST", "/memories", body))
        timed("list those 100 memories", lambda: server.call("GET", "/memories?user_id=metadata&top_k=100"))
        # Written straight into the table: embedding 100 MB of text through the API would take minutes.
        server.query(
            "INSERT INTO memories_memory (id, text, hash, user_id, embedding, created_at, updated_at, categories) "
            "SELECT gen_random_uuid(), repeat(md5(i::text) || ' ', 3030), md5(i::text), 'long', m.embedding, now(), "
            "now(), '{}' FROM (SELECT embedding FROM memories_memory LIMIT 1) m, generate_series(1, 1000) i "
            "RETURNING 1"
        )
        long_page = "/memories?user_id=long&top_k=1000"
        timed("list 1,000 memories of 100,000 characters", lambda: server.call("GET", long_page))
        # 100 queued adds each holding an image as a 1 MB data URL (the admin key's events: those of no account).
        server.query(
            "INSERT INTO events_event (id, event_type, status, payload, error_code, error_message, attempts, "
            "created_at, updated_at) SELECT gen_random_uuid(), 'ADD', 'PENDING', jsonb_build_object('messages', "
            "jsonb_build_array(jsonb_build_object('role', 'user', 'content', '', 'images', jsonb_build_array("
            "'data:image/png;base64,' || repeat('A', 1000000)))), 'scope', jsonb_build_object('user_id', 'img')), "
            "'', '', 0, now(), now() FROM generate_series(1, 100) RETURNING 1"
        )
        timed("list 100 events of 1 MB (an image each)", lambda: server.call("GET", "/v1/events/?page_size=100"))
        timed("list 20 of those events", lambda: server.call("GET", "/v1/events/?page_size=20"))
    finally:
        server.stop()
    print(
        json.dumps(
            {
                "messages": args.messages,
                "in_values": args.in_values,
                "or_clauses": args.or_clauses,
                "metadata_kb": args.metadata_kb,
                "limits": not args.no_limits,
            }
        )
    )


if __name__ == "__main__":
    random.seed(1)
    main()
