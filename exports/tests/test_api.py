"""The export routes over DRF's test client: what the SDK tests do not reach."""

from __future__ import annotations

import pytest

from exports.models import MemoryExport

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
