"""`manage.py migrate`: Django's, made safe to run while the server runs and while another process migrates
(mem0server/migrating.py). `manage.py bootstrap` runs it; so does the test database's set-up."""

from __future__ import annotations

import contextlib

from django.core.management.commands import migrate
from django.db import connections, transaction
from django.db.migrations.exceptions import MigrationSchemaMissing
from django.db.migrations.recorder import MigrationRecorder
from django.db.utils import IntegrityError, OperationalError

from mem0server.migrating import (
    LockWaits,
    MigratedElsewhere,
    claim,
    claimed_apart,
    current_waits,
    lock_not_granted,
    migrating_session,
    wait_while_another_migrates,
)


class Command(migrate.Command):
    help = (
        migrate.Command.help + " Each migration waits for another process's to end, and for a lock at most "
        "MIGRATE_LOCK_TIMEOUT_MS, then is rolled back and tried again, for up to MIGRATE_LOCK_WAIT_SECONDS."
    )

    def handle(self, *args, **options):
        self.database = options["database"]
        connection = connections[self.database]
        self.applied = 0  # migrations this run applied (manage.py bootstrap reports it)
        self.claimed = contextlib.ExitStack()  # the migration's claim on the migrate lock, until it is recorded
        self.line_open = False  # Django's "  Applying …..." waits for its " OK"
        self.waits = LockWaits(self.note)
        self.shown_verbosity = options["verbosity"]
        token = current_waits.set(self.waits)
        try:
            with migrating_session(connection):
                while True:
                    try:
                        return super().handle(*args, **options)
                    except BaseException as exc:
                        # The claim's transaction ends: an atomic migration is rolled back whole, its record too.
                        self.claimed.__exit__(type(exc), exc, exc.__traceback__)
                        raise_unless_to_retry(exc, self.waits, connection, self.note)
                    # Planned again: Django's plan ("Operations to perform: …") was shown once already. Each migration
                    # applied still says so (migration_progress_callback).
                    options = {**options, "verbosity": 0}
        finally:
            current_waits.reset(token)

    def migration_progress_callback(self, action, migration=None, fake=False):
        self.verbosity = self.shown_verbosity
        if action in ("apply_start", "unapply_start"):
            self.waits.begin(migration, unapplying=action == "unapply_start")
            if not fake:
                self.take_turn(migration, self.waits)
        super().migration_progress_callback(action, migration, fake)
        self.line_open = self.verbosity >= 1 and action in ("apply_start", "unapply_start")
        if action in ("apply_success", "unapply_success"):
            self.claimed.close()  # recorded: an atomic migration commits with its record
            self.waits.end()
            if action == "apply_success" and not fake:
                self.applied += 1

    def note(self, text: str) -> None:
        """Say why the migrate waits, on a line of its own."""
        if self.line_open:
            self.stdout.write("")
            self.line_open = False
        self.stderr.write(text)

    def take_turn(self, migration, waits: LockWaits) -> None:
        """Take the database's migrate lock for `migration`, and make sure it is still to do, until it is recorded
        (Django records a migration whose SQL is deferred after its schema editor's transaction). An atomic migration
        runs inside this transaction (its own becomes a savepoint), so it commits with its record."""
        self.claimed = contextlib.ExitStack()
        connection = connections[self.database]
        if migration.atomic:
            self.claimed.enter_context(transaction.atomic(using=self.database))
            with connection.cursor() as cursor:
                claim(cursor, waits)
        else:
            self.claimed.enter_context(claimed_apart(connection, waits))


def raise_unless_to_retry(exc: BaseException, waits: LockWaits, connection, note) -> None:
    """Return when the migrate should plan again (after a pause when a lock was not granted in time)."""
    if isinstance(exc, MigratedElsewhere):
        if not waits.elsewhere:
            note(f"Migration {exc} was done by another process meanwhile; so are any others it does (left out here).")
        waits.elsewhere += 1
        waits.end()
        wait_while_another_migrates(connection)
        return
    if isinstance(exc, MigrationSchemaMissing) and MigrationRecorder(connection).has_table():
        return  # another process created the table of applied migrations at the same moment
    if isinstance(exc, IntegrityError) and waits.migration is None and waits.integrity_retries < 3:
        # After the migrations, Django's post_migrate receivers add the content types and permissions missing: two
        # processes adding the same ones at once. Planned again, they find nothing missing.
        waits.integrity_retries += 1
        return
    migration = waits.migration
    # Only an atomic migration is rolled back whole, and so can be tried again from its start.
    if isinstance(exc, OperationalError) and lock_not_granted(exc) and migration is not None and migration.atomic:
        waits.pause(connection, f"Migration {migration}", "nothing of it was applied")
        return
    raise exc
