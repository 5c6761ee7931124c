"""The schema editor of ENGINE "mem0server.db": Django's, migrating beside a running server and beside another
migrate (mem0server/migrating.py). Under `manage.py migrate` each migration first claims the database's migrate lock.
A statement of a migration that is not atomic, run on its own, is tried again when it did not get its lock in time;
an atomic migration is rolled back whole and tried again instead (memories/management/commands/migrate.py), so that
it holds none of its locks while it pauses."""

from __future__ import annotations

import contextlib

from django.db.backends.postgresql import schema
from django.db.utils import OperationalError

from mem0server.migrating import claim, claimed_apart, current_waits, lock_not_granted


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.migrate_lock = contextlib.ExitStack()  # for a migration that is not atomic, the lock's connection

    def __enter__(self):
        super().__enter__()
        waits = current_waits.get()
        if waits is None or waits.migration is None:
            return self
        try:
            if self.atomic_migration:
                with self.connection.cursor() as cursor:
                    claim(cursor, waits)
            else:
                self.migrate_lock.enter_context(claimed_apart(self.connection, waits))
        except BaseException as exc:
            if self.atomic_migration:
                self.atomic.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        try:
            return super().__exit__(exc_type, exc_value, traceback)
        finally:
            self.migrate_lock.close()

    def execute(self, sql, params=()):
        waits = current_waits.get()
        if waits is None or self.connection.in_atomic_block:
            return super().execute(sql, params)
        while True:
            try:
                return super().execute(sql, params)
            except OperationalError as exc:
                if not lock_not_granted(exc):
                    raise
                waits.pause(
                    self.connection,
                    f"A statement of migration {waits.migration} (not atomic)",
                    "that statement was not applied, the ones before it were",
                )
