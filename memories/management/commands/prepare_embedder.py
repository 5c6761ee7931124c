"""Make the local embedder's model ready before a server starts: with EMBEDDER_RUNTIME=onnx, export it to ONNX
once into MEM0_MODELS_DIR (memories/onnx_embedding.py). make serve and test run it."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from memories.onnx_embedding import ensure_onnx_file, onnx_file


class Command(BaseCommand):
    help = "Export the local embedder to ONNX once (EMBEDDER=local, EMBEDDER_RUNTIME=onnx); nothing to do otherwise."

    def handle(self, *args, **options):
        if settings.EMBEDDER != "local" or settings.EMBEDDER_RUNTIME != "onnx":
            return
        if onnx_file(settings.MODELS_DIR).is_file():
            return
        self.stdout.write(f"Exporting the embedder to ONNX once, into {settings.MODELS_DIR} (15-45 s) …")
        started = time.monotonic()
        try:
            path = ensure_onnx_file(settings.MODELS_DIR)
        except Exception as exc:  # the exporter's own message says what failed
            raise CommandError(f"The embedder could not be exported to ONNX: {exc}") from exc
        self.stdout.write(f"Exported in {time.monotonic() - started:.0f} s: {path}")
