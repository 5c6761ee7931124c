"""A delete of a scope's memories drops the adds queued to that scope before it (events_cancel_in_scope): sent before
the delete, they stored their memories after it, so "forget everything about alice" left alice's latest facts behind."""

from __future__ import annotations

import html
import json

import pytest
from django.db import connection

from dashboard.tests.clients import logged_in
from events import services
from events.models import Event
from events.tests.helpers import sdk_event
from mem0server.exceptions import InvalidInput
from memories.models import Memory
from memories.services import memories_delete_scope
from memories.tests.fake_openai import error

SAID = "The memories of this scope were deleted after this add was queued; nothing was stored."
DROPPED = ("FAILED", "scope_deleted", SAID)


def queue(client, content: str, **scope) -> str:
    """An add through the Platform API, queued (its default), stored as given; the event's id."""
    body = {"messages": [{"role": "user", "content": content}], "infer": False, **scope}
    answer = client.post("/v3/memories/add/", body, format="json")
    assert answer.status_code == 202, answer.json()
    return answer.json()["event_id"]


def ended(*event_ids: str) -> list[tuple[str, str, str]]:
    events = {str(event.id): event for event in Event.objects.filter(id__in=event_ids)}
    return [(events[i].status, events[i].error_code, events[i].error_message) for i in event_ids]


def stored() -> list[tuple[str, str, str]]:
    """Every memory stored, as (user_id, agent_id, text), "" for an id not set."""
    return sorted(
        (user or "", agent or "", text)
        for user, agent, text in Memory.objects.values_list("user_id", "agent_id", "text")
    )


@pytest.mark.django_db(transaction=True)
def test_adds_queued_before_the_sdks_delete_all_of_their_scope_store_nothing_after_it(sdk, make_user, run_jobs):
    client = sdk(make_user("alice@example.com"))
    before = [
        client.add("Lives in Oslo", filters={"user_id": "alice"}, infer=False)["event_id"],
        client.add("Trains for a marathon", filters={"user_id": "alice", "agent_id": "coach"}, infer=False)["event_id"],
    ]
    others = [
        client.add("Lives in Rome", filters={"user_id": "bob"}, infer=False)["event_id"],
        client.add("Says hello", filters={"agent_id": "coach"}, infer=False)["event_id"],  # no user: not alice's
    ]

    client.delete_all(user_id="alice")
    after = client.add("Lives in Lisbon", filters={"user_id": "alice"}, infer=False)["event_id"]
    run_jobs()

    assert stored() == [("", "coach", "Says hello"), ("alice", "", "Lives in Lisbon"), ("bob", "", "Lives in Rome")]
    for event_id in before:
        event = sdk_event(client, event_id)
        assert (event["status"], event["error_code"], event["error_message"]) == DROPPED
        assert event["results"] is None
    assert [sdk_event(client, event_id)["status"] for event_id in [*others, after]] == ["SUCCEEDED"] * 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "delete",
    [
        "/memories?user_id=alice",
        "/entities/user/alice",
        "/v1/memories/?user_id=alice",
        "/v1/entities/user/alice/",
        "/v1/memories/?user_id=*",
    ],
)
def test_every_delete_of_the_scope_drops_its_queued_adds(member_client, api_client, run_jobs, delete):
    # The OSS routes (an admin's), the Platform routes, Mem0's wildcard. Alice has no memory yet: the OSS entity's
    # delete answered 404 "No memories for user 'alice'" though it dropped her queued add.
    alices, bobs = queue(member_client, "Lives in Oslo", user_id="alice"), queue(member_client, "Hi", agent_id="bob")
    deleting = api_client if not delete.startswith("/v1/") else member_client
    answer = deleting.delete(delete)
    assert answer.status_code == 200, answer.json()
    run_jobs()
    assert ended(alices) == [DROPPED]
    assert ended(bobs)[0][0] == "SUCCEEDED" and stored() == [("", "bob", "Hi")]


@pytest.mark.django_db(transaction=True)
def test_a_delete_of_part_of_the_scope_leaves_its_queued_adds_to_run(member_client, run_jobs):
    # Filters beyond the scope ids delete only some of its memories: a queued add's may not be among them.
    queued = queue(member_client, "Lives in Oslo", user_id="alice", metadata={"topic": "home"})
    filters = json.dumps({"user_id": "alice", "topic": "food"})
    assert member_client.delete("/v1/memories/", QUERY_STRING=f"filters={filters}").status_code == 200
    run_jobs()
    assert ended(queued)[0][0] == "SUCCEEDED" and stored() == [("alice", "", "Lives in Oslo")]


@pytest.mark.django_db(transaction=True)
def test_a_members_delete_drops_its_own_queued_adds_and_an_admins_every_accounts(key_client, make_user, run_jobs):
    ada, bo = key_client(make_user("ada@example.com")), key_client(make_user("bo@example.com"))
    adas, bos = queue(ada, "Ada's note", user_id="alice"), queue(bo, "Bo's note", user_id="alice")
    assert ada.delete("/v1/memories/?user_id=alice").status_code == 200
    assert ended(adas) == [DROPPED] and ended(bos)[0][0] == "PENDING"  # Bo's alice is another account's

    adas_next, bos_next = queue(ada, "Ada's next", user_id="alice"), queue(bo, "Bo's next", user_id="alice")
    admin = key_client(make_user("root@example.com", role="admin"))
    assert admin.delete("/v1/memories/?user_id=alice").status_code == 200
    assert ended(bos, adas_next, bos_next) == [DROPPED] * 3
    run_jobs()
    assert not Memory.objects.exists()


@pytest.fixture
def llm(llm_on_here):
    return llm_on_here


@pytest.mark.django_db(transaction=True)
def test_an_add_running_when_its_scope_is_deleted_stores_nothing(member, member_client, llm, run_jobs):
    # Past its start, the add read its messages with the LLM while the delete ran, then stored them after it.
    body = {"messages": [{"role": "user", "content": "I live in Oslo"}], "user_id": "alice", "infer": True}
    event_id = member_client.post("/v3/memories/add/", body, format="json").json()["event_id"]

    def delete_then_extract(messages):
        # The LLM server's own thread, while the job waits for its answer.
        try:
            assert Event.objects.get(id=event_id).status == "RUNNING"
            assert memories_delete_scope(principal=member, scope={"user_id": "alice"}) == (0, 1)
        finally:
            connection.close()
        return ["Lives in Oslo"]

    llm.facts = delete_then_extract
    run_jobs()
    assert llm.chat_calls("extract")
    assert ended(event_id) == [DROPPED] and not Memory.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_dropped_add_is_not_queued_again(make_user, key_client, run_jobs):
    # Queued again (the dashboard's buttons, queue_failed_adds), it would store what the delete removed.
    alice = make_user("alice@example.com")
    client = key_client(alice)
    dropped = queue(client, "Lives in Oslo", user_id="alice")
    assert client.delete("/v1/memories/?user_id=alice").status_code == 200

    with pytest.raises(InvalidInput, match="was dropped when its scope's memories were deleted"):
        services.event_add_again(principal=alice, event_id=dropped)
    assert services.events_add_again_failed(principal=alice) == (0, 0, [])
    page = logged_in(alice)
    shown = html.unescape(page.get("/dashboard/events/").content.decode())
    overview = html.unescape(page.get("/dashboard/").content.decode())
    assert "failed in the last 24 hours" not in overview  # dropped as asked: nothing for the overview to warn of
    assert SAID in shown and "Queue again" not in shown and "failed add again" not in shown
    refused = html.unescape(page.post(f"/dashboard/events/{dropped}/again/", follow=True).content.decode())
    assert "was dropped when its scope's memories were deleted" in refused
    run_jobs()
    assert Event.objects.count() == 1 and not Memory.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_add_that_failed_before_a_delete_of_its_scope_is_not_queued_again_after_it(
    member, member_client, llm, run_jobs
):
    # Failed (the LLM's model name wrong), then alice forgotten, then the model mended and the failed adds queued
    # again (the dashboard's buttons, queue_failed_adds): it stored alice's facts of before the delete.
    llm.chat_queue.append(error(404, "No such model"))
    body = {"messages": [{"role": "user", "content": "I live in Oslo"}], "user_id": "alice", "infer": True}
    failed = member_client.post("/v3/memories/add/", body, format="json").json()["event_id"]
    bobs = queue(member_client, "Lives in Rome", user_id="bob")
    run_jobs()
    [(status, _, why)] = ended(failed)
    assert [status for status, _, _ in ended(failed, bobs)] == ["FAILED", "SUCCEEDED"]
    assert member_client.delete("/v1/memories/?user_id=alice").status_code == 200

    again = services.events_add_again_failed(principal=member)
    run_jobs()
    assert stored() == [("bob", "", "Lives in Rome")], "a failed add queued again after the delete stored it"
    # Why it failed first is kept after why it was dropped.
    assert again == (0, 0, []) and ended(failed) == [(*DROPPED[:2], f"{SAID} It had failed before: {why}")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("filters", [{"AND": [{"user_id": "alice"}]}, {"user_id": {"eq": "alice"}}])
def test_a_delete_whose_filters_name_only_the_scope_drops_its_queued_adds(member_client, run_jobs, filters):
    # Mem0's v2 filter form of the scope: every memory of alice deleted, and the adds queued before stored after it.
    alices, bobs = queue(member_client, "Lives in Oslo", user_id="alice"), queue(member_client, "Hi", user_id="bob")
    query = f"filters={json.dumps(filters)}"
    assert member_client.delete("/v1/memories/", QUERY_STRING=query).status_code == 200
    run_jobs()
    assert stored() == [("bob", "", "Hi")], "an add queued before the delete stored its memory after it"
    assert ended(alices) == [DROPPED] and ended(bobs)[0][0] == "SUCCEEDED"


@pytest.mark.django_db(transaction=True)
def test_an_add_given_its_scope_in_filters_with_spaces_around_the_id_is_dropped_by_its_scopes_delete(
    member_client, run_jobs
):
    # The id was checked trimmed but kept as sent: the add stored " alice ", which alice's delete did not reach.
    queued = queue(member_client, "Lives in Oslo", filters={"user_id": " alice "})
    assert member_client.delete("/v1/memories/?user_id=alice").status_code == 200
    run_jobs()
    assert stored() == [], "alice's delete left the memory of an add queued before it"
    assert ended(queued) == [DROPPED]


@pytest.mark.django_db(transaction=True)
def test_the_dashboards_delete_of_an_entity_says_it_dropped_its_unfinished_adds(member_client, make_user, run_jobs):
    body = {"messages": "Lives in Oslo", "user_id": "alice", "infer": False, "async_mode": False}
    assert member_client.post("/v1/memories/", body, format="json").status_code == 200
    queued = queue(member_client, "Plays the cello", user_id="alice")
    browser = logged_in(make_user("admin@example.com", role="admin"))
    page = browser.post("/dashboard/entities/user/alice/delete/", follow=True).content.decode()
    assert "Deleted user <bdi>alice</bdi> and its 1 memory and 1 unfinished add." in html.unescape(page)
    assert ended(queued) == [DROPPED]
