"""How fast manage.py import_from_mem0 brings Mem0's memories over: memories per second, and the second import.

Runs in-process against the configured database (the embedded one unless DATABASE_URL is set), which must be
migrated (`.venv/bin/python manage.py migrate`). It writes --memories points as Mem0 keeps them (id, vector, payload:
the text as `data`, dates, a `user_id` of 20, one metadata key) into a throw-away store: with `--store pgvector` (the
default) a table in that same database, with `--store qdrant` a Qdrant local folder (the Mem0 library's default
store) in a temporary directory. Then it measures:

- import: `import_from_mem0` of that store, embeddings computed by the configured embedder (the local MiniLM on the
  CPU by default) in batches of --batch-size;
- again: the same store imported a second time, every id skipped.

Then it deletes the memories and the store. The 1-minute load average is printed with the figures.

    .venv/bin/python bench/mem0_import_bench.py --memories 2000
    .venv/bin/python bench/mem0_import_bench.py --memories 2000 --store qdrant
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
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

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.conninfo import make_conninfo  # noqa: E402

from memories.models import Memory  # noqa: E402

TOPICS = ["tea", "Berlin", "bouldering", "the cello", "ramen", "sailing", "chess", "Lisbon", "pottery", "sushi"]


def database_url() -> str:
    params = connection.get_connection_params()
    for name in ("pool", "cursor_factory", "context", "prepare_threshold", "options"):
        params.pop(name, None)
    return make_conninfo(**{key: value for key, value in params.items() if value is not None})


def imported(source: list[str], batch_size: int) -> tuple[str, float]:
    out = io.StringIO()
    start = time.perf_counter()
    call_command("import_from_mem0", *source, "--batch-size", str(batch_size), stdout=out, stderr=io.StringIO())
    return out.getvalue().strip(), time.perf_counter() - start


def payloads(count: int, prefix: str) -> list[tuple[str, dict]]:
    return [
        (
            str(uuid.uuid4()),
            {
                "data": f"Fact {n}: spends weekend {n % 52} on {TOPICS[n % len(TOPICS)]}",
                "hash": "unused",
                "created_at": "2025-01-01T00:00:00+00:00",
                "updated_at": "2025-01-02T00:00:00+00:00",
                "user_id": f"{prefix}{n % 20}",
                "topic": TOPICS[n % len(TOPICS)],
            },
        )
        for n in range(count)
    ]


@contextlib.contextmanager
def pgvector_store(points: list[tuple[str, dict]], name: str):
    table = sql.Identifier(name)
    with connection.cursor() as cursor:
        create = sql.SQL("CREATE TABLE {} (id uuid PRIMARY KEY, vector vector(384), payload jsonb)").format(table)
        cursor.execute(create)
        insert = sql.SQL("INSERT INTO {} (id, payload) VALUES (%s, %s)").format(table)
        cursor.executemany(insert, [(point_id, json.dumps(payload)) for point_id, payload in points])
    try:
        yield ["--database-url", database_url(), "--collection", name]
    finally:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP TABLE {}").format(table))


@contextlib.contextmanager
def qdrant_store(points: list[tuple[str, dict]], name: str):
    from qdrant_client import QdrantClient, models

    with tempfile.TemporaryDirectory() as folder:
        client = QdrantClient(path=folder)
        client.create_collection(name, vectors_config=models.VectorParams(size=384, distance=models.Distance.COSINE))
        vector = [1.0] + [0.0] * 383  # not read by the import
        client.upsert(name, [models.PointStruct(id=i, vector=vector, payload=p) for i, p in points])
        client.close()
        yield ["--qdrant-path", folder, "--collection", name]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memories", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=256, help="import batch (EXPORT_IMPORT_BATCH)")
    parser.add_argument("--store", choices=["pgvector", "qdrant"], default="pgvector")
    args = parser.parse_args()
    name = f"mem0_bench_{uuid.uuid4().hex[:8]}"
    prefix = f"{name}-user-"
    store = pgvector_store if args.store == "pgvector" else qdrant_store
    try:
        with store(payloads(args.memories, prefix), name) as source:
            said, seconds = imported(source, args.batch_size)
            print(f"import ({args.store}): {said} in {seconds:.1f} s ({args.memories / seconds:.0f} memories/s)")
            said, seconds = imported(source, args.batch_size)
            print(f"again:  {said} in {seconds:.2f} s")
            print(f"load average (1 min): {os.getloadavg()[0]:.2f}")
    finally:
        Memory.objects.filter(user_id__startswith=prefix).delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
