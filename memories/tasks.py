"""Upkeep of the memories app: image descriptions kept for images sent again are dropped after a while."""

from __future__ import annotations

from procrastinate.contrib.django import app

from mem0server.queueing import UPKEEP_PRIORITY
from memories.vision import descriptions_prune


@app.periodic(cron="29 * * * *", periodic_id="prune_image_descriptions", priority=UPKEEP_PRIORITY)
@app.task(name="memories.prune_image_descriptions")
def prune_image_descriptions(timestamp: int) -> None:
    """Hourly: descriptions made more than IMAGE_DESCRIPTIONS_KEPT_DAYS ago."""
    descriptions_prune()
