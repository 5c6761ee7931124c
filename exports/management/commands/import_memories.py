"""Read memories written by export_memories (JSON lines): ids, dates and history kept, embeddings recomputed."""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
from pathlib import Path

from django.core.management.base import CommandError

from exports.backup import ImportInterrupted, ImportRefused, copies_said, import_jsonl, lines_reread
from exports.management.import_arguments import add_import_arguments, import_owner
from mem0server.commands import DatabaseCommand
from mem0server.text import counted


class Command(DatabaseCommand):
    # call_command(..., stdin=StringIO(...)) in tests.
    stealth_options = ("stdin",)
    help = (
        "Import memories from export_memories' JSON lines (--input FILE, else stdin). Every line is checked first: "
        "one bad line and nothing is written (the file is read twice, stdin kept in a temporary file meanwhile, so "
        "that only a batch of memories is held at a time). Accounts are matched by email. A memory whose id already "
        "exists in its account is skipped, so importing the same file twice changes nothing; one whose id is another "
        "account's here is imported under a new id."
    )

    def add_arguments(self, parser):
        parser.add_argument("--input", "-i", dest="input_path", help="The file to read; default: stdin")
        add_import_arguments(
            parser, account_help="Put every memory into this account (by email), whatever the file says"
        )

    def handle(
        self, *args, input_path: str | None, account: str | None, dry_run: bool, batch_size: int | None, **options
    ):
        owner = import_owner(account, batch_size)
        try:
            if input_path:
                try:
                    with Path(input_path).open(encoding="utf-8") as file:
                        report = self._import(lines_reread(file), owner, dry_run, batch_size)
                except OSError as exc:
                    raise CommandError(f"Cannot read {input_path}: {exc.strerror}.") from None
                except UnicodeDecodeError as exc:
                    raise CommandError(
                        f"{input_path} is not UTF-8 text ({exc.reason}); nothing was imported."
                    ) from None
            elif options.get("stdin"):
                report = self._import(lines_reread(options["stdin"]), owner, dry_run, batch_size)
            else:
                # Kept in a temporary file, as the lines are read twice (checked, then written). Decoded here,
                # strictly: sys.stdin's errors handler depends on the locale (a traceback under en_US.UTF-8, "an
                # unpaired surrogate character" named on a line under C.UTF-8).
                with tempfile.TemporaryFile() as spool:
                    shutil.copyfileobj(sys.stdin.buffer, spool)
                    stdin = io.TextIOWrapper(spool, encoding="utf-8")
                    try:
                        report = self._import(lines_reread(stdin), owner, dry_run, batch_size)
                    except UnicodeDecodeError as exc:
                        raise CommandError(
                            f"The input is not UTF-8 text ({exc.reason}); nothing was imported."
                        ) from None
        except ImportRefused as exc:
            raise CommandError(f"Nothing was imported: {exc.total} problem(s) in the file.\n{exc}") from None
        except ImportInterrupted as exc:
            raise CommandError(str(exc)) from None
        verb = "Would import" if dry_run else "Imported"
        self.stdout.write(
            f"{verb} {counted(report.created if not dry_run else report.lines - report.skipped, 'memory', 'memories')} "
            f"({counted(report.history_created, 'history row')}){copies_said(report)}; skipped {report.skipped} whose "
            "id already exists."
        )

    def _import(self, lines, owner, dry_run, batch_size):
        def progress(report):
            self.stderr.write(f"  {counted(report.created, 'memory', 'memories')} written")

        return import_jsonl(lines=lines, account=owner, dry_run=dry_run, batch_size=batch_size, progress=progress)
