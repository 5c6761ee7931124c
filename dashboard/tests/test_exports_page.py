"""The dashboard's Exports page: start an export, see its status, download the finished JSON (own exports only)."""

from __future__ import annotations

import json

import pytest

from dashboard.tests.clients import logged_in
from exports.models import MemoryExport
from exports.services import export_run
from exports.tests.test_api import SHAPED

pytestmark = pytest.mark.django_db


def test_a_member_exports_a_scope_and_downloads_the_json_when_it_is_done(alice, make_memory):
    make_memory("alice likes oolong tea", user_id="alice-user", principal=alice)
    make_memory("alice's other scope", user_id="elsewhere", principal=alice)
    client = logged_in(alice)

    response = client.post("/dashboard/exports/", {"user_id": "alice-user"}, follow=True)
    assert "queued" in response.content.decode()
    export = MemoryExport.objects.get()
    assert "PENDING" in response.content.decode()
    assert f"/dashboard/exports/{export.id}/download/" not in response.content.decode()

    export_run(export_id=export.id)
    page = client.get("/dashboard/exports/").content.decode()
    assert "SUCCEEDED" in page and "user_id=alice-user" in page
    download = client.get(f"/dashboard/exports/{export.id}/download/")
    assert download["Content-Disposition"] == f'attachment; filename="memory-export-{export.id}.json"'
    assert [m["memory"] for m in json.loads(b"".join(download.streaming_content))["memories"]] == [
        "alice likes oolong tea"
    ]


@pytest.mark.parametrize("result", [SHAPED, {"memories": [], "count": 0, "truncated": False}, {}])
def test_a_download_is_the_exports_json_indented(alice, result):
    export = MemoryExport.objects.create(account=alice, status=MemoryExport.Status.SUCCEEDED, result=result)
    stored = MemoryExport.objects.get(id=export.id).result  # as PostgreSQL gives it back (its key order)
    download = logged_in(alice).get(f"/dashboard/exports/{export.id}/download/")
    assert b"".join(download.streaming_content).decode() == json.dumps(stored, ensure_ascii=False, indent=2)


def test_a_member_sees_and_downloads_only_their_own_exports(alice, bob, make_memory):
    make_memory("bob secret-marker", user_id="bob-user", principal=bob)
    logged_in(bob).post("/dashboard/exports/", {"user_id": "bob-user"})
    export = MemoryExport.objects.get()
    export_run(export_id=export.id)
    client = logged_in(alice)
    assert "bob-user" not in client.get("/dashboard/exports/").content.decode()
    assert client.get(f"/dashboard/exports/{export.id}/download/").status_code == 404
    assert client.get("/dashboard/exports/not-an-id/download/").status_code == 404


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("{oops", "The schema is not valid JSON"),
        ('{"type": "nonsense"}', "not a valid JSON Schema"),
        ('{"maximum": NaN}', "The schema is not valid JSON: NaN is not a JSON number"),
        ('{"ti\\u0000tle": "x"}', "The schema must not contain the NUL character"),
        ('{"title": "\\ud800"}', "The schema must not contain an unpaired surrogate"),
        ('{"d": ' + "[" * 100_000 + "]" * 100_000 + "}", "nest deeper than 32 levels"),
    ],
)
def test_a_bad_schema_is_shown_on_the_form_and_nothing_is_queued(alice, schema, message):
    response = logged_in(alice).post("/dashboard/exports/", {"user_id": "alice-user", "schema": schema})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not MemoryExport.objects.exists()


def test_an_export_that_holds_as_many_memories_as_an_export_may_says_so(alice, make_memory, settings):
    # An export of 19,980 memories held the newest 10,000 (EXPORT_MAX_MEMORIES), its row saying "SUCCEEDED 10000"
    # and the page nothing of a limit: downloaded, it passed for all of them.
    settings.EXPORT_MAX_MEMORIES = 2
    for n in range(3):
        make_memory(f"fact {n}", user_id="alice-user", principal=alice)
    client = logged_in(alice)
    client.post("/dashboard/exports/", {"user_id": "alice-user"})
    export_run(export_id=MemoryExport.objects.get().id)
    page = client.get("/dashboard/exports/").content.decode()
    assert "at most 2 memories (<code>EXPORT_MAX_MEMORIES</code>), the newest" in page
    assert "2 <small>(the most an export holds: any more that matched are not in it)</small>" in page
    client.post("/dashboard/exports/", {"user_id": "nobody"})
    export_run(export_id=MemoryExport.objects.get(scope={"user_id": "nobody"}).id)
    assert client.get("/dashboard/exports/").content.decode().count("the most an export holds") == 1
