"""What a statement read, from PostgreSQL's own account of it (EXPLAIN ANALYZE): rows, not time."""

from __future__ import annotations

from django.db import connection


def table_rows_read(statement: str, table: str) -> int:
    """How many rows the statement's scans of `table` read from its rows; an index-only scan reads its index instead
    (its few heap fetches, for pages another session's snapshot kept VACUUM from marking all-visible, are left out)."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement)
        plan = cursor.fetchone()[0][0]["Plan"]

    def read(node: dict) -> int:
        own = node.get("Relation Name") == table and node["Node Type"] != "Index Only Scan"
        return (node["Actual Rows"] * node["Actual Loops"] if own else 0) + sum(map(read, node.get("Plans", [])))

    return read(plan)
