"""Deliveries are queued by the memory change's own transaction: also when another background job writes the
memory (as the async add job does), and whatever happens after the commit."""

from __future__ import annotations

import io
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from procrastinate.contrib.django import app

from events.tests.helpers import refused_as_by_a_restart
from mem0server.tests.server_process import wait_for
from mem0server.tests.sessions import other_session
from memories import services as memories_services
from memories.models import Memory, MemoryHistory
from webhooks import delivery, services
from webhooks.models import Webhook, WebhookDelivery
from webhooks.tasks import prune_deliveries

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


SEEN_BEFORE_COMMIT: list[int] = []


@app.task(name="webhooks.tests.add_and_look_before_committing")
def add_and_look_before_committing(*, account_id: int, webhook_id: int, text: str) -> None:
    """An add in a job's transaction (as the async add job's), and what any other worker sees of its deliveries
    before that commits."""
    from accounts.models import User

    with transaction.atomic():
        memories_services.memories_add(
            principal=User.objects.get(pk=account_id),
            messages=[memories_services.Message("user", text)],
            scope={"user_id": "job-user"},
            infer=False,
        )
        with other_session() as other:
            query = (
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'webhooks.deliver' "
                "AND args->>'webhook_id' = %s"
            )
            SEEN_BEFORE_COMMIT.append(other.execute(query, [str(webhook_id)]).fetchone()[0])


def test_a_jobs_deliveries_are_queued_in_its_transaction(make_user, embedder, receiver, private_targets, run_jobs):
    """A job worker runs on procrastinate's own pool, and a job queued by a job was committed at once, apart from the
    add's writes: another worker could take the delivery before the add committed, find no history row for its event,
    and send nothing (2 of 5 deliveries of async adds lost in bench/hanging_webhooks.py)."""
    owner = make_user("in-transaction@example.com")
    hook, _ = services.webhook_create(principal=owner, name="jobs", url=receiver.url, event_types=["memory_add"])
    SEEN_BEFORE_COMMIT.clear()
    add_and_look_before_committing.defer(account_id=owner.pk, webhook_id=hook.id, text="Added in a job's transaction")
    run_jobs()
    assert SEEN_BEFORE_COMMIT == [0]  # no worker can take a delivery of a change not committed
    [received] = receiver.requests
    assert received.json["event_details"]["data"] == {"memory": "Added in a job's transaction"}


def test_a_changes_deliveries_commit_with_it_or_not_at_all(
    make_user, embedder, receiver, private_targets, run_jobs, monkeypatch
):
    owner = make_user("atomic@example.com")
    services.webhook_create(principal=owner, name="atomic", url=receiver.url, event_types=["memory_add"])

    def add(text: str) -> None:
        memories_services.memories_add(
            principal=owner, messages=[memories_services.Message("user", text)], scope={"user_id": "u"}, infer=False
        )

    with pytest.raises(RuntimeError), transaction.atomic():
        add("Rolled back")
        raise RuntimeError("the request failed after the add")
    # The server dies right after its COMMIT: nothing it meant to do after the commit happens.
    monkeypatch.setattr(connection, "run_and_clear_commit_hooks", lambda: connection.run_on_commit.clear())
    add("Committed just before the server died")
    monkeypatch.undo()
    run_jobs()
    assert [r.json["event_details"]["data"]["memory"] for r in receiver.requests] == [
        "Committed just before the server died"
    ]


def test_the_delivery_log_keeps_the_retention_days_of_rows(make_user, receiver, private_targets, run_jobs, settings):
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 30
    owner = make_user("log@example.com")
    hook, _ = services.webhook_create(principal=owner, name="log", url=receiver.url, event_types=["memory_add"])
    event_ids = {}
    for days in (31, 29):
        row = WebhookDelivery.objects.create(
            webhook=hook, event_id=uuid.uuid4(), event_type="memory_add", payload={}, attempt=1, succeeded=True
        )
        WebhookDelivery.objects.filter(id=row.id).update(created_at=row.created_at - timedelta(days=days))
        event_ids[days] = row.event_id
    prune_deliveries.defer(timestamp=0)  # what the workers queue every hour
    run_jobs()
    assert list(WebhookDelivery.objects.values_list("event_id", flat=True)) == [event_ids[29]]


def test_the_signing_secret_is_sealed_in_the_database_and_still_signs(
    make_user, embedder, receiver, private_targets, run_jobs, settings
):
    owner = make_user("sealed@example.com")
    _, secret = services.webhook_create(principal=owner, name="sealed", url=receiver.url, event_types=["memory_add"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_webhook")
        [(stored,)] = cursor.fetchall()
    assert secret not in stored and secret.removeprefix("whsec_")[:12] not in stored

    add_in_a_job.defer(account_id=owner.pk, text="Signed with the secret shown at creation")
    run_jobs()
    [received] = receiver.requests
    timestamp = int(received.headers["X-Mem0-Signature"].split(",")[0].removeprefix("t="))
    assert received.headers["X-Mem0-Signature"] == delivery.signature(secret, timestamp, received.body)

    settings.SECRET_KEY = "a-new-secret-key-0123456789-0123456789-0123456789"  # a dump restored elsewhere
    add_in_a_job.defer(account_id=owner.pk, text="Cannot be signed")
    run_jobs()
    assert len(receiver.requests) == 1  # nothing unsigned or wrongly signed was sent
    last = WebhookDelivery.objects.latest("id")
    assert (last.succeeded, last.status_code) == (False, None)
    assert "sealed with another SECRET_KEY" in last.error and "SECRET_KEY_FALLBACKS" in last.error


def test_a_webhook_deleted_while_its_delivery_is_in_flight_ends_the_job_quietly(
    make_user, embedder, receiver, private_targets, run_jobs, monkeypatch, caplog
):
    owner = make_user("gone@example.com")
    hook, _ = services.webhook_create(principal=owner, name="gone", url=receiver.url, event_types=["memory_add"])
    real_send = delivery.send

    def send_then_delete(**kwargs):
        outcome = real_send(**kwargs)
        services.webhook_delete(principal=owner, webhook_id=hook.id)  # the owner deletes it meanwhile
        return outcome

    monkeypatch.setattr(delivery, "send", send_then_delete)
    add_in_a_job.defer(account_id=owner.pk, text="Sent just before the webhook went")
    caplog.set_level(logging.ERROR)
    run_jobs()
    assert len(receiver.requests) == 1
    assert not WebhookDelivery.objects.exists()  # its log went with it
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status FROM procrastinate_jobs WHERE task_name = 'webhooks.deliver' "
            "AND (args->>'webhook_id')::bigint = %s",
            [hook.id],
        )
        assert [status for (status,) in cursor.fetchall()] == ["succeeded"]
    assert "IntegrityError" not in caplog.text


def test_one_accounts_deliveries_do_not_hold_up_another_accounts_add(
    make_user, embedder, receiver, private_targets, run_jobs
):
    """Deliveries share the queue with every account's jobs: a member whose changes queued many of them (one per
    memory and webhook) is served in turns with the others, as async adds are (mem0server/queueing.py)."""
    from events.models import Event
    from events.tests.test_api import queue_add

    busy, other = make_user("busy@example.com"), make_user("other@example.com")
    services.webhook_create(principal=busy, name="busy", url=receiver.url, event_types=["memory_add"])
    messages = [memories_services.Message("user", f"Busy fact {n}") for n in range(4)]
    memories_services.memories_add(principal=busy, messages=messages, scope={"user_id": "busy"}, infer=False)
    theirs = queue_add(other, "Other fact", user_id="other")
    run_jobs()  # one job at a time, as a worker with a free slot takes them
    delivered = sorted(WebhookDelivery.objects.values_list("created_at", flat=True))
    started = Event.objects.get(id=theirs.id).started_at
    assert len(delivered) == 4
    assert delivered[0] < started < delivered[1]  # after at most one of them, not after all four


def test_a_scope_deleted_in_batches_delivers_each_memorys_text_as_its_history_row_holds_it(
    make_user, embedder, receiver, private_targets, run_jobs, monkeypatch
):
    monkeypatch.setattr(memories_services, "DELETE_BATCH", 4, raising=False)
    owner = make_user("deletes@example.com")
    hook, _ = services.webhook_create(principal=owner, name="deletes", url=receiver.url, event_types=["memory_delete"])
    messages = [
        memories_services.Message("assistant" if n % 3 else "user", f"Fact {n}: " + "é" * n, name=f"s{n % 2}")
        for n in range(10)
    ]
    memories_services.memories_add(principal=owner, messages=messages, scope={"user_id": "gone"}, infer=False)
    before = {str(m.id): m for m in Memory.objects.filter(user_id="gone")}
    assert memories_services.memories_delete_scope(principal=owner, scope={"user_id": "gone"}).memories == 10
    run_jobs()
    history = {str(h.memory_id): h for h in MemoryHistory.objects.filter(event="DELETE")}
    assert {
        (h.old_memory, h.new_memory, h.is_deleted, h.actor_id, h.role, h.account_id, h.updated_at == h.created_at)
        for h in history.values()
    } == {(m.text, None, True, m.actor_id, m.role, owner.pk, True) for m in before.values()}
    assert len({h.created_at for h in history.values()}) == 3  # a time per batch of 4, each once its rows are locked
    payloads = sorted((r.json for r in receiver.requests), key=lambda p: p["event_details"]["id"])
    assert payloads == [
        {
            "event_id": str(history[memory_id].id),
            "event_type": "memory_delete",
            "created_at": history[memory_id].created_at.isoformat(),
            "event_details": {
                "id": memory_id,
                "event": "DELETE",
                "data": {"memory": memory.text},
                "actor_id": memory.actor_id,
                "role": memory.role,
            },
            "webhook_id": hook.id,
        }
        for memory_id, memory in sorted(before.items())
    ]


def queued(task_name: str, webhooks: list) -> int:
    """Jobs of `task_name` waiting for these webhooks. (Not every waiting one: jobs are not flushed between tests,
    so a retry an earlier test left for later would be counted.)"""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = %s AND status = 'todo' "
            "AND COALESCE(args->>'webhook_id', args->'webhook_ids'->>0)::bigint = ANY(%s)",
            [task_name, [webhook.id for webhook in webhooks]],
        )
        return cursor.fetchone()[0]


def test_a_large_delete_queues_its_deliveries_a_batch_at_a_time_and_each_arrives_once(
    make_user, embedder, receiver, private_targets, run_jobs, monkeypatch
):
    """A delete's deliveries were queued one job per memory and webhook inside its transaction: 10,000 memories for
    20 webhooks took 26.9 s (0.55 s without webhooks), near the 30 s statement limit. Past DELIVERIES_PER_JOB they
    are queued by jobs that a worker runs, each carrying that many."""
    monkeypatch.setattr(services, "DELIVERIES_PER_JOB", 6)
    owner = make_user("large-delete@example.com")
    subscriptions = [["memory_delete"], ["memory_delete", "memory_add"], ["memory_delete"], ["memory_add"]]
    hooks = [
        services.webhook_create(principal=owner, name=f"hook {n}", url=f"{receiver.url}/{n}", event_types=types)[0]
        for n, types in enumerate(subscriptions)
    ]
    messages = [memories_services.Message("user", f"Fact {n}") for n in range(10)]
    memories_services.memories_add(principal=owner, messages=messages, scope={"user_id": "big"}, infer=False)
    run_jobs()
    receiver.requests.clear()
    deleted = {str(memory_id) for memory_id in Memory.objects.filter(user_id="big").values_list("id", flat=True)}

    assert memories_services.memories_delete_scope(principal=owner, scope={"user_id": "big"}).memories == 10
    # 10 memories × 3 subscribed webhooks = 30 deliveries: 5 jobs of 2 events for 3 webhooks, not 30.
    assert (queued("webhooks.deliver", hooks), queued("webhooks.queue_deliveries", hooks)) == (0, 5)
    services.webhook_update(principal=owner, webhook_id=hooks[2].id, is_active=False)  # paused before they run
    run_jobs()
    sent = sorted((r.path.rsplit("/", 1)[1], r.json["event_details"]["id"]) for r in receiver.requests)
    assert sent == sorted((str(n), memory_id) for n in (0, 1) for memory_id in deleted)
    assert {r.json["event_type"] for r in receiver.requests} == {"memory_delete"}


def test_a_job_queueing_deliveries_that_the_database_went_away_under_is_run_again(
    make_user, embedder, receiver, private_targets, run_jobs, monkeypatch
):
    """A job queueing a large change's deliveries that the database's going away stopped (a restart, a failover) was
    failed for good, the change's deliveries never queued: it had no retry. It runs again, WORKER_RETRY_BACKOFF_SECONDS
    later, doubling (up to WORKER_MAX_ATTEMPTS runs)."""
    from procrastinate.contrib.django.models import ProcrastinateJob

    monkeypatch.setattr(services, "DELIVERIES_PER_JOB", 2)
    monkeypatch.setattr(settings, "WORKER_RETRY_BACKOFF_SECONDS", 3600)  # the retry stays queued while the test looks
    owner = make_user("fan-out-restart@example.com")
    hook = services.webhook_create(principal=owner, name="h", url=receiver.url, event_types=["memory_add"])[0]
    messages = [memories_services.Message("user", f"Fact {n}") for n in range(3)]
    with refused_as_by_a_restart("procrastinate_jobs", "NEW.task_name = 'webhooks.deliver'"):
        memories_services.memories_add(principal=owner, messages=messages, scope={"user_id": "f"}, infer=False)
        assert queued("webhooks.queue_deliveries", [hook]) == 2
        run_jobs()
        assert queued("webhooks.queue_deliveries", [hook]) == 2  # both to run again; were "failed"
    ProcrastinateJob.objects.filter(task_name="webhooks.queue_deliveries", status="todo").update(
        scheduled_at=timezone.now()
    )
    run_jobs()
    assert sorted(r.json["event_details"]["data"]["memory"] for r in receiver.requests) == [
        "Fact 0",
        "Fact 1",
        "Fact 2",
    ]


def test_a_reset_after_a_large_delete_leaves_its_jobs_nothing_to_queue(
    make_user, embedder, receiver, private_targets, run_jobs, monkeypatch
):
    """The jobs queueing a large delete's deliveries queued one per event and webhook though a reset had deleted the
    events' history since, each delivery then finding nothing to send: 200,000 jobs for nothing after a delete of
    10,000 memories for 20 webhooks."""
    monkeypatch.setattr(services, "DELIVERIES_PER_JOB", 6)
    owner = make_user("reset-after-delete@example.com")
    hooks = [
        services.webhook_create(
            principal=owner, name=f"hook {n}", url=f"{receiver.url}/{n}", event_types=["memory_delete"]
        )[0]
        for n in range(2)
    ]
    messages = [memories_services.Message("user", f"Fact {n}") for n in range(10)]
    memories_services.memories_add(principal=owner, messages=messages, scope={"user_id": "big"}, infer=False)
    assert memories_services.memories_delete_scope(principal=owner, scope={"user_id": "big"}).memories == 10
    assert queued("webhooks.queue_deliveries", hooks) == 4
    memories_services.memories_reset()
    run_jobs()
    assert receiver.requests == []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'webhooks.deliver' "
            "AND (args->>'webhook_id')::bigint = ANY(%s)",
            [[hook.id for hook in hooks]],
        )
        assert cursor.fetchone()[0] == 0


def test_the_worker_log_leaves_out_the_start_and_end_of_a_job_queueing_deliveries():
    """Such a job carries up to DELIVERIES_PER_JOB event ids, which procrastinate's start and success lines would
    spell out; each delivery it queues logs its own. A failure of it is logged whole."""
    from events.logs import RoutineJobsFilter

    def kept(level: int) -> bool:
        record = logging.LogRecord("procrastinate.worker", level, __file__, 1, "Starting job …", None, None)
        record.job = {"task_name": "webhooks.queue_deliveries"}
        return RoutineJobsFilter().filter(record)

    assert (kept(logging.INFO), kept(logging.ERROR)) == (False, True)


def test_a_stopping_workers_line_about_a_job_queueing_deliveries_leaves_out_its_event_ids():
    """procrastinate writes "Waiting for job to finish" with the job's arguments (up to DELIVERIES_PER_JOB event ids)
    when it stops while one runs; the line stays, shortened."""
    from procrastinate.jobs import Job

    from events.logs import RoutineJobsFilter

    events = [[str(uuid.uuid4()), "memory_delete"] for _ in range(500)]
    arguments = {"account_id": 3, "webhook_ids": [1, 2], "events": events}
    job = Job(
        id=7,
        queue="webhooks",
        lock=None,
        queueing_lock=None,
        task_name="webhooks.queue_deliveries",
        task_kwargs=arguments,
    )
    # As procrastinate.worker.Worker._shutdown writes it.
    message = f"Waiting for job to finish: worker: {job.call_string} (started 2.500 s ago)"
    record = logging.LogRecord("procrastinate.worker", logging.INFO, __file__, 1, message, None, None)
    assert RoutineJobsFilter().filter(record)
    line = record.getMessage()
    assert line == "Waiting for job to finish: worker: webhooks.queue_deliveries[7](…) (started 2.500 s ago)"


def test_a_failed_attempt_is_one_line_of_the_worker_log_not_a_traceback(
    make_user, embedder, receiver, private_targets, run_jobs, settings
):
    """Each attempt a receiver refused wrote procrastinate's traceback of DeliveryFailed (42 lines, 2.7 KB) under the
    server's own line saying why: a receiver down for a delete of 10,000 memories to 20 webhooks meant 1.2 million
    tracebacks (3.3 GB). The lines stay, without them."""
    from events.logs import RoutineJobsFilter

    settings.WEBHOOK_MAX_ATTEMPTS = 2
    owner = make_user("refused@example.com")
    services.webhook_create(principal=owner, name="down", url=receiver.url, event_types=["memory_add"])
    receiver.answer_next(500, 503)
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.addFilter(RoutineJobsFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        memories_services.memories_add(
            principal=owner,
            messages=[memories_services.Message("user", "Refused twice")],
            scope={"user_id": "u"},
            infer=False,
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(root, "level", logging.INFO)
            run_jobs()
    finally:
        root.removeHandler(handler)
    lines = log.getvalue().splitlines()
    said = [line.split(" [")[0].split(": ")[-1] for line in lines if "failed: Answered" in line]
    assert said == ["Answered HTTP 500.", "Answered HTTP 503."]
    ended = [
        line.split(" ", 1)[0] + " " + line.split("ended with status: ")[1].split(",")[0]
        for line in lines
        if "webhooks.deliver" in line and "ended with status" in line
    ]
    assert ended == ["INFO Error", "ERROR Error"]
    assert "Traceback" not in log.getvalue()


def test_an_attempt_the_database_went_away_under_is_retried_not_dropped(
    make_user, embedder, receiver, private_targets, run_jobs, settings
):
    """An attempt whose outcome the database refused to log (a PostgreSQL restart, a failover: SQLSTATE 57P01) failed
    its job for good: the retry strategy retried the receiver's failures only, so a database back within seconds found
    the delivery FAILED and never made. It is retried as a receiver's failure is (WEBHOOK_MAX_ATTEMPTS)."""
    from procrastinate.contrib.django.models import ProcrastinateJob

    settings.WEBHOOK_RETRY_BASE_SECONDS = 3600  # the retry stays queued while the test looks
    owner = make_user("restarted@example.com")
    hook = services.webhook_create(principal=owner, name="r", url=receiver.url, event_types=["memory_add"])[0]
    with refused_as_by_a_restart("webhooks_webhookdelivery"):
        memories_services.memories_add(
            principal=owner,
            messages=[memories_services.Message("user", "Sent while the database restarts")],
            scope={"user_id": "u"},
            infer=False,
        )
        run_jobs()
        job = ProcrastinateJob.objects.get(task_name="webhooks.deliver", args__webhook_id=hook.id)
        assert (job.status, job.attempts) == ("todo", 1)  # was "failed"
    ProcrastinateJob.objects.filter(id=job.id).update(scheduled_at=timezone.now())
    run_jobs()
    assert ProcrastinateJob.objects.get(id=job.id).status == "succeeded"
    assert list(WebhookDelivery.objects.filter(webhook=hook).values_list("attempt", "succeeded")) == [(2, True)]
    assert len(receiver.requests) == 2  # the first attempt reached it too: deliveries are at least once


@contextmanager
def deliveries_held(owner, receiver, tmp_path, *, slots: int, args: tuple[str, ...] = ()) -> Iterator:
    """slots + 2 deliveries to a webhook of `owner` whose receiver holds every attempt (WEBHOOK_TIMEOUT_SECONDS: an
    hour), run by a worker process of WEBHOOK_WORKER_CONCURRENCY `slots` (with `args`), the only one taking jobs:
    yields it once ready; then the receiver answers, and each delivery is made once."""
    from events.tests.workers import WorkerProcess, stop_shared_workers

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "WEBHOOK_ALLOW_PRIVATE", True)
        hook, _ = services.webhook_create(principal=owner, name="held", url=receiver.url, event_types=["memory_add"])
    receiver.hold()
    messages = [memories_services.Message("user", f"Fact {n}") for n in range(slots + 2)]
    memories_services.memories_add(principal=owner, messages=messages, scope={"user_id": "u"}, infer=False)
    stop_shared_workers()
    env = {"WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_TIMEOUT_SECONDS": "3600", "WEBHOOK_WORKER_CONCURRENCY": str(slots)}
    worker = WorkerProcess(tmp_path, env=env, args=args).start()
    try:
        worker.wait_ready(timeout=120)
        yield worker
        receiver.release()
        wait_for(
            lambda: WebhookDelivery.objects.filter(webhook=hook, succeeded=True).count() == slots + 2,
            timeout=60,
            what="every delivery made once released",
        )
    finally:
        receiver.release()
        worker.stop()
    assert len(requests_of(hook, receiver)) == slots + 2


def requests_of(hook, receiver) -> list:
    """The attempts that reached the receiver for this webhook."""
    return [request for request in receiver.requests if request.json["webhook_id"] == hook.id]


def test_receivers_that_hang_hold_the_delivery_slots_and_not_another_accounts_add(
    make_user, embedder, receiver, tmp_path
):
    """Deliveries shared a worker's job slots with every other job, and an attempt waits up to WEBHOOK_TIMEOUT_SECONDS
    on its receiver: a member whose receivers hang held every slot, and another account's queued add waited (9.6 s
    instead of 0.2 s with 20 such webhooks and 4 slots). A worker process runs them in slots of their own
    (WEBHOOK_WORKER_CONCURRENCY), one account's in all of them but one, as many as asyncio gives a process threads by
    default, so the jobs' threads must be more than that default too."""
    from events.models import Event
    from events.tests.test_api import queue_add

    held = min(32, (os.cpu_count() or 1) + 4)  # asyncio's default thread pool
    slots = held + 1  # one kept for other accounts' deliveries
    owner, other = make_user("hanging@example.com"), make_user("waiting@example.com")
    with deliveries_held(owner, receiver, tmp_path, slots=slots) as worker:
        wait_for(lambda: len(receiver.requests) == held, timeout=60, what=f"{held} deliveries waiting on the receiver")
        theirs = queue_add(other, "Not held up", user_id="other")
        try:
            # A failure bound only: the add needs an embedding, and the held deliveries wait an hour.
            wait_for(lambda: Event.objects.get(id=theirs.id).status == "SUCCEEDED", timeout=60, what="the other add")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- worker ---\n{worker.log()}") from None
        assert len(receiver.requests) == held  # no more attempts at once than its share of the delivery slots


def test_a_worker_process_of_deliveries_alone_makes_webhook_worker_concurrency_attempts_at_once(
    make_user, receiver, tmp_path
):
    """README's recipe for processes of deliveries alone (`--queues=webhooks`, section "Workers and scaling"): their
    attempts at once were WORKER_CONCURRENCY (the one worker asked for, as procrastinate runs it), whatever
    WEBHOOK_WORKER_CONCURRENCY said, which README calls the delivery attempts one job worker process makes at once
    (one account's: all but one, the last kept for other accounts)."""
    from events.tests.workers import TEST_WORKER_ENV

    slots = int(TEST_WORKER_ENV["WORKER_CONCURRENCY"]) + 2
    owner = make_user("deliveries-alone@example.com")
    with deliveries_held(owner, receiver, tmp_path, slots=slots, args=("--queues=webhooks",)) as worker:
        try:
            # A failure bound only: the held attempts wait an hour on the receiver.
            wait_for(lambda: len(receiver.requests) >= slots - 1, timeout=60, what=f"{slots - 1} attempts at once")
        except AssertionError as exc:
            reached = len(receiver.requests)
            raise AssertionError(f"{exc}: {reached} reached it\n--- worker ---\n{worker.log()}") from None
        assert len(receiver.requests) == slots - 1


def test_one_accounts_receiver_that_hangs_leaves_a_delivery_slot_to_another_account(make_user, receiver, tmp_path):
    """An account's deliveries to a receiver that hangs took every delivery slot of the worker, each for
    WEBHOOK_TIMEOUT_SECONDS (and again with each retry): another account's delivery waited for one to end. One account
    holds at most all slots but one of a worker process, so the other account's delivery is attempted while the first
    account's attempts still hang (here: all of them, for an hour)."""
    slots = 2
    owner, other = make_user("hanging-receiver@example.com"), make_user("another-receiver@example.com")
    with deliveries_held(owner, receiver, tmp_path, slots=slots) as worker:
        held = Webhook.objects.get(account=owner)
        wait_for(lambda: len(requests_of(held, receiver)) >= slots - 1, timeout=60, what="the held attempts")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(settings, "WEBHOOK_ALLOW_PRIVATE", True)
            theirs, _ = services.webhook_create(principal=other, name="t", url=receiver.url, event_types=["memory_add"])
        message = memories_services.Message("user", "Not held up")
        memories_services.memories_add(principal=other, messages=[message], scope={"user_id": "o"}, infer=False)
        try:
            # A failure bound only: the held attempts wait an hour on the receiver.
            wait_for(lambda: requests_of(theirs, receiver), timeout=60, what="the other account's attempt")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- worker ---\n{worker.log()}") from None
        assert len(requests_of(held, receiver)) == slots - 1  # the first account's, none answered yet


def test_an_accounts_next_delivery_starts_when_its_attempt_ends_not_at_the_workers_next_poll(
    make_user, receiver, tmp_path
):
    """An account holding its share of the slots has its next job passed over; procrastinate fetches again only for
    a new job or at its next poll, so each of its later deliveries would wait for that poll (here an hour), though its
    attempt had ended. The worker fetches again when a delivery attempt ends."""
    owner = make_user("one-at-a-time@example.com")
    args = ("--fetch-job-polling-interval=3600",)
    with deliveries_held(owner, receiver, tmp_path, slots=2, args=args):
        held = Webhook.objects.get(account=owner)
        wait_for(lambda: requests_of(held, receiver), timeout=60, what="the first attempt")
    # deliveries_held: once released, every delivery is made within its bound (60 s)
