"""Import the memories of a Mem0 installation (its pgvector collection and its history file): ids, texts, scope ids,
metadata, dates and history kept, embeddings computed here (exports/mem0_source.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from exports.backup import ImportInterrupted, ImportRefused, import_jsonl
from exports.management.import_arguments import add_import_arguments, import_owner
from exports.mem0_source import Mem0SourceError, mem0_history, mem0_lines, mem0_memories


class Command(BaseCommand):
    help = (
        "Import the memories of Mem0's server or library (the pgvector vector store) from its database, with their "
        "history from Mem0's history.db. Every memory is checked first: one that cannot be imported and nothing is "
        "written. A memory whose id already exists here is skipped, so importing again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--database-url",
            required=True,
            help="Mem0's PostgreSQL, e.g. postgresql://user:password@host:5432/postgres (only read)",
        )
        parser.add_argument(
            "--collection",
            default="memories",
            help="The vector store's collection_name: its table (Mem0's server: memories, the default; the "
            "library: mem0)",
        )
        parser.add_argument("--history", help="Mem0's history file (history.db; HISTORY_DB_PATH of Mem0's server)")
        add_import_arguments(parser, account_help="Put every memory into this account (by email); default: the admin's")

    def handle(self, *args, database_url, collection, history, account, dry_run, batch_size, **options):
        owner = import_owner(account, batch_size)
        try:
            rows = mem0_memories(database_url, collection)
            rows_history = mem0_history(history) if history else {}
        except Mem0SourceError as exc:
            raise CommandError(str(exc)) from None
        try:
            report = import_jsonl(
                lines=mem0_lines(rows, rows_history),
                account=owner,
                dry_run=dry_run,
                batch_size=batch_size,
                progress=lambda report: self.stderr.write(f"  {report.created} memories written"),
                where=lambda number: f"Mem0 memory {rows[number - 1][0]}",
            )
        except ImportRefused as exc:
            raise CommandError(f"Nothing was imported: {exc.total} problem(s).\n{exc}") from None
        except ImportInterrupted as exc:
            raise CommandError(str(exc).replace("the same file", "again")) from None
        verb = "Would import" if dry_run else "Imported"
        self.stdout.write(
            f"{verb} {report.lines - report.skipped} of Mem0's {report.lines} memories "
            f"({report.history_created} history rows); skipped {report.skipped} whose id already exists."
        )
