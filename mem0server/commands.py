"""The base of the management commands that use the database: on a database `manage.py bootstrap` has not set up,
one line saying to run it, not Django's traceback ending in `relation "accounts_user" does not exist`; on one that
cannot be reached, one line naming the server and why, not a traceback ending in a pool's time-out."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, ProgrammingError, connections
from django.db.migrations.executor import MigrationExecutor

from mem0server.database import describe_database, unreachable_reason
from mem0server.exceptions import DomainError


def database_not_set_up(database: str = DEFAULT_DB_ALIAS) -> str | None:
    """What to do when the database lacks migrations of this version (none applied before the first bootstrap, or
    some after an upgrade), in one line; None when it has them all (or cannot be asked)."""
    connection = connections[database]
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        fresh = not executor.recorder.has_table()
    except DatabaseError:
        return None  # the transaction the error was in is not over: the error stays as it was
    if not pending:
        return None
    where = describe_database(connection.settings_dict)
    count = len(pending)
    lacks = "has no tables yet" if fresh else f"lacks {count} migration{'s' * (count != 1)} of this version"
    return f"The database at {where} {lacks}: run `python manage.py bootstrap` (or `make serve`, which runs it) first."


@contextlib.contextmanager
def database_reached(database: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """A database that cannot be used (down, refusing the login, a wrong host) ends the block with one line naming
    the server and the reason, as a CommandError; the pool's warning for each connection it retries is not shown."""
    db = connections[database]
    pool_log = logging.getLogger("psycopg.pool")
    pool_level = pool_log.level
    pool_log.setLevel(logging.ERROR)
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        reason = unreachable_reason(db.settings_dict) or " ".join(str(exc).split())
        db.close_pool()  # its threads would go on retrying, and warning, until the process ends
        raise CommandError(f"Cannot use the database at {describe_database(db.settings_dict)}: {reason}") from None
    finally:
        pool_log.setLevel(pool_level)


class DatabaseCommand(BaseCommand):
    """A command that reads or writes the database (all but bootstrap and migrate, which set it up)."""

    # Not Django's notice of unapplied migrations before the command (createsuperuser's and changepassword's asked
    # for it), which says to run migrate: on a database not set up, the one line below is all the command says.
    requires_migrations_checks = False

    def execute(self, *args, **options):
        database = options.get("database") or DEFAULT_DB_ALIAS
        try:
            with database_reached(database):
                return super().execute(*args, **options)
        except ProgrammingError as exc:  # e.g. UndefinedTable, UndefinedColumn
            message = database_not_set_up(database)
            if message is None:
                raise
            raise CommandError(message) from exc
        except DomainError as exc:  # what the API would answer with a 4xx (a new embedder's size over stored vectors)
            raise CommandError(exc.detail) from None


def active_account(email: str):
    """The active account an operator's --email names (accounts.selectors.user_by_email: the email as written, else
    the one account holding it in other case), or one line saying why there is none."""
    from accounts.selectors import user_by_email  # the accounts app's commands import this module
    from mem0server.exceptions import InvalidInput, NotFound

    try:
        user = user_by_email(email=email.strip())
    except NotFound:
        user = None
    except InvalidInput as exc:  # several in other case, and not one exactly
        raise CommandError(exc.detail) from None
    if user is None or not user.is_active:
        raise CommandError(f"No active account with email {email}.")
    return user
