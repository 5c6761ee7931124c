"""Request headers as the text the client sent.

WSGI (PEP 3333) hands header values over as Latin-1 text, one character per byte, so a client's UTF-8
`jürgen` arrives as `jÃ¼rgen`. Every header whose value is stored, compared with stored text or echoed back
is read through `header_text`, which undoes that.
"""

from __future__ import annotations

from mem0server.exceptions import InvalidInput


def header_text(request, name: str) -> str | None:
    """The header's value decoded as UTF-8 (None when absent); InvalidInput naming the header otherwise."""
    value = request.headers.get(name)
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        raise InvalidInput(f"The {name} header is not valid UTF-8 text.", field=name) from None
