"""Write memories as JSON lines, one memory with its history per line, for backups and moves between servers."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path

from django.core.management.base import CommandError

from accounts.selectors import user_by_email
from exports.backup import export_jsonl, memories_for_backup
from mem0server.commands import DatabaseCommand
from mem0server.exceptions import InvalidInput, NotFound
from mem0server.text import counted


class Command(DatabaseCommand):
    help = (
        "Export memories (expired ones too) with their history as JSON lines, oldest first; no embeddings "
        "(import_memories computes them). To a file with --output, else to stdout."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="The file to write (replaced once whole); default: stdout")
        parser.add_argument(
            "--email", action="append", default=[], help="Only this account's memories (repeat for several)"
        )
        for name in ("user_id", "agent_id", "app_id", "run_id"):
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, help=f"Only memories with this {name}")

    def handle(self, *args, output: str | None, email: list[str], **options):
        accounts, unknown = [], []
        for address in email:
            try:
                accounts.append(user_by_email(email=address.strip()))
            except NotFound:
                unknown.append(address)
            except InvalidInput as exc:  # several in other case, and not one exactly
                raise CommandError(exc.detail) from None
        if unknown:
            raise CommandError(f"No account with email {', '.join(unknown)}.")
        scope = {name: options[name] for name in ("user_id", "agent_id", "app_id", "run_id") if options.get(name)}
        memories = memories_for_backup(accounts=accounts or None, scope=scope)
        if output:
            # Written beside it and renamed once whole, as export_from_mem0 does: an export stopped halfway (Ctrl-C,
            # the database gone) leaves an earlier file of that name as it was, not a backup missing memories.
            partial = Path(f"{output}.partial")
            try:
                try:
                    with partial.open("w", encoding="utf-8") as out:
                        with contextlib.suppress(FileNotFoundError):  # an earlier file's mode (600, say) is kept
                            shutil.copymode(output, partial)
                        count, history = export_jsonl(memories=memories, out=out)
                    partial.replace(output)
                finally:
                    partial.unlink(missing_ok=True)
            except OSError as exc:
                raise CommandError(f"Cannot write {output}: {exc.strerror}.") from None
        else:
            try:
                count, history = export_jsonl(memories=memories, out=self.stdout)
                self.stdout.flush()
            except BrokenPipeError:  # the reader stopped reading (`| head`): one line, not a traceback
                # Python flushes stdout again on its way out; into the closed pipe that is a second error.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise CommandError("Stopped: the program reading the export closed its end of the pipe.") from None
        self.stderr.write(
            f"Exported {counted(count, 'memory', 'memories')} with {counted(history, 'history row')} to "
            f"{output or 'stdout'}."
        )
