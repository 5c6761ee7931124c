"""Dump a Mem0 installation's memories through Mem0's own library, whatever its vector store (Chroma, Milvus,
Pinecone, Redis, Elasticsearch, FAISS, …), for mem0server's `manage.py import_from_mem0 --dump`.

A standalone script: it needs only Python and what the Mem0 installation already has (mem0ai and its vector
store's client), not mem0server. Copy it to where Mem0 runs and give it Mem0's configuration, the dict passed to
`Memory.from_config`, as a JSON file (without one: `Memory()`'s defaults):

    python mem0_dump.py --config mem0-config.json --output mem0-dump.jsonl

Each line is one memory as the vector store keeps it (its id and payload) with its history rows. The store is only
read (Mem0's library creates the collection if the configuration names one that does not exist). Mem0's telemetry
is off unless MEM0_TELEMETRY says otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

# Most memories asked of the vector store (its list()); a store refusing that many takes a lower --limit.
DEFAULT_LIMIT = 1_000_000


def stored_points(memory: Any, limit: int) -> list[Any]:
    """The vector store's points: list() answers a flat list, or the list inside a list or tuple (Qdrant's scroll
    answers (points, next offset)), as Mem0's own get_all unwraps it."""
    listed = memory.vector_store.list(filters=None, top_k=limit)
    if isinstance(listed, list | tuple) and listed and isinstance(listed[0], list | tuple):
        return list(listed[0])
    return list(listed or [])


def positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="Mem0's configuration (Memory.from_config's dict) as a JSON file")
    parser.add_argument("--output", "-o", help="The file to write; default: stdout")
    parser.add_argument(
        "--limit", type=positive, default=DEFAULT_LIMIT, help=f"Most memories read (default {DEFAULT_LIMIT})"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("MEM0_TELEMETRY", "false")
    try:
        config = json.loads(Path(args.config).read_text(encoding="utf-8")) if args.config else None
    except (OSError, ValueError) as exc:
        parser.error(f"cannot read --config {args.config}: {exc}")
    from mem0 import Memory

    try:
        memory = Memory.from_config(config) if config is not None else Memory()
        points = stored_points(memory, args.limit)
    except Exception as exc:  # noqa: BLE001 (each store raises its own client's errors)
        print(
            f"mem0_dump: Mem0's vector store could not be opened or listed: {' '.join(str(exc).split())[:500]} "
            "(a store that answers at most 10,000 at a time, as Pinecone and Elasticsearch do, takes --limit 10000).",
            file=sys.stderr,
        )
        return 1
    rows = 0
    with open(args.output, "w", encoding="utf-8") if args.output else contextlib.nullcontext(sys.stdout) as out:
        for point in points:
            history = memory.db.get_history(str(point.id))
            rows += len(history)
            line = {"mem0_id": str(point.id), "payload": point.payload, "history": history}
            out.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
    if len(points) >= args.limit:
        print(
            f"mem0_dump: --limit {args.limit} reached: there may be more; run again with a larger one.", file=sys.stderr
        )
    where = args.output or "stdout"
    # Plain Python in Mem0's environment: mem0server's own helper (mem0server/text.py counted) is not importable here.
    memories = f"{len(points)} memor{'y' if len(points) == 1 else 'ies'}"
    history = f"{rows} history row{'' if rows == 1 else 's'}"
    print(f"mem0_dump: {memories} ({history}) written to {where}.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
