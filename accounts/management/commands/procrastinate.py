"""`manage.py procrastinate`, procrastinate's own command (found here first, as accounts is the first app), but a job
worker (`make serve`'s, `make worker`) on a database it cannot reach, or that lacks migrations of this version (an
upgrade whose `manage.py bootstrap` has not run yet), stops at once with one line saying so and what to do."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db import connection
from procrastinate.contrib.django.management.commands.procrastinate import Command as ProcrastinateCommand

from mem0server.commands import database_not_set_up, database_reached


class Command(ProcrastinateCommand):
    def handle(self, *args, **kwargs):
        if kwargs.get("command") == "worker":
            with database_reached():
                connection.ensure_connection()
                problem = database_not_set_up()
            if problem:
                raise CommandError(problem)
        return super().handle(*args, **kwargs)
