"""What reading a large finished export costs the web process: POST /v1/exports/get/ (MemoryClient.get_memory_export).

Starts its own server (gunicorn, one worker, its own embedded PostgreSQL in a temporary folder, as the fault tests
do: mem0server/tests/server_process.py), stores one finished export of --memories memories of --chars characters each
(as the admin key's, straight into its table: no worker, no embedder), then reads it once, and --at-once times at
once, printing for each the worker's peak resident memory (VmHWM, reset between the two) above what it held
before the first read, the time until the whole body was in, the body's size and its SHA-256 (the same before and
after a change means the same bytes).

    .venv/bin/python bench/export_read.py                      # 10,000 memories of 5,500 characters: ~66 MB
    .venv/bin/python bench/export_read.py --memories 2000 --at-once 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = ["tea", "Berlin", "bouldering", "cello", "ramen", "sailing", "chess", "Lisbon", "Zürich", "café", "☕", "東京"]


def memory(index: int, chars: int, rng: random.Random) -> dict:
    text = ""
    while len(text) < chars:
        text += rng.choice(WORDS) + " "
    when = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=index)).isoformat()
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "memory": text[:chars] + ("\u2028" if index % 100 == 0 else ""),
        "hash": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
        "metadata": {"topic": rng.choice(WORDS), "score": rng.random(), "n": index},
        "created_at": when,
        "updated_at": when,
        "user_id": f"user-{index % 7}",
        "agent_id": None,
        "app_id": None,
        "run_id": None,
        "actor_id": None,
        "role": None,
        "expiration_date": None,
        "event_start": None,
        "event_end": None,
        "timestamp": None,
        "categories": ["hobbies"],
    }


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM back to the current resident size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--chars", type=int, default=5_500, help="characters of each memory's text")
    parser.add_argument("--at-once", type=int, default=2, help="reads at once, after the single one")
    args = parser.parse_args()

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")
    django.setup()
    from mem0server.tests.server_process import ServerProcess

    rng = random.Random(1)
    result = {"memories": [memory(i, args.chars, rng) for i in range(args.memories)]}
    result.update(count=args.memories, truncated=False)
    stored = json.dumps(result, ensure_ascii=False)
    del result
    server = ServerProcess(Path(tempfile.mkdtemp(prefix="mem0-bench-")), env={})
    print("starting a server …", flush=True)
    server.start()
    try:
        now = datetime.now(UTC)
        insert = (
            "INSERT INTO exports_memoryexport (id, account_id, status, filters, scope, schema, export_instructions, "
            "result, error, memory_count, attempts, created_at, updated_at, finished_at) VALUES "
            "(%s, NULL, 'SUCCEEDED', '{}', '{}', NULL, '', %s::jsonb, '', %s, 1, %s, %s, %s)"
        )
        small, large = uuid.uuid4(), uuid.uuid4()
        with server.connect() as conn:
            conn.execute(insert, [small, '{"memories": [], "count": 0, "truncated": false}', 0, now, now, now])
            conn.execute(insert, [large, stored, args.memories, now, now, now])
        print(f"stored an export of {args.memories} memories, {len(stored.encode()) / 1e6:.1f} MB of JSON", flush=True)
        del stored
        worker = server.worker()
        server.call("POST", "/v1/exports/get/", {"memory_export_id": str(small)})  # what a first call loads

        def read():
            response = server.call("POST", "/v1/exports/get/", {"memory_export_id": str(large)}, timeout=600)
            if response.status != 200:
                raise SystemExit(f"the read failed: {response}")
            return response

        reset_peak(worker.pid)
        before = peak_kib(worker.pid)  # what the worker holds before the first read
        for at_once in (1, args.at_once):
            reset_peak(worker.pid)
            started = time.perf_counter()
            with ThreadPoolExecutor(at_once) as pool:
                responses = list(pool.map(lambda _: read(), range(at_once)))
            elapsed = time.perf_counter() - started
            grown = (peak_kib(worker.pid) - before) / 1024
            body = responses[0].body
            print(
                f"{at_once} read(s) at once: the worker's peak memory +{grown:.0f} MiB over the "
                f"{before / 1024:.0f} MiB it held, "
                f"{elapsed:.2f} s, {len(body) / 1e6:.1f} MB answered, sha256 {hashlib.sha256(body).hexdigest()[:16]}, "
                f"{len(json.loads(body)['memories'])} memories",
                flush=True,
            )
            del responses, body
    finally:
        server.stop()


if __name__ == "__main__":
    main()
