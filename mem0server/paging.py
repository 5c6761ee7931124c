"""Limits shared by the paged routes and tools of every front door."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

# The highest page number a paged list accepts. Far past any real list (a million pages), and small enough that
# page x page size stays an OFFSET PostgreSQL can compare: 10**19 was a DataError ("cannot be stored") naming no
# field.
MAX_PAGE = 1_000_000


def _next_header(name: str, kind: OpenApiTypes, passed_as: str) -> OpenApiParameter:
    """The schema of the response header that names the next page of a bare list (next_page_link)."""
    return OpenApiParameter(
        name,
        kind,
        location=OpenApiParameter.HEADER,
        response=[200],
        description=f"Present when more follow: pass it as `{passed_as}` (the Link header has the full URL).",
    )


NEXT_PAGE_HEADER = _next_header("X-Next-Page", OpenApiTypes.INT, "page")  # a memory's history
NEXT_CURSOR_HEADER = _next_header("X-Next-Cursor", OpenApiTypes.STR, "cursor")  # the entities list


def next_page_link(response, request, *, header: str, param: str, value: int | str) -> None:
    """Announce the next page of an answer whose body is a bare list (Mem0's shape): `header` carries `value`, to
    pass as `param` (a page number, a cursor), and Link rel="next" the whole URL, the request's query with it."""
    query = request.query_params.copy()
    query[param] = str(value)
    response[header] = str(value)
    response["Link"] = f'<{request.path}?{query.urlencode()}>; rel="next"'


def cursor_encode(key: list) -> str:
    """An opaque cursor naming where a keyset page stopped: its last row's sort key, as JSON in URL-safe base64."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> object:
    """What cursor_encode wrote (its caller checks the shape); ValueError for what is no cursor at all."""
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, TypeError, RecursionError):  # RecursionError: JSON nested ~1000 deep
        raise ValueError("not a cursor") from None


@dataclass(frozen=True)
class KeysetPage:
    results: list
    next_cursor: str | None
    # The cursor that opens this page (None: the first), for a page's forms to come back to it.
    cursor: str | None = None


def keyset_page(
    rows: QuerySet, *, limit: int, key: Callable[[object], list], after: Q | None = None, cursor: str | None = None
) -> KeysetPage:
    """The first `limit` of `rows` (ordered) after the cursor given (`after`, its filter), with the cursor of the
    next page (`key` of the last row: its sort key) when more follow."""
    found = list((rows if after is None else rows.filter(after))[: limit + 1])
    more = limit > 0 and len(found) > limit
    next_cursor = cursor_encode(key(found[limit - 1])) if more else None
    return KeysetPage(results=found[:limit], next_cursor=next_cursor, cursor=cursor if after is not None else None)


def keyset_page_or_last(
    rows: QuerySet, *, limit: int, key: Callable[[object], list], after: Q | None = None, cursor: str | None = None
) -> KeysetPage:
    """keyset_page, or when nothing is left after the cursor (the rows of the page it named were deleted) the last
    page of `rows` as paging from the first reaches it now: the page nearest to the one asked for. A dashboard
    list's, whose forms come back to their page; not for an API, whose client would be sent back over rows."""
    page = keyset_page(rows, limit=limit, key=key, after=after, cursor=cursor)
    if page.results or after is None or limit < 1:
        return page
    start = (rows.count() - 1) // limit * limit
    if start < 1:
        return keyset_page(rows, limit=limit, key=key)
    before = rows[start - 1 : start].get()
    return KeysetPage(results=list(rows[start : start + limit]), next_cursor=None, cursor=cursor_encode(key(before)))
