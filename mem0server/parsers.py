"""JSON bodies with a size and a nesting limit that hold even when DRF reads the raw stream."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils.json import strict_constant

from mem0server.text import encodable

# No Mem0 body nests anywhere near this deep. Python's json module, the filter builder and Django's query
# compiler all recurse, so a few thousand brackets (well under the size limit) were a RecursionError: a 500.
MAX_JSON_DEPTH = 32
TOO_DEEP = f"arrays and objects nest deeper than {MAX_JSON_DEPTH} levels."


# JSON's escape of a surrogate (\ud800-\udfff): the only way a JSON body can spell text that is not Unicode.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


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


def lone_surrogate_at(value: Any) -> str | None:
    """Where a JSON value holds an unpaired surrogate (JSON's "\\ud800" alone, which no UTF-8 encoder, and so
    neither PostgreSQL nor a response, accepts), as a path like `messages[0].content`; None if nowhere."""
    stack = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                where = f"{path}.{key}" if path else key
                if not encodable(key):
                    return f"{where.encode('utf-8', 'backslashreplace').decode()} (a key)"
                stack.append((child, where))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{index}]") for index, child in enumerate(item))
        elif isinstance(item, str) and not encodable(item):
            return path or "the body"
    return None


class LongNumber(ValueError):
    """An integer longer than Python reads (MAX_INT_DIGITS), where it is in the JSON value: json.loads said only
    "Exceeds the limit (4300 digits) for integer string conversion …; use sys.set_int_max_str_digits() to increase
    the limit", Python's advice to its programmers."""


# The most digits an integer in JSON may have: what Python reads (sys.get_int_max_str_digits's default). A number of
# Mem0's API (a limit, a page, a metadata value) is far shorter.
MAX_INT_DIGITS = 4300


class _Digits(int):
    """Stands for an integer too long to read (its number of digits), in a parsed value, until long_number_at finds
    where it is."""


def long_number_at(value: Any) -> str | None:
    """Why a parsed JSON value cannot be read, naming where it holds an integer longer than MAX_INT_DIGITS (as a path
    like `metadata.n`), or None."""
    stack = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            stack.extend((child, f"{path}.{key}" if path else str(key)) for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{index}]") for index, child in enumerate(item))
        elif isinstance(item, _Digits):
            where = path or "the body"
            return f"{where} is a number of {int(item):,} digits; a number takes at most {MAX_INT_DIGITS:,}."
    return None


def _loads(text: str, **options) -> Any:
    """json.loads, LongNumber naming where an integer is too long to read (only a body holding one is walked)."""
    long: list[int] = []

    def integer(digits: str) -> int:
        if len(digits.lstrip("-")) <= MAX_INT_DIGITS:
            return int(digits)
        long.append(len(digits.lstrip("-")))
        return _Digits(long[-1])

    value = json.loads(text, parse_int=integer, **options)
    if long:
        raise LongNumber(long_number_at(value) or "")
    return value


def _not_a_number(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is out of range for a number")
    return value


def json_loads(text: str) -> Any:
    """json.loads for JSON in query strings and form fields: ValueError for bad syntax and for NaN, Infinity or a
    number too large for a float (which PostgreSQL's jsonb cannot hold), NestedTooDeep beyond MAX_JSON_DEPTH."""
    try:
        value = _loads(text, parse_constant=_not_a_number, parse_float=_finite)
    except RecursionError:
        raise NestedTooDeep(TOO_DEEP) from None
    if nested_too_deep(value):
        raise NestedTooDeep(TOO_DEEP)
    return value


class LimitedJSONParser(JSONParser):
    """JSONParser that refuses bodies over MAX_REQUEST_BYTES (DRF bypasses Django's own limit), nested
    deeper than MAX_JSON_DEPTH, or holding an unpaired surrogate (echoed in an error message, one was a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.MAX_REQUEST_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLarge(f"Request body is larger than the limit of {limit} bytes.")
        try:
            text = body.decode(get_encoding(parser_context or {}))
            value = _loads(text, parse_constant=strict_constant if self.strict else None)
        except RecursionError:
            raise ParseError(f"JSON parse error - {TOO_DEEP}") from None
        except ValueError as exc:  # a UnicodeDecodeError too, as JSONParser's
            raise ParseError(f"JSON parse error - {exc}") from None
        if nested_too_deep(value):
            raise ParseError(f"JSON parse error - {TOO_DEEP}")
        # Only a body that spells a surrogate is walked (a paired one, an emoji written as \ud83d\ude00, is fine).
        if _SURROGATE_ESCAPE.search(body) and (where := lone_surrogate_at(value)):
            raise ParseError(
                f"JSON parse error - {where} holds an unpaired surrogate character (\\ud800-\\udfff), which is "
                "not Unicode text; send the character itself, or both halves of its pair."
            )
        return value
