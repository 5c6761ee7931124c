"""What a statement read, from PostgreSQL's own account of it (EXPLAIN ANALYZE): rows, not time."""

from __future__ import annotations

import time

from django.db import connection

# How long vacuumed() tries: a snapshot another session holds for longer fails the test, naming that session.
VACUUM_TRIES, VACUUM_PAUSE = 100, 0.1
# The share of pages it waits for: a VACUUM skips a page another backend has pinned at that moment, and on a machine
# loaded by other test processes 3 pages of 2,252 stayed unmarked over all its tries (30 of 2,279 with the suite
# run beside two other sessions' work, a load of 7 on 2 cores, no snapshot held). The planner weighs index-only scans
# by the share (pg_class.relallvisible), so a few pages short do not change the plans the tests read; a plan that
# did change would fail the test's own assertion of the rows read.
VISIBLE_SHARE = 0.95


def vacuumed(table: str) -> None:
    """VACUUM ANALYZE `table` until its pages are marked all-visible (VISIBLE_SHARE of them), as autovacuum leaves a
    table at rest. A snapshot another session of this database holds (a thread of an earlier test still in its
    transaction) keeps VACUUM from marking pages, and the planner then reads the table's rows where it would read its
    index only (a deep page read 2,510 rows in place of 10, one run in several): tried again while such a snapshot
    lasts, up to VACUUM_TRIES times."""
    with connection.cursor() as cursor:
        for _ in range(VACUUM_TRIES):
            cursor.execute(f"VACUUM ANALYZE {table}")
            cursor.execute("SELECT relpages, relallvisible FROM pg_class WHERE oid = %s::regclass", [table])
            pages, visible = cursor.fetchone()
            if visible >= pages * VISIBLE_SHARE:
                return
            time.sleep(VACUUM_PAUSE)
        cursor.execute(
            "SELECT pid, state, left(query, 200) FROM pg_stat_activity "
            "WHERE datname = current_database() AND backend_xmin IS NOT NULL AND pid <> pg_backend_pid()"
        )
        raise AssertionError(f"{table}: {visible} of {pages} pages all-visible; snapshots held by {cursor.fetchall()}")


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
