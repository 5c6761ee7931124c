"""Domain errors and the one place they become HTTP responses."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DataError, OperationalError
from django.template.defaultfilters import filesizeformat
from psycopg.errors import ProgramLimitExceeded
from rest_framework import exceptions, status
from rest_framework.response import Response

from mcp_server import over_limit
from mem0server.database_failures import database_failure
from mem0server.middleware import request_id_var
from mem0server.text import mask_urls

logger = logging.getLogger("mem0server")


class DomainError(Exception):
    """Raised by services and selectors; carries the HTTP status it maps to."""

    status_code = status.HTTP_400_BAD_REQUEST
    # Response headers the error answers with (Retry-After).
    headers: dict[str, str] = {}  # never mutated: an error sets its own

    def __init__(self, detail: str, *, field: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST


class Unauthorized(DomainError):
    status_code = status.HTTP_401_UNAUTHORIZED


class Forbidden(DomainError):
    status_code = status.HTTP_403_FORBIDDEN


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND


class Conflict(DomainError):
    """The request is valid but clashes with what is stored (e.g. a new embedding size over old vectors)."""

    status_code = status.HTTP_409_CONFLICT


class UpstreamError(DomainError):
    """The LLM or embedding provider failed: 502, or 504 when it did not answer in time.

    `code` is one of provider_auth_failed, provider_rate_limited, provider_timeout,
    provider_unavailable, provider_bad_request.
    """

    def __init__(self, detail: str, *, code: str, status_code: int = status.HTTP_502_BAD_GATEWAY):
        super().__init__(detail)
        self.code = code
        self.status_code = status_code


def error_items(errors, keys: tuple[str, ...] = ()):
    """Each message of DRF's field errors with the keys of the field it is about (none for the request as a whole):
    what a 400's detail sentences, and the request log's `error`, are made of."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            yield from error_items(value, () if key == "non_field_errors" else (*keys, str(key)))
    elif isinstance(errors, list):
        for item in errors:
            yield from error_items(item, keys)
    else:
        yield keys, str(errors)


def error_sentences(errors) -> list[str]:
    """DRF's field errors as 'field: message' sentences: a 400's detail, and a dashboard form's errors."""
    return [f"{'.'.join(keys)}: {message}" if keys else message for keys, message in error_items(errors)]


def body_too_large() -> dict[str, str]:
    return {
        "detail": f"Request body is larger than the limit of {settings.MAX_REQUEST_BYTES} bytes (MAX_REQUEST_BYTES)."
    }


def body_too_large_answer(path: str, limit: int | None = None) -> tuple[str, bytes]:
    """The 413's content type and body: a page for the dashboard's (a file too large for its Import or Memories page,
    read in a browser), a JSON-RPC error for MCP's (which the mcp SDKs show, and any other body only as "Server
    returned an error response"), the API's JSON for everything else. `limit` is the one applied: MAX_REQUEST_BYTES,
    or the Import page's IMPORT_MAX_BYTES for a logged-in account (mem0server.uploads)."""
    if path == "/mcp" or path.startswith("/mcp/"):
        return "application/json", over_limit.refusal_body()
    if not path.startswith("/dashboard/"):
        return "application/json", json.dumps(body_too_large()).encode()
    limit = limit or settings.MAX_REQUEST_BYTES
    name = "MAX_REQUEST_BYTES" if limit == settings.MAX_REQUEST_BYTES else "IMPORT_MAX_BYTES"
    # What to do instead, for the page the file was sent from: the Import page's advice told someone adding a
    # document on the Memories page to run import_memories, which takes no documents.
    back, advice = "/dashboard/", ""
    if path.startswith("/dashboard/imports/"):
        back = "/dashboard/imports/"
        advice = (
            "<p>A larger file of memories is imported on the server with <code>manage.py import_memories</code>.</p>"
        )
    elif path.startswith("/dashboard/memories/"):
        back = "/dashboard/memories/"
        advice = (
            "<p>Add a larger document in smaller files, or through the API by its address (<code>pdf_url</code>, "
            "<code>txt_url</code> or <code>mdx_url</code>, from a host in <code>FETCH_HOSTS</code>).</p>"
        )
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Too large</title></head><body>'
        f"<h1>Too large</h1><p>What was sent is larger than this server takes in one request: {limit:,} bytes "
        f"({filesizeformat(limit)}, <code>{name}</code>). Nothing of it was read or stored.</p>"
        f'{advice}<p><a href="{back}">Back to the page</a></p></body></html>'
    )
    return "text/html; charset=utf-8", page.encode()


def refused_by_database(exc: BaseException) -> str | None:
    """What to tell the caller when PostgreSQL refused the request's own data, so that the same request would
    fail the same way again (a 400, never retried); None for any other error."""
    if isinstance(exc, DataError):
        # Values PostgreSQL cannot hold (out-of-range numbers, odd encodings): the caller's data, not our bug.
        return "A value in the request cannot be stored or compared."
    if isinstance(exc, OperationalError) and isinstance(exc.__cause__, ProgramLimitExceeded):
        # SQLSTATE 54000: a size limit of PostgreSQL's own (an index row, a row, a tsvector).
        reason = exc.__cause__.diag.message_primary or str(exc.__cause__)
        return f"A value in the request is too large for the database ({reason}); send it shorter."
    return None


def exception_handler(exc, context):
    """DRF's handler, plus: validation errors get a `detail` sentence, domain and database errors a status."""
    if isinstance(exc, UpstreamError):
        detail = mask_urls(exc.detail)  # a base URL's credentials and query values are never shown
        logger.warning("upstream failure (%s): %s", exc.code, detail)
        return Response(
            {"detail": detail, "code": exc.code, "request_id": request_id_var.get()}, status=exc.status_code
        )
    if isinstance(exc, RequestDataTooBig):
        # Django's own check (request.body), reached when the Content-Length header was missing or wrong.
        return Response(body_too_large(), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, DomainError):
        body = {"detail": exc.detail}
        if exc.field:
            body["errors"] = {exc.field: [exc.detail]}
        response = Response(body, status=exc.status_code, headers=exc.headers)
        if exc.status_code == status.HTTP_401_UNAUTHORIZED:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    if (refusal := refused_by_database(exc)) is not None:
        logger.warning("database refused a value: %s", exc)
        return Response({"detail": refusal}, status=status.HTTP_400_BAD_REQUEST)
    if (failure := database_failure(exc)) is not None:
        code, detail, headers = failure
        return Response(
            {"detail": detail, "code": code, "request_id": request_id_var.get()},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers=headers,
        )
    # Imported here: rest_framework.views loads the authentication classes, which import this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"detail": "Invalid request: " + "; ".join(error_sentences(errors)), "errors": errors}
    return response
