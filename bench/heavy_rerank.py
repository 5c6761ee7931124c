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
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from heavy_writes import beside_searches, call, member_with_memories, words  # noqa: E402  (bench/heavy_writes.py)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=1000)
    parser.add_argument("--env", action="append", default=[], help="NAME=value for the server")
    args = parser.parse_args()

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")
    django.setup()

    from mem0server.tests.server_process import ServerProcess
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

    try:
        server.start()
        key = member_with_memories(server, args.memories)
        rows = server.query("SELECT id FROM memories_memory WHERE user_id = 'big'")
        with server.connect() as conn, conn.cursor() as cursor:
            texts = [(words(900, n), memory_id) for n, (memory_id,) in enumerate(rows)]
            cursor.executemany("UPDATE memories_memory SET text = %s WHERE id = %s", texts)
        print(f"{len(rows)} memories of 900 characters", flush=True)

        def measured(label: str, body: dict, other: dict) -> None:
            status, answer, wall, cpu, searches = beside_searches(server, key, ("POST", "/search", body), other)
            applied = (answer or {}).get("rerank", {}) if isinstance(answer, dict) else {}
            print(
                f"  {label:<44} {status} wall {wall:6.2f} s, worker CPU {cpu:6.2f} s, rerank {applied}; {searches}",
                flush=True,
            )

        plain = {"query": "Where do I keep bees?", "user_id": "other"}
        reranked = plain | {"rerank": True}
        call(server, key, "POST", "/search", {"query": "warm up", "user_id": "big", "rerank": True})
        wide = {"query": "bees by the river", "user_id": "big", "top_k": args.memories, "rerank": True}
        measured("reranked search alone (baseline)", {"query": "bees", "user_id": "big", "rerank": True}, plain)
        measured(f"search, top_k {args.memories}, rerank; others plain", wide, plain)
        measured(f"search, top_k {args.memories}, rerank; others reranked", wide, reranked)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
