"""Write the memories of a Mem0 Platform project (over Mem0's API) as export_memories' JSON lines, for
import_memories: ids, texts, scope ids, metadata, categories, dates and history (exports/mem0_api.py)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exports.mem0_api import EVERY_MEMORY, Mem0Api, Mem0ApiError, mem0_api_memories


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
        api_key = api_key or os.environ.get("MEM0_API_KEY")
        if not api_key:
            raise CommandError("Give the Mem0 project's API key: --api-key, or the MEM0_API_KEY environment variable.")
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
        # (one stopped halfway leaves an earlier file as it was).
        partial = Path(f"{output}.partial") if output else None
        written = history = 0
        try:
            with partial.open("w", encoding="utf-8") if partial else contextlib.nullcontext() as out:
                write = (lambda text: out.write(text + "\n")) if out else self.stdout.write
                for line in mem0_api_memories(api, filters=chosen, with_history=not no_history):
                    write(json.dumps(line, ensure_ascii=False))
                    written += 1
                    history += len(line.get("history") or [])
            if partial:
                partial.replace(output)
        except Mem0ApiError as exc:
            kept = f"{output} not written" if output else f"{written} memories written before it"
            raise CommandError(f"{exc} ({kept}).") from None
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror}.") from None
        finally:
            api.close()
            if partial:
                partial.unlink(missing_ok=True)
        self.stderr.write(
            f"Wrote {written} memories ({history} history rows) to {output or 'stdout'}; "
            "import them with manage.py import_memories."
        )
