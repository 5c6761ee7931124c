"""Webhooks through the official Python SDK against a live server, with a local receiver that checks every
signature with the secret shown once, and the delivery jobs run in-process."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
import requests
from mem0.exceptions import MemoryNotFoundError, ValidationError
from procrastinate.contrib.django.models import ProcrastinateJob

from platform_api import services as platform_services
from webhooks.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)


def signature_valid(secret: str, received) -> bool:
    """What a receiver does: recompute the HMAC of "<t>.<body>" and compare in constant time."""
    parts = dict(item.split("=", 1) for item in received.headers["X-Mem0-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


@pytest.fixture
def alice(make_user):
    return make_user("alice@example.com", name="Alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob@example.com", name="Bob")


@pytest.fixture
def client(sdk, alice):
    return sdk(alice)


def test_webhook_crud_through_the_sdk_shows_the_secret_only_at_creation(client, alice, private_targets):
    created = client.create_webhook(
        url="http://127.0.0.1:9/first", name="logger", project_id=client.project_id, event_types=["memory_add"]
    )
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert isinstance(created["webhook_id"], int)
    assert created["name"] == "logger"
    assert created["event_types"] == ["memory_add"]
    assert created["is_active"] is True
    assert created["owner"] == "alice@example.com"
    assert created["project"] == client.project_id

    [listed] = client.get_webhooks(project_id=client.project_id)
    assert listed["webhook_id"] == created["webhook_id"]
    assert listed["secret"] != created["secret"]
    assert listed["secret"].endswith(created["secret"][-4:]) and "…" in listed["secret"]

    answer = client.update_webhook(
        webhook_id=created["webhook_id"],
        name="renamed",
        url="http://127.0.0.1:9/second",
        event_types=["memory_update", "memory_delete"],
    )
    assert answer == {"message": "Webhook updated successfully"}
    [listed] = client.get_webhooks(project_id=client.project_id)
    assert (listed["name"], listed["url"], listed["event_types"]) == (
        "renamed",
        "http://127.0.0.1:9/second",
        ["memory_update", "memory_delete"],
    )
    assert Webhook.objects.get().secret == created["secret"]  # an update keeps the secret
    with pytest.raises(ValidationError, match="Nothing to update: give at least one of name, url, event_types"):
        client.update_webhook(webhook_id=created["webhook_id"])

    assert client.delete_webhook(webhook_id=created["webhook_id"]) == {"message": "Webhook deleted successfully"}
    assert client.get_webhooks(project_id=client.project_id) == []


def test_another_accounts_webhooks_are_invisible(sdk, alice, bob, private_targets):
    alice_client, bob_client = sdk(alice), sdk(bob)
    created = alice_client.create_webhook(
        url="http://127.0.0.1:9/", name="alice's", project_id=alice_client.project_id, event_types=["memory_add"]
    )
    assert bob_client.get_webhooks(project_id=bob_client.project_id) == []
    with pytest.raises(MemoryNotFoundError):
        bob_client.get_webhooks(project_id=alice_client.project_id)
    with pytest.raises(MemoryNotFoundError):
        bob_client.create_webhook(
            url="http://127.0.0.1:9/", name="x", project_id=alice_client.project_id, event_types=["memory_add"]
        )
    with pytest.raises(MemoryNotFoundError):
        bob_client.update_webhook(webhook_id=created["webhook_id"], name="taken")
    with pytest.raises(MemoryNotFoundError):
        bob_client.delete_webhook(webhook_id=created["webhook_id"])
    assert Webhook.objects.get().name == "alice's"
    assert platform_services.project_ids(principal=alice)[1] == alice_client.project_id


def test_the_receiver_gets_signed_add_update_and_delete_events_after_sdk_calls(
    client, receiver, private_targets, run_jobs
):
    created = client.create_webhook(
        url=receiver.url,
        name="all",
        project_id=client.project_id,
        event_types=["memory_add", "memory_update", "memory_delete"],
    )
    [added] = client.add("Likes green tea", filters={"user_id": "alice"}, infer=False, async_mode=False)["results"]
    client.update(added["id"], text="Likes jasmine tea")
    client.delete(added["id"])
    # This webhook's: a test before may have left a job of its own queued for later (events/tests/test_retention.py).
    jobs = ProcrastinateJob.objects.filter(
        task_name="webhooks.deliver", status="todo", args__webhook_id=created["webhook_id"]
    )
    queued = [str(args) for args in jobs.values_list("args", flat=True)]
    assert len(queued) == 3
    assert not [args for args in queued if "tea" in args]  # ids only: the worker logs job arguments
    run_jobs()

    assert [r.headers["X-Mem0-Event-Type"] for r in receiver.requests] == [
        "memory_add",
        "memory_update",
        "memory_delete",
    ]
    for received in receiver.requests:
        assert signature_valid(created["secret"], received)
        assert not signature_valid(created["secret"][:-1] + "x", received)
        assert received.path == "/hook"
        assert received.headers["X-Mem0-Event-Id"] == received.json["event_id"]
        assert received.headers["X-Mem0-Delivery-Attempt"] == "1"
        assert received.json["webhook_id"] == created["webhook_id"]
    add, update, delete = (r.json for r in receiver.requests)
    assert add["event_details"] == {
        "id": added["id"],
        "event": "ADD",
        "data": {"memory": "Likes green tea"},
        "actor_id": None,
        "role": "user",
    }
    assert update["event_details"]["event"] == "UPDATE"
    assert update["event_details"]["data"] == {"memory": "Likes jasmine tea", "previous_memory": "Likes green tea"}
    assert delete["event_details"]["event"] == "DELETE"
    assert delete["event_details"]["data"] == {"memory": "Likes jasmine tea"}
    assert len({r.json["event_id"] for r in receiver.requests}) == 3
    assert WebhookDelivery.objects.filter(succeeded=True, attempt=1).count() == 3


def test_oss_routes_batch_updates_and_scope_deletes_are_delivered_too(
    client, alice, sdk_key, server, receiver, private_targets, run_jobs
):
    client.create_webhook(
        url=receiver.url,
        name="all",
        project_id=client.project_id,
        event_types=["memory_add", "memory_update", "memory_delete"],
    )
    oss = requests.Session()
    oss.headers["X-API-Key"] = sdk_key(alice)
    answer = oss.post(
        f"{server}/memories",
        json={"messages": [{"role": "user", "content": "Lives in Oslo"}], "user_id": "alice", "infer": False},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    memory_id = answer.json()["results"][0]["id"]
    client.batch_update([{"memory_id": memory_id, "text": "Lives in Bergen"}])
    assert oss.delete(f"{server}/memories/{memory_id}", timeout=30).status_code == 200
    client.add("Speaks Norwegian", filters={"user_id": "alice"}, infer=False, async_mode=False)
    client.delete_all(user_id="alice")
    run_jobs()
    events = [(r.json["event_details"]["event"], r.json["event_details"]["data"]["memory"]) for r in receiver.requests]
    assert events == [
        ("ADD", "Lives in Oslo"),
        ("UPDATE", "Lives in Bergen"),
        ("DELETE", "Lives in Bergen"),
        ("ADD", "Speaks Norwegian"),
        ("DELETE", "Speaks Norwegian"),
    ]


def test_only_subscribed_events_of_the_own_account_reach_an_active_webhook(
    sdk, alice, bob, receiver, private_targets, run_jobs
):
    alice_client, bob_client = sdk(alice), sdk(bob)
    alice_client.create_webhook(
        url=receiver.url, name="deletes", project_id=alice_client.project_id, event_types=["memory_delete"]
    )
    paused = alice_client.create_webhook(
        url=receiver.url, name="paused", project_id=alice_client.project_id, event_types=["memory_add"]
    )
    Webhook.objects.filter(id=paused["webhook_id"]).update(is_active=False)
    [added] = alice_client.add("Plays chess", filters={"user_id": "alice"}, infer=False, async_mode=False)["results"]
    bob_client.add("Plays go", filters={"user_id": "bob"}, infer=False)
    alice_client.delete(added["id"])
    run_jobs()
    assert [(r.json["event_type"], r.json["event_details"]["id"]) for r in receiver.requests] == [
        ("memory_delete", added["id"])
    ]


def test_a_500_is_retried_and_the_event_delivered_once_with_two_log_rows(client, receiver, private_targets, run_jobs):
    client.create_webhook(url=receiver.url, name="flaky", project_id=client.project_id, event_types=["memory_add"])
    receiver.answer_next(500)
    client.add("Owns a cat", filters={"user_id": "alice"}, infer=False)
    run_jobs()

    first, second = receiver.requests
    assert first.headers["X-Mem0-Event-Id"] == second.headers["X-Mem0-Event-Id"]
    assert (first.headers["X-Mem0-Delivery-Attempt"], second.headers["X-Mem0-Delivery-Attempt"]) == ("1", "2")
    rows = list(WebhookDelivery.objects.order_by("attempt").values_list("attempt", "status_code", "succeeded"))
    assert rows == [(1, 500, False), (2, 200, True)]
    assert WebhookDelivery.objects.get(attempt=1).error == "Answered HTTP 500."


def test_a_failing_receiver_is_given_up_after_the_maximum_attempts(client, receiver, private_targets, run_jobs):
    client.create_webhook(url=receiver.url, name="down", project_id=client.project_id, event_types=["memory_add"])
    receiver.answer_next(503, 503, 503, 503, 503)
    client.add("Owns a dog", filters={"user_id": "alice"}, infer=False)
    run_jobs()
    assert len(receiver.requests) == 3  # WEBHOOK_MAX_ATTEMPTS in private_targets
    assert list(WebhookDelivery.objects.order_by("attempt").values_list("attempt", "status_code")) == [
        (1, 503),
        (2, 503),
        (3, 503),
    ]
    assert not WebhookDelivery.objects.filter(succeeded=True).exists()


def test_a_redirect_is_not_followed_and_counts_as_a_failure(client, receiver, private_targets, run_jobs, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    client.create_webhook(url=receiver.url, name="moved", project_id=client.project_id, event_types=["memory_add"])
    receiver.answer_next(302)
    client.add("Reads novels", filters={"user_id": "alice"}, infer=False)
    run_jobs()
    assert len(receiver.requests) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status_code, delivery.succeeded) == (302, False)
    assert "redirects are not followed" in delivery.error


def test_changes_the_llm_decides_on_an_inferred_add_are_delivered(client, llm_on, receiver, private_targets, run_jobs):
    client.create_webhook(
        url=receiver.url,
        name="all",
        project_id=client.project_id,
        event_types=["memory_add", "memory_update", "memory_delete"],
    )
    for said in ("Lives in Berlin", "Lives in Munich", "No longer lives in Munich"):
        client.add([{"role": "user", "content": said}], filters={"user_id": "alice"}, infer=True)
    run_jobs()
    assert [(r.json["event_details"]["event"], r.json["event_details"]["data"]) for r in receiver.requests] == [
        ("ADD", {"memory": "Lives in Berlin"}),
        ("UPDATE", {"memory": "Lives in Munich", "previous_memory": "Lives in Berlin"}),
        ("DELETE", {"memory": "Lives in Munich"}),
    ]
