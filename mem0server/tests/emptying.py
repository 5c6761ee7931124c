"""Emptying the test database after a transactional test (one with a live server, or threads of its own).

Django's TransactionTestCase runs `manage.py flush`: TRUNCATE of every table, then the post_migrate signal, which
makes the content types and permissions again. That was 0.3 s after each of the suite's 500-odd such tests (half of
it the signal): a third of the time of the SDK tests' files (69 s, now 46 s run alone). Here the tables holding rows
are found in one statement and emptied with DELETE (a few milliseconds for a test's rows, where TRUNCATE makes every
table's and index's files anew); a table holding more than BULK rows is truncated instead, so no test leaves a large
table's dead rows behind. The content types and permissions that migrate made are kept, as the signal would make
them again.

The same tables as flush (Django's managed ones: procrastinate's jobs are not, and are left as before). Row
triggers run as for any DELETE: a user's or an API key's deletion tells the key caches (apikeys 0002), and a
memory's takes its postings with it (memories 0008).
"""

from __future__ import annotations

from django.db import connections, transaction
from psycopg.sql import SQL, Identifier, Literal

KEPT = {"django_content_type", "auth_permission"}
BULK = 1000


def empty_test_database(alias: str = "default") -> None:
    connection = connections[alias]
    tables = sorted(set(connection.introspection.django_table_names(only_existing=True, include_views=False)) - KEPT)
    # Each table's rows, counted up to BULK + 1.
    counted = SQL(" UNION ALL ").join(
        SQL("SELECT {}, (SELECT count(*) FROM (SELECT FROM {} LIMIT {}) AS r)").format(
            Literal(table), Identifier(table), Literal(BULK + 1)
        )
        for table in tables
    )
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute(counted)
        rows = {table: count for table, count in cursor.fetchall() if count}
        bulky = [table for table, count in rows.items() if count > BULK]
        if bulky:
            cursor.execute(SQL("TRUNCATE {} CASCADE").format(SQL(", ").join(map(Identifier, bulky))))
        # Django's foreign keys are checked at commit (DEFERRABLE INITIALLY DEFERRED), the others cascade: any order.
        for table in rows.keys() - set(bulky):
            cursor.execute(SQL("DELETE FROM {}").format(Identifier(table)))


def fixture_teardown(test_case) -> None:
    """TransactionTestCase._fixture_teardown, emptying with empty_test_database rather than flush."""
    for alias in test_case._databases_names(include_mirrors=False):
        empty_test_database(alias)
