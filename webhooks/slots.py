"""A worker process's delivery slots, shared between accounts: one account's attempts hold at most all of them but one
(WEBHOOK_WORKER_CONCURRENCY - 1, at least one), so another account's delivery starts while they wait on receivers
that hang.

Turns in the queue (mem0server/queueing.py) are not slots: an attempt may wait WEBHOOK_TIMEOUT_SECONDS on its
receiver, and a member with many events for receivers that hang held every slot, so another account's delivery, first
in the queue, waited for one of them to end (up to the timeout, and again with each of their retries). Here the
worker's fetch passes over the jobs of an account holding its share of this process's slots; when one of its
attempts ends, the worker fetches again at once (procrastinate would wait for a new job or its next poll).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from procrastinate import App
from procrastinate.jobs import Job, Status
from procrastinate.manager import JobManager

from mem0server.queueing import DELIVERY_QUEUE

# procrastinate's fetch (procrastinate_fetch_job_v2: the highest priority, then the oldest, of the due jobs), but
# not of an account (the admin's webhooks: 0) whose attempts hold `most` of this worker's slots; then, unless another
# account's job is due, nothing, without reading the first account's backlog (the gate reads the delivery jobs of the
# other accounts' webhooks, by webhook_jobs_waiting). Delivery jobs have no procrastinate lock, which this leaves out.
# A job of a webhook deleted since counts for no account.
FETCH_SQL = """
WITH busy AS (
    SELECT coalesce(webhook.account_id, 0) AS account
    FROM procrastinate_jobs AS running
    JOIN webhooks_webhook AS webhook ON webhook.id = (running.args->>'webhook_id')::bigint
    WHERE running.status = 'doing' AND running.worker_id = %(worker_id)s AND running.task_name = 'webhooks.deliver'
    GROUP BY 1
    HAVING count(*) >= %(most)s
),
candidate AS (
    SELECT jobs.id
    FROM procrastinate_jobs AS jobs
    LEFT JOIN webhooks_webhook AS webhook ON webhook.id = (jobs.args->>'webhook_id')::bigint
    WHERE jobs.status = 'todo'
        AND jobs.queue_name = ANY(%(queues)s::varchar[])
        AND (jobs.scheduled_at IS NULL OR jobs.scheduled_at <= now())
        AND (webhook.id IS NULL OR coalesce(webhook.account_id, 0) NOT IN (SELECT account FROM busy))
        AND (
            NOT EXISTS (SELECT FROM busy)
            OR EXISTS (
                SELECT FROM webhooks_webhook AS other
                JOIN procrastinate_jobs AS waiting ON (waiting.args->>'webhook_id')::bigint = other.id
                WHERE coalesce(other.account_id, 0) NOT IN (SELECT account FROM busy)
                    AND waiting.task_name = 'webhooks.deliver' AND waiting.status = 'todo'
                    AND (waiting.scheduled_at IS NULL OR waiting.scheduled_at <= now())
            )
        )
    ORDER BY jobs.priority DESC, jobs.id ASC
    LIMIT 1
    FOR UPDATE OF jobs SKIP LOCKED
)
UPDATE procrastinate_jobs SET status = 'doing', worker_id = %(worker_id)s
FROM candidate
WHERE procrastinate_jobs.id = candidate.id
RETURNING procrastinate_jobs.id, status, task_name, priority, lock, queueing_lock, args, scheduled_at, queue_name,
    attempts, worker_id
"""


def delivering(queues: Iterable[str] | None) -> bool:
    return queues is not None and list(queues) == [DELIVERY_QUEUE]


class SharedDeliverySlots:
    """The app's job manager, as it was (configured, patched), but whose fetch for a worker of deliveries alone (queue
    "webhooks") keeps one of its `slots` for accounts other than one holding the rest."""

    def __init__(self, manager: JobManager, *, slots: int) -> None:
        self.manager = manager
        self.most = max(1, slots - 1)
        self.running = 0  # delivery jobs this process fetched that have not ended
        self.ended = 0  # delivery jobs of this process ended so far
        self.passed_over = False  # the last fetch found nothing, maybe passing over an account's jobs
        self.wake = None  # the delivery worker's notification callback

    def __getattr__(self, name: str):
        return getattr(self.manager, name)

    async def fetch_job(self, queues: Iterable[str] | None, worker_id: int) -> Job | None:
        if not delivering(queues):
            return await self.manager.fetch_job(queues, worker_id)
        while True:
            ended = self.ended
            if self.running < self.most:  # no account can hold its share: procrastinate's own fetch
                job = await self.manager.fetch_job(queues, worker_id)
            else:
                rows = await self.manager.connector.execute_query_all_async(
                    query=FETCH_SQL, queues=list(queues), worker_id=worker_id, most=self.most
                )
                job = Job.from_row(rows[0]) if rows else None
            if job is not None:
                self.running += 1
                return job
            # An attempt that ended while this fetch ran may have made room, and its wake-up would be lost: the worker
            # clears its new-job event after each fetch.
            if self.ended == ended:
                self.passed_over = self.running >= self.most
                return None

    async def listen_for_jobs(self, *, on_notification, queues: Iterable[str] | None = None) -> None:
        if delivering(queues):
            self.wake = on_notification
        await self.manager.listen_for_jobs(on_notification=on_notification, queues=queues)

    async def finish_job(self, job: Job, status: Status, delete_job: bool) -> None:
        try:
            await self.manager.finish_job(job=job, status=status, delete_job=delete_job)
        finally:
            await self._ended(job)

    async def retry_job(self, job: Job, retry_at=None, priority=None, queue=None, lock=None) -> None:
        try:
            await self.manager.retry_job(job=job, retry_at=retry_at, priority=priority, queue=queue, lock=lock)
        finally:
            await self._ended(job)

    async def _ended(self, job: Job) -> None:
        """A delivery attempt ended, so its account may hold fewer than its share: a worker that found nothing to
        fetch for that fetches again, as for a new job (procrastinate's worker would wait for a new job, or its next
        poll, every 5 s)."""
        if job.queue != DELIVERY_QUEUE:
            return
        self.running -= 1
        self.ended += 1
        if self.passed_over and self.wake is not None:
            self.passed_over = False
            channel = f"procrastinate_queue_v1#{DELIVERY_QUEUE}"
            await self.wake(channel=channel, notification={"type": "job_inserted", "job_id": job.id})


@contextlib.contextmanager
def slots_shared(app: App, slots: int) -> Iterator[None]:
    """Until the block ends, the app's workers of deliveries alone share their `slots` between accounts."""
    manager = app.job_manager
    app.job_manager = SharedDeliverySlots(manager, slots=slots)
    try:
        yield
    finally:
        app.job_manager = manager
