"""The export job: thin, as every job: it receives the export's id and runs the service (safe to run twice)."""

from __future__ import annotations

import uuid

from procrastinate.contrib.django import app

from exports.services import export_run


@app.task(name="exports.export_memories")
def export_memories_job(*, export_id: str) -> None:
    export_run(export_id=uuid.UUID(export_id))
