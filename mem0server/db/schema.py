"""The schema editor of ENGINE "mem0server.db": Django's, except that under `manage.py migrate` a statement of a
migration that is not atomic, run on its own, is tried again when it did not get its lock in time
(mem0server/migrating.py). An atomic migration is rolled back whole and tried again instead
(memories/management/commands/migrate.py), so that it holds none of its locks while it pauses."""

from __future__ import annotations

from django.db.backends.postgresql import schema
from django.db.utils import OperationalError

from mem0server.migrating import current_waits, lock_not_granted


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
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
