"""The Django admin: a memory's real history, history sorted and linked, API keys created once, no Groups."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from accounts.models import User
from apikeys.models import APIKey
from apikeys.services import key_digest
from exports.models import MemoryExport
from memories import selectors, services
from memories.models import MemoryHistory
from memories.selectors import parse_memory_id


@pytest.fixture
def staff_client(db, client):
    client.force_login(User.objects.create_superuser(email="root@example.com", password="an admin passphrase"))
    return client


@pytest.fixture
def updated_memory(make_memory):
    from apikeys.authentication import AdminPrincipal

    memory_id = make_memory("Loves Thai curry")
    services.memory_update(
        principal=AdminPrincipal(auth_type="test"), memory_id=parse_memory_id(memory_id), text="Loves green curry"
    )
    return memory_id


def test_the_memory_page_shows_its_add_and_update_history(staff_client, updated_memory):
    body = staff_client.get(f"/admin/memories/memory/{updated_memory}/change/").content.decode()
    section = body[body.index("History (newest first)") :]
    assert section.index("UPDATE") < section.index("ADD")
    assert "Loves Thai curry" in section


def test_a_long_history_shows_its_newest_events_and_says_how_many(staff_client, updated_memory, monkeypatch):
    monkeypatch.setattr(selectors, "HISTORY_SHOWN", 1)
    body = staff_client.get(f"/admin/memories/memory/{updated_memory}/change/").content.decode()
    section = body[body.index("History (newest first") :]
    assert "1 of 2 events" in section and "UPDATE" in section and "ADD" not in section.split("</table>")[0]


def test_the_history_button_opens_the_memorys_own_events(staff_client, updated_memory):
    response = staff_client.get(f"/admin/memories/memory/{updated_memory}/history/", follow=True)
    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert [row.event for row in rows] == ["UPDATE", "ADD"]  # newest first
    assert f"/admin/memories/memory/{updated_memory}/change/" in response.content.decode()  # linked


def test_memory_history_is_sorted_newest_first(staff_client, updated_memory, make_memory):
    make_memory("A later memory")
    rows = list(staff_client.get("/admin/memories/memoryhistory/").context["cl"].result_list)
    assert [row.created_at for row in rows] == sorted((row.created_at for row in rows), reverse=True)
    assert rows[0].new_memory == "A later memory"


def test_an_admin_creates_an_api_key_in_the_admin_and_sees_it_once(staff_client, make_user):
    member = make_user("member@example.com")
    response = staff_client.post("/admin/apikeys/apikey/add/", {"user": member.pk, "label": "from admin"})
    assert response.status_code == 200
    key = response.context["key"]
    assert key.startswith("m0sk_")
    stored = APIKey.objects.get(label="from admin")
    assert (stored.user, stored.digest) == (member, key_digest(key))
    assert key not in staff_client.get(f"/admin/apikeys/apikey/{stored.pk}/change/").content.decode()


def test_groups_are_not_in_the_admin(staff_client):
    assert staff_client.get("/admin/auth/group/").status_code == 404
    assert "Groups" not in staff_client.get("/admin/").content.decode()


def test_a_deleted_memorys_history_is_listed_without_a_link(staff_client, make_memory):
    from apikeys.authentication import AdminPrincipal

    memory_id = make_memory("Short-lived")
    services.memory_delete(principal=AdminPrincipal(auth_type="test"), memory_id=parse_memory_id(memory_id))
    assert MemoryHistory.objects.filter(memory_id=memory_id).count() == 2
    body = staff_client.get("/admin/memories/memoryhistory/").content.decode()
    assert f"/admin/memories/memory/{memory_id}/change/" not in body


def test_the_exports_list_and_page_do_not_read_the_exports_data(staff_client):
    # Each export's data (up to EXPORT_MAX_TEXT_BYTES) was read for the list, and rendered into the export's page:
    # listing three exports of 4.2 MB and showing one took 40.6 MB of Python's memory (a list of 100 large ones,
    # gigabytes); now 0.6 MB.
    memories = [{"id": str(index), "memory": f"memory {index} " + "likes oolong tea " * 120} for index in range(2_000)]
    exports = [MemoryExport.objects.create(status="SUCCEEDED", result={"memories": memories}) for _ in range(3)]
    size = len(json.dumps({"memories": memories}))
    del memories
    staff_client.get("/admin/exports/memoryexport/")  # what a first call loads (templates, modules) is not this one's

    tracemalloc.start()
    try:
        listed = staff_client.get("/admin/exports/memoryexport/")
        page = staff_client.get(f"/admin/exports/memoryexport/{exports[0].id}/change/")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert listed.status_code == page.status_code == 200
    assert str(exports[2].id) in listed.content.decode()
    assert peak < size / 4, (peak, size)
    assert "likes oolong tea" not in page.content.decode()
