"""What the most expensive reranked search a member may send costs the server, and what another account's searches
meet meanwhile, with SEARCH_RERANKER=cross-encoder.

Starts its own server (gunicorn, one worker of two threads, its own embedded PostgreSQL, no LLM: as
bench/heavy_writes.py) with a cross-encoder shaped like ms-marco-MiniLM-L6-v2 (6 layers, 384 wide, random weights,
a vocabulary of characters: every pair it reads fills its 256 tokens, as text that tokenizes badly does with a real
one). A member stores MEMORIES memories of 900 characters (their texts written by SQL: no embedding needed), then
searches them all with top_k MEMORIES and rerank=true: every memory becomes a pair for the model. Prints the worker's
CPU seconds and wall time for that search, and the p50 / max latency of another account's searches meanwhile, plain
and reranked (of its 20 memories).

    .venv/bin/python bench/heavy_rerank.py [--memories 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from heavy_writes import words  # noqa: E402  (bench/heavy_writes.py)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=1000)
    parser.add_argument("--env", action="append", default=[], help="NAME=value for the server")
    args = parser.parse_args()

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")
    django.setup()
    import http.client

    from mem0server.tests.server_process import ADMIN_KEY, ServerProcess
    from memories.tests.fake_rerank import tiny_cross_encoder

    folder = Path(tempfile.mkdtemp(prefix="minilm-shaped-"))
    shape = {"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536}
    tiny_cross_encoder(folder, **shape)
    env = {
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "2",
        "SEARCH_RERANKER": "cross-encoder",
        "SEARCH_RERANK_MODEL_PATH": str(folder),
    } | dict(e.split("=", 1) for e in args.env)
    server = ServerProcess(Path(tempfile.mkdtemp(prefix="mem0-bench-")), env=env)
    print("starting a server of one worker, two threads (no LLM), a MiniLM-L6-shaped cross-encoder …", flush=True)

    def call(key: str, method: str, path: str, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=900)
        try:
            conn.request(
                method,
                path,
                json.dumps(body) if body is not None else None,
                {"Content-Type": "application/json", **({"X-API-Key": key} if key else {}), **(headers or {})},
            )
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()

    try:
        server.start()
        account = {"name": "Member", "email": "member@example.com", "password": "a-long-pass-1234"}
        access = call("", "POST", "/auth/register", account)[1]["access_token"]
        key = call("", "POST", "/api-keys", {"label": "bench"}, {"Authorization": f"Bearer {access}"})[1]["key"]
        for i in range(20):
            server.add("other", f"Fact number {i}: I keep bees, drink tea, have a sister and moved cities, take {i}")
        messages = [{"role": "user", "content": f"Fact {i}: likes item {i * 7919}"} for i in range(args.memories)]
        status, _ = call(key, "POST", "/memories", {"messages": messages, "user_id": "big", "infer": False})
        if status != 200:
            raise SystemExit(f"the set-up add answered {status}")
        rows = server.query("SELECT id FROM memories_memory WHERE user_id = 'big'")
        with server.connect() as conn, conn.cursor() as cursor:
            texts = [(words(900, n), memory_id) for n, (memory_id,) in enumerate(rows)]
            cursor.executemany("UPDATE memories_memory SET text = %s WHERE id = %s", texts)
        print(f"{len(rows)} memories of 900 characters", flush=True)

        def measured(label: str, body: dict, other: dict) -> None:
            worker = server.worker()
            stop, latencies = threading.Event(), []

            def searching() -> None:
                while not stop.is_set():
                    started = time.perf_counter()
                    call(ADMIN_KEY, "POST", "/search", other)
                    latencies.append(time.perf_counter() - started)
                    time.sleep(0.05)

            thread = threading.Thread(target=searching, daemon=True)
            before = worker.cpu_times()
            started = time.perf_counter()
            thread.start()
            status, answer = call(key, "POST", "/search", body)
            wall = time.perf_counter() - started
            after = worker.cpu_times()
            stop.set()
            thread.join(60)
            cpu = (after.user + after.system) - (before.user + before.system)
            applied = (answer or {}).get("rerank", {}) if isinstance(answer, dict) else {}
            searches = (
                f"{len(latencies)} searches meanwhile, p50 {statistics.median(latencies) * 1000:.0f} ms, "
                f"max {max(latencies) * 1000:.0f} ms"
                if latencies
                else "no search answered meanwhile"
            )
            print(
                f"  {label:<44} {status} wall {wall:6.2f} s, worker CPU {cpu:6.2f} s, rerank {applied}; {searches}",
                flush=True,
            )

        plain = {"query": "Where do I keep bees?", "user_id": "other"}
        reranked = plain | {"rerank": True}
        call(key, "POST", "/search", {"query": "warm up", "user_id": "big", "rerank": True})
        wide = {"query": "bees by the river", "user_id": "big", "top_k": args.memories, "rerank": True}
        measured("reranked search alone (baseline)", {"query": "bees", "user_id": "big", "rerank": True}, plain)
        measured(f"search, top_k {args.memories}, rerank; others plain", wide, plain)
        measured(f"search, top_k {args.memories}, rerank; others reranked", wide, reranked)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
