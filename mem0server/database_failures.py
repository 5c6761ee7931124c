"""Database errors that are not the request's fault: a 503 saying which, on the API and on every other page."""

from __future__ import annotations

import logging

import psycopg
from django.conf import settings
from django.db import InterfaceError, OperationalError
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
