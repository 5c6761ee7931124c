"""How fast manage.py export_memories and import_memories move memories: memories per second each way.

Runs in-process against the configured database (the embedded one unless DATABASE_URL is set), which must be
migrated (`.venv/bin/python manage.py migrate`). It creates a throw-away account, stores --memories memories
for it (infer=false, each with one history row), then measures:

- export: exports/backup.export_jsonl of that account's memories (with their history) to a temporary file;
- import: the memories deleted, exports/backup.import_jsonl of that file, embeddings recomputed by the
  configured embedder (the local MiniLM on the CPU by default) in batches of --batch-size;
- re-import: the same file again, every id skipped (the idempotent path: validation and one lookup).

Then it checks that the same memories are back (ids, texts, dates, history) and deletes everything it made.
The 1-minute load average is printed with the figures: on a shared machine they mean little without it.

    .venv/bin/python bench/export_bench.py --memories 2000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")

import django  # noqa: E402

django.setup()

from accounts.models import User  # noqa: E402
from exports.backup import export_jsonl, import_jsonl, lines_reread, memories_for_backup  # noqa: E402
from memories import services  # noqa: E402
from memories.models import Memory, MemoryHistory  # noqa: E402

TOPICS = ["tea", "Berlin", "bouldering", "the cello", "ramen", "sailing", "chess", "Lisbon", "pottery", "sushi"]


def snapshot(account: User) -> list:
    memories = list(
        Memory.objects.filter(account=account).order_by("id").values_list("id", "text", "created_at", "updated_at")
    )
    history = list(MemoryHistory.objects.filter(account=account).order_by("id").values_list("id", "memory_id"))
    return [memories, history]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=256, help="import batch (EXPORT_IMPORT_BATCH)")
    args = parser.parse_args()

    account = User.objects.create_user(email=f"export-bench-{uuid.uuid4().hex[:8]}@example.com")
    try:
        started = time.perf_counter()
        for start in range(0, args.memories, 50):
            texts = [
                f"Fact {i}: likes {TOPICS[i % len(TOPICS)]} on day {i // len(TOPICS)}"
                for i in range(start, min(start + 50, args.memories))
            ]
            services.memories_add(
                principal=account,
                messages=[services.Message(role="user", content=text) for text in texts],
                scope={"user_id": "export-bench"},
                infer=False,
            )
        print(f"seeded {args.memories} memories in {time.perf_counter() - started:.1f} s")
        before = snapshot(account)

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "memories.jsonl"
            started = time.perf_counter()
            with path.open("w", encoding="utf-8") as out:
                count, history = export_jsonl(memories=memories_for_backup(accounts=[account]), out=out)
            export_seconds = time.perf_counter() - started
            size = path.stat().st_size

            Memory.objects.filter(account=account).delete()
            MemoryHistory.objects.filter(account=account).delete()
            started = time.perf_counter()
            with path.open(encoding="utf-8") as lines:
                report = import_jsonl(lines=lines_reread(lines), batch_size=args.batch_size)
            import_seconds = time.perf_counter() - started

            started = time.perf_counter()
            with path.open(encoding="utf-8") as lines:
                again = import_jsonl(lines=lines_reread(lines), batch_size=args.batch_size)
            reimport_seconds = time.perf_counter() - started

        same = snapshot(account) == before
        load = os.getloadavg()[0]
        print(
            f"export:    {count} memories, {history} history rows, {size / 1e6:.1f} MB in {export_seconds:.2f} s "
            f"= {count / export_seconds:,.0f} memories/s   (load {load:.1f})"
        )
        print(
            f"import:    {report.created} memories in {import_seconds:.2f} s = "
            f"{report.created / import_seconds:,.0f} memories/s, embeddings included   (load {os.getloadavg()[0]:.1f})"
        )
        print(
            f"re-import: {again.skipped} skipped, {again.created} created in {reimport_seconds:.2f} s = "
            f"{again.skipped / reimport_seconds:,.0f} lines/s   (load {os.getloadavg()[0]:.1f})"
        )
        print(f"round trip gives the same memories and history: {same}")
        return 0 if same and report.created == count and again.created == 0 else 1
    finally:
        Memory.objects.filter(account=account).delete()
        MemoryHistory.objects.filter(account=account).delete()
        account.delete()


if __name__ == "__main__":
    sys.exit(main())
