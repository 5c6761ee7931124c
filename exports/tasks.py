"""The export and import jobs: thin, as every job: each receives its id and runs the service (safe to run twice)."""

from __future__ import annotations

import uuid

from django.conf import settings
from procrastinate.contrib.django import app

from exports.services import export_run, exports_prune, import_run, imports_prune
from mem0server.queueing import UPKEEP_PRIORITY, DatabaseLossRetry


# A run the database's going away stopped is run again (DatabaseLossRetry): one that could not store its failure either
# left the export, or the import, RUNNING for ever.
@app.task(name="exports.export_memories", retry=DatabaseLossRetry())
def export_memories_job(*, export_id: str) -> None:
    export_run(export_id=uuid.UUID(export_id))


@app.task(name="exports.import_memories", retry=DatabaseLossRetry())
def import_memories_job(*, import_id: str) -> None:
    import_run(import_id=uuid.UUID(import_id))


@app.periodic(cron="35 * * * *", periodic_id="prune_exports", priority=UPKEEP_PRIORITY)
@app.task(name="exports.prune_exports")
def prune_exports(timestamp: int) -> None:
    """Hourly: finished exports, and the dashboard's finished imports, are kept EXPORT_RETENTION_DAYS."""
    exports_prune(older_than_days=settings.EXPORT_RETENTION_DAYS)
    imports_prune(older_than_days=settings.EXPORT_RETENTION_DAYS)
