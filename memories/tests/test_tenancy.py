"""Tenancy: a member sees and changes only its own account's memories; admins see everything."""

from __future__ import annotations

import pytest

from memories.models import Memory, MemoryHistory


def add(client, text: str, user_id: str = "alice") -> str:
    response = client.post("/memories", {"messages": text, "user_id": user_id, "infer": False}, format="json")
    assert response.status_code == 200
    return response.json()["results"][0]["id"]


@pytest.fixture
def two_members(make_user, key_client):
    a, b = make_user("a@example.com"), make_user("b@example.com")
    return (a, key_client(a)), (b, key_client(b))


def test_memories_record_the_account_that_wrote_them(two_members):
    (a, client_a), _ = two_members
    memory_id = add(client_a, "Loves spicy Thai curry")
    assert Memory.objects.get(id=memory_id).account == a
    assert MemoryHistory.objects.get(memory_id=memory_id).account == a


def test_member_cannot_read_update_or_delete_another_accounts_memory_by_id(two_members):
    (_, client_a), (_, client_b) = two_members
    memory_id = add(client_b, "B's secret")
    for response in (
        client_a.get(f"/memories/{memory_id}"),
        client_a.put(f"/memories/{memory_id}", {"text": "hijacked"}, format="json"),
        client_a.delete(f"/memories/{memory_id}"),
        client_a.get(f"/memories/{memory_id}/history"),
    ):
        assert response.status_code == 404  # not 403: the id's existence does not leak
    memory = Memory.objects.get(id=memory_id)
    assert memory.text == "B's secret"
    assert MemoryHistory.objects.filter(memory_id=memory_id).count() == 1


def test_member_cannot_list_or_search_another_accounts_memories_by_scope(two_members):
    (_, client_a), (_, client_b) = two_members
    add(client_b, "Loves spicy Thai curry", user_id="shared-user")
    mine = add(client_a, "Collects stamps", user_id="shared-user")
    listed = client_a.get("/memories", {"user_id": "shared-user"}).json()["results"]
    assert [m["id"] for m in listed] == [mine]
    everything = client_a.get("/memories").json()["results"]
    assert [m["id"] for m in everything] == [mine]
    found = client_a.post("/search", {"query": "Thai curry", "user_id": "shared-user", "threshold": 0}, format="json")
    assert [m["id"] for m in found.json()["results"]] == [mine]


@pytest.mark.parametrize(
    "scope",
    [
        {"user_id": "shared-user"},
        {"user_id": "shared-user", "filters": {"AND": [{"user_id": "shared-user"}]}},
        {"filters": {"AND": [{"user_id": "shared-user"}]}},
        {"filters": {"user_id": {"in": ["shared-user", "nobody"]}}},
        {"filters": {"OR": [{"user_id": "shared-user"}, {"agent_id": "nobody"}]}},
    ],
    ids=["top-level", "and-in-AND", "in-AND-only", "in-list", "OR"],
)
def test_the_same_search_by_two_accounts_and_an_admin_finds_each_ones_own(two_members, api_client, scope):
    """Repeated: each caller's search of one scope keeps its own compiled statement, never another's."""
    (_, client_a), (_, client_b) = two_members
    theirs = add(client_b, "Loves spicy Thai curry", user_id="shared-user")
    mine = add(client_a, "Loves Thai curry with rice", user_id="shared-user")
    body = {"query": "Thai curry", "threshold": 0, **scope}

    def found(client) -> set[str]:
        response = client.post("/search", body, format="json")
        assert response.status_code == 200
        return {m["id"] for m in response.json()["results"]}

    for _ in range(2):
        assert found(client_b) == {theirs}
        assert found(client_a) == {mine}
        assert found(api_client) == {mine, theirs}


def test_history_of_a_deleted_memory_stays_with_its_account(two_members):
    (_, client_a), (_, client_b) = two_members
    memory_id = add(client_b, "temporary")
    assert client_b.delete(f"/memories/{memory_id}").status_code == 200
    assert [h["event"] for h in client_b.get(f"/memories/{memory_id}/history").json()] == ["ADD", "DELETE"]
    assert client_a.get(f"/memories/{memory_id}/history").status_code == 404


def test_member_cannot_delete_by_scope_or_reset(two_members):
    (_, client_a), (_, client_b) = two_members
    add(client_b, "kept")
    assert client_a.delete("/memories?user_id=alice").status_code == 403
    assert client_a.post("/reset").status_code == 403
    assert Memory.objects.count() == 1


def test_near_duplicate_suppression_stays_inside_an_account(two_members):
    (_, client_a), (_, client_b) = two_members
    body = {"messages": "Loves spicy Thai curry", "user_id": "alice", "infer": True}
    assert client_b.post("/memories", body, format="json").json()["results"][0]["event"] == "ADD"
    assert client_a.post("/memories", body, format="json").json()["results"][0]["event"] == "ADD"
    assert client_a.post("/memories", body, format="json").json()["results"][0]["event"] == "NONE"


def test_admin_sees_and_changes_every_accounts_memories(two_members, api_client):
    (_, client_a), (_, client_b) = two_members
    a_id, b_id = add(client_a, "from a"), add(client_b, "from b")
    listed = {m["id"] for m in api_client.get("/memories", {"user_id": "alice"}).json()["results"]}
    assert listed == {a_id, b_id}
    assert api_client.put(f"/memories/{b_id}", {"text": "edited by admin"}, format="json").status_code == 200
    assert client_b.get(f"/memories/{b_id}").json()["memory"] == "edited by admin"
    assert api_client.delete("/memories?user_id=alice").status_code == 200
    assert not Memory.objects.exists()
