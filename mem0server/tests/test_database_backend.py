"""The database backend (mem0server/db): times come back as the instants written, read by psycopg's compiled loader."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import psycopg
from django.db import connection
from psycopg.pq import Format

from mem0server.db.base import TIMESTAMPTZ_OID
from memories.models import Memory

WRITTEN = [
    datetime.datetime(2023, 5, 8, 14, 3, 7, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30))),
    datetime.datetime(2024, 3, 31, 3, 30, tzinfo=ZoneInfo("Europe/Berlin")),  # the hour after the clocks moved
    datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC),
    datetime.datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=ZoneInfo("America/Los_Angeles")),
    datetime.datetime(1899, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.timezone(-datetime.timedelta(hours=9))),
]


def test_times_are_read_back_as_the_instants_written_in_utc(db):
    Memory.objects.bulk_create(
        Memory(text=f"t{index}", hash="0" * 32, user_id="times", occurred_at=moment, embedding=[1.0] + [0.0] * 383)
        for index, moment in enumerate(WRITTEN)
    )
    read = list(Memory.objects.filter(user_id="times").order_by("text").values_list("occurred_at", flat=True))
    assert read == WRITTEN
    assert all(moment.tzinfo is datetime.UTC for moment in read)
    assert read[0].isoformat() == "2023-05-08T08:33:07.123456+00:00"
    assert read[1].isoformat() == "2024-03-31T01:30:00+00:00"


def test_times_are_read_by_psycopgs_compiled_loader(db):
    # Django's own loader, a Python subclass, took about 9 µs more a time (mem0server/db/base.py).
    compiled = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    assert compiled.__module__.startswith("psycopg_binary")
    with connection.cursor() as cursor:
        assert cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT) is compiled
