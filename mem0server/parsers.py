"""JSON bodies with a size and a nesting limit that hold even when DRF reads the raw stream."""

from __future__ import annotations

import io
import json
from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

# No Mem0 body nests anywhere near this deep. Python's json module, the filter builder and Django's query
# compiler all recurse, so a few thousand brackets (well under the size limit) were a RecursionError: a 500.
MAX_JSON_DEPTH = 32
TOO_DEEP = f"arrays and objects nest deeper than {MAX_JSON_DEPTH} levels."


class NestedTooDeep(ValueError):
    pass


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


def nested_too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether lists and objects in a JSON value nest deeper than `limit` (walked with a stack, not recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def json_loads(text: str) -> Any:
    """json.loads for JSON in query strings: ValueError for bad syntax, NestedTooDeep beyond MAX_JSON_DEPTH."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise NestedTooDeep(TOO_DEEP) from None
    if nested_too_deep(value):
        raise NestedTooDeep(TOO_DEEP)
    return value


class LimitedJSONParser(JSONParser):
    """JSONParser that refuses bodies over MAX_REQUEST_BYTES (DRF bypasses Django's own limit) or nested
    deeper than MAX_JSON_DEPTH."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.MAX_REQUEST_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLarge(f"Request body is larger than the limit of {limit} bytes.")
        try:
            value = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - {TOO_DEEP}") from None
        if nested_too_deep(value):
            raise ParseError(f"JSON parse error - {TOO_DEEP}")
        return value
