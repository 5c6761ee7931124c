"""Records each API call after its response is ready; a failure here never reaches the caller."""

from __future__ import annotations

import ipaddress
import logging
import re
import time

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

from apikeys.authentication import auth_type_of
from apikeys.models import APIKey
from mem0server.echoes import keys_masked, without_credentials, without_secrets
from mem0server.exceptions import error_items
from mem0server.middleware import request_id_var
from requestlog.routes import route_of
from requestlog.writer import Row, writer

logger = logging.getLogger("mem0server.requestlog")

# Not API calls: the operator's admin, the dashboard's pages, static assets, the docs, and health probes and
# metric scrapes that would flood the log.
SKIPPED_PREFIXES = (
    "/admin/",
    "/dashboard/",
    "/static/",
    "/docs",
    "/openapi.json",
    "/healthz",
    "/metrics",
    "/favicon",
)
# A view names the MCP tool a call ran by setting this attribute on its response (see record_tool).
TOOL_ATTRIBUTE = "request_log_tool"


def record_tool(response, tool: str) -> None:
    """Have the log row of this response name the MCP tool that produced it."""
    setattr(response, TOOL_ATTRIBUTE, tool)


# A view says what a call was refused for when its answer does not (an MCP call answered on an SSE stream, or as a
# JSON-RPC error) by setting this attribute on its response (see record_error).
ERROR_ATTRIBUTE = "request_log_error"


def record_error(response, error: str) -> None:
    """Have the log row of this response say what the call was refused for: a short name, never a value sent."""
    setattr(response, ERROR_ATTRIBUTE, error)


# A view names the source a request's body gave (Mem0 Platform's `source`) by setting this on its response.
SOURCE_ATTRIBUTE = "request_log_source"


def record_source(response, source: str) -> None:
    """Have the log row of this response name the client by the source its body gave, unless a header or the
    query named one."""
    setattr(response, SOURCE_ATTRIBUTE, source)


def _client_ip(request) -> str | None:
    # DRF's reading of X-Forwarded-For, honouring TRUSTED_PROXIES like the rate limits do; a forwarded value
    # is whatever the client wrote, so keep it only if it is an address.
    try:
        return str(ipaddress.ip_address(BaseThrottle().get_ident(request) or ""))
    except ValueError:
        return None


def _text(value: str, limit: int) -> str:
    # PostgreSQL text cannot hold NUL, and a path may carry one (%00).
    return value[:limit].replace("\x00", "\ufffd")


def _client(request, response) -> str:
    """Who called, as the caller names itself: Mem0's SDKs send X-Mem0-Client (their stack, "mem0-python/2.2.1"),
    integrations a source (X-Mem0-Source, `source` in the query, or in a Platform request's body: OPENCLAW, N8N,
    CLI, ZAPIER); other callers their User-Agent. Printable, without keys, at most 128 characters."""
    meta = request.META
    source = meta.get("HTTP_X_MEM0_SOURCE") or _query_source(request) or getattr(response, SOURCE_ATTRIBUTE, "")
    named = " ".join(part.strip() for part in (source, meta.get("HTTP_X_MEM0_CLIENT", "")) if part.strip())
    text = without_secrets((named or meta.get("HTTP_USER_AGENT", ""))[:512], meta)
    if text.isprintable():
        return text[:128]
    return "".join(char if char.isprintable() else "\ufffd" for char in text)[:128]


# A field's name in an error's path: what the server's serializers declare, or an item's index.
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}|[0-9]{1,6}")


def _error(response) -> str:
    """What a refused call was refused for, from the error the server answered: the fields it named
    (messages.1.content), "(the request)" for a 400 about the request as a whole, else the error's code. Names only,
    never a value the caller sent (a key that is not a field's name shows as …); at most 200 characters. A view's own
    word (record_error) comes first."""
    recorded = getattr(response, ERROR_ATTRIBUTE, "")
    if recorded:
        return keys_masked(recorded)[:200]
    data = getattr(response, "data", None)
    if response.status_code < 400 or not isinstance(data, dict):
        return ""
    errors, code = data.get("errors"), data.get("code")
    paths = dict.fromkeys(
        ".".join(key if FIELD_NAME.fullmatch(key) else "…" for key in keys) or "(the request)"
        for keys, _ in (error_items(errors) if errors else ())
    )
    text = ", ".join(paths) or (code if isinstance(code, str) and FIELD_NAME.fullmatch(code) else "")
    if not text and response.status_code == 400:
        text = "(the request)"
    return keys_masked(text)[:200]


def _query_source(request) -> str:
    if "source=" not in request.META.get("QUERY_STRING", ""):
        return ""
    try:
        return request.GET.get("source", "")
    except SuspiciousOperation:  # a query Django will not parse (too many fields): the view said so already
        return ""


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        if settings.REQUEST_LOG_ENABLED and request.path != "/" and not request.path.startswith(SKIPPED_PREFIXES):
            try:
                self._record(request, response, started)
            except Exception:  # never let the log break a request
                logger.exception("could not record a request log entry")
        return response

    def _record(self, request, response, started: float) -> None:
        # DRF copies the authenticated user and auth onto the Django request.
        user, auth = getattr(request, "user", None), getattr(request, "auth", None)
        account = getattr(user, "account", None) if getattr(user, "is_authenticated", False) else None
        path = _text(without_credentials(request.path, request.META), 500)
        writer.submit(
            Row(
                method=_text(request.method, 10),
                path=path,
                status_code=response.status_code,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
                auth_type=auth_type_of(user, auth),
                account_id=account.pk if account is not None else None,
                api_key_id=auth.pk if isinstance(auth, APIKey) else None,
                client_ip=_client_ip(request),
                request_id=request_id_var.get()[:128],
                created_at=timezone.now(),
                tool=_text(getattr(response, TOOL_ATTRIBUTE, ""), 64),
                client=_client(request, response),
                error=_error(response),
                route=route_of(path),
            )
        )
