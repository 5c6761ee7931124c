"""The export routes over DRF's test client: what the SDK tests do not reach."""

from __future__ import annotations

import json
import tracemalloc
import uuid

import pytest
from rest_framework.renderers import JSONRenderer

from exports.models import MemoryExport
from mem0server.exceptions import NotFound

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/v1/exports/", "/v1/exports/get/"])
def test_the_export_routes_need_credentials(anon_client, path):
    response = anon_client.post(path, {}, format="json")
    assert response.status_code == 401
    assert not MemoryExport.objects.exists()


def test_a_top_level_scope_id_that_contradicts_the_filters_is_refused(member_client):
    response = member_client.post(
        "/v1/exports/", {"user_id": "alice", "filters": {"user_id": "bob"}, "schema": None}, format="json"
    )
    assert response.status_code == 400
    assert "Differs from filters.user_id" in response.json()["detail"]


def test_a_new_export_answers_201_with_its_id_and_reads_back_pending(member_client, member):
    created = member_client.post("/v1/exports/", {"user_id": "alice"}, format="json")
    assert created.status_code == 201
    export = MemoryExport.objects.get()
    assert created.json() == {
        "message": "Memory export request received. The export will be ready in a few seconds.",
        "id": str(export.id),
    }
    assert (export.account, export.filters) == (member, {"user_id": "alice"})
    pending = member_client.post("/v1/exports/get/", {"memory_export_id": str(export.id)}, format="json")
    assert pending.status_code == 202
    assert pending.json()["status"] == "PENDING"


@pytest.mark.parametrize(
    "condition", [{"user_id": "alice"}, {"created_at": {"gte": 1}}], ids=["scope id", "time bound"]
)
def test_the_newest_export_lookup_keeps_the_filter_size_limit(member_client, condition):
    # Matched against the exports' own scope and times, these filters skipped the limits of a memory filter:
    # an AND of 20,000 scope ids or time bounds (under 600 KB) took over 5 s of the server's time.
    filters = {"AND": [condition] * 101}
    response = member_client.post("/v1/exports/get/", {"filters": filters}, format="json")
    assert response.status_code == 400, response.content
    assert "MAX_FILTER_CONDITIONS" in response.json()["detail"]
    assert "filters" in response.json()["errors"]


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _memory(index: int, chars: int) -> dict:
    text = f"memory {index}: " + "likes oolong tea, café au lait, 東京 " * (chars // 36) + "\u2028"
    return {"id": str(uuid.UUID(int=index)), "memory": text, "metadata": {"n": index, "w": 0.5}, "categories": []}


SHAPED = {
    "name": "Alice \u2029",
    "people": [{"name": "Bob", "likes": ["tea", {"x": []}]}, {}, [], 1.5, None],
    "empty": [],
    "nothing": {},
    "deep": {"a": [1, 2], "b": {"c": "d"}},
    "count": 3,
}


@pytest.mark.parametrize(
    "result",
    [{"memories": [_memory(i, 100) for i in range(3)], "count": 3, "truncated": False}, SHAPED, {}],
    ids=["memories", "shaped", "empty object"],
)
def test_a_finished_export_reads_back_as_the_json_the_renderer_wrote(member_client, member, result):
    export = MemoryExport.objects.create(account=member, status=MemoryExport.Status.SUCCEEDED, result=result)
    stored = MemoryExport.objects.get(id=export.id).result  # as PostgreSQL gives it back (its key order)

    response = member_client.post("/v1/exports/get/", {"memory_export_id": str(export.id)}, format="json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert _body(response) == JSONRenderer().render(stored)


def test_a_large_export_is_read_a_memory_at_a_time_not_parsed_whole(member_client, member):
    # An export is up to EXPORT_MAX_TEXT_BYTES (64 MB) of text. Parsed whole into Python objects and rendered again,
    # a 66 MB one raised the web process's peak memory by 431 MiB (bench/export_read.py); here 2,000 memories of
    # 2,000 characters (4.6 MB of JSON) took 29.5 MB of Python's memory at the peak.
    memories = [_memory(i, 2_000) for i in range(2_000)]
    export = MemoryExport.objects.create(
        account=member,
        status=MemoryExport.Status.SUCCEEDED,
        result={"memories": memories, "count": len(memories), "truncated": False},
    )
    size = len(JSONRenderer().render(MemoryExport.objects.get(id=export.id).result))
    one_memory = len(json.dumps(memories[0]).encode())
    del memories
    small = MemoryExport.objects.create(account=member, status=MemoryExport.Status.SUCCEEDED, result={"memories": []})
    # What a first call loads (modules, settings) is not this one's.
    member_client.post("/v1/exports/get/", {"memory_export_id": str(small.id)}, format="json")

    tracemalloc.start()
    try:
        response = member_client.post("/v1/exports/get/", {"memory_export_id": str(export.id)}, format="json")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert response.status_code == 200
    body = _body(response)
    assert len(body) == size
    assert len(json.loads(body)["memories"]) == 2_000
    # A few memories' worth, whatever the export's size: a chunk of rows (exports.selectors.RESULT_ROWS, 100) held as
    # Python strings (up to 4 bytes a character), each parsed and written out again (0.9 MB here).
    bound = 8 * 100 * one_memory
    assert bound < size / 2
    assert peak < bound, (peak, one_memory, size)


def test_an_export_deleted_between_its_lookup_and_its_read_is_not_found(member):
    from exports.selectors import export_result_file

    export = MemoryExport.objects.create(account=member, status=MemoryExport.Status.SUCCEEDED, result={"memories": []})
    MemoryExport.objects.filter(id=export.id).delete()  # the retention days, or a reset, meanwhile
    with pytest.raises(NotFound, match="deleted meanwhile"):
        export_result_file(export=export)
