"""JSON bodies with a size limit that holds even when DRF reads the raw stream."""

from __future__ import annotations

import io

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.parsers import JSONParser


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


class LimitedJSONParser(JSONParser):
    """JSONParser that refuses bodies over MAX_REQUEST_BYTES (DRF bypasses Django's own limit)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.MAX_REQUEST_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLarge(f"Request body is larger than the limit of {limit} bytes.")
        return super().parse(io.BytesIO(body), media_type, parser_context)
