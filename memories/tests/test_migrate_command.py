"""`manage.py migrate` beside a running server and beside another migrate (memories/management/commands/migrate.py).

Each test takes the test database back one migration (memories 0018, which drops and builds the scope indexes of
the memories table: DROP INDEX waits for every transaction that read the table) and migrates it forward again as
the server's upgrade would, with a transaction of another session in the way or another migrate beside it.
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from mem0server.commands import database_not_set_up
from mem0server.migrating import MIGRATE_LOCK_KEY

LAST = ("memories", "0018_scope_indexes_hold_the_account")
# The migrations after LAST: applied too when both migrate to the end.
NEWER = sorted(path.stem for path in (Path(__file__).parents[1] / "migrations").glob("0*.py") if path.stem > LAST[1])
# How long a test waits for something the migrate in its thread does; never reached when it works.
PATIENCE = 60


def connect(**extra) -> psycopg.Connection:
    params = connections["default"].get_connection_params()
    params.pop("pool", None)
    return psycopg.connect(**{**params, **extra}, autocommit=True)


def recorded(conn: psycopg.Connection, name: str = LAST[1]) -> int:
    return conn.execute(
        "SELECT count(*) FROM django_migrations WHERE app = 'memories' AND name = %s", [name]
    ).fetchone()[0]


def migrating_in_the_background(output: io.StringIO, errors: list, *args: str) -> threading.Thread:
    def run() -> None:
        try:
            call_command("migrate", *args, verbosity=1, stdout=output, stderr=output)
        except BaseException as exc:  # noqa: BLE001 (the test reads it)
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def applied_migrations() -> list[tuple[str, str]]:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        return cursor.fetchall()


# Each rewind's SQL, recorded the first time this process takes the database back to that migration, and what
# was applied after it. Every test starts where the last left the database (every migration applied, the tables
# empty), so a rewind's statements replayed there take it back alike, with none of the migrate's planning and
# unapplying in Python (2 s of CPU a rewind, a third of this file's).
REWINDS: dict[str, tuple[list[tuple[str, object, bool]], list[tuple[str, str]]]] = {}


def rewind(to: str) -> None:
    if to in REWINDS:
        statements, applied = REWINDS[to]
        with connections["default"].cursor() as cursor:
            for sql, params, many in statements:
                (cursor.executemany if many else cursor.execute)(sql, params)
        assert applied_migrations() == applied
        return
    statements = []

    def record(execute, sql, params, many, context):
        if many:
            params = list(params)
        if "SAVEPOINT" not in sql:  # the transactions' own, replayed in none
            statements.append((sql, params, many))
        return execute(sql, params, many, context)

    with connections["default"].execute_wrapper(record):
        call_command("migrate", "memories", to, verbosity=0)
    REWINDS[to] = (statements, applied_migrations())


@pytest.fixture
def rewound(request, transactional_db):
    """The test database taken back to memories `request.param` for the test, forward again after. The migrates a
    test runs in its threads share this process's connection pool, which earlier tests of the process used: a
    fresh pool, so that none of their connections still checked out (a thread of theirs never gave its back)
    leaves the migrates waiting for one (a PoolTimeout after DB_POOL_TIMEOUT, twice in full runs)."""
    rewind(request.param)
    connections.close_all()
    connections["default"].close_pool()
    yield
    connections.close_all()
    if database_not_set_up():  # not when the test's migrate applied them all
        call_command("migrate", verbosity=0)


@pytest.mark.parametrize(
    ("rewound", "migration", "statement"),
    [
        ("0017", LAST[1], "DROP INDEX"),  # atomic: rolled back whole, tried again
        ("0014", "0015_memory_event", "ALTER TABLE"),  # not atomic: the statement alone tried again
    ],
    indirect=["rewound"],
)
def test_a_migration_waiting_for_a_long_transaction_holds_up_no_reads_then_applies(
    rewound, settings, migration, statement
):
    settings.MIGRATE_LOCK_TIMEOUT_MS = 200
    reader_limit = f"{settings.MIGRATE_LOCK_TIMEOUT_MS * 25}ms"  # generous: a read waits one attempt at most
    with connect(application_name="long reader") as holder, connect() as watcher, connect() as reader:
        # A transaction that read the memories table and stays open, as an add deciding with its LLM does, or a
        # backup reading the table in chunks.
        holder_pid = holder.info.backend_pid
        holder.execute("BEGIN")
        holder.execute("SELECT count(*) FROM memories_memory")
        output, errors = io.StringIO(), []
        thread = migrating_in_the_background(output, errors)
        wait_for(
            lambda: watcher.execute(
                "SELECT 1 FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE %s",
                [f"{statement}%"],
            ).fetchone(),
            "the migration never waited for the open transaction",
        )
        # What the server's requests do meanwhile: a read of the table answers (behind the migration's statement
        # waiting for its lock, it waited as long as the open transaction lasted).
        reader.execute(f"SET statement_timeout = '{reader_limit}'")
        for _ in range(3):
            assert reader.execute("SELECT count(*) FROM memories_memory").fetchone() == (0,)
            time.sleep(0.1)
        assert thread.is_alive() and recorded(watcher, migration) == 0
        holder.execute("COMMIT")
        thread.join(PATIENCE)
        assert not thread.is_alive() and errors == []
        assert recorded(watcher, migration) == 1 and recorded(watcher) == 1
    said = output.getvalue()
    assert f"process {holder_pid} (long reader, idle in transaction" in said
    assert f"migration memories.{migration}" in said.lower()
    # Django's plan once, though the migrate planned again after each try; each wait said on a line of its own.
    assert said.count("Operations to perform:") == said.count("Running migrations:") == 1, said
    waits = [line for line in said.splitlines() if "waits for a lock" in line]
    assert waits and all(line.startswith(("Migration ", "A statement of migration ")) for line in waits), said


@pytest.mark.parametrize(
    ("rewound", "migration", "what", "applied"),
    [
        ("0017", LAST[1], "Migration memories.", "nothing of it was applied"),
        # Not atomic: its statements wait one by one, each on a connection apart from the one holding its turn.
        ("0014", "0015_memory_event", "A statement of migration memories.", "that statement was not applied"),
    ],
    indirect=["rewound"],
)
def test_a_migration_that_waits_too_long_says_for_whom_and_applies_nothing(rewound, settings, migration, what, applied):
    settings.MIGRATE_LOCK_TIMEOUT_MS = 100
    settings.MIGRATE_LOCK_WAIT_SECONDS = 1
    with connect(application_name="nightly backup") as holder, connect() as watcher:
        holder.execute("SET idle_in_transaction_session_timeout = 0")  # it stays until the test ends it
        holder.execute("BEGIN")
        holder.execute("SELECT count(*) FROM memories_memory")
        output, errors = io.StringIO(), []
        thread = migrating_in_the_background(output, errors)
        thread.join(PATIENCE)
        stopped = not thread.is_alive()
        holder.execute("COMMIT")
        thread.join(PATIENCE)
        assert stopped, output.getvalue()
        assert len(errors) == 1 and isinstance(errors[0], CommandError), errors
        message = str(errors[0])
        assert f"{what}{migration}" in message
        assert f"process {holder.info.backend_pid} (nightly backup, idle in transaction" in message
        assert "another migrate" not in message + output.getvalue()
        assert applied in message
        assert recorded(watcher, migration) == 0
        indexes = "SELECT count(*) FROM pg_indexes WHERE tablename = 'memories_memory' AND indexname = %s"
        assert watcher.execute(indexes, ["memory_user_created"]).fetchone() == (1,)  # the old index stays
    call_command("migrate", verbosity=0)
    with connect() as watcher:
        assert recorded(watcher, migration) == 1


@pytest.mark.parametrize("rewound", ["0017"], indirect=True)
def test_a_migrate_waits_for_another_as_long_as_that_one_runs_and_goes_on_when_it_ends(rewound, settings):
    """Another process's migration makes progress (a data migration may take minutes): waiting for it has no time
    limit. The migrate says once whom it waits for and waits on the migrate lock itself, so it goes on the moment
    the other's migration ends (not after a pause of up to 10 s)."""
    settings.MIGRATE_LOCK_TIMEOUT_MS = 100
    settings.MIGRATE_LOCK_WAIT_SECONDS = 1
    with connect(application_name="replica 2") as other, connect() as watcher:
        other.execute("BEGIN")
        other.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATE_LOCK_KEY])  # as a migration in its transaction
        output, errors = io.StringIO(), []
        thread = migrating_in_the_background(output, errors)
        waiting = (
            f"Migration memories.{LAST[1]} waits for another migrate to finish its migration: process "
            f"{other.info.backend_pid} (replica 2, idle in transaction"
        )
        wait_for(lambda: waiting in output.getvalue(), "the migrate never said whom it waits for")
        on_the_lock = (
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
        )
        wait_for(lambda: watcher.execute(on_the_lock).fetchone() == (1,), "the migrate never waited on the lock")
        # Past MIGRATE_LOCK_WAIT_SECONDS (and the first pauses of the version before, 1 and 2 s): still waiting, and
        # said once.
        time.sleep(settings.MIGRATE_LOCK_WAIT_SECONDS * 3)
        assert watcher.execute(on_the_lock).fetchone() == (1,)
        assert thread.is_alive() and errors == [] and recorded(watcher) == 0
        assert output.getvalue().count("waits for") == 1, output.getvalue()
        other.execute("COMMIT")
        thread.join(PATIENCE)
        assert not thread.is_alive() and errors == []
        assert recorded(watcher) == 1


@pytest.mark.parametrize("rewound", ["0014"], indirect=True)  # before 0015, which is not atomic
def test_two_migrates_at_once_apply_each_migration_once_and_both_succeed(rewound):
    with connect() as watcher:
        first_output, second_output, errors = io.StringIO(), io.StringIO(), []
        threads = [
            migrating_in_the_background(first_output, errors),
            migrating_in_the_background(second_output, errors),
        ]
        for thread in threads:
            thread.join(PATIENCE)
        assert errors == []
        applied = watcher.execute(
            "SELECT name, count(*) FROM django_migrations WHERE app = 'memories' AND name > '0015' GROUP BY name"
        ).fetchall()
    names = ["0015_memory_event", "0016_memory_tokens", "0017_memory_tokens_recomputed", LAST[1], *NEWER]
    assert sorted(applied) == [(name, 1) for name in names]
    outputs = first_output.getvalue() + second_output.getvalue()
    for name in names:
        assert outputs.count(f"Applying memories.{name}... OK") == 1, outputs
