"""The memories of a Mem0 installation, as import lines (exports/backup.py): what `manage.py import_from_mem0` reads.

Mem0's server and library (mem0ai) keep each memory as a point of their vector store's collection (its
`collection_name`: `memories` for Mem0's server on pgvector, `mem0` for the library) holding the memory's id, its
vector and a JSON payload: the text (`data`), `hash`, `created_at`, `updated_at`, the scope ids, `actor_id`, `role`,
and every metadata key beside them. Three stores are read: pgvector (a table; Mem0's server), Qdrant (the Python
library's default: a local folder, /tmp/qdrant unless configured, or a Qdrant server) and the TypeScript library's
default "memory" store (a SQLite file, ~/.mem0/vector_store.db, table `vectors`; its payload says `createdAt` and
`updatedAt`). Their history is a SQLite file (Python's `history.db`, table `history`; TypeScript's `memory.db`, table
`memory_history`). All are only read: the Mem0 database through a read-only transaction, Qdrant by scrolling its
points, the SQLite files opened read-only. Vectors are not read (this server embeds every memory with
its own embedder).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from qdrant_client import QdrantClient
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from mem0server.text import mask_urls, redact_secret_echoes

# The payload keys Mem0 keeps beside the metadata (what its get_all() leaves out of `metadata`). `attributed_to` is
# kept as metadata here: this server has no field for it.
MEM0_OWN_KEYS = frozenset({"data", "hash", "created_at", "updated_at", "id", "text_lemmatized", "textLemmatized"})
# The TypeScript library's camel-case payload keys (its older versions also wrote the scope ids so).
TS_KEYS = {
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "userId": "user_id",
    "agentId": "agent_id",
    "runId": "run_id",
}
# Payload keys that are columns here.
COLUMNS = ("user_id", "agent_id", "app_id", "run_id", "actor_id", "role", "expiration_date")
CONNECT_TIMEOUT_SECONDS = 10
QDRANT_PAGE = 256


class Mem0SourceError(Exception):
    """The Mem0 database or history file could not be read; the message says why (credentials masked)."""


def mem0_memories(database_url: str, collection: str) -> list[tuple[str, dict[str, Any] | None]]:
    """(id, payload) of every memory of the collection, oldest first."""
    table = sql.Identifier(*collection.split(".", 1))
    try:
        with psycopg.connect(database_url, connect_timeout=CONNECT_TIMEOUT_SECONDS) as connection:
            connection.read_only = True
            rows = connection.execute(
                sql.SQL("SELECT id::text, payload FROM {} ORDER BY payload->>'created_at', id::text").format(table)
            ).fetchall()
    except psycopg.errors.UndefinedTable:
        raise Mem0SourceError(
            f"The Mem0 database has no table {collection}: give --collection, the vector store's collection_name "
            "(Mem0's server: memories; the Mem0 library: mem0)."
        ) from None
    except psycopg.errors.UndefinedColumn:
        raise Mem0SourceError(
            f"Table {collection} has no id and payload columns: not a collection of Mem0's pgvector store."
        ) from None
    except psycopg.Error as exc:
        raise Mem0SourceError(f"Cannot read the Mem0 database: {mask_urls(' '.join(str(exc).split()))}") from None
    return rows


def qdrant_memories(
    collection: str, *, path: str | None = None, url: str | None = None, api_key: str | None = None
) -> list[tuple[str, dict[str, Any] | None]]:
    """(id, payload) of every point of a Qdrant collection, oldest first: from a local folder (`path`, as the
    Mem0 library keeps it) or a Qdrant server (`url`)."""
    where = f"Qdrant's folder {path}" if path else f"Qdrant at {mask_urls(url or '')}"
    if path and not (Path(path) / "meta.json").is_file():
        # QdrantClient would make an empty storage there.
        raise Mem0SourceError(
            f"No Qdrant storage in {path} (no meta.json): give --qdrant-path, the folder of the vector store's "
            "`path` (the Mem0 library's default: /tmp/qdrant)."
        )
    rows = []
    try:
        client = (
            QdrantClient(path=path)
            if path
            else QdrantClient(url=url, api_key=api_key, timeout=CONNECT_TIMEOUT_SECONDS, check_compatibility=False)
        )
    except RuntimeError as exc:
        if "already accessed" not in str(exc):
            raise
        raise Mem0SourceError(
            f"{where} is open in another process (a Mem0 running on it): Qdrant's local storage is read by one "
            "process at a time. Stop it and import again."
        ) from None
    try:
        if not client.collection_exists(collection):
            raise Mem0SourceError(
                f"{where} has no collection {collection}: give --collection, the vector store's collection_name "
                "(the Mem0 library's default: mem0)."
            )
        offset = None
        while True:
            points, offset = client.scroll(collection, limit=QDRANT_PAGE, offset=offset, with_payload=True)
            rows += [(str(point.id), point.payload) for point in points]
            if offset is None:
                break
    except (ResponseHandlingException, UnexpectedResponse) as exc:
        said = redact_secret_echoes(" ".join(str(exc).split()), api_key)
        raise Mem0SourceError(f"Cannot read {where}: {said}") from None
    finally:
        client.close()
    return sorted(rows, key=oldest_first)


def oldest_first(row: tuple[str, Any]) -> tuple[str, str]:
    payload = row[1]
    return (str(payload.get("created_at") or "") if isinstance(payload, dict) else "", row[0])


def mem0_dump(path: str) -> tuple[list[tuple[str, dict[str, Any] | None]], dict[str, list[dict[str, Any]]]]:
    """(id, payload) of every memory in a file scripts/mem0_dump.py wrote, oldest first, and their history rows."""
    rows, history = [], {}
    try:
        with open(path, encoding="utf-8") as file:
            for number, text in enumerate(file, start=1):
                if not text.strip():
                    continue
                try:
                    line = json.loads(text)
                except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's json reads
                    line = None
                if not (
                    isinstance(line, dict)
                    and isinstance(line.get("mem0_id"), str)
                    and isinstance(line.get("history", []), list)
                    and all(isinstance(row, dict) for row in line.get("history") or [])
                ):
                    raise Mem0SourceError(
                        f"{path} line {number}: not a memory as mem0_dump.py writes it (a JSON object with mem0_id, "
                        "payload and history)."
                    )
                rows.append((line["mem0_id"], line.get("payload")))
                history[line["mem0_id"]] = [history_entry(row) for row in line.get("history") or []]
    except (OSError, UnicodeDecodeError) as exc:
        raise Mem0SourceError(f"Cannot read {path}: {getattr(exc, 'strerror', None) or exc}.") from None
    return sorted(rows, key=oldest_first), history


def _sqlite_rows(path: str, what: str, queries: dict[str, str], *, table_missing: str) -> list[sqlite3.Row]:
    """The rows of the first query whose table (the key) the SQLite file has, the file opened read-only;
    Mem0SourceError if it cannot be read (naming `what`) or has none of those tables (saying `table_missing`)."""
    try:
        read_only = Path(path).resolve().as_uri() + "?mode=ro"  # a name's "?" or "#" escaped
        with contextlib.closing(sqlite3.connect(read_only, uri=True)) as connection:
            connection.row_factory = sqlite3.Row
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            table = next((table for table in queries if table in tables), None)
            if table is None:
                raise Mem0SourceError(f"{path} has no table {' or '.join(queries)}: {table_missing}.")
            return connection.execute(queries[table]).fetchall()
    except sqlite3.Error as exc:
        raise Mem0SourceError(f"Cannot read {what} {path}: {exc}.") from None


def _snake_case(payload: dict[str, Any]) -> dict[str, Any]:
    """The TypeScript library's payload with the Python library's keys (a key already there in snake case wins)."""
    return {TS_KEYS.get(key, key): value for key, value in payload.items() if TS_KEYS.get(key) not in payload}


def sqlite_memories(path: str) -> list[tuple[str, dict[str, Any] | None]]:
    """(id, payload) of every memory in the TypeScript library's "memory" vector store file, oldest first."""
    rows = _sqlite_rows(
        path,
        "Mem0's vector store file",
        {"vectors": "SELECT id, payload FROM vectors"},
        table_missing="not the vector store file of Mem0's TypeScript library",
    )
    memories = []
    for row in rows:
        try:
            payload = json.loads(row["payload"])
        except (TypeError, ValueError, RecursionError):
            payload = None  # the import names the memory and says it has no text
        memories.append((str(row["id"]), _snake_case(payload) if isinstance(payload, dict) else payload))
    return sorted(memories, key=oldest_first)


def mem0_history(path: str) -> dict[str, list[dict[str, Any]]]:
    """The history rows of each memory id in Mem0's SQLite history file (the Python library's or the TypeScript
    library's), oldest first."""
    by_memory: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rows = _sqlite_rows(
        path,
        "Mem0's history file",
        {
            "history": "SELECT id, memory_id, old_memory, new_memory, event, created_at, updated_at, is_deleted, "
            "actor_id, role FROM history ORDER BY coalesce(updated_at, created_at), id",
            "memory_history": "SELECT id, memory_id, previous_value AS old_memory, new_value AS new_memory, "
            "action AS event, created_at, updated_at, is_deleted FROM memory_history "
            "ORDER BY coalesce(updated_at, created_at), id",
        },
        table_missing="not a history file of Mem0",
    )
    for row in rows:
        by_memory[row["memory_id"]].append(history_entry(dict(row)))
    return by_memory


def history_entry(row: dict[str, Any]) -> dict[str, Any]:
    """A row of Mem0's history (its columns, as its SQLite file and its get_history() hold them) as an import line's
    history entry."""
    return {
        "id": row.get("id"),
        "event": row.get("event"),
        "old_memory": row.get("old_memory"),
        "new_memory": row.get("new_memory"),
        # Mem0 keeps the memory's creation in created_at and the event's time in updated_at.
        "created_at": row.get("updated_at") or row.get("created_at"),
        "updated_at": row.get("updated_at"),
        "is_deleted": bool(row.get("is_deleted")),
        "actor_id": row.get("actor_id"),
        "role": row.get("role"),
    }


def memory_line(memory_id: str, payload: dict[str, Any] | None, history: list[dict[str, Any]]) -> dict[str, Any]:
    """One memory as export_memories writes it (exports/backup.py checks it like a line of a file)."""
    if not isinstance(payload, dict):
        return {"id": memory_id, "memory": None, "created_at": None, "updated_at": None}
    line = {column: payload[column] for column in COLUMNS if column in payload}
    metadata = {key: value for key, value in payload.items() if key not in MEM0_OWN_KEYS and key not in COLUMNS}
    return {
        **line,
        "id": memory_id,
        "memory": payload.get("data"),
        "metadata": metadata or None,
        "created_at": payload.get("created_at"),
        "updated_at": payload.get("updated_at") or payload.get("created_at"),
        "history": history,
    }


def mem0_lines(
    rows: list[tuple[str, dict[str, Any] | None]], history: dict[str, list[dict[str, Any]]]
) -> Iterator[str]:
    for memory_id, payload in rows:
        yield json.dumps(memory_line(memory_id, payload, history.get(memory_id, [])))
