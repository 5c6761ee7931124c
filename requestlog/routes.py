"""A logged path's endpoint: the path with its ids folded, so /memories/<uuid> and /api-keys/12 count as one.

Computed once, when the call is logged, and stored beside the path: the Requests page's charts group a day's
calls by it, and folding every row's path there cost three regular expressions per row at each page view.
"""

from __future__ import annotations

import re

_UUID = re.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NUMBER = re.compile(r"/[0-9]+(/|\Z)")
# Entity paths carry a free-form id as their last segment.
_ENTITY = re.compile(r"\A/entities/([^/]+)/[^/]+\Z")


def route_of(path: str) -> str:
    """The path with UUIDs, numeric segments and an entity's id replaced by {id}."""
    route = _NUMBER.sub(r"/{id}\1", _UUID.sub("{id}", path))
    return _ENTITY.sub(r"/entities/\1/{id}", route, count=1)
