"""Compute the stored memories' embeddings again: after changing the embedder, or to give memories stored before
this version (those with a `timestamp`) the dated vectors that new ones get (memories/timestamps.py), or with
--sentences only the sentence vectors of long memories stored before they had them (memories/sentences.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from memories.services import memories_reembed, memories_sentences_fill


class Command(BaseCommand):
    help = (
        "Embed stored memories again with the configured embedder, in batches (one transaction each; safe to "
        "stop and run again). By default only memories with a timestamp; --all for every memory; --sentences for "
        "only the sentence vectors of long memories that have none."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Every memory, not only those with a timestamp")
        parser.add_argument(
            "--sentences",
            action="store_true",
            help="Only the sentence vectors of long memories that have none (stored before this version had them)",
        )
        parser.add_argument("--batch-size", type=int, default=256, help="Memories per batch (default 256)")

    def handle(self, *args, all: bool, sentences: bool, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if sentences and all:
            raise CommandError("--sentences and --all exclude each other: --all embeds sentences too.")
        if sentences:
            count = memories_sentences_fill(batch_size=batch_size, progress=self._progress)
            self.stdout.write(f"Gave {count} long {'memory its' if count == 1 else 'memories their'} sentence vectors.")
            return
        count = memories_reembed(dated_only=not all, batch_size=batch_size, progress=self._progress)
        self.stdout.write(f"Embedded {count} memories again.")

    def _progress(self, done: int) -> None:
        self.stderr.write(f"  {done} …")
