"""What Mem0's CLI (mem0-cli) sends that its other clients do not, over plain HTTP: `source=CLI` on a delete,
Mem0's "*" deletes (`mem0 delete --all --project`), and the event fields `mem0 event status` shows."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from events.models import Event
from memories.models import Memory, SessionMessage


def test_delete_all_takes_the_source_the_cli_names_itself_by(member_client, make_memory, member):
    make_memory("Bob's", user_id="bob", principal=member)
    response = member_client.delete("/v1/memories/?" + urlencode({"source": "CLI", "user_id": "bob"}))
    assert response.json() == {"message": "Memories deleted successfully!", "deleted": 1}


@pytest.mark.parametrize(
    ("params", "left"),
    [
        ({"user_id": "*"}, ["The agent's"]),
        ({"agent_id": "*"}, ["Bob's"]),
        ({"user_id": "*", "agent_id": "helper"}, ["Bob's", "Carol's", "The agent's"]),
        ({"user_id": "carol", "agent_id": "*"}, ["Bob's", "The agent's"]),
        ({"user_id": "*", "agent_id": "*", "app_id": "*", "run_id": "*"}, []),
    ],
)
def test_a_star_deletes_the_callers_memories_that_have_that_id(
    member_client, make_memory, make_user, member, params, left
):
    make_memory("Bob's", user_id="bob", principal=member)
    make_memory("Carol's", user_id="carol", principal=member, scope={"agent_id": "assistant"})
    make_memory("The agent's", user_id=None, scope={"agent_id": "helper"}, principal=member)
    theirs = make_memory("Another account's", user_id="bob", principal=make_user("other@example.com"))
    response = member_client.delete("/v1/memories/?" + urlencode(params))
    assert response.status_code == 200, response.json()
    assert sorted(Memory.objects.filter(account=member).values_list("text", flat=True)) == left
    assert Memory.objects.filter(id=theirs).exists()


def test_wiping_the_project_also_forgets_the_callers_conversations(member_client, make_memory, member, make_user):
    make_memory("Bob's", user_id="bob", principal=member)
    other = make_user("other@example.com")
    for account in (member, other):
        SessionMessage.objects.create(account=account, user_id="bob", role="user", content="earlier")
    wipe = {"user_id": "*", "agent_id": "*", "app_id": "*", "run_id": "*"}
    assert member_client.delete("/v1/memories/?" + urlencode(wipe)).json()["deleted"] == 1
    assert list(SessionMessage.objects.values_list("account", flat=True)) == [other.id]


def test_delete_all_without_any_scope_or_star_is_still_a_400(member_client, make_memory, member):
    make_memory("Bob's", user_id="bob", principal=member)
    response = member_client.delete("/v1/memories/?source=CLI")
    assert response.status_code == 400
    assert 'or "*" for any of them' in response.json()["detail"]
    assert Memory.objects.filter(account=member).count() == 1


@pytest.mark.parametrize("query", ["user_id=alice&user_id=*", "user_id=*&user_id=alice", "user_id=bob&user_id=alice"])
def test_a_scope_id_given_twice_is_a_400_and_deletes_nothing(member_client, make_memory, member, query):
    """A query string's last value won: user_id=alice&user_id=* deleted every user's memories, not alice's."""
    make_memory("Bob's", user_id="bob", principal=member)
    make_memory("Alice's", user_id="alice", principal=member)
    response = member_client.delete(f"/v1/memories/?{query}")
    assert response.status_code == 400
    assert "user_id: Given 2 times; give it once." in response.json()["detail"]
    assert Memory.objects.filter(account=member).count() == 2


def test_an_events_results_carry_mem0s_data_memory_and_the_adds_user_id(member_client, member):
    results = [{"id": "5b0b8f1e-3f5e-4a57-9a0e-2b7d0c8e9a11", "memory": "Owns a cat", "event": "ADD"}]
    with_user = Event.objects.create(
        account=member, status="SUCCEEDED", payload={"scope": {"user_id": "alice"}}, results=results
    )
    agent_only = Event.objects.create(
        account=member, status="SUCCEEDED", payload={"scope": {"agent_id": "bot"}}, results=results
    )
    [item] = member_client.get(f"/v1/event/{with_user.id}/").json()["results"]
    assert item == {**results[0], "data": {"memory": "Owns a cat"}, "user_id": "alice"}
    [item] = member_client.get(f"/v1/event/{agent_only.id}/").json()["results"]
    assert item == {**results[0], "data": {"memory": "Owns a cat"}}
    listed = member_client.get("/v1/events/").json()["results"]
    assert {e["id"]: e["results"][0].get("user_id") for e in listed} == {
        str(with_user.id): "alice",
        str(agent_only.id): None,
    }
