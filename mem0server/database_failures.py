"""Database errors that are not the request's fault: a 503 saying which, on the API and on every other page."""

from __future__ import annotations

import contextlib
import logging

import psycopg
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpResponse
from psycopg.errors import DeadlockDetected, QueryCanceled, SerializationFailure

from mem0server.database import embedded_revive

logger = logging.getLogger("mem0server")


def lost_database(exc: BaseException | None) -> bool:
    """Whether the database going away (or being unreachable) caused `exc`: an OperationalError or InterfaceError
    (psycopg's or Django's) in its chain of causes."""
    while exc is not None:
        if isinstance(exc, psycopg.OperationalError | OperationalError | InterfaceError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


# SQLSTATEs PostgreSQL sends the connections it ends: a shutdown or restart (57P01, also a failover's old primary),
# a crash of another backend (57P02), and a database still starting (57P03).
_CONNECTION_ENDED = {"57P01", "57P02", "57P03"}

# A job's run cut off this way, said by the job's stored failure and by its last run's message (WORKER_MAX_ATTEMPTS).
DATABASE_LOST = "the database connection was lost while it ran (PostgreSQL restarted, failed over or ended it)"


def database_lost_on_run(attempts: int) -> str:
    """DATABASE_LOST, and which of a job's WORKER_MAX_ATTEMPTS runs it was."""
    return f"{DATABASE_LOST}, on run {attempts} of {settings.WORKER_MAX_ATTEMPTS} (WORKER_MAX_ATTEMPTS)"


def connection_lost(exc: BaseException | None) -> bool:
    """Whether `exc` came from the database connection ending (a restart, a failover, a connection that could not
    be opened), not from a statement the database refused or cancelled (lost_database takes both)."""
    while exc is not None:
        if isinstance(exc, InterfaceError | psycopg.InterfaceError):
            return True
        if isinstance(exc, psycopg.OperationalError):
            return exc.sqlstate is None or exc.sqlstate in _CONNECTION_ENDED
        exc = exc.__cause__ or exc.__context__
    return False


def connection_dropped() -> None:
    """This thread's connection after connection_lost: closed, so that the next query opens a new one (Django
    keeps using a broken connection outside a request)."""
    with contextlib.suppress(DatabaseError, InterfaceError):
        connection.close()


def database_failure(exc: BaseException) -> tuple[str, str, dict[str, str]] | None:
    """(code, detail, headers) of a 503 for a database error that is not the request's fault, logged; else None."""
    if isinstance(exc, OperationalError) and isinstance(exc.__cause__, QueryCanceled):
        logger.warning("statement cancelled after DB_STATEMENT_TIMEOUT_MS: %s", exc)
        detail = (
            f"The database did not finish this request within {settings.DB_STATEMENT_TIMEOUT_MS} ms "
            "(DB_STATEMENT_TIMEOUT_MS); nothing was changed. Narrow it (fewer filter values, fewer messages) or try "
            "again."
        )
        return "datastore_timeout", detail, {}
    if isinstance(exc, OperationalError) and isinstance(exc.__cause__, DeadlockDetected | SerializationFailure):
        logger.warning("request stopped by the database in a conflict with another: %s", exc)
        detail = (
            "This request collided with another change to the same memories and was stopped; nothing was changed. "
            "Try it again."
        )
        return "datastore_conflict", detail, {"Retry-After": "1"}
    if isinstance(exc, OperationalError | InterfaceError):
        logger.error("database unavailable: %s", exc)
        if settings.EMBEDDED_DATABASE:
            embedded_revive(settings.DATA_DIR)  # its postmaster killed: started again
        return "datastore_unavailable", "The database is unavailable; try again shortly.", {}
    return None


class DatabaseFailureMiddleware:
    """A page other than the API's (the dashboard, the Django admin) that fails on the database answers 503 saying
    why, as the API does (mem0server.exceptions), instead of a 500. Plain text: rendering a page could need the
    database again."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        failure = database_failure(exception)
        if failure is None:
            return None
        _code, detail, headers = failure
        return HttpResponse(f"{detail}\n", status=503, content_type="text/plain; charset=utf-8", headers=headers)
