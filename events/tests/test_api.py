"""Async adds through the Platform front door: queued at once, run by a worker, read back as events."""

from __future__ import annotations

import io
import logging
import random
import string
import uuid
import zlib
from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from events import services
from events.models import Event
from events.tests.helpers import refused_as_by_a_restart, run_through_a_restart, sdk_event, sdk_wait_event
from memories.models import Memory
from memories.tests.fake_openai import error, llm_configured
from memories.tests.files import grey_png
from memories.vision import too_many_pixels
from platform_api.services import add_payload

ADD = "/v3/memories/add/"


def queue_add(principal, text: str, user_id: str = "alice", infer: bool = False) -> Event:
    data = {"messages": [{"role": "user", "content": text}], "scope": {"user_id": user_id}, "infer": infer}
    return services.event_add_create(principal=principal, payload=add_payload(data))


# --- through the official SDK, a live server and a worker process ----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_sdk_add_answers_pending_then_the_event_succeeds_and_the_memories_exist(sdk, make_user, llm_on, worker):
    client = sdk(make_user("alice@example.com"))
    llm_on.facts = lambda messages: ["Is vegetarian", "Lives in Berlin"]

    answer = client.add("Hi, I'm a vegetarian from Berlin.", filters={"user_id": "alice"}, infer=True)

    assert answer["status"] == "PENDING"
    assert sdk_event(client, answer["event_id"])["status"] in ("PENDING", "RUNNING", "SUCCEEDED")
    event = sdk_wait_event(client, answer["event_id"])
    assert event["status"] == "SUCCEEDED", event
    assert sorted((r["event"], r["memory"]) for r in event["results"]) == [
        ("ADD", "Is vegetarian"),
        ("ADD", "Lives in Berlin"),
    ]
    assert event["attempts"] == 1 and event["completed_at"] == event["finished_at"] and event["latency"] >= 0
    assert (event["error"], event["error_code"], event["event_type"]) == (None, "", "ADD")
    listed = client.get_all(filters={"user_id": "alice"})["results"]
    assert sorted(m["memory"] for m in listed) == ["Is vegetarian", "Lives in Berlin"]


@pytest.mark.django_db(transaction=True)
def test_sdk_add_with_async_mode_false_answers_the_results_at_once(sdk, make_user):
    client = sdk(make_user("alice@example.com"))
    answer = client.add("Likes green tea", filters={"user_id": "alice"}, infer=False, async_mode=False)
    [result] = answer["results"]
    assert (result["event"], result["memory"]) == ("ADD", "Likes green tea")
    assert not Event.objects.exists()


# --- the routes ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_v3_add_queues_an_event_and_its_job_together(member_client, member):
    response = member_client.post(
        ADD, {"messages": "Owns a cat", "filters": {"user_id": "alice"}, "infer": False}, format="json"
    )
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "PENDING"
    event = Event.objects.get(id=response.json()["event_id"])
    assert (event.account, event.status, event.event_type) == (member, "PENDING", "ADD")
    assert event.payload["messages"] == [{"role": "user", "content": "Owns a cat"}]
    [job] = ProcrastinateJob.objects.filter(task_name="events.run_add_event", args__event_id=str(event.id))
    assert job.status == "todo"
    assert not Memory.objects.exists()


@pytest.mark.django_db
def test_v1_memories_add_is_synchronous_unless_async_mode_is_true(member_client):
    body = {"messages": "Owns a cat", "user_id": "alice", "infer": False}
    now = member_client.post("/v1/memories/", body, format="json")
    assert now.status_code == 200 and now.json()[0]["memory"] == "Owns a cat"  # a bare list, as Mem0's v1
    later = member_client.post("/v1/memories/", {**body, "async_mode": True}, format="json")
    assert later.status_code == 202 and later.json()[0]["status"] == "PENDING"
    assert Event.objects.filter(id=later.json()[0]["event_id"]).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"messages": "Owns a cat"}, "user_id"),
        ({"messages": [{"role": "system", "content": "Be nice"}], "user_id": "a"}, "no user or assistant message"),
        ({"messages": [], "user_id": "a"}, "at least one message"),
    ],
)
def test_a_bad_async_add_is_a_400_and_queues_nothing(member_client, body, says):
    jobs = ProcrastinateJob.objects.filter(task_name="events.run_add_event")
    before = jobs.count()  # other tests' committed jobs stay: procrastinate's tables are not flushed
    response = member_client.post(ADD, body, format="json")
    assert response.status_code == 400
    assert says in str(response.json()["detail"])
    assert not Event.objects.exists()
    assert jobs.count() == before


@pytest.mark.django_db
def test_events_list_is_the_callers_newest_first_and_paged(member_client, member, make_user):
    mine = [queue_add(member, f"Fact {i}") for i in range(5)]
    queue_add(make_user("other@example.com"), "Not yours")

    first = member_client.get("/v1/events/", {"page_size": 2}).json()
    assert first["count"] == 5
    assert [e["id"] for e in first["results"]] == [str(mine[4].id), str(mine[3].id)]
    assert first["previous"] is None and "page=2" in first["next"]
    last = member_client.get("/v1/events/", {"page_size": 2, "page": 3}).json()
    assert [e["id"] for e in last["results"]] == [str(mine[0].id)]
    assert last["next"] is None and "page=2" in last["previous"]
    # A page past the last is answered from the count: its OFFSET read every event to find none.
    with CaptureQueriesContext(connection) as queries:
        past = member_client.get("/v1/events/", {"page_size": 2, "page": 1_000_000}).json()
    assert (past["count"], past["results"], past["next"]) == (5, [], None)
    assert "page=3" in past["previous"]  # the last page
    read = [q["sql"] for q in queries.captured_queries if 'FROM "events_event"' in q["sql"]]
    assert len(read) == 1 and read[0].startswith("SELECT COUNT(*)")
    assert member_client.get("/v1/events/", {"status": "SUCCEEDED"}).json()["count"] == 0
    # A misspelt option listed every event as if it had been applied.
    for typo in ({"statuss": "FAILED"}, {"page_sise": 2}):
        response = member_client.get("/v1/events/", typo)
        assert response.status_code == 400 and next(iter(typo)) in response.json()["detail"], typo
    assert member_client.get("/v1/events/", {"org_name": "Old client", "project_name": "Its project"}).json()["count"]


@pytest.mark.django_db
def test_a_page_of_events_larger_than_one_answer_carries_is_a_400_saying_to_ask_for_fewer(
    member_client, member, settings
):
    # Each event holds its add as queued: an image sent as a data URL fills the request (100 of 1 MB made a 100 MB
    # answer). Here a smaller bound stands for it.
    for i in range(3):
        queue_add(member, f"Fact {i} " + "x" * 4_000)
    settings.LIST_MAX_BYTES = 10_000
    refused = member_client.get("/v1/events/", {"page_size": 3})
    assert refused.status_code == 400, refused.json()
    detail = refused.json()["detail"]
    assert detail.startswith("These 3 events hold") and "bytes of payloads and results" in detail
    assert "LIST_MAX_BYTES, 10000" in detail and "ask for fewer at a time (page_size)" in detail
    two = member_client.get("/v1/events/", {"page_size": 2})
    assert two.status_code == 200 and len(two.json()["results"]) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["9223372036854775807", "1000001", "1" + "0" * 30])
def test_a_page_past_the_limit_is_a_400_naming_it(member_client, page):
    response = member_client.get("/v1/events/", {"page": page})
    assert response.status_code == 400, response.json()
    assert "page: Ensure this value is less than or equal to 1000000" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["another accounts", "made up", "not a uuid"])
def test_an_event_that_is_not_the_callers_is_a_404(member_client, make_user, which):
    other = queue_add(make_user("other@example.com"), "Not yours")
    event_id = {"another accounts": str(other.id), "made up": str(uuid.uuid4()), "not a uuid": "evt-1"}[which]
    response = member_client.get(reverse("platform-event", args=[event_id]))
    assert response.status_code == 404
    assert "not found" in response.json()["detail"]


# --- running the job ------------------------------------------------------------------------------------------


@pytest.fixture
def llm(llm_on_here):
    return llm_on_here


@pytest.mark.django_db
@pytest.mark.parametrize(("width", "height"), [(13_000, 13_000), (100_000, 100_000)])
def test_a_queued_add_of_an_image_of_more_pixels_than_read_is_refused_before_it_is_queued(
    member_client, embedder, width, height
):
    # It was queued (202), and its event failed later with the 400's words, as a synchronous add answers them.
    picture = {"type": "image_url", "image_url": {"url": grey_png(width, height, zlib.compress(b"\0" * 100))}}
    message = {"role": "user", "content": [{"type": "text", "text": "The map"}, picture]}
    with llm_configured(vision=True) as fake:
        response = member_client.post(
            ADD, {"messages": [message], "filters": {"user_id": "alice"}, "infer": False}, format="json"
        )
        picture["image_url"]["url"] = grey_png(8_000, 6_000, zlib.compress(b"\0" * 100))  # a phone's 48 megapixels
        queued = member_client.post(
            ADD, {"messages": [message], "filters": {"user_id": "alice"}, "infer": False}, format="json"
        )
    assert response.status_code == 400, response.json()
    assert response.json()["detail"] == too_many_pixels(width, height)
    assert queued.status_code == 202, queued.json()
    assert Event.objects.count() == 1
    assert fake.chat_calls() == []


@pytest.mark.django_db(transaction=True)
def test_an_llm_4xx_fails_the_event_with_the_providers_message(member, llm, run_jobs):
    llm.chat_queue.append(error(404, "The model `fake` does not exist"))
    event = queue_add(member, "I live in Oslo", infer=True)
    run_jobs()
    event.refresh_from_db()
    assert event.status == "FAILED"
    assert event.error_code == "provider_bad_request"
    assert "The model `fake` does not exist" in event.error_message
    assert event.results is None and event.finished_at is not None
    assert not Memory.objects.exists()
    [job] = ProcrastinateJob.objects.filter(task_name="events.run_add_event", args__event_id=str(event.id))
    assert job.status == "failed"


@pytest.mark.django_db(transaction=True)
def test_a_failed_adds_job_is_one_line_of_the_worker_log_saying_why_not_a_traceback(member, llm, settings, run_jobs):
    """Each run of an add the LLM failed wrote procrastinate's traceback (the LLM client's own, chained under the
    event's failure: some 60 lines) under a job end line that did not say why; the reason is stored in the event. The
    end line now says it, in one line."""
    from events.logs import RoutineJobsFilter

    settings.WORKER_RETRY_BACKOFF_SECONDS = 600  # the retry stays queued
    llm.chat_queue.extend([error(503, "overloaded")] * 2 + [error(404, "The model `fake` does not exist")])
    queued = [queue_add(member, f"I live in {city}", user_id=city, infer=True) for city in ("Oslo", "Rome")]
    handler = logging.StreamHandler(log := io.StringIO())
    handler.addFilter(RoutineJobsFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(root, "level", logging.INFO)
            run_jobs()
    finally:
        root.removeHandler(handler)
    ended = [line for line in log.getvalue().splitlines() if "events.run_add_event" in line and "ended with" in line]
    assert len(ended) == 2, log.getvalue()
    assert "ended with status: Error, to retry, lasted" in ended[0]
    assert ended[0].endswith("failed (HTTP 503), also after one retry; nothing was stored. It said: overloaded)")
    assert "ended with status: Error, lasted" in ended[1] and "(provider_bad_request: " in ended[1]
    assert "Traceback" not in log.getvalue()
    # Its retry is not left queued for the tests after this one (jobs are not flushed between tests).
    ProcrastinateJob.objects.filter(args__event_id__in=[str(event.id) for event in queued]).delete()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("status", [401, 503])
def test_a_provider_echoing_the_key_leaves_it_out_of_the_worker_log(member, llm, settings, run_jobs, caplog, status):
    """The worker logs a failed job with its traceback: the provider's own exception, chained below the
    UpstreamError, carried its error body, key and all."""
    from memories import configuration

    key = "sk-live-ABCDEFGHIJKLMNOP"
    configuration.server_config_set(changes={"llm": {"config": {"api_key": key}}})
    settings.WORKER_MAX_ATTEMPTS = 1
    llm.chat_queue.extend([error(status, f"Incorrect API key provided: {key}")] * 2)
    event = queue_add(member, "I live in Oslo", infer=True)
    with caplog.at_level(logging.INFO):
        run_jobs()
    event.refresh_from_db()
    assert event.status == "FAILED"
    assert "[redacted]" in event.error_message
    assert "ended with status: Error" in caplog.text
    assert key not in caplog.text
    assert "sk-live-ABC" not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_an_llm_5xx_is_retried_later_and_the_event_then_succeeds(member, llm, settings, run_jobs):
    # The retry is not due while the run below runs, however slow the machine (it runs jobs until none is due).
    settings.WORKER_RETRY_BACKOFF_SECONDS = 600
    # Two 500s: the LLM client's own immediate retry also fails, so this run gives up and the job is retried.
    llm.chat_queue.extend([error(500, "overloaded"), error(500, "overloaded")])
    event = queue_add(member, "I live in Oslo", infer=True)

    run_jobs()
    event.refresh_from_db()
    assert (event.status, event.error_code, event.attempts) == ("PENDING", "provider_unavailable", 1)

    # The backoff passes: the queued retry falls due now.
    retry = ProcrastinateJob.objects.filter(task_name="events.run_add_event", status="todo")
    assert retry.update(scheduled_at=timezone.now()) == 1
    run_jobs()
    event.refresh_from_db()
    assert (event.status, event.attempts, event.error_code) == ("SUCCEEDED", 2, "")
    assert [r["memory"] for r in event.results] == ["I live in Oslo"]
    assert list(Memory.objects.values_list("text", flat=True)) == ["I live in Oslo"]


@pytest.mark.django_db(transaction=True)
def test_an_add_the_database_went_away_under_is_run_again_and_succeeds(member, embedder, settings, run_jobs):
    """An add whose writes, and then the failure it tried to store, the database's going away refused (a restart, a
    failover) failed its job for good, the retry strategy retrying the LLM's failures only: with the database back
    within seconds, the event stayed RUNNING for ever. The job runs again (WORKER_RETRY_BACKOFF_SECONDS later)."""
    settings.WORKER_RETRY_BACKOFF_SECONDS = 600  # the retry stays queued while the test looks
    event = queue_add(member, "I live in Oslo")
    refusals = ("memories_memory", "true", "INSERT"), ("events_event", "NEW.error_code = 'internal_error'", "UPDATE")
    run_through_a_restart(run_jobs, "events.run_add_event", *refusals, event_id=str(event.id))  # the event not RUNNING
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("SUCCEEDED", 2)
    assert list(Memory.objects.values_list("text", flat=True)) == ["I live in Oslo"]


@pytest.mark.django_db(transaction=True)
def test_an_add_the_database_went_away_under_on_every_run_fails_saying_so(member, embedder, settings, run_jobs):
    """A run the database's going away stopped (the connection ended: a restart, a failover) was stored as the
    server's own failure, "internal_error: The add failed on the server (OperationalError).", up to the last run's
    FAILED. It says the database was lost, and on which of the WORKER_MAX_ATTEMPTS runs."""
    settings.WORKER_RETRY_BACKOFF_SECONDS = 600  # the retry stays queued while the test looks
    settings.WORKER_MAX_ATTEMPTS = 2
    event = queue_add(member, "I live in Oslo")
    lost = "The database connection was lost while it ran (PostgreSQL restarted, failed over or ended it)"
    with refused_as_by_a_restart("memories_memory"):
        run_jobs()
        event.refresh_from_db()
        assert (event.status, event.error_code, event.attempts) == ("PENDING", "database_unavailable", 1)
        assert event.error_message == f"{lost}, on run 1 of 2 (WORKER_MAX_ATTEMPTS); nothing was stored."
        retry = ProcrastinateJob.objects.filter(task_name="events.run_add_event", status="todo")
        assert retry.update(scheduled_at=timezone.now()) == 1
        run_jobs()
    event.refresh_from_db()
    assert (event.status, event.error_code, event.attempts) == ("FAILED", "database_unavailable", 2)
    assert event.error_message == f"{lost}, on run 2 of 2 (WORKER_MAX_ATTEMPTS); nothing was stored."
    assert not ProcrastinateJob.objects.filter(task_name="events.run_add_event", status="todo").exists()
    assert not Memory.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_llm_failing_every_time_fails_the_event_after_the_last_attempt(member, llm, settings, run_jobs):
    # Long enough that the run below ends before the retry is due (it runs jobs one at a time until none is).
    settings.WORKER_RETRY_BACKOFF_SECONDS = 0.5
    settings.WORKER_MAX_ATTEMPTS = 2
    llm.chat_queue.extend([error(503, "down")] * 4)
    event = queue_add(member, "I live in Oslo", infer=True)
    while event.status not in ("SUCCEEDED", "FAILED"):
        run_jobs()
        event.refresh_from_db()
    assert (event.status, event.error_code, event.attempts) == ("FAILED", "provider_unavailable", 2)
    assert "down" in event.error_message
    assert not Memory.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_add_too_large_for_a_database_index_fails_at_once_not_retried(member, embedder, settings, run_jobs):
    """A permanent refusal by PostgreSQL (SQLSTATE 54000) is the input's fault: FAILED after one run, saying why."""
    from django.db import connection

    settings.WORKER_RETRY_BACKOFF_SECONDS = 0  # a retry would be due at once, and run by run_jobs below
    with connection.cursor() as cursor:
        cursor.execute("CREATE INDEX test_memory_text_btree ON memories_memory (text)")
    try:
        text = "".join(random.Random(3).choices(string.ascii_letters, k=4000))  # incompressible
        event = queue_add(member, text)
        run_jobs()
        event.refresh_from_db()
        assert (event.status, event.attempts, event.error_code) == ("FAILED", 1, "invalid_input")
        assert "too large" in event.error_message
        assert not Memory.objects.exists()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX test_memory_text_btree")


@pytest.mark.django_db(transaction=True)
def test_running_a_finished_event_again_changes_nothing(member, embedder, run_jobs):
    event = queue_add(member, "Owns a cat")
    run_jobs()
    event.refresh_from_db()
    assert event.status == "SUCCEEDED"

    services.event_add_run(event_id=str(event.id))  # as a job retried after its worker died past the commit

    assert Memory.objects.count() == 1
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("SUCCEEDED", 1)


@pytest.mark.django_db(transaction=True)
def test_an_add_whose_workers_kept_dying_is_failed_not_left_running(member, embedder, settings, run_jobs):
    settings.WORKER_MAX_ATTEMPTS = 3
    event = queue_add(member, "Owns a cat")
    # Three runs started and never finished (each worker killed mid-job): the stalled-job check queues it again.
    Event.objects.filter(id=event.id).update(status="RUNNING", attempts=3)

    run_jobs()

    event.refresh_from_db()
    assert (event.status, event.error_code) == ("FAILED", "too_many_attempts")
    assert "started 3 times" in event.error_message and "WORKER_MAX_ATTEMPTS" in event.error_message
    assert event.finished_at is not None
    assert not Memory.objects.exists()


# --- a queued add is read as of when it was sent ------------------------------------------------------------------


def waited_in_the_queue(event: Event, days: int):
    """As if the add had waited `days` in the queue (a backlog, stopped workers): its request came that long ago."""
    sent = timezone.now() - timedelta(days=days)
    Event.objects.filter(id=event.id).update(created_at=sent)
    return sent


@pytest.mark.django_db(transaction=True)
def test_a_queued_add_reads_yesterday_as_the_day_before_it_was_sent(member, embedder, run_jobs):
    sent = waited_in_the_queue(queue_add(member, "Yesterday I met Maya at the market"), days=3)
    run_jobs()
    memory = Memory.objects.get()
    assert memory.event_start.astimezone(UTC).date() == (sent.astimezone(UTC) - timedelta(days=1)).date()
    assert memory.event_end - memory.event_start == timedelta(days=1)


@pytest.mark.django_db(transaction=True)
def test_a_queued_inferring_add_gives_the_llm_the_day_it_was_sent(member, llm, run_jobs):
    sent = waited_in_the_queue(queue_add(member, "Yesterday I met Maya", infer=True), days=3)
    run_jobs()
    [extraction] = llm.chat_calls("extract")
    prompt = "\n".join(message["content"] for message in extraction.body["messages"])
    assert f"Today's date is {timezone.localdate(sent).isoformat()}." in prompt
    memory = Memory.objects.get()
    assert memory.event_start.astimezone(UTC).date() == (sent.astimezone(UTC) - timedelta(days=1)).date()


@pytest.mark.django_db(transaction=True)
def test_a_queued_add_of_an_account_deactivated_since_fails_without_calling_the_llm(member, make_user, llm, run_jobs):
    # A deactivated account can no longer log in or use its keys, but the adds it had queued still ran: the LLM
    # read its messages and its memories were written.
    from accounts.services import user_set_active

    admin = make_user("admin@example.com", role="admin")
    event = queue_add(member, "I live in Oslo", infer=True)
    user_set_active(actor=admin, user_id=member.pk, active=False)
    llm.reset_calls()
    run_jobs()
    event.refresh_from_db()
    assert (event.status, event.error_code) == ("FAILED", "account_deactivated")
    assert "deactivated" in event.error_message
    assert not Memory.objects.exists() and not llm.chat_calls()


@pytest.mark.django_db(transaction=True)
def test_an_add_whose_account_is_deactivated_while_the_llm_reads_it_stores_nothing(member, make_user, llm, run_jobs):
    # Past its first check the add ran on: the memories the LLM extracted were written for a deactivated account.
    from django.db import connection

    from accounts.services import user_set_active

    admin = make_user("admin@example.com", role="admin")
    event = queue_add(member, "I live in Oslo", infer=True)

    def deactivate_then_extract(messages):
        # The LLM server's own thread, while the job waits for its answer.
        try:
            user_set_active(actor=admin, user_id=member.pk, active=False)
        finally:
            connection.close()
        return ["Lives in Oslo"]

    llm.facts = deactivate_then_extract
    run_jobs()
    event.refresh_from_db()
    member.refresh_from_db()
    assert not member.is_active and llm.chat_calls("extract")
    assert (event.status, event.error_code) == ("FAILED", "account_deactivated")
    assert not Memory.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("then", ["answers", "fails for good", "fails for now"])
def test_an_add_whose_account_is_deleted_while_it_runs_ends_with_one_log_line(
    member, make_user, make_memory, llm, settings, run_jobs, caplog, then
):
    # Its event went with the account: looking for it to store the results raised Event.DoesNotExist, logged with a
    # traceback and retried later; or, after a failure of the LLM, the job ended in an error (and its traceback).
    from django.db import connection

    from accounts.models import User

    settings.WORKER_RETRY_BACKOFF_SECONDS = 0  # a retry would be due at once, and run by run_jobs below
    bob = make_user("bob@example.com")
    make_memory("Lives in Bergen", principal=member)  # stays, as every memory of a deleted account (for the admins)
    event = queue_add(member, "I live in Oslo", infer=True)
    answer = llm.answer

    def delete_the_account_then_answer(path, body, headers):
        # The LLM server's own thread, while the job waits for its first answer.
        if not llm.chat_calls():
            try:
                User.objects.filter(pk=member.pk).delete()
            finally:
                connection.close()
        return answer(path, body, headers)

    llm.answer = delete_the_account_then_answer
    llm.chat_queue.extend(
        {"fails for good": [error(404, "No such model")], "fails for now": [error(503)] * 2}.get(then, [])
    )
    with caplog.at_level(logging.INFO):
        run_jobs()
    assert llm.chat_calls("extract")
    assert not [record for record in caplog.records if record.exc_info or record.levelno >= logging.ERROR]
    said = [record for record in caplog.records if record.name == "mem0server" and str(event.id) in record.getMessage()]
    assert [(line.levelno, line.getMessage()) for line in said] == [
        (logging.INFO, f"event {event.id} stopped: its account was deleted while it ran")
    ]
    jobs = ProcrastinateJob.objects.filter(task_name="events.run_add_event", args__event_id=str(event.id))
    assert list(jobs.values_list("status", "attempts")) == [("succeeded", 1)]  # one run, not queued again
    assert list(Memory.objects.values_list("text", flat=True)) == ["Lives in Bergen"]  # nothing more stored
    # Other accounts' adds run on.
    other = queue_add(bob, "I live in Rome", infer=True)
    run_jobs()
    other.refresh_from_db()
    assert (other.status, [result["memory"] for result in other.results]) == ("SUCCEEDED", ["I live in Rome"])


@pytest.mark.django_db(transaction=True)
def test_a_reset_deletes_the_finished_adds_events_and_drops_the_queued_ones(member, member_client, run_jobs):
    # A finished add's event kept each memory's text in its results after POST /reset; a queued one, sent before the
    # reset, stored its memories after it.
    from memories.services import memories_reset

    done = queue_add(member, "Owns a cat named Juniper")
    run_jobs()
    assert "Juniper" in str(member_client.get(f"/v1/event/{done.id}/").json()["results"])
    waiting = queue_add(member, "Owns a dog")
    memories_reset()
    assert member_client.get(f"/v1/event/{done.id}/").status_code == 404
    assert member_client.get(f"/v1/event/{waiting.id}/").status_code == 404
    run_jobs()
    assert not Memory.objects.exists()
    after = queue_add(member, "Owns a parrot")
    run_jobs()
    assert member_client.get(f"/v1/event/{after.id}/").json()["status"] == "SUCCEEDED"
    assert list(Memory.objects.values_list("text", flat=True)) == ["Owns a parrot"]


@pytest.mark.django_db(transaction=True)
def test_an_add_running_when_the_memories_are_reset_stores_nothing(member, llm, run_jobs, caplog):
    from memories.services import memories_reset

    event = queue_add(member, "I live in Oslo", infer=True)

    def reset_then_extract(messages):
        # The LLM server's own thread, while the job waits for its answer.
        try:
            memories_reset()
        finally:
            connection.close()
        return ["Lives in Oslo"]

    llm.facts = reset_then_extract
    with caplog.at_level(logging.INFO):
        run_jobs()
    assert llm.chat_calls("extract") and not Memory.objects.exists() and not Event.objects.exists()
    said = [record.getMessage() for record in caplog.records if str(event.id) in record.getMessage()]
    assert f"event {event.id} stopped: it was deleted while it ran" in said
