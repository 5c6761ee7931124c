"""How large one answer may be (LIST_MAX_BYTES), shared by the routes that list stored data: a page is weighed in
PostgreSQL before it is read, and refused, saying to ask for fewer, when it holds more than one answer carries."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Func, IntegerField, QuerySet, Sum, TextField
from django.db.models.functions import Cast, Coalesce

from mem0server.exceptions import InvalidInput

# The most bytes one character takes in UTF-8.
UTF8_MAX_BYTES = 4


class OctetLength(Func):
    """PostgreSQL's octet_length: a text's size in bytes, read from its header (not decompressed)."""

    function = "octet_length"
    output_field = IntegerField()


def answer_refuse_beyond(size: int, what: str, ask: str, *, of: str = "text and metadata") -> None:
    """InvalidInput when `what` (e.g. "These 3 memories") hold more than LIST_MAX_BYTES of `of`."""
    if size > settings.LIST_MAX_BYTES:
        raise InvalidInput(
            f"{what} hold {size} bytes of {of}, more than one answer carries (LIST_MAX_BYTES, "
            f"{settings.LIST_MAX_BYTES}): {ask}."
        )


def json_bytes(field: str):
    """A JSON column's size as text, in bytes (0 for null)."""
    return Coalesce(OctetLength(Cast(field, TextField())), 0)


def page_refuse_beyond(rows: QuerySet, size, *, noun: str, ask: str, of: str = "text and metadata") -> None:
    """InvalidInput when `rows` (a page, sliced or not) hold more than LIST_MAX_BYTES, `size` being one row's bytes;
    weighed in PostgreSQL before the rows are read."""
    weighed = rows.aggregate(rows=Count("pk"), size=Sum(size))
    answer_refuse_beyond(weighed["size"] or 0, f"These {weighed['rows']} {noun}", ask, of=of)
