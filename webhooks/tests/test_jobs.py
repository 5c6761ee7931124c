"""A memory written by another background job (as the async add job does) queues its deliveries from inside
the worker, through the worker's own connector, and they are delivered by the same worker run."""

from __future__ import annotations

import pytest
from procrastinate.contrib.django import app

from memories import services as memories_services
from webhooks import services

pytestmark = pytest.mark.django_db(transaction=True)


@app.task(name="webhooks.tests.add_in_a_job")
def add_in_a_job(*, account_id: int, text: str) -> None:
    from accounts.models import User

    memories_services.memories_add(
        principal=User.objects.get(pk=account_id),
        messages=[memories_services.Message("user", text)],
        scope={"user_id": "job-user"},
        infer=False,
    )


def test_a_memory_added_by_a_background_job_is_delivered(make_user, embedder, receiver, private_targets, run_jobs):
    owner = make_user("jobs@example.com")
    services.webhook_create(principal=owner, name="jobs", url=receiver.url, event_types=["memory_add"])
    add_in_a_job.defer(account_id=owner.pk, text="Added in the background")
    run_jobs()
    [received] = receiver.requests
    assert received.json["event_details"]["data"] == {"memory": "Added in the background"}
