"""The delivery job: one attempt per run, retried with exponential backoff while attempts remain."""

from __future__ import annotations

from django.conf import settings
from procrastinate import JobContext, RetryDecision
from procrastinate.contrib.django import app
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy

from mem0server.database_failures import lost_database
from mem0server.queueing import DELIVERY_QUEUE, UPKEEP_PRIORITY, DatabaseLossRetry
from webhooks import services

MAX_RETRY_WAIT_SECONDS = 3600


class DeliveryRetry(BaseRetryStrategy):
    """Retry a failed attempt after WEBHOOK_RETRY_BASE_SECONDS * 2**(n-1) (n: attempts made so far), until
    WEBHOOK_MAX_ATTEMPTS; read at each failure, so a changed setting applies to queued deliveries too. An attempt
    fails so by the receiver's doing, or by the database's going away (a restart, a failover: its outcome could not be
    logged, and a database back within seconds found the delivery failed for good)."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if not (isinstance(exception, services.DeliveryFailed) or lost_database(exception)):
            return None  # a bug, not the receiver: retrying would repeat it
        made = job.attempts + 1  # job.attempts counts the runs before this one
        if made >= settings.WEBHOOK_MAX_ATTEMPTS:
            return None
        wait = min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (made - 1), MAX_RETRY_WAIT_SECONDS)
        return RetryDecision(retry_in={"seconds": wait})


@app.task(name="webhooks.deliver", queue=DELIVERY_QUEUE, retry=DeliveryRetry(), pass_context=True)
def deliver(context: JobContext, *, webhook_id: int, event_id: str, event_type: str) -> None:
    """Attempt to deliver one event to one webhook."""
    services.delivery_attempt(
        webhook_id=webhook_id,
        event_id=event_id,
        event_type=event_type,
        attempt=context.job.attempts + 1,
    )


@app.task(name="webhooks.queue_deliveries", retry=DatabaseLossRetry())
def queue_deliveries(*, account_id: int | None, webhook_ids: list[int], events: list[list[str]]) -> None:
    """Queue the deliveries of a large commit's events, DELIVERIES_PER_JOB at a time (services.deliveries_enqueue)."""
    services.deliveries_fan_out(account_id=account_id, webhook_ids=webhook_ids, events=events)


@app.periodic(cron="23 * * * *", periodic_id="prune_webhook_deliveries", priority=UPKEEP_PRIORITY)
@app.task(name="webhooks.prune_deliveries")
def prune_deliveries(timestamp: int) -> None:
    """Hourly: the delivery log keeps WEBHOOK_DELIVERY_RETENTION_DAYS."""
    services.deliveries_prune(older_than_days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS)
