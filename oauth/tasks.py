"""Upkeep of OAuth: ended grants and clients nobody authorized are dropped."""

from __future__ import annotations

from procrastinate.contrib.django import app

from mem0server.queueing import UPKEEP_PRIORITY
from oauth.services import oauth_prune


@app.periodic(cron="45 * * * *", periodic_id="prune_oauth", priority=UPKEEP_PRIORITY)
@app.task(name="oauth.prune_oauth")
def prune_oauth(timestamp: int) -> None:
    """Hourly: grants a day after they ended, clients registered a day ago that no account authorized."""
    oauth_prune()
