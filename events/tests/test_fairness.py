"""One shared queue, fairly served: an account's backlog of async adds does not hold up another account's add,
the worker's upkeep (requeueing a stopped worker's jobs) does not wait behind anyone's backlog, and a scope's
inferring adds run one at a time, in order."""

from __future__ import annotations

import pytest
from django.db import connection
from procrastinate.contrib.django import app

from events import services
from events.models import Event
from events.services import TransientFailure
from events.tests.helpers import sdk_wait_event
from events.tests.test_api import queue_add
from memories.configuration import server_config_set
from memories.tests.scope_turns import another_add_deciding

pytestmark = pytest.mark.django_db(transaction=True)


def started(event: Event):
    return Event.objects.get(id=event.id).started_at


def test_another_accounts_add_runs_before_the_rest_of_a_backlog(member, make_user, embedder, run_jobs):
    other = make_user("bob@example.com")
    backlog = [queue_add(other, f"Bob fact {n}", user_id="bob") for n in range(4)]
    mine = queue_add(member, "Alice fact")
    run_jobs()  # one job at a time, as a worker with a free slot takes them
    assert started(backlog[0]) < started(mine) < started(backlog[1])  # not after all four
    assert all(Event.objects.get(id=event.id).status == "SUCCEEDED" for event in [*backlog, mine])


def test_a_second_add_of_the_same_account_waits_its_turn(member, make_user, embedder, run_jobs):
    other = make_user("bob@example.com")
    first, second = queue_add(member, "Alice fact 1"), queue_add(member, "Alice fact 2")
    bobs = queue_add(other, "Bob fact", user_id="bob")
    run_jobs()
    assert started(first) < started(bobs) < started(second)


def test_the_stalled_job_check_runs_before_a_backlog_queued_earlier(member, embedder, run_jobs):
    backlog = [queue_add(member, f"Fact {n}") for n in range(3)]
    [check] = [p for p in app.periodic_registry.periodic_tasks.values() if p.periodic_id == "retry_stalled_jobs"]
    check_job = check.task.configure(**check.configure_kwargs).defer(timestamp=0)  # as the workers' deferrer does
    run_jobs()
    with connection.cursor() as cursor:
        cursor.execute("SELECT at FROM procrastinate_events WHERE job_id = %s AND type = 'started'", [check_job])
        [(check_started,)] = cursor.fetchall()
    assert check_started < min(started(event) for event in backlog)


def test_a_scopes_inferring_adds_run_in_turn_each_deciding_on_what_the_one_before_stored(
    sdk, make_user, llm_on, worker
):
    client = sdk(make_user("alice@example.com"))  # the worker runs several jobs at once
    queued = [
        client.add(f"I live in {city} now.", filters={"user_id": "alice"}, infer=True)["event_id"]
        for city in ("Berlin", "Munich", "Paris", "Rome")
    ]
    assert [sdk_wait_event(client, event_id)["status"] for event_id in queued] == ["SUCCEEDED"] * 4
    # Each add updated what the one before stored; side by side they each added their own city.
    # (The scripted LLM takes each message as a fact, and a fact as an update of one that starts alike.)
    assert [m["memory"] for m in client.get_all(filters={"user_id": "alice"})["results"]] == ["I live in Rome now."]


def test_a_queued_add_that_waits_past_the_llm_timeout_for_a_synchronous_add_of_its_scope_runs_again(
    member, llm_on_here, run_jobs
):
    # run_jobs: the session's shared worker, if running, is stopped, so the job runs only where this test runs it.
    config = {"model": "fake", "api_key": "sk-test", "openai_base_url": llm_on_here.url, "timeout": 0.5}
    server_config_set(changes={"llm": {"provider": "openai", "config": config}})
    event = queue_add(member, "I live in Rome now.", infer=True)
    with another_add_deciding(member.account, {"user_id": "alice"}), pytest.raises(TransientFailure):
        services.event_add_run(event_id=str(event.id))
    event.refresh_from_db()
    assert (event.status, event.error_code) == ("PENDING", "scope_busy")
    services.event_add_run(event_id=str(event.id))  # as procrastinate runs it again after the back-off
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("SUCCEEDED", 2)
    assert [r["memory"] for r in event.results] == ["I live in Rome now."]
