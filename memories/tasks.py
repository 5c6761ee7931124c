"""Upkeep of the memories app: image descriptions and document texts kept for images and documents sent again are
dropped after a while."""

from __future__ import annotations

from procrastinate.contrib.django import app

from mem0server.queueing import UPKEEP_PRIORITY
from memories.documents import documents_prune
from memories.vision import descriptions_prune


@app.periodic(cron="29 * * * *", periodic_id="prune_image_descriptions", priority=UPKEEP_PRIORITY)
@app.task(name="memories.prune_image_descriptions")
def prune_image_descriptions(timestamp: int) -> None:
    """Hourly: descriptions made more than IMAGE_DESCRIPTIONS_KEPT_DAYS ago."""
    descriptions_prune()


@app.periodic(cron="31 * * * *", periodic_id="prune_document_texts", priority=UPKEEP_PRIORITY)
@app.task(name="memories.prune_document_texts")
def prune_document_texts(timestamp: int) -> None:
    """Hourly: document texts read more than DOCUMENT_TEXTS_KEPT_DAYS ago."""
    documents_prune()
