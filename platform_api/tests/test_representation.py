"""Platform search results are written out by hand (PlatformSearchResultSerializer.to_representation) for speed:
exactly as DRF's field-by-field path would write them."""

from __future__ import annotations

from rest_framework import serializers

from memories.models import Memory
from memories.rerank import RerankOutcome
from memories.serializers import MemorySerializer
from memories.tests.test_representation import memory_with_every_field
from platform_api.serializers import (
    RESULT_FIELDS,
    PlatformMemoryResultSerializer,
    PlatformSearchResponseSerializer,
    PlatformSearchResultSerializer,
)


def drf_generic(instance, **context):
    """What DRF's own path makes of a result with the same serializer (and the same `fields` choice)."""
    data = serializers.Serializer.to_representation(PlatformSearchResultSerializer(context=context), instance)
    fields = context.get("fields")
    return {key: value for key, value in data.items() if key in fields} if fields else data


def test_a_result_with_every_field_set_is_written_as_drf_writes_it(make_memory):
    memory = memory_with_every_field(make_memory)
    memory.score = 0.75
    for fields in (None, [], ["memory", "score"], list(RESULT_FIELDS)):
        written = PlatformSearchResultSerializer(memory, context={"fields": fields}).data
        assert written == drf_generic(memory, fields=fields)
        assert list(written) == list(drf_generic(memory, fields=fields))  # same keys, same order
    assert PlatformSearchResultSerializer(memory).data["expiration_date"] == "2031-02-03"


def test_a_result_with_its_optional_fields_empty_is_written_as_drf_writes_it(make_memory):
    memory = Memory.objects.get(id=make_memory("Prefers tea", metadata=None))
    memory.score = 1
    written = PlatformSearchResultSerializer(memory).data
    assert written == drf_generic(memory)
    assert written["score"] == 1.0 and isinstance(written["score"], float)


def test_a_search_response_is_written_as_drf_writes_it_with_and_without_rerank(make_memory):
    memories = [Memory.objects.get(id=make_memory(text)) for text in ("Prefers tea", "Drinks coffee")]
    for score, memory in zip((0.75, 0.5), memories, strict=True):
        memory.score = score
    for rerank in (None, RerankOutcome(applied=True, by="llm")):
        for fields in (None, ["id", "score"]):
            instance = {"results": memories, "rerank": rerank}
            serializer = PlatformSearchResponseSerializer(context={"fields": fields})
            expected = serializers.Serializer.to_representation(serializer, instance)
            if rerank is None:
                expected.pop("rerank")
            assert PlatformSearchResponseSerializer(instance, context={"fields": fields}).data == expected


def test_a_listed_memory_is_written_as_the_oss_routes_write_it_and_fields_keeps_their_order(make_memory):
    memory = memory_with_every_field(make_memory)
    assert PlatformMemoryResultSerializer(memory).data == MemorySerializer(memory).data
    assert list(PlatformMemoryResultSerializer(memory).data) == list(MemorySerializer(memory).data)
    some = PlatformMemoryResultSerializer(memory, context={"fields": ["categories", "id"]}).data
    assert list(some) == ["id", "categories"]
