"""Import the memories of a Mem0 installation (its pgvector or Qdrant collection, or the TypeScript library's SQLite
store, and its history file): ids, texts, scope ids, metadata, dates and history kept, embeddings computed here
(exports/mem0_source.py)."""

from __future__ import annotations

import os

from django.core.management.base import CommandError

from exports.backup import ImportInterrupted, ImportRefused, Reiterable, copies_said, import_jsonl
from exports.management.import_arguments import add_import_arguments, import_owner
from exports.mem0_api import api_key_checked
from exports.mem0_source import (
    Mem0SourceError,
    mem0_dump,
    mem0_history,
    mem0_lines,
    mem0_memories,
    qdrant_memories,
    sqlite_memories,
)
from mem0server.commands import DatabaseCommand
from mem0server.text import counted


class Command(DatabaseCommand):
    help = (
        "Import the memories of Mem0's server or library from its vector store (pgvector; Qdrant: a local folder "
        "or a server; the TypeScript library's SQLite file), with their history from Mem0's history file; or from a "
        "file scripts/mem0_dump.py wrote (any vector store). Every memory is checked first: one that cannot be "
        "imported and nothing is written. A memory whose id already exists here in its account is skipped, so "
        "importing again changes nothing; one whose id is another account's here is imported under a new id."
    )

    def add_arguments(self, parser):
        store = parser.add_mutually_exclusive_group(required=True)
        store.add_argument(
            "--database-url", help="Mem0's PostgreSQL (pgvector), e.g. postgresql://user:password@host:5432/postgres"
        )
        store.add_argument(
            "--qdrant-path", help="The folder of Mem0's local Qdrant storage (the library's default: /tmp/qdrant)"
        )
        store.add_argument("--qdrant-url", help="Mem0's Qdrant server, e.g. http://localhost:6333")
        store.add_argument(
            "--sqlite-path",
            help='The TypeScript library\'s vector store file (its default "memory" store: ~/.mem0/vector_store.db)',
        )
        store.add_argument(
            "--dump", help="A file scripts/mem0_dump.py wrote where Mem0 runs (any vector store; history included)"
        )
        parser.add_argument(
            "--qdrant-api-key", help="The Qdrant server's API key; default: the QDRANT_API_KEY environment variable"
        )
        parser.add_argument(
            "--collection",
            help="The vector store's collection_name (default: memories on pgvector, as Mem0's server names it; mem0 "
            "on Qdrant, as the library does)",
        )
        parser.add_argument(
            "--history",
            help="Mem0's history file (history.db; HISTORY_DB_PATH of Mem0's server; memory.db of the TypeScript "
            "library)",
        )
        add_import_arguments(parser, account_help="Put every memory into this account (by email); default: the admin's")

    def handle(self, *args, account, dry_run, batch_size, **options):
        owner = import_owner(account, batch_size)
        try:
            rows, rows_history = self.mem0_source(**options)
        except Mem0SourceError as exc:
            raise CommandError(str(exc)) from None
        try:
            report = import_jsonl(
                lines=Reiterable(lambda: mem0_lines(rows, rows_history)),
                account=owner,
                dry_run=dry_run,
                batch_size=batch_size,
                progress=lambda report: self.stderr.write(f"  {counted(report.created, 'memory', 'memories')} written"),
                where=lambda number: f"Mem0 memory {rows[number - 1][0]}",
            )
        except ImportRefused as exc:
            raise CommandError(f"Nothing was imported: {exc.total} problem(s).\n{exc}") from None
        except ImportInterrupted as exc:
            raise CommandError(str(exc).replace("the same file", "again")) from None
        verb = "Would import" if dry_run else "Imported"
        self.stdout.write(
            f"{verb} {report.lines - report.skipped} of Mem0's {counted(report.lines, 'memory', 'memories')} "
            f"({counted(report.history_created, 'history row')}){copies_said(report)}; skipped {report.skipped} whose "
            "id already exists."
        )

    @staticmethod
    def mem0_source(
        *, database_url, qdrant_path, qdrant_url, sqlite_path, qdrant_api_key, dump, collection, history, **options
    ):
        """(id, payload) of each memory of the store named, and their history rows by memory id."""
        if dump:
            if collection or history:
                raise CommandError("--dump holds the memories and their history: no --collection or --history.")
            return mem0_dump(dump)
        if qdrant_api_key and not qdrant_url:
            raise CommandError("--qdrant-api-key goes with --qdrant-url (a Qdrant server).")
        if sqlite_path and collection:
            raise CommandError("--sqlite-path holds one collection: no --collection.")
        if database_url:
            rows = mem0_memories(database_url, collection or "memories")
        elif sqlite_path:
            rows = sqlite_memories(sqlite_path)
        elif qdrant_url:
            if not qdrant_url.startswith(("https://", "http://")):
                raise CommandError(f"--qdrant-url must start with https:// or http:// (got {qdrant_url!r}).")
            where = "--qdrant-api-key" if qdrant_api_key else "QDRANT_API_KEY"
            api_key = qdrant_api_key or os.environ.get("QDRANT_API_KEY")
            try:
                api_key = api_key_checked(api_key, where) if api_key else None
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            rows = qdrant_memories(collection or "mem0", url=qdrant_url, api_key=api_key)
        else:
            rows = qdrant_memories(collection or "mem0", path=qdrant_path)
        return rows, (mem0_history(history) if history else {})
