"""Write the memories of a Mem0 Platform project (over Mem0's API) as export_memories' JSON lines, for
import_memories: ids, texts, scope ids, metadata, categories, dates and history (exports/mem0_api.py)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exports.mem0_api import EVERY_MEMORY, Mem0Api, Mem0ApiError, api_key_checked, mem0_api_memories, written_lines
from mem0server.text import counted


class Command(BaseCommand):
    help = (
        "Read a Mem0 project's memories over Mem0's API (POST /v3/memories/, each memory's history) and write them "
        "as JSON lines for import_memories. The key (--api-key, else MEM0_API_KEY) goes to --api-url only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--api-url", default="https://api.mem0.ai", help="Mem0's API (default: Mem0 Platform)")
        parser.add_argument("--api-key", help="The project's API key; default: the MEM0_API_KEY environment variable")
        parser.add_argument(
            "--filters", help='Which memories, as get_all filters (JSON, e.g. {"user_id": "alice"}); default: all'
        )
        parser.add_argument("--no-history", action="store_true", help="Leave each memory's history out")
        parser.add_argument("--output", "-o", help="The file to write; default: stdout")

    def handle(self, *args, api_url, api_key, filters, no_history, output, **options):
        where = "--api-key" if api_key else "MEM0_API_KEY"
        api_key = api_key or os.environ.get("MEM0_API_KEY")
        if not api_key:
            raise CommandError("Give the Mem0 project's API key: --api-key, or the MEM0_API_KEY environment variable.")
        try:
            api_key = api_key_checked(api_key, where)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        chosen = EVERY_MEMORY
        if filters:
            try:
                chosen = json.loads(filters)
            except ValueError as exc:
                raise CommandError(f"--filters is not JSON: {exc}.") from None
            if not isinstance(chosen, dict):
                raise CommandError('--filters must be a JSON object, e.g. {"user_id": "alice"}.')
        if not api_url.startswith(("https://", "http://")):
            raise CommandError(f"--api-url must start with https:// or http:// (got {api_url!r}).")
        api = Mem0Api(api_url, api_key, note=self.stderr.write)
        # To a file: written beside it and renamed once whole, so a file named --output is always a whole export
        # (one stopped halfway leaves an earlier file as it was). Stopped by the API or Ctrl-C, the partial file keeps
        # what was read, and the next export asks again only for the history of memories not there or changed since.
        partial = Path(f"{output}.partial") if output else None
        known = written_lines(partial) if partial and not no_history else {}
        if known:
            self.stderr.write(
                f"Carrying on from {partial}: "
                f"{counted(len(known), 'memory there keeps its', 'memories there keep their')} history unless changed "
                "since."
            )
        written = history = kept = 0
        try:
            with partial.open("w", encoding="utf-8") if partial else contextlib.nullcontext() as out:
                write = (lambda text: out.write(text + "\n")) if out else self.stdout.write
                done = set()
                try:
                    for line in mem0_api_memories(api, filters=chosen, with_history=not no_history, known=known):
                        write(json.dumps(line, ensure_ascii=False))
                        done.add(str(line["id"]))
                        written += 1
                        history += len(line.get("history") or [])
                except (Mem0ApiError, KeyboardInterrupt):
                    if out and not no_history:
                        for memory_id, line in known.items():
                            if memory_id not in done:
                                write(json.dumps(line, ensure_ascii=False))
                        kept = len(done | known.keys())
                    raise
            if partial:
                partial.replace(output)
        except (Mem0ApiError, KeyboardInterrupt) as exc:
            why = str(exc) if isinstance(exc, Mem0ApiError) else "Stopped (Ctrl-C)"
            if not output:
                raise CommandError(f"{why} ({counted(written, 'memory', 'memories')} written before it).") from None
            carry_on = (
                f"; {partial} keeps the {counted(kept, 'memory', 'memories')} read so far: the same command carries on"
                if kept
                else ""
            )
            raise CommandError(f"{why} ({output} not written{carry_on}).") from None
        except OSError as exc:
            kept = 0
            raise CommandError(f"Cannot write {output}: {exc.strerror}.") from None
        finally:
            api.close()
            if partial and not kept:
                partial.unlink(missing_ok=True)
        self.stderr.write(
            f"Wrote {counted(written, 'memory', 'memories')} ({counted(history, 'history row')}) to "
            f"{output or 'stdout'}; import them with manage.py import_memories."
        )
