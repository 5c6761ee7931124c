"""Worker processes as they run in production (`manage.py procrastinate worker`), killed and doubled.

Timings come from the workers' settings (events/tests/workers.py TEST_WORKER_ENV): a killed worker's job must
be queued again within WORKER_STALLED_SECONDS + WORKER_HEARTBEAT_SECONDS + WORKER_STALLED_CHECK_SECONDS.
"""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import signal
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.core.management.base import CommandError
from django.db.models import Count
from django.utils import timezone
from procrastinate import App, PsycopgConnector
from procrastinate.contrib.django.models import ProcrastinateJob, ProcrastinateWorker
from procrastinate.exceptions import ConnectorException
from rest_framework.test import APIClient

from apikeys.services import apikey_create
from events.models import Event
from events.tests.test_api import queue_add
from events.tests.workers import TEST_WORKER_ENV, WorkerProcess, stalled_bound, stop_shared_workers
from events.worker import run_workers
from mem0server.tests.server_process import wait_for
from memories.models import Memory
from memories.services import Message, memories_add
from memories.tests.fake_openai import as_json, default_decide, llm_configured

pytestmark = pytest.mark.django_db(transaction=True)

# Longest a job of these tests takes once a worker has it (an embedding and a scripted LLM call), and longest a
# fresh worker process takes to import Django and register, on a loaded 2-core machine: failure bounds only.
RUN_SLACK = 30
START_SLACK = 120


@pytest.fixture(scope="module")
def worker_pool():
    """The worker processes this module started; a worker a test leaves running serves the next test too
    (each start imports Django and loads the embedding model: seconds of CPU)."""
    started: list[WorkerProcess] = []
    yield started
    for process in started:
        process.kill()


@pytest.fixture
def workers(worker_pool, tmp_path_factory):
    """`workers(n)`: exactly n live worker processes, oldest first; ones left running by the test before are
    kept (up to n), more are started, extras killed."""
    stop_shared_workers()  # these tests' workers are the only ones taking jobs
    log_dir = tmp_path_factory.mktemp("workers")

    def running(count: int) -> list[WorkerProcess]:
        alive = [process for process in worker_pool if process.running()]
        for extra in alive[count:]:
            extra.kill()
        alive = alive[:count]
        while len(alive) < count:
            process = WorkerProcess(log_dir, name=f"worker-{len(worker_pool) + 1}").start()
            worker_pool.append(process)
            alive.append(process)
        return alive

    return running


def live_workers() -> int:
    """Worker processes whose heartbeat is recent (killed ones stay in the table until a starting worker prunes them):
    each registers two workers, its jobs' and its webhook deliveries' (events/worker.py)."""
    recent = timezone.now() - timedelta(seconds=float(TEST_WORKER_ENV["WORKER_STALLED_SECONDS"]))
    return ProcrastinateWorker.objects.filter(last_heartbeat__gte=recent).count() / 2


def test_a_worker_killed_mid_job_leaves_the_event_to_another_worker_without_duplicates(workers, member, embedder):
    with llm_configured() as fake:
        fake.facts = lambda messages: ["Lives in Oslo"]
        # The first extraction hangs (the worker is mid-call when killed); the retry's is answered at once.
        hanging = as_json({"facts": ["Lives in Oslo"]})
        hanging.delay = 3600
        fake.chat_queue.append(hanging)

        [first] = workers(1)
        event = queue_add(member, "I moved to Oslo", infer=True)
        wait_for(lambda: fake.chat_calls("extract"), timeout=START_SLACK, what="the first worker calling the LLM")
        event.refresh_from_db()
        assert (event.status, event.attempts) == ("RUNNING", 1)

        first_again, second = workers(2)
        assert first_again is first
        second.wait_ready(timeout=START_SLACK)  # its embedder loaded: the bound below is not spent loading it
        wait_for(lambda: live_workers() == 2, timeout=START_SLACK, what="the second worker registered")
        first.kill()

        bound = stalled_bound(TEST_WORKER_ENV) + RUN_SLACK
        try:
            wait_for(
                lambda: Event.objects.filter(id=event.id, status__in=["SUCCEEDED", "FAILED"]).exists(),
                timeout=bound,
                what=f"the killed worker's event finished (bound {bound:.0f} s from the stalled-job settings)",
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- second worker ---\n{second.log()}") from None

    event.refresh_from_db()
    assert (event.status, event.attempts) == ("SUCCEEDED", 2)
    assert [r["memory"] for r in event.results] == ["Lives in Oslo"]
    assert list(Memory.objects.values_list("text", flat=True)) == ["Lives in Oslo"]
    assert len(fake.chat_calls("extract")) == 2


# Enough adds that the two workers' eight job slots (WORKER_CONCURRENCY 4 each) contend for the queue many
# times over: every job is fetched while both workers are polling and listening for it.
ADDS = 100


def test_two_workers_do_each_of_many_async_adds_exactly_once(workers, member, embedder):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=apikey_create(user=member, label="test")[1])
    workers(2)
    wait_for(lambda: live_workers() == 2, timeout=START_SLACK, what="both workers registered")

    event_ids = []
    for i in range(ADDS):
        response = client.post(
            "/v3/memories/add/", {"messages": f"Fact number {i}", "user_id": "alice", "infer": False}, format="json"
        )
        assert response.status_code == 202, response.content
        event_ids.append(response.json()["event_id"])

    jobs = ProcrastinateJob.objects.filter(task_name="events.run_add_event", args__event_id__in=event_ids)
    # A job is marked done by its worker just after the job's own transaction (the event's) commits.
    wait_for(
        lambda: (
            not Event.objects.exclude(status__in=["SUCCEEDED", "FAILED"]).exists()
            and not jobs.filter(status__in=["todo", "doing"]).exists()
        ),
        timeout=START_SLACK + RUN_SLACK * 4,
        what=f"all {ADDS} events and their jobs finished",
        every=0.25,
    )
    assert Counter(Event.objects.values_list("status", "attempts")) == {("SUCCEEDED", 1): ADDS}
    texts = list(Memory.objects.values_list("text", flat=True))
    assert sorted(texts) == sorted(f"Fact number {i}" for i in range(ADDS))  # each once
    stored_ids = {r["id"] for results in Event.objects.values_list("results", flat=True) for r in results}
    assert stored_ids == {str(memory_id) for memory_id in Memory.objects.values_list("id", flat=True)}
    assert Counter(jobs.values_list("status", flat=True)) == {"succeeded": ADDS}
    assert not jobs.values("args").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert jobs.values("worker_id").distinct().count() == 2  # both workers took their share


def test_the_worker_log_leaves_out_the_routine_stalled_job_checks(workers, member, embedder):
    [worker] = workers(1)
    wait_for(lambda: live_workers() == 1, timeout=START_SLACK, what="the worker registered")
    checks = ProcrastinateJob.objects.filter(task_name="events.retry_stalled_jobs", status="succeeded")
    ran_before = checks.count()
    event = queue_add(member, "Logged like any job")
    wait_for(
        lambda: Event.objects.get(id=event.id).status == "SUCCEEDED" and checks.count() >= ran_before + 2,
        timeout=RUN_SLACK + stalled_bound(TEST_WORKER_ENV) * 2,
        what="the add done and two stalled-job checks run",
    )
    log = worker.log(tail=None)
    assert f"events.run_add_event[{ProcrastinateJob.objects.get(args__event_id=str(event.id)).id}]" in log
    # procrastinate's start and success lines of the checks are left out (a warning about one would stay: a worker
    # killed mid-check in an earlier test leaves a check to queue again).
    routine = [line for line in log.splitlines() if "events.retry_stalled_jobs[" in line]
    assert not [line for line in routine if "Starting job" in line or "ended with status: Success" in line]


def test_a_worker_runs_as_many_adds_with_inference_at_once_as_its_slots_whatever_the_pool_size(
    workers, member, embedder, tmp_path
):
    """A job's thread takes a connection of the worker's Django pool (DB_POOL_MAX_SIZE, sized for a web process) while
    it queries, and an add with inference keeps it while the LLM decides: with more slots than connections, the adds
    past the pool's size waited DB_POOL_TIMEOUT for one and their attempt failed. The worker sizes its pool to its
    slots."""
    slots = 6
    for n in range(slots):  # a memory in each scope: each add then asks the LLM to decide, in its transaction
        memories_add(
            principal=member, messages=[Message("user", f"Owns bike {n}")], scope={"user_id": f"u{n}"}, infer=False
        )
    workers(0)  # this test's worker is the only one taking jobs
    # The model answers no add's decision until every add is deciding at once, each holding its connection: with
    # fewer connections than slots, the adds past the pool's size wait DB_POOL_TIMEOUT (its default) for one, fail,
    # and never all decide together. No wait here is shorter than the pool's own: a fixed 0.5 s DB_POOL_TIMEOUT
    # beside a 2 s decision failed the adds of a fitted pool too when opening its connections one after another
    # (psycopg_pool grows one at a time) took longer than that on a busy machine.
    all_deciding = threading.Event()

    def decide(stored: list[dict[str, str]], facts: list[str]) -> list[dict[str, Any]]:
        all_deciding.wait(START_SLACK + RUN_SLACK)
        return default_decide(stored, facts)

    env = {"WORKER_CONCURRENCY": str(slots), "DB_POOL_MAX_SIZE": "2"}
    worker = WorkerProcess(tmp_path, env=env).start()
    try:
        with llm_configured() as fake:
            fake.decide = decide
            worker.wait_ready(timeout=START_SLACK)
            events = [queue_add(member, f"Rides bike {n}", user_id=f"u{n}", infer=True) for n in range(slots)]
            bound = START_SLACK + RUN_SLACK
            try:
                wait_for(lambda: len(fake.chat_calls("decide")) == slots, timeout=bound, what="every add deciding")
            finally:
                all_deciding.set()
            wait_for(
                lambda: (
                    not Event.objects.filter(id__in=[e.id for e in events])
                    .exclude(status__in=["SUCCEEDED", "FAILED"])
                    .exists()
                ),
                timeout=bound,
                what="the adds finished",
            )
            decided = len(fake.chat_calls("decide"))
    finally:
        worker.stop()
    outcomes = Counter(Event.objects.filter(id__in=[e.id for e in events]).values_list("status", "attempts"))
    assert outcomes == {("SUCCEEDED", 1): slots}, worker.log()
    assert decided == slots  # each add decided once: no attempt failed and ran again
    # The worker said at start what it may open: its pool grown to its job threads (its slots, the deliveries' 4, 2
    # spare), procrastinate's own 4 and its two workers' listeners.
    threads = slots + 4 + 2
    assert (
        f"job worker: database connections: this process may open up to {threads + 4 + 2} (a pool of {threads} for "
        f"its {threads} job threads, 4 of the job queue's, 2 listening); PostgreSQL takes "
    ) in worker.log(tail=None)


def test_a_worker_stopping_keeps_its_heartbeat_so_its_running_add_is_not_run_again_beside_it(workers, member, embedder):
    """procrastinate ended a worker's heartbeat before it waited for its running jobs: a stop waiting longer than
    WORKER_STALLED_SECONDS (an add on a slow LLM) had another process's stalled-job check take the add for a dead
    worker's and run it again beside the first run. Here the first worker is told to stop while its add's extraction
    waits in the model; the model answers only after twice the time a dead worker's job takes to be queued again."""
    with llm_configured() as fake:
        held = as_json({"facts": ["Lives in Oslo"]})
        held.delay = 3600  # until fake.release()
        fake.chat_queue.append(held)
        [first] = workers(1)
        event = queue_add(member, "I moved to Oslo", infer=True)
        wait_for(lambda: fake.chat_calls("extract"), timeout=START_SLACK, what="the first worker calling the LLM")
        first_again, second = workers(2)
        assert first_again is first
        second.wait_ready(timeout=START_SLACK)
        wait_for(lambda: live_workers() == 2, timeout=START_SLACK, what="the second worker registered")
        first.process.send_signal(signal.SIGTERM)
        wait_for(lambda: "Stop requested" in first.log(), timeout=RUN_SLACK, what="the first worker stopping")
        window = stalled_bound(TEST_WORKER_ENV) * 2
        with pytest.raises(AssertionError):  # no second run of the add within the window
            wait_for(lambda: len(fake.chat_calls("extract")) > 1, timeout=window, what="a second extraction")
        fake.release()
        first.process.wait(START_SLACK)
        wait_for(
            lambda: Event.objects.filter(id=event.id, status__in=["SUCCEEDED", "FAILED"]).exists(),
            timeout=RUN_SLACK,
            what="the add finished",
        )
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("SUCCEEDED", 1), first.log()
    assert len(fake.chat_calls("extract")) == 1
    assert list(Memory.objects.values_list("text", flat=True)) == ["Lives in Oslo"]


def test_a_worker_process_whose_two_workers_both_fail_leaves_no_failure_unread_for_asyncio_to_log(caplog):
    """Both workers of a process stop with an error when their database goes away (it is unreachable here: nothing
    listens on port 1). The command got the first one's error, and runs them again once the database answers; the
    second one's was never read, so asyncio logged it when its task was collected, often minutes later or at exit:
    "Task exception was never retrieved" and a traceback of some 50 lines, long after the outage was over."""
    app = App(connector=PsycopgConnector(conninfo="postgresql://127.0.0.1:1/none", min_size=0, max_size=2, timeout=0.5))

    async def run() -> None:
        async with app.open_async():
            with pytest.raises(ConnectorException):
                await run_workers(app=app)

    caplog.set_level(logging.ERROR, logger="asyncio")
    asyncio.run(run())
    gc.collect()  # the tasks of the workers that failed
    assert "never retrieved" not in caplog.text


def test_a_worker_stopped_by_a_failure_of_its_own_exits_with_an_error_not_as_if_asked(monkeypatch):
    """A side task of a worker (its heartbeat here) failing for another reason than the database stopped both workers
    without an error, and the command exited 0, which systemd's Restart=on-failure and compose's on-failure take
    for a stop asked: nothing started it again. It now ends with an error saying what failed."""
    from procrastinate.contrib.django import app as jobs_app

    from accounts.management.commands.procrastinate import outlasting_database_loss
    from events.tests.workers import database_url_for_workers

    async def broken(worker_id: int) -> None:
        raise RuntimeError("a bug in the heartbeat")

    async def run() -> None:
        connector = PsycopgConnector(conninfo=database_url_for_workers(), min_size=1, max_size=4)
        with jobs_app.replace_connector(connector):
            async with jobs_app.open_async():
                monkeypatch.setattr(jobs_app.job_manager, "update_heartbeat", broken)
                await outlasting_database_loss(run_workers)(
                    app=jobs_app, listen_notify=False, update_heartbeat_interval=0.1, install_signal_handlers=False
                )

    with pytest.raises(CommandError) as stopped:
        asyncio.run(run())  # returned before: the process then exited 0
    assert str(stopped.value) == (
        "job worker: stopped by an error (its update_heartbeats failed: RuntimeError: a bug in the heartbeat); see the "
        "traceback above"
    )


def lost_database_failure() -> tuple:
    """The exc_info of procrastinate's error for a database it cannot reach (a closed port)."""
    try:
        try:
            psycopg.connect("host=127.0.0.1 port=1 dbname=none connect_timeout=2")
        except psycopg.OperationalError as lost:
            raise ConnectorException from lost
    except ConnectorException as exc:
        return type(exc), exc, exc.__traceback__


def written_by_worker_log(record: logging.LogRecord) -> str:
    """What the job worker's console writes of `record` (its filter, events/logs.py)."""
    from events.logs import RoutineJobsFilter

    handler = logging.StreamHandler(out := io.StringIO())
    handler.addFilter(RoutineJobsFilter())
    handler.handle(record)
    return out.getvalue()


def test_a_lost_database_writes_one_line_for_each_side_task_and_job_it_stopped_and_no_traceback():
    """A PostgreSQL restart wrote, for each of a process's two workers, procrastinate's "Side task listener failed"
    and "listener error" lines with a traceback of some 40 lines each, under the job worker's own line saying what
    happened ("job worker: stopped by the database (…)"); and for each job running then, its failure's traceback (90
    lines) and asyncio's "Task exception was never retrieved" (50 lines) for the end procrastinate could not save:
    some 600 lines for four webhook deliveries. Now one line for each worker and each job; a job that failed for
    another reason keeps its traceback."""
    failure = lost_database_failure()

    def written(action: str, message: str = "it failed\n  , stopping") -> str:
        record = logging.LogRecord("procrastinate.worker", logging.ERROR, __file__, 1, message, None, failure)
        record.action = action
        return written_by_worker_log(record)

    assert written("side_task_failed") == "it failed , stopping\n"
    for side_task in ("listener_error", "update_heartbeats_error"):  # the same failure again
        assert written(side_task) == ""
    for job in ("job_error", "job_error_retry"):
        assert written(job, "Job x[1]() ended with status: Error, lasted 13.1 s") == (
            "Job x[1]() ended with status: Error, lasted 13.1 s (the database went away: Database error.)\n"
        )
    unsaved = logging.LogRecord(
        "asyncio",
        logging.ERROR,
        __file__,
        1,
        "Task exception was never retrieved\nfuture: <Task finished name='process job webhooks.deliver[7]' coro=…>",
        None,
        failure,
    )
    assert written_by_worker_log(unsaved) == ""
    try:
        raise ValueError("a bug")
    except ValueError as exc:
        bug = (type(exc), exc, exc.__traceback__)
    record = logging.LogRecord("procrastinate.worker", logging.ERROR, __file__, 1, "Job y[2]() ended", None, bug)
    record.action = "job_error"
    assert "Traceback" in written_by_worker_log(record) and "ValueError: a bug" in written_by_worker_log(record)


def test_the_pools_write_no_warning_for_each_connection_they_cannot_make(caplog):
    """psycopg_pool warned for each connection it could not make or remake: fourteen in the 5 seconds a job worker
    took to find its database gone, above the worker's line saying so, and some twenty in the web processes for a
    6-second outage. The logging settings of every process leave them out (events/logs.py)."""
    import psycopg_pool

    from events.logs import ConnectionRetriesFilter

    pool_log = logging.getLogger("psycopg.pool")
    caplog.set_level(logging.WARNING, logger="psycopg.pool")

    def warnings_while_unreachable() -> list[str]:
        caplog.clear()
        pool = psycopg_pool.ConnectionPool(
            "host=127.0.0.1 port=1 dbname=none connect_timeout=1", min_size=1, open=False, reconnect_timeout=1
        )
        pool.open(wait=False)
        with pytest.raises(psycopg_pool.PoolTimeout):
            pool.getconn(timeout=1.5)
        pool.close()
        return [r.getMessage() for r in caplog.records if r.name == "psycopg.pool" and r.levelno >= logging.WARNING]

    configured = [f for f in pool_log.filters if isinstance(f, ConnectionRetriesFilter)]
    assert configured  # by settings.LOGGING
    assert warnings_while_unreachable() == []
    for retries in configured:
        pool_log.removeFilter(retries)
    try:
        assert any("error connecting in" in said for said in warnings_while_unreachable())
    finally:
        for retries in configured:
            pool_log.addFilter(retries)
