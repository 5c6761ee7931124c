"""Faults a production server meets, on a real one: gunicorn in a subprocess (server_process.py), its own
embedded PostgreSQL, and the scripted OpenAI-wire server as the LLM.

- A worker killed with SIGKILL in the middle of an add (waiting on the LLM, or inside its write
  transaction): the client sees the connection drop, nothing of that add is stored, and the master's new
  worker serves the next request.

The server's first worker loads the embedding model (about 9 s), and so does every respawned one.
"""

from __future__ import annotations

import http.client
import os
import signal
from concurrent.futures import Future

import pytest
from psycopg.sql import SQL, Identifier

from mem0server.tests.server_process import ServerProcess, wait_for
from memories.models import Memory, MemoryHistory, SessionMessage
from memories.tests.fake_openai import FakeOpenAI, Reply

MEMORY = Memory._meta.db_table
HISTORY = MemoryHistory._meta.db_table
SESSION = SessionMessage._meta.db_table


@pytest.fixture(scope="module")
def fake():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake):
    process = ServerProcess(
        tmp_path_factory.mktemp("faults"),
        env={
            "OPENAI_BASE_URL": fake.url,
            "OPENAI_API_KEY": "sk-test",
            "LLM_MODEL": "fake-model",
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
    # No transaction is held open while the LLM thinks (the server's own connections, seen by PostgreSQL).
    assert live.query("SELECT pid FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'") == []
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
