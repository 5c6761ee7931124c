"""What PostgreSQL text and jsonb can hold: no NUL, and only characters UTF-8 can encode."""

from __future__ import annotations

from typing import Any


def unstorable_text(text: str) -> str | None:
    """Why PostgreSQL cannot hold this string, or None.

    JSON may spell both problems (`\\u0000`, and an unpaired `\\ud800`, which Python decodes to a lone
    surrogate that no UTF-8 encoder accepts); sent on to the database they were a DataError or a 500.
    """
    if "\x00" in text:
        return "the NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "an unpaired surrogate character (\\ud800-\\udfff)"
    return None


def unstorable_json(value: Any) -> str | None:
    """Like unstorable_text, for the first key or string inside a JSON value that has a problem."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and (problem := unstorable_text(item)):
            return problem
    return None
