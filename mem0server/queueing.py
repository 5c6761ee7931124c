"""Job queues, priorities and retries: webhook deliveries apart, upkeep first, no account's backlog ahead of another's
work, and a job the database's going away stopped run again.

procrastinate runs the highest priority first, then the oldest. A plain queue ran jobs in arrival order, so one
member who queued sixty large async adds held up every other account's adds (one still pending after 240 s)
and the stalled-job check behind them.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from procrastinate import RetryDecision
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.jobs import Job, JobDeferrer
from procrastinate.manager import JobManager
from procrastinate.retry import BaseRetryStrategy

from mem0server.database_failures import lost_database

# Webhook delivery attempts, run in slots of their own (events/worker.py run_workers): an attempt
# waits up to WEBHOOK_TIMEOUT_SECONDS on a receiver, and a member's 20 receivers that hang held every slot of a worker
# (another account's queued add waited 9.6 s instead of 0.2 s). Every other job is on procrastinate's default queue.
DELIVERY_QUEUE = "webhooks"

# Requeueing a stopped worker's jobs and the retention prunes: before any account's work.
UPKEEP_PRIORITY = 10


# Jobs written through Django's own connection, so in the transaction of the writes they are queued for, wherever that
# runs. In a job worker, procrastinate's command swaps the app's connector for a pool of its own, so a job queued by a
# job (an async add's or an import's webhook deliveries) was committed at once, apart from the add's writes: a worker
# could run the delivery before the add committed, find no history row for its event, and send nothing (2 of 5
# deliveries lost in bench/hanging_webhooks.py), or deliver a change the add then rolled back.
IN_TRANSACTION = JobManager(DjangoConnector())


def deferrer(task, **options) -> JobDeferrer:
    """`task.configure(**options)`, whose jobs are queued in the caller's transaction (committed with it, or never)."""
    configured = task.configure(**options)
    configured.job_manager = IN_TRANSACTION
    return configured


def fair_priority(unfinished: QuerySet) -> int:
    """The priority of an account's next job of a kind: minus how many of its jobs of that kind are unfinished.
    Its n-th waiting job then runs after every other account's first n, not behind a backlog it did not make."""
    return -unfinished.count()


def backoff_seconds(runs: int) -> float:
    """The wait before a job's next run after `runs` runs: WORKER_RETRY_BACKOFF_SECONDS, doubling with each."""
    return settings.WORKER_RETRY_BACKOFF_SECONDS * 2 ** min(runs, 10)


class DatabaseLossRetry(BaseRetryStrategy):
    """Another run of a job that the database's going away stopped (a restart, a failover), after backoff_seconds, up
    to WORKER_MAX_ATTEMPTS runs; any other failure is final. Without one, a database back within seconds found such a
    job failed for good (procrastinate could save that), its work never done."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if not lost_database(exception) or job.attempts + 1 >= settings.WORKER_MAX_ATTEMPTS:
            return None
        return RetryDecision(retry_in={"seconds": backoff_seconds(job.attempts)})
