"""Limits shared by the paged routes and tools of every front door."""

from __future__ import annotations

# The highest page number a paged list accepts. Far past any real list (a million pages), and small enough that
# page x page size stays an OFFSET PostgreSQL can compare: 10**19 was a DataError ("cannot be stored") naming no
# field.
MAX_PAGE = 1_000_000
