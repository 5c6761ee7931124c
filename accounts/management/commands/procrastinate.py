"""`manage.py procrastinate`, procrastinate's own command (found here first, as accounts is the first app), but a job
worker (`make serve`'s, `make worker`) on a database it cannot reach, or that lacks migrations of this version (an
upgrade whose `manage.py bootstrap` has not run yet), stops at once with one line saying so and what to do. A
database lost while it runs (the embedded PostgreSQL killed, a server restarted) does not end it: it waits for the
database, starting a killed embedded PostgreSQL again as the web processes do, and takes jobs again once it answers."""

from __future__ import annotations

import asyncio
import functools
import logging
import time

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection
from procrastinate import PsycopgConnector
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.contrib.django.management.commands.procrastinate import Command as ProcrastinateCommand
from procrastinate.contrib.django.utils import connector_params

from events.worker import (
    database_pool_fit,
    embedder_warm_up,
    job_threads,
    run_workers,
    runs_lost_database,
    workers_run,
)
from mem0server.commands import database_not_set_up, database_reached
from mem0server.connection_budget import job_worker_budget, log_budget, pool_size
from mem0server.database import embedded_revive, unreachable_reason
from mem0server.database_failures import lost_database

logger = logging.getLogger("mem0server")


class Command(ProcrastinateCommand):
    def handle(self, *args, **kwargs):
        if kwargs.get("command") == "worker":
            threads = job_threads(kwargs)
            database_pool_fit(threads)
            with database_reached():
                connection.ensure_connection()
                problem = database_not_set_up()
            if problem:
                raise CommandError(problem)
            budget = functools.partial(
                job_worker_budget,
                threads=threads,
                pool_size=pool_size(),
                own_pool=JOB_QUEUE_POOL,
                listening=workers_run(kwargs),
            )
            log_budget(budget, logger)
            embedder_warm_up()
            kwargs["func"] = outlasting_database_loss(run_workers)
        with app.replace_connector(WaitingDjangoConnector(app.connector.alias)):
            return super().handle(*args, **kwargs)


# The connections of procrastinate's own pool in a job worker (taking, finishing and retrying jobs; the heartbeats):
# psycopg_pool's default, which procrastinate leaves, named for the connection budget's line.
JOB_QUEUE_POOL = 4


class WaitingDjangoConnector(DjangoConnector):
    """procrastinate's Django connector, whose worker connector (the one procrastinate's command runs on) has a pool
    with the web processes' waits (settings.DB_POOL_WAITS) rather than psycopg_pool's defaults: a query waited 30 s
    for a connection to a database gone, and a reconnection came ever later (up to 5 minutes of doubling delays)."""

    def get_worker_connector(self) -> PsycopgConnector:
        return PsycopgConnector(kwargs=connector_params(self.alias), min_size=JOB_QUEUE_POOL, **settings.DB_POOL_WAITS)


def outlasting_database_loss(work):
    """procrastinate's worker function, run again each time it stops because the database went away. procrastinate's
    worker stops, and its command exits, at the first connection it cannot get: with an error when its job loop or
    its shutdown meets the database gone; without one when a side task (its listener, its heartbeat) met it first and
    the database was back by the time it had shut down (another process had started it again)."""

    async def run(**options) -> None:
        # Set by a signal (SIGTERM, Ctrl-C): the workers are not run again, also when the database went away first
        # (their handler, in place until both have stopped, heard it; they ran again once the database answered).
        told_to_stop = asyncio.Event()
        watch = WorkerWatch()
        procrastinate_log = logging.getLogger("procrastinate")
        procrastinate_log.addHandler(watch)
        try:
            while True:
                watch.lost = None
                try:
                    if watch.worker_ids:  # what their jobs' next runs, and last run's message, say
                        await asyncio.to_thread(runs_lost_database, set(watch.worker_ids))
                    for worker_id in watch.worker_ids:
                        # The workers that stopped could not say so (their database was gone): said now, so that the
                        # stalled-job check queues the jobs they left running again at once, rather than once they
                        # have been silent for WORKER_STALLED_SECONDS. Their jobs ended with them (procrastinate's
                        # stop waits for them).
                        await options["app"].job_manager.unregister_worker(worker_id)
                    watch.worker_ids.clear()
                    result = await work(on_signal=told_to_stop.set, **options)
                except Exception as exc:
                    if not lost_database(exc) or told_to_stop.is_set():
                        raise
                    lost = exc
                else:
                    if watch.broken is not None and not told_to_stop.is_set():
                        # Exit 1 (procrastinate's command prints this), so that what runs the worker starts it again.
                        raise CommandError(f"job worker: stopped by an error ({watch.broken}); see the traceback above")
                    if watch.lost is None or told_to_stop.is_set():
                        return result  # stopped as asked (a signal)
                    lost = watch.lost
                await database_back(lost)
                # From the first answer: a worker that stops again before it runs (its pool still waiting out the
                # outage) counts that time too.
                watch.answered = watch.answered or time.monotonic()
        finally:
            procrastinate_log.removeHandler(watch)

    return run


class WorkerWatch(logging.Handler):
    """Reads the records procrastinate's worker logs (their `action`, which procrastinate's logs carry for this use):
    notes a side task that failed (the worker then stops without an error), because the database went away or not,
    and, once the worker runs again after the database answered, says how long that took, by its own clock."""

    def __init__(self) -> None:
        super().__init__()
        self.lost: BaseException | None = None
        self.answered: float | None = None  # when the database answered again
        self.worker_ids: set[int] = set()  # procrastinate's ids of the workers running, or last run
        self.broken: str | None = None  # what stopped a worker, when not the database

    def emit(self, record: logging.LogRecord) -> None:
        failure = record.exc_info[1] if record.exc_info else None
        action = getattr(record, "action", None)
        if action == "side_task_failed" and failure and lost_database(failure):
            self.lost = failure
        elif action == "side_task_failed":
            # Another failure of a side task (a bug): the worker stopped without an error, and its process ended
            # with exit status 0, which systemd's Restart=on-failure and compose's on-failure take for a stop asked.
            task = getattr(record, "task_name", "side task")
            self.broken = f"its {task} failed: {type(failure).__name__}: {failure}" if failure else f"its {task} failed"
        elif action == "start_worker":
            self.worker_ids.add(record.worker["worker_id"])
            if self.answered is not None:
                logger.warning(
                    "job worker: the database answers again; taking jobs (%.1f s after it answered)",
                    time.monotonic() - self.answered,
                )
                self.answered = None


# While the database is away, how often a job worker checks whether it answers (it starts a killed embedded
# PostgreSQL again at most every REVIVE_EVERY seconds).
ANSWER_CHECK_EVERY = 1.0


async def database_back(exc: BaseException) -> None:
    """Until the database answers again; a killed embedded PostgreSQL is started again (mem0server/database.py)."""
    db = connection.settings_dict
    reason = await asyncio.to_thread(unreachable_reason, db)
    logger.error(
        "job worker: stopped by the database (%s); it takes jobs again once the database answers",
        reason or " ".join(str(exc).split()) or type(exc).__name__,
    )
    while True:
        if settings.EMBEDDED_DATABASE:
            await asyncio.to_thread(embedded_revive, settings.DATA_DIR)
        if await asyncio.to_thread(unreachable_reason, db) is None:
            break
        await asyncio.sleep(ANSWER_CHECK_EVERY)
