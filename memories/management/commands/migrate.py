"""`manage.py migrate`: Django's, made safe to run while the server runs and while another process migrates
(mem0server/migrating.py). `manage.py bootstrap` runs it; so does the test database's set-up."""

from __future__ import annotations

from django.core.management.commands import migrate
from django.db import connections
from django.db.migrations.exceptions import MigrationSchemaMissing
from django.db.migrations.recorder import MigrationRecorder
from django.db.utils import OperationalError

from mem0server.migrating import LockWaits, MigratedElsewhere, current_waits, lock_not_granted, migrating_session


class Command(migrate.Command):
    help = (
        migrate.Command.help + " Each migration waits for another process's to end, and for a lock at most "
        "MIGRATE_LOCK_TIMEOUT_MS, then is rolled back and tried again, for up to MIGRATE_LOCK_WAIT_SECONDS."
    )

    def handle(self, *args, **options):
        connection = connections[options["database"]]
        self.applied = 0  # migrations this run applied (manage.py bootstrap reports it)
        waits = LockWaits(self.stderr.write)
        token = current_waits.set(waits)
        try:
            with migrating_session(connection):
                while True:
                    try:
                        return super().handle(*args, **options)
                    except MigratedElsewhere as done:
                        self.stderr.write(f"Migration {done} was done by another process meanwhile.")
                        waits.end()
                    except MigrationSchemaMissing:
                        # Another process created the table of applied migrations at the same moment.
                        if not MigrationRecorder(connection).has_table():
                            raise
                    except OperationalError as exc:
                        # Only an atomic migration is rolled back whole, and so can be tried again from its start.
                        migration = waits.migration
                        if not lock_not_granted(exc) or migration is None or not migration.atomic:
                            raise
                        waits.pause(connection, f"Migration {migration}", "nothing of it was applied")
                    waits.migration = None  # planned again, from the migrations still to do
        finally:
            current_waits.reset(token)

    def migration_progress_callback(self, action, migration=None, fake=False):
        waits = current_waits.get()
        if action in ("apply_start", "unapply_start") and waits is not None:
            waits.begin(migration, unapplying=action == "unapply_start")
        elif action in ("apply_success", "unapply_success") and waits is not None:
            waits.end()
            if action == "apply_success" and not fake:
                self.applied += 1
        super().migration_progress_callback(action, migration, fake)
