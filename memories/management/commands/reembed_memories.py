"""Compute the stored memories' embeddings again: after changing the embedder, or to give memories stored before
this version (those with a `timestamp`) the dated vectors that new ones get (memories/timestamps.py), or with
--sentences only the sentence vectors of long memories stored before they had them (memories/sentences.py), or with
--events (no embedding) the dates of memories whose text names a time but that have none (memories/temporal.py)."""

from __future__ import annotations

from django.core.management.base import CommandError

from mem0server.commands import DatabaseCommand
from mem0server.text import counted
from memories.services import memories_events_fill, memories_reembed, memories_sentences_fill


class Command(DatabaseCommand):
    help = (
        "Embed stored memories again with the configured embedder, in batches (one transaction each; safe to "
        "stop and run again). By default only memories with a timestamp; --all for every memory; --sentences for "
        "only the sentence vectors of long memories that have none; --events for only the dates of memories whose "
        "text names a time and that have none (no embedding)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all",
            action="store_true",
            help="Every memory, not only those with a timestamp (also stores the token vectors late interaction reads)",
        )
        parser.add_argument(
            "--sentences",
            action="store_true",
            help="Only the sentence vectors of long memories that have none (stored before this version had them)",
        )
        parser.add_argument(
            "--events",
            action="store_true",
            help="Only date the memories whose text names a time ('Yesterday I met Maya') and that have no dates "
            "(stored by an older server, e.g. during an upgrade); embeds nothing",
        )
        parser.add_argument("--batch-size", type=int, default=256, help="Memories per batch (default 256)")

    def handle(self, *args, all: bool, sentences: bool, events: bool, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if sentences and all:
            raise CommandError("--sentences and --all exclude each other: --all embeds sentences too.")
        if events and (all or sentences):
            raise CommandError("--events dates memories and embeds nothing: give it alone.")
        if events:
            count = memories_events_fill(batch_size=batch_size, progress=self._progress)
            what = "memory by the time its" if count == 1 else "memories by the time their"
            self.stdout.write(f"Dated {count} {what} text names.")
            return
        if sentences:
            count = memories_sentences_fill(batch_size=batch_size, progress=self._progress)
            self.stdout.write(f"Gave {count} long {'memory its' if count == 1 else 'memories their'} sentence vectors.")
            return
        count = memories_reembed(dated_only=not all, batch_size=batch_size, progress=self._progress)
        self.stdout.write(f"Embedded {counted(count, 'memory', 'memories')} again.")

    def _progress(self, done: int) -> None:
        self.stderr.write(f"  {done} …")
