"""Migrations beside a running server and beside another migrate: what `manage.py migrate`
(memories/management/commands/migrate.py) and the schema editor (mem0server/db/schema.py) share.

A migration that alters a table waits for every transaction that has read it, and while it waits every later
query of that table waits behind it: an add deciding with its LLM, or a backup reading the table in chunks, would
hold the whole server up for as long as they last. So a migration's statement waits for its lock at most
MIGRATE_LOCK_TIMEOUT_MS; then the migration is rolled back (a statement of a migration that is not atomic: that
statement alone) and tried again after a pause, until it has waited MIGRATE_LOCK_WAIT_SECONDS.

Two processes migrating at once (replicas starting together) would both apply a migration (or fail on what the other
created): so each migration first takes the database's migrate lock (pg_advisory_xact_lock, which holds through a
pooler in transaction mode and ends with its transaction) in a transaction that holds the migration and its record,
then checks that the migration is still to do; if another process did it meanwhile, the migrate waits until that
one has stopped, then plans again (once, not once for each migration the other applies).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar

import psycopg
from django.conf import settings
from django.core.management.base import CommandError

# pg_advisory_xact_lock's key for "a migrate is running" (any fixed bigint; this one spells "m0migrat").
MIGRATE_LOCK_KEY = 0x6D306D6967726174
LONGEST_PAUSE = 10.0
# How often a migrate that found its migration done elsewhere looks whether the other migrate has stopped.
FOLLOW_EVERY = 0.1


def lock_not_granted(exc: BaseException) -> bool:
    """PostgreSQL gave up waiting for a lock (lock_timeout), as psycopg's error or Django's wrapping of it."""
    lock_timeout = psycopg.errors.LockNotAvailable
    return isinstance(exc, lock_timeout) or isinstance(exc.__cause__, lock_timeout)


def _holders(cursor, *, of_turn: bool = False, besides: tuple[int, ...] = ()) -> str:
    """Who a migration waits for: with `of_turn`, the process holding the migrate lock (another migrate); otherwise
    the sessions holding locks on this database's tables in transactions older than the lock timeout, but for this
    session and the migrate's own connections `besides` (the one holding a non-atomic migration's turn)."""
    cursor.execute(
        "SELECT a.pid, a.application_name, a.state, extract(epoch FROM clock_timestamp() - a.xact_start)::int "
        "FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
        "WHERE l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "  AND a.pid <> pg_backend_pid() AND a.pid <> ALL(%s) "
        "  AND (%s AND l.locktype = 'advisory' AND (l.classid::bigint << 32 | l.objid::bigint) = %s "
        "       OR NOT %s AND l.locktype = 'relation' "
        "          AND a.xact_start < clock_timestamp() - make_interval(secs => %s)) "
        "GROUP BY a.pid, a.application_name, a.state, a.xact_start ORDER BY a.xact_start LIMIT 3",
        [list(besides), of_turn, MIGRATE_LOCK_KEY, of_turn, settings.MIGRATE_LOCK_TIMEOUT_MS / 1000],
    )
    rows = cursor.fetchall()
    if not rows:
        return "a transaction that has ended since"
    return ", ".join(
        f"process {pid} ({name or 'no application name'}, {state or 'state not visible to this role'}, "
        f"its transaction open {age} s)"
        for pid, name, state, age in rows
    )


class LockWaits:
    """A migrate's waits for locks, migration by migration: pauses growing from 1 s to LONGEST_PAUSE, and a
    CommandError naming who holds them once one migration has waited MIGRATE_LOCK_WAIT_SECONDS. (Its wait for its
    turn while another migrate applies a migration has no time limit: see claim().)"""

    def __init__(self, note: Callable[[str], None]):
        self.note = note
        self.integrity_retries = 0
        self.elsewhere = 0  # migrations another process did while this one waited for its turn
        self.apart: tuple[int, ...] = ()  # the server process of the connection holding the turn, if apart
        self.end()

    def begin(self, migration, *, unapplying: bool) -> None:
        self.migration, self.unapplying = migration, unapplying

    def end(self) -> None:
        self.migration = None  # the Migration being applied or unapplied, if any
        self.unapplying = False
        self.waiting_since: float | None = None
        self.next_pause = 1.0

    def pause(self, connection, what: str, applied: str) -> None:
        """After `what` did not get its lock: sleep, or raise CommandError when the time is up. `applied` says
        what stays of it."""
        with connection.cursor() as cursor:
            holders = _holders(cursor, besides=self.apart)
        now = time.monotonic()
        if self.waiting_since is None:  # counted from the first try's wait
            self.waiting_since = now - settings.MIGRATE_LOCK_TIMEOUT_MS / 1000
        waited = now - self.waiting_since
        left = settings.MIGRATE_LOCK_WAIT_SECONDS - waited
        if left <= 0:
            raise CommandError(
                f"{what} waited {waited:.0f} s (MIGRATE_LOCK_WAIT_SECONDS) for a lock held by {holders}; {applied}. "
                "Run migrate again once that transaction ends, or end it (SELECT pg_terminate_backend(<process>))."
            )
        pause = min(self.next_pause, left)
        self.note(f"{what} waits for a lock held by {holders}; trying again in {pause:.0f} s.")
        time.sleep(pause)
        self.next_pause = min(self.next_pause * 2, LONGEST_PAUSE)


# The running migrate's waits, for the schema editor's statements outside a transaction.
current_waits: ContextVar[LockWaits | None] = ContextVar("migration_lock_waits", default=None)


def _limits(set_: str) -> str:
    """A migration's limits, for the session (`SET`) or its transaction (`SET LOCAL`): no statement timeout nor idle
    timeout, and MIGRATE_LOCK_TIMEOUT_MS for any one lock."""
    return "; ".join(
        f"{set_} {name} = {value}"
        for name, value in (
            ("statement_timeout", 0),
            ("idle_in_transaction_session_timeout", 0),
            ("lock_timeout", int(settings.MIGRATE_LOCK_TIMEOUT_MS)),
        )
    )


@contextlib.contextmanager
def migrating_session(connection) -> Iterator[None]:
    """The migrating session's limits: no statement timeout (a migration may build an index over every memory) nor
    idle timeout (it may pause between statements), and MIGRATE_LOCK_TIMEOUT_MS for any one lock. The session's own
    settings again afterwards."""
    with connection.cursor() as cursor:
        cursor.execute(_limits("SET"))
    try:
        yield
    finally:
        if connection.is_usable():
            with connection.cursor() as cursor:
                cursor.execute("RESET statement_timeout; RESET idle_in_transaction_session_timeout; RESET lock_timeout")


class MigratedElsewhere(Exception):
    """Another process applied (or unapplied) this migration while this one waited for its turn."""


def claim(cursor, waits: LockWaits) -> None:
    """In the migration's transaction: take the database's migrate lock (another process applying a migration holds
    it until its transaction ends), then make sure the migration is still to do. The transaction has the migrating
    session's limits of its own, which a pooler in transaction mode keeps with it (a session's SET there went to
    whichever server connection ran it). Waiting for another migrate has no time limit: that one makes progress (a
    data migration may take minutes) and gives up itself if it waits too long; this one waits on the lock itself,
    holding nothing anyone else waits for, and goes on the moment the other's migration ends."""
    cursor.execute(_limits("SET LOCAL"))
    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [MIGRATE_LOCK_KEY])
    if not cursor.fetchone()[0]:
        holder = _holders(cursor, of_turn=True)
        waits.note(f"Migration {waits.migration} waits for another migrate to finish its migration: {holder}.")
        cursor.execute("SET LOCAL lock_timeout = 0")
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATE_LOCK_KEY])
        cursor.execute(f"SET LOCAL lock_timeout = {int(settings.MIGRATE_LOCK_TIMEOUT_MS)}")
    migration = waits.migration
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM django_migrations WHERE app = %s AND name = %s)",
        [migration.app_label, migration.name],
    )
    if cursor.fetchone()[0] != waits.unapplying:
        raise MigratedElsewhere(str(migration))


def wait_while_another_migrates(connection) -> None:
    """After a migration was found done by another migrate: wait until that one has stopped (it has not held the
    migrate lock nor recorded a migration for two looks in a row). Planning again at once cost a plan (every model
    rendered again, ~65 ms of CPU) and a line saying whom it waits for, for each migration the other applied: three
    bootstraps at once on an empty database took the CPU of three whole migrates. No time limit, as in claim(): the
    other migrate makes progress, or gives up itself."""
    seen, quiet = None, 0
    while quiet < 2:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT count(*) FROM django_migrations), EXISTS (SELECT 1 FROM pg_locks l "
                "WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND (l.classid::bigint << 32 | l.objid::bigint) = %s)",
                [MIGRATE_LOCK_KEY],
            )
            recorded, held = cursor.fetchone()
        quiet = quiet + 1 if recorded == seen and not held else 0
        seen = recorded
        if quiet < 2:
            time.sleep(FOLLOW_EVERY)


@contextlib.contextmanager
def claimed_apart(connection, waits: LockWaits) -> Iterator[None]:
    """claim() for a migration that is not atomic (each of its statements commits on its own): in a transaction on
    another connection (from the process's pool when it has one: behind a pooler in session mode, one the pool holds
    already), which keeps the lock until the block ends."""
    pool = connection.pool
    if pool is not None:
        lock = pool.getconn()
    else:
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        lock = psycopg.connect(**params)
    waits.apart = (lock.info.backend_pid,)
    try:
        lock.autocommit = False
        while True:
            try:
                with lock.cursor() as cursor:
                    claim(cursor, waits)
                break
            except psycopg.errors.LockNotAvailable:
                lock.rollback()
                waits.pause(connection, f"Migration {waits.migration}", "nothing of it was applied")
        yield
    finally:
        waits.apart = ()
        lock.rollback()  # the lock's transaction ends
        if pool is not None:
            pool.putconn(lock)
        else:
            lock.close()
