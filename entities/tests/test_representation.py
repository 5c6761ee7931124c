"""Entities are written out by hand (EntitySerializer.to_representation) for speed: exactly as DRF would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.utils import timezone as django_timezone
from rest_framework import serializers

from conftest import ADMIN
from entities.selectors import Entity, entities_list
from entities.serializers import EntitySerializer

ENTITIES = [
    Entity("agent", "bot", 2, datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(2025, 6, 7, 8, 9, 10, 123456, UTC)),
    Entity(
        "user",
        "ålice ✓",
        1,
        datetime(2023, 5, 8, 13, 56, 1, 5, tzinfo=timezone(timedelta(hours=2))),
        datetime(2023, 5, 8, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-7))),
    ),
]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Oslo"])
def test_entities_are_written_as_drfs_own_field_by_field_path_writes_them(zone):
    with django_timezone.override(zone):
        drf = [serializers.Serializer.to_representation(EntitySerializer(), entity) for entity in ENTITIES]
        written = EntitySerializer(ENTITIES, many=True).data
    assert written == drf
    assert [list(row) for row in written] == [list(row) for row in drf]  # same keys, same order
    if zone == "UTC":
        assert written[0]["updated_at"] == "2025-06-07T08:09:10.123456Z"


def test_get_entities_answers_what_drfs_own_path_would(api_client, make_memory):
    make_memory("Lives in Oslo")
    make_memory("Asked the bot about trains", scope={"agent_id": "bot", "run_id": "r1"})
    rows = entities_list(principal=ADMIN).results
    expected = [serializers.Serializer.to_representation(EntitySerializer(), entity) for entity in rows]
    assert len(expected) == 3
    assert api_client.get("/entities").json() == expected
