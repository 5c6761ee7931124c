"""After a transactional test the next one starts from an empty database, as it did with Django's flush, the
content types and permissions migrate made kept (mem0server/tests/emptying.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from apikeys.services import apikey_create
from mem0server.tests.emptying import BULK, KEPT, empty_test_database
from requestlog.models import RequestLog


def rows_left() -> dict[str, int]:
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with connection.cursor() as cursor:
        counts = {}
        for table in sorted(tables):
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608  (Django's own table names)
            counts[table] = cursor.fetchone()[0]
    return counts


@pytest.mark.django_db(transaction=True)
def test_every_table_a_test_wrote_is_empty_after_it_and_the_content_types_are_kept(make_user, make_memory):
    user = make_user("ada@example.com")
    apikey_create(user=user, label="ci")
    make_memory("Likes green tea")
    make_memory("Walks to work", user_id="bob")
    # More than BULK rows in one table: truncated rather than deleted row by row.
    RequestLog.objects.bulk_create(
        RequestLog(
            method="GET",
            path="/memories/",
            status_code=200,
            latency_ms=1.0,
            auth_type="none",
            created_at=timezone.now(),
        )
        for _ in range(BULK + 1)
    )
    before = rows_left()
    assert before["requestlog_requestlog"] == BULK + 1
    assert before["memories_memory"] == 2 and before["memories_posting"] > 0 and before["apikeys_apikey"] == 1
    kept = ContentType.objects.count(), Permission.objects.count()
    assert all(kept)

    empty_test_database()

    after = rows_left()
    assert {table: count for table, count in after.items() if count and table not in KEPT} == {}
    assert (ContentType.objects.count(), Permission.objects.count()) == kept
