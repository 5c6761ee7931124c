"""Request ids: every response carries X-Request-ID, and every log line written while serving it."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

from django.conf import settings
from django.http import HttpResponse

from mem0server import uploads
from mem0server.echoes import without_secrets

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# Accept a caller's id only if it is short and harmless to echo into headers and logs. Matched with fullmatch: "$"
# also matches before a final newline, so an id ending in "\n" passed and broke the response header.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _safe_id(incoming: str, meta) -> bool:
    """Harmless in a header, and no secret: an id is written into every log line of its request, gunicorn's access
    line and the request log, so a key sent as one (the admin key, the call's own, any key-looking word) is not kept."""
    return bool(_SAFE_ID.fullmatch(incoming)) and without_secrets(incoming, meta) == incoming


class RequestIDMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _safe_id(incoming, request.META) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIDLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs a 4xx or 5xx answer ("Not Found: …") after the middleware has returned, with the request
        # attached to the record: its id is there.
        record.request_id = getattr(getattr(record, "request", None), "request_id", None) or request_id_var.get()
        return True


class BodySizeLimitMiddleware:
    """A body declared larger than MAX_REQUEST_BYTES gets the documented 413 before anything reads it (but a file
    a logged-in account sends to the Import page: mem0server.uploads).

    Without this, DRF's JSON parsing read `request.body`, Django raised RequestDataTooBig, and the caller got
    400 "Bad request." while the log got a traceback. (A chunked body has its length set by
    mem0server.wsgi_body, which reads at most one byte past the limit.)
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from mem0server.exceptions import body_too_large_answer  # it imports this module

        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # gunicorn refuses a malformed Content-Length itself
        if length > settings.MAX_REQUEST_BYTES:
            limit = uploads.body_limit(request.method, request.path, request.META.get("HTTP_COOKIE", ""))
            if length > limit:
                content_type, body = body_too_large_answer(request.path, limit)
                return HttpResponse(body, status=413, content_type=content_type)
        return self.get_response(request)
