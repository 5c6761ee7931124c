"""Set-up of a job worker process (`manage.py procrastinate worker`: accounts/management/commands/procrastinate.py)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import threading
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connection
from procrastinate import App
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.exceptions import ConnectorException
from procrastinate.worker import WORKER_NAME, Worker

from mem0server.queueing import DELIVERY_QUEUE
from webhooks.slots import delivering, slots_shared


def embedder_warm_up() -> None:
    """Load the local embedding model on a thread of its own, so the first job does not wait for it. Started once the
    worker has found its database set up: a worker leaving on a database it cannot use while that thread was loading
    the model was aborted by the C++ runtime ("terminate called without an active exception", exit status -6, not
    its one line and 1)."""
    from memories.configuration import server_config_snapshot
    from memories.embeddings import local_embedder

    if server_config_snapshot().embedder_provider == "local":
        warm_up = functools.partial(local_embedder().warm_up, job_worker=True)
        threading.Thread(target=warm_up, name="embedder-warm-up", daemon=True).start()


# Threads besides the jobs' own: the waits for a database gone (accounts/management/commands/procrastinate.py).
SPARE_THREADS = 2


def job_slots(options: dict[str, Any]) -> int:
    """Jobs the worker command's first (or only) worker runs at once: --concurrency, else WEBHOOK_WORKER_CONCURRENCY
    for a worker of webhook deliveries alone (--queues=webhooks, README's recipe for processes of their own), else
    WORKER_CONCURRENCY."""
    if options.get("concurrency"):
        return options["concurrency"]
    if options.get("queues") == [DELIVERY_QUEUE]:
        return settings.WEBHOOK_WORKER_CONCURRENCY
    return settings.WORKER_CONCURRENCY


def workers_run(options: dict[str, Any]) -> int:
    """procrastinate workers the worker command runs in its process (run_workers): the one --queues asks for, else
    two, each with a connection listening for new jobs."""
    return 1 if "queues" in options else 2


def job_threads(options: dict[str, Any]) -> int:
    """Threads the worker command's jobs may take at once, with its spare ones: its jobs' slots (job_slots) and,
    unless --queues names the queues to run, its webhook deliveries' (run_workers)."""
    extra = 0 if workers_run(options) == 1 else settings.WEBHOOK_WORKER_CONCURRENCY
    return job_slots(options) + extra + SPARE_THREADS


def database_pool_fit(threads: int) -> None:
    """Make this process's Django connection pool (DB_POOL_MAX_SIZE, sized for a web process's threads) as large as
    its job threads, before the pool exists: a job's thread holds a connection while it queries, and an add with
    inference while it decides, so more jobs at once than connections waited DB_POOL_TIMEOUT for one, then failed."""
    pool = connection.settings_dict["OPTIONS"].get("pool")
    if isinstance(pool, dict) and pool.get("max_size", 0) < threads:
        pool["max_size"] = threads


@contextlib.contextmanager
def on_every_stop_signal(callback: Callable[[], None]) -> Iterator[None]:
    """SIGINT and SIGTERM call `callback`, each of them, until the block ends (the handlers before are then back).
    procrastinate's handler (signals.on_stop) heard the first signal only and left the next to the default, which
    ends the process at once: under `make serve`, the terminal's Ctrl-C reached the worker and the recipe's SIGTERM
    right after it killed the worker mid-job, whose jobs then waited WORKER_STALLED_SECONDS to run again."""
    if threading.current_thread() is not threading.main_thread():  # no signals there (a test's own loop)
        yield
        return
    loop = asyncio.get_running_loop()
    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in before:
        loop.add_signal_handler(number, callback)
    try:
        yield
    finally:
        for number, handler in before.items():
            loop.remove_signal_handler(number)
            signal.signal(number, handler)


async def heartbeats(app: App, workers: list[Worker]) -> None:
    """The workers' heartbeats while they stop: procrastinate ends a worker's heartbeat before it waits for its running
    jobs, so a stop that waited longer than WORKER_STALLED_SECONDS for them (an add on a slow LLM, a large import) had
    another process's stalled-job check take them for a dead worker's and run them again beside the first run."""
    every = min(worker.update_heartbeat_interval for worker in workers)
    while True:
        await asyncio.sleep(every)
        for worker in workers:
            if worker.worker_id is not None:  # not unregistered yet: its jobs still run
                with contextlib.suppress(ConnectorException):  # the database gone: the stop goes on without
                    await app.job_manager.update_heartbeat(worker.worker_id)


async def run_workers(*, app: App, on_signal: Callable[[], None] | None = None, **options: Any) -> None:
    """procrastinate's worker command, as two workers in this process unless --queues names the queues to run (then
    the one worker asked for, job_slots at once): one runs every job but webhook deliveries, WORKER_CONCURRENCY (or
    --concurrency) at once; the other runs deliveries, WEBHOOK_WORKER_CONCURRENCY at once. Each attempt may wait
    WEBHOOK_TIMEOUT_SECONDS on its receiver, so on one queue a member's receivers that hang held every slot, and
    another account's add waited (mem0server/queueing.py). A signal stops both, each after its running jobs; so does
    either one stopping (its database gone: the command runs them again once it answers, unless `on_signal` was
    called: a signal came meanwhile)."""
    app.perform_import_paths()
    asked = {**app.worker_defaults, **options, "install_signal_handlers": False}
    if "queues" in options:
        kinds = [{**asked, "concurrency": job_slots(options)}]
    else:
        queues = {task.queue for task in app.tasks.values()} - {DELIVERY_QUEUE}
        name = asked.get("name") or WORKER_NAME
        kinds = [
            {**asked, "queues": sorted(queues)},
            {
                **asked,
                "queues": [DELIVERY_QUEUE],
                "concurrency": settings.WEBHOOK_WORKER_CONCURRENCY,
                "name": f"{name}-deliveries",
            },
        ]
    workers = [Worker(app=app, **kind) for kind in kinds]
    delivery_slots = next((kind["concurrency"] for kind in kinds if delivering(kind.get("queues"))), 1)
    # A running job is a thread of the loop's default pool, which asyncio sizes by the cores (6 threads on 2 cores), so
    # a larger WORKER_CONCURRENCY had jobs marked running that waited for a thread.
    threads = job_threads(options)
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(threads, thread_name_prefix="job"))

    def stop() -> None:
        for worker in workers:
            worker.stop()

    def signalled() -> None:
        if on_signal is not None:
            on_signal()
        stop()

    until = asyncio.FIRST_COMPLETED if asked.get("wait", True) else asyncio.ALL_COMPLETED
    with on_every_stop_signal(signalled), slots_shared(app, delivery_slots):
        running = [asyncio.create_task(worker.run(), name=f"{worker.worker_name} run") for worker in workers]
        try:
            await asyncio.wait(running, return_when=until)
        finally:
            stop()
            beating = asyncio.create_task(heartbeats(app, workers), name="heartbeats while stopping")
            try:
                await asyncio.wait(running)
            finally:
                beating.cancel()
    # Each one's failure read (the first one raised): one left unread was logged by asyncio when its task was collected,
    # minutes after, "Task exception was never retrieved" and its traceback.
    failures = [task.exception() for task in running]
    for failure in failures:
        if failure is not None:
            raise failure


def runs_lost_database(worker_ids: Collection[int]) -> None:
    """The jobs these workers were running when their database went away (procrastinate's `doing`, under their ids):
    each one's add, export, import or profile job says so, PENDING again, until its next run and in the message of
    its last one (WORKER_MAX_ATTEMPTS), where it said its worker stopped. Run once the database answers again,
    before the workers are unregistered and the stalled-job check queues those jobs again."""
    from events.services import event_lost_database
    from exports.services import export_lost_database, import_lost_database
    from profiles.services import profile_job_lost_database

    notes = {
        "events.run_add_event": event_lost_database,
        "exports.export_memories": export_lost_database,
        "exports.import_memories": import_lost_database,
        "profiles.generate_profiles": profile_job_lost_database,
    }
    try:
        running = ProcrastinateJob.objects.filter(status="doing", worker_id__in=worker_ids, task_name__in=notes)
        for task_name, args in running.values_list("task_name", "args"):
            notes[task_name](**args)
    finally:
        connection.close()  # a thread of the loop's pool, not a job's
