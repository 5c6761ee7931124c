"""procrastinate jobs of the events app. Thin: ids in, one service call (events/services.py)."""

from __future__ import annotations

import logging

import psycopg
from django.conf import settings
from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.contrib.django import app
from procrastinate.exceptions import ConnectorException

from events import services
from mem0server.database_failures import lost_database
from mem0server.queueing import UPKEEP_PRIORITY, backoff_seconds

logger = logging.getLogger("mem0server")


class ProviderBackoff(BaseRetryStrategy):
    """Another run after a transient failure, WORKER_RETRY_BACKOFF_SECONDS later, doubling each time: the LLM's, or
    the database's going away (a restart, a failover), which left an add that could not store its failure RUNNING for
    ever. How many runs is the event's business (it counts them and turns FAILED), so this never gives up by
    itself."""

    def get_retry_decision(self, *, exception: BaseException, job) -> RetryDecision | None:
        if isinstance(exception, services.EventFailed):  # stored FAILED, whatever stopped the run (a lost database)
            return None
        if not (isinstance(exception, services.TransientFailure) or lost_database(exception)):
            return None
        return RetryDecision(retry_in={"seconds": backoff_seconds(job.attempts)})


@app.task(name="events.run_add_event", retry=ProviderBackoff())
def run_add_event(event_id: str) -> None:
    services.event_add_run(event_id=event_id)


# Every WORKER_STALLED_CHECK_SECONDS (a cron with a seconds field, last): jobs of workers silent for
# WORKER_STALLED_SECONDS go back in the queue (a worker killed mid-job never finishes them itself).
@app.periodic(
    cron=f"* * * * * */{settings.WORKER_STALLED_CHECK_SECONDS}",
    periodic_id="retry_stalled_jobs",
    priority=UPKEEP_PRIORITY,
)
@app.task(name="events.retry_stalled_jobs", pass_context=True)
async def retry_stalled_jobs(context, timestamp: int) -> None:
    manager = context.app.job_manager
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=settings.WORKER_STALLED_SECONDS):
        try:
            await manager.retry_job(job)
        except ConnectorException as exc:
            # Only a job still running is put back: another check (a busy worker runs several side by side) or
            # the worker itself, late with its heartbeat, got to it between the listing and here.
            if not isinstance(exc.__cause__, psycopg.errors.RaiseException):
                raise
            continue
        logger.warning("job %s (%s) was left running by a stopped worker; queued again", job.id, job.task_name)


@app.periodic(cron="41 * * * *", periodic_id="prune_events", priority=UPKEEP_PRIORITY)
@app.task(name="events.prune_events")
def prune_events(timestamp: int) -> None:
    """Hourly: finished async-add events are kept EVENT_RETENTION_DAYS."""
    services.events_prune(older_than_days=settings.EVENT_RETENTION_DAYS)


# Hourly: finished jobs (and their procrastinate_events rows) are kept JOB_RETENTION_DAYS after they finished.
@app.periodic(cron="47 * * * *", periodic_id="prune_finished_jobs", priority=UPKEEP_PRIORITY)
@app.task(name="events.prune_finished_jobs", pass_context=True)
async def prune_finished_jobs(context, timestamp: int) -> None:
    await context.app.job_manager.delete_old_jobs(
        nb_hours=settings.JOB_RETENTION_DAYS * 24, include_failed=True, include_cancelled=True, include_aborted=True
    )
