"""What building a large export costs the job: exports.services.export_run (POST /v1/exports/, create_memory_export).

Never touches real data: a database of its own beside the project's (bench/scratch_database.py), where one account
holds --memories memories of --chars characters each (stored once, straight into the table, with fixed ids and dates:
no embedder). Each run creates an export of them all and runs its job in this process, as a worker does, printing
the process's peak resident memory (VmHWM, reset before the job) above what it held before (memory freed by an
earlier run and used again does not show there) and the job's time; one more run prints Python's memory at the
job's peak as tracemalloc counts it (slower: not timed). Each prints the stored export's size and the MD5 of its
jsonb text (the same before and after a change means the same stored data) and, when PostgreSQL runs on this machine
as this user (the embedded one), the peak resident memory its backend process reached meanwhile. Without a schema the
export is the memories themselves; with --schema the LLM (the tests' scripted fake, memories/tests/fake_openai.py, set
as the benchmark database's LLM) shapes the newest EXPORT_LLM_MAX_MEMORIES.

    .venv/bin/python bench/export_build.py                    # 10,000 memories of 5,500 characters: ~65 MB of JSON
    .venv/bin/python bench/export_build.py --schema
    .venv/bin/python bench/export_build.py --memories 2000 --runs 3
    .venv/bin/python bench/export_build.py --drop             # delete the database
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
import tracemalloc
import uuid
from contextlib import ExitStack
from pathlib import Path

from scratch_database import django_on_scratch_database

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
DB_NAME = "mem0_export_build"
WORDS = ["tea", "Berlin", "bouldering", "cello", "ramen", "sailing", "chess", "Lisbon", "Zürich", "café", "☕", "東京"]


def status_kib(field: str, pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def load(email: str, memories: int, chars: int) -> None:
    """The account and its memories, once (kept for the next runs at the same --memories and --chars)."""
    from django.db import connection, transaction

    from accounts.models import User
    from memories.models import Memory

    if User.objects.filter(email=email).exists():
        return
    rng = random.Random(1)
    started = time.perf_counter()
    with transaction.atomic():
        user = User.objects.create_user(email, "x" * 20)
        for start in range(0, memories, 500):
            rows = []
            for n in range(start, min(start + 500, memories)):
                text = ""
                while len(text) < chars:
                    text += rng.choice(WORDS) + " "
                rows.append(
                    Memory(
                        id=uuid.UUID(int=rng.getrandbits(128), version=4),
                        account=user,
                        text=text[:chars] + ("\u2028" if n % 100 == 0 else ""),
                        hash=f"{n:032x}",
                        user_id=f"user-{n % 7}",
                        metadata={"topic": rng.choice(WORDS), "score": rng.random(), "n": n},
                        categories=["hobbies"],
                        embedding=[0.0] * 384,
                    )
                )
            Memory.objects.bulk_create(rows)
        with connection.cursor() as cursor:  # fixed dates (auto_now_add set them to now)
            cursor.execute(
                "UPDATE memories_memory SET created_at = '2026-01-01T00:00:00Z'::timestamptz "
                "+ (metadata->>'n')::int * interval '1 minute', updated_at = '2026-01-01T00:00:00Z'::timestamptz "
                "+ (metadata->>'n')::int * interval '1 minute' WHERE account_id = %s",
                [user.pk],
            )
    print(f"stored {memories} memories of {chars} characters in {time.perf_counter() - started:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--chars", type=int, default=5_500, help="characters of each memory's text")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--schema", action="store_true", help="a schema, shaped by the scripted LLM")
    parser.add_argument("--drop", action="store_true", help="delete the benchmark's database and exit")
    args = parser.parse_args()
    django_on_scratch_database(DB_NAME, drop=args.drop, DB_STATEMENT_TIMEOUT_MS="0")
    from accounts.models import User

    email = f"export-{args.memories}-{args.chars}@example.com"
    load(email, args.memories, args.chars)
    user = User.objects.get(email=email)
    with ExitStack() as stack:
        if args.schema:
            from memories.configuration import server_config_clear
            from memories.tests.fake_openai import as_json, llm_configured

            stack.callback(server_config_clear)  # the next run without --schema has no LLM
            llm = stack.enter_context(llm_configured())
        schema = {"type": "object", "properties": {"topics": {"type": "array"}}} if args.schema else None
        for run in range(args.runs + 2):  # run 0: what a first run loads is not the job's; the last one traced
            if args.schema:
                llm.chat_queue.append(as_json({"topics": ["tea", "chess"]}))
            measure(user, schema, run, traced=run == args.runs + 1)


def measure(user, schema: dict | None, run: int, *, traced: bool) -> None:
    from django.db import connection

    from exports.models import MemoryExport
    from exports.services import export_create, export_run

    export = export_create(principal=user, filters={}, schema=schema)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    # PostgreSQL's process serving this one's connection, when it runs on this machine as this user (the embedded one)
    backend_seen = os.access(f"/proc/{backend}/clear_refs", os.W_OK)
    if run:
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM back to the current resident size
    if backend_seen:
        Path(f"/proc/{backend}/clear_refs").write_text("5")
        backend_before = status_kib("VmHWM", backend)
    before = status_kib("VmHWM")
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    export_run(export_id=export.id)
    elapsed = time.perf_counter() - started
    grown = (status_kib("VmHWM") - before) / 1024
    backend_grown = (status_kib("VmHWM", backend) - backend_before) / 1024 if backend_seen else None
    if traced:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, memory_count, octet_length(result::text), md5(result::text), error "
            "FROM exports_memoryexport WHERE id = %s",
            [export.id],
        )
        status, count, size, digest, error = cursor.fetchone()
    MemoryExport.objects.filter(id=export.id).delete()
    if status != MemoryExport.Status.SUCCEEDED:
        raise SystemExit(f"the export failed: {error}")
    if not run:
        return
    said = f"{count} memories read, {size / 1e6:.2f} MB stored (md5 {digest[:16]})"
    if backend_grown is not None:
        said += f"; PostgreSQL's backend +{backend_grown:.0f} MiB at its peak"
    if traced:
        print(f"traced run: {said}; Python's memory at the job's peak (tracemalloc) {peak:.1f} MiB", flush=True)
    else:
        print(
            f"run {run}: {said}; the job's peak memory +{grown:.0f} MiB over the {before / 1024:.0f} MiB the "
            f"process held, {elapsed:.2f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
