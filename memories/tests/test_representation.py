"""Memories are written out by hand (MemorySerializer.to_representation) for speed: exactly as DRF would."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from rest_framework import serializers

from memories.models import Memory
from memories.serializers import MemorySerializer, SearchResultSerializer


def drf_generic(serializer_class, instance, **context):
    """What DRF's own field-by-field path makes of the instance with the same serializer."""
    return serializers.ModelSerializer.to_representation(serializer_class(context=context), instance)


def memory_with_every_field(make_memory) -> Memory:
    memory_id = make_memory(
        "Loves spicy Thai curry",
        scope={"agent_id": "chef", "run_id": "r1", "app_id": "kitchen"},
        metadata={"topic": "food", "nested": {"list": [1, 2.5, None, "x"]}},
    )
    Memory.objects.filter(id=memory_id).update(
        actor_id="bob",
        expiration_date=date(2031, 2, 3),
        occurred_at=datetime(2023, 5, 8, 13, 56, 1, 123456, tzinfo=timezone(timedelta(hours=2))),
    )
    return Memory.objects.get(id=memory_id)


def test_a_memory_with_every_field_set_is_written_as_drf_writes_it(make_memory):
    memory = memory_with_every_field(make_memory)
    written = MemorySerializer(memory).data
    assert written == drf_generic(MemorySerializer, memory)
    assert list(written) == list(drf_generic(MemorySerializer, memory))  # same keys, same order
    assert written["timestamp"] == "2023-05-08T11:56:01.123456Z"
    assert written["expiration_date"] == "2031-02-03"


def test_a_memory_with_its_optional_fields_empty_is_written_as_drf_writes_it(make_memory):
    memory = Memory.objects.get(id=make_memory("Prefers tea", metadata=None))
    assert MemorySerializer(memory).data == drf_generic(MemorySerializer, memory)
    assert MemorySerializer(memory).data["timestamp"] is None


def test_a_search_result_is_written_as_drf_writes_it_with_and_without_explain(make_memory):
    memory = Memory.objects.get(id=make_memory("Prefers tea"))
    memory.score = 0.75
    memory.score_details = {
        "method": "score",
        "vector": 0.5,
        "keyword": 1.0,
        "keyword_weight": 0.5,
        "bm25": 2.25,
        "vector_rank": 1,
        "keyword_rank": None,
        "temporal": 1.0,
        "temporal_weight": 0.2,
    }
    for explain in (True, False):
        expected = drf_generic(SearchResultSerializer, memory, explain=explain)
        if not explain:
            expected.pop("score_details")
        assert SearchResultSerializer(memory, context={"explain": explain}).data == expected


def test_a_search_response_is_written_as_drf_writes_it_with_and_without_rerank(make_memory):
    from memories.rerank import RerankOutcome
    from memories.serializers import SearchResponseSerializer

    memories = [Memory.objects.get(id=make_memory(text)) for text in ("Prefers tea", "Drinks coffee")]
    for score, memory in zip((0.75, 0.5), memories, strict=True):
        memory.score, memory.score_details = score, {"method": "score", "vector": score, "keyword": 0.0}
    for rerank in (None, RerankOutcome(applied=False, detail="no reranker is configured")):
        instance = {"results": memories, "rerank": rerank}
        expected = serializers.Serializer.to_representation(SearchResponseSerializer(context={}), instance)
        if rerank is None:
            expected.pop("rerank")
        assert SearchResponseSerializer(instance).data == expected
