"""Limits shared by the paged routes and tools of every front door."""

from __future__ import annotations

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
