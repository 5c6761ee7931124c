"""Profiles through the official Python SDK (`mem0ai` MemoryClient) against a live server: the settings, a
generation asked for (generate_profile, sample_profiles) or queued by the first read (get_profile), its job
(get_profile_job), run by procrastinate's worker code in this process, with the scripted OpenAI-wire LLM."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from mem0 import AsyncMemoryClient
from mem0.exceptions import MemoryNotFoundError, ValidationError
from procrastinate.contrib.django.models import ProcrastinateJob

from exports.backup import import_jsonl
from memories.models import Memory
from memories.services import memories_reset
from memories.tests.fake_openai import as_json, error
from profiles.models import Profile, ProfileJob
from profiles.services import job_run
from profiles.tasks import prune_profile_jobs

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": ["string", "null"], "description": "Where the user lives now."},
        "diet": {"type": ["string", "null"], "description": "What the user eats or avoids."},
    },
    "required": ["city"],
}


@pytest.fixture
def alice(sdk, alice_account, make_memory):
    for text in ("Lives in Berlin", "Is vegetarian"):
        make_memory(text, user_id="alice", principal=alice_account)
    make_memory("Works at night", user_id="alice-bot", principal=alice_account)
    return sdk(alice_account)


@pytest.fixture
def bob(sdk, bob_account, make_memory):
    make_memory("Bob's secret plan", user_id="bob", principal=bob_account)
    return sdk(bob_account)


@pytest.fixture
def enabled(alice):
    return alice.update_profile_settings(enabled=True, schema=SCHEMA, custom_instructions="Cities in English.")


def test_profile_settings_are_off_until_set_and_round_trip(alice, llm_on):
    first = alice.get_profile_settings()
    assert first["enabled"] is False
    assert first["entities"] == {"user": {"schema": None, "custom_instructions": None}}
    assert first["capabilities"]["llm_configured"] is True
    assert first["capabilities"]["ready"] is False

    stored = alice.update_profile_settings(enabled=True, schema=SCHEMA, custom_instructions="Be brief.")
    assert stored["enabled"] is True
    assert stored["entities"]["user"] == {"schema": SCHEMA, "custom_instructions": "Be brief."}
    assert stored["capabilities"]["ready"] is True
    assert alice.get_profile_settings() == stored

    # Only what is passed changes; None clears.
    cleared = alice.update_profile_settings(custom_instructions=None)
    assert cleared["entities"]["user"] == {"schema": SCHEMA, "custom_instructions": None}
    assert cleared["enabled"] is True
    assert alice.update_profile_settings(enabled=False)["entities"]["user"]["schema"] == SCHEMA


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "object", "properties": {"city": {"type": "string"}}}, "'city' of the profile schema needs a"),
        ({"type": "array", "items": {}}, "top-level type must be object"),
        ({"type": "object"}, "needs `properties`"),
        ({"type": "object", "properties": {"age": {"type": "nonsense", "description": "Age."}}}, "not a valid JSON"),
        (
            {"type": "object", "properties": {"zip": {"type": "string", "pattern": "^(a+)+$", "description": "Zip."}}},
            "`pattern` .* is not supported",
        ),
    ],
)
def test_a_schema_a_profile_cannot_be_filled_into_is_refused(alice, schema, message):
    with pytest.raises(ValidationError, match=message):
        alice.update_profile_settings(enabled=True, schema=schema)
    assert alice.get_profile_settings()["entities"]["user"]["schema"] is None


@pytest.mark.parametrize("value", ["yes", "true", 1, "on", None])
def test_enabled_is_true_or_false_only(alice, value):
    """ "yes", 1 or "on" switched profile generation on (it sends the account's memories to the LLM)."""
    answer = alice.client.post("/v2/profiles/settings/", json={"enabled": value})
    assert answer.status_code == 400
    assert "enabled" in answer.json()["detail"]
    assert alice.get_profile_settings()["enabled"] is False


def test_flat_or_unknown_settings_are_refused_by_name(alice):
    answer = alice.client.post("/v2/profiles/settings/", json={"schema": SCHEMA})
    assert answer.status_code == 400
    assert "Unsupported settings: schema" in answer.json()["detail"]
    answer = alice.client.post("/v2/profiles/settings/", json={"entities": {"agent": {"schema": SCHEMA}}})
    assert answer.status_code == 400
    assert "Profiles are for users only" in answer.json()["detail"]
    answer = alice.client.post("/v2/profiles/settings/", json={"entities": {"user": {"schema": SCHEMA, "x": 1}}})
    assert answer.status_code == 400
    assert "Unsupported settings in entities.user: x" in answer.json()["detail"]
    assert alice.get_profile_settings()["entities"]["user"]["schema"] is None


def test_a_generated_profile_is_pending_until_its_job_runs_then_holds_what_the_llm_filled_in(
    alice, enabled, llm_on, run_jobs
):
    llm_on.chat_queue.append(as_json({"city": "Berlin", "diet": "vegetarian"}))
    job = alice.generate_profile("alice")
    assert job["status"] == "pending"
    assert job["operation"] == "trigger"
    assert job["entity_type"] == "user"
    assert job["entity_count_reserved"] == 1
    assert job["replayed"] is False
    assert job["status_url"] == f"/v2/profiles/jobs/{job['job_id']}/"
    assert alice.get_profile("alice")["status"] == "pending"

    run_jobs()

    profile = alice.get_profile("alice")
    assert profile["status"] == "succeeded"
    assert profile["profile"] == {"city": "Berlin", "diet": "vegetarian"}
    assert (profile["entity_type"], profile["entity_id"]) == ("user", "alice")
    assert profile["generation_count"] == 1
    assert profile["updated_at"] and profile["error"] is None
    [call] = llm_on.chat_calls()
    prompt = call.body["messages"][-1]["content"]
    assert "Lives in Berlin" in prompt and "Is vegetarian" in prompt
    assert "Works at night" not in prompt  # another user_id
    assert "Where the user lives now." in prompt  # the schema, with its descriptions
    assert "Cities in English." in call.body["messages"][0]["content"]

    done = alice.get_profile_job(job["status_url"])["job"]
    assert done["status"] == "succeeded"
    assert (done["total"], done["completed"], done["succeeded"], done["failed"], done["skipped"]) == (1, 1, 1, 0, 0)
    assert alice.get_profile_job(job["job_id"]) == {"job": done}

    # A refresh keeps the old profile while pending, then replaces it.
    llm_on.chat_queue.append(as_json({"city": "Lisbon", "diet": "vegetarian"}))
    alice.generate_profile("alice")
    pending = alice.get_profile("alice")
    assert (pending["status"], pending["profile"]["city"]) == ("pending", "Berlin")
    run_jobs()
    refreshed = alice.get_profile("alice")
    assert (refreshed["profile"]["city"], refreshed["generation_count"]) == ("Lisbon", 2)


def test_the_same_idempotency_key_answers_the_same_job_and_another_request_with_it_is_refused(
    alice, enabled, llm_on, run_jobs
):
    first = alice.generate_profile("alice", idempotency_key="retry-1")
    again = alice.generate_profile("alice", idempotency_key="retry-1")
    assert again["job_id"] == first["job_id"]
    assert (first["replayed"], again["replayed"]) == (False, True)
    with pytest.raises(ValidationError, match="already used for a different profile request"):
        alice.generate_profile("alice-bot", idempotency_key="retry-1")
    assert ProfileJob.objects.count() == 1


def test_a_non_ascii_idempotency_key_is_kept_as_sent_and_one_not_utf8_is_refused(alice, enabled, llm_on):
    key = {"Idempotency-Key": "schlüssel-1".encode()}
    jobs = "/v2/profiles/jobs/"
    first = alice.client.post(jobs, json={"operation": "trigger", "entity_id": "alice"}, headers=key)
    assert first.status_code == 202, first.text
    assert ProfileJob.objects.get().idempotency_key == "schlüssel-1"
    other = alice.client.post(jobs, json={"operation": "trigger", "entity_id": "alice-bot"}, headers=key)
    assert other.status_code == 409 and "'schlüssel-1' was already used" in other.json()["detail"]
    bad = alice.client.post(jobs, json={"operation": "sample"}, headers={"Idempotency-Key": b"\xff"})
    assert bad.status_code == 400 and "Idempotency-Key header is not valid UTF-8" in bad.text
    assert ProfileJob.objects.count() == 1


def test_a_finished_job_is_kept_the_retention_days_then_deleted_and_its_profile_kept(
    alice, enabled, llm_on, run_jobs, settings
):
    settings.PROFILE_JOB_RETENTION_DAYS = 7
    for city in ("Berlin", "Lisbon", "Rome"):
        llm_on.chat_queue.append(as_json({"city": city, "diet": None}))
    old, recent = (alice.generate_profile("alice")["job_id"] for _ in range(2))
    pending = alice.generate_profile("alice-bot")["job_id"]
    run_jobs()
    ProfileJob.objects.filter(id=pending).update(status="pending", finished_at=None)  # waiting for another run
    for job_id, days in ((old, 8), (recent, 6), (pending, 30)):
        ProfileJob.objects.filter(id=job_id).update(created_at=timezone.now() - timedelta(days=days))
    for job_id, days in ((old, 8), (recent, 6)):
        ProfileJob.objects.filter(id=job_id).update(finished_at=timezone.now() - timedelta(days=days))
    prune_profile_jobs.defer(timestamp=0)  # what the workers queue every hour
    run_jobs()
    with pytest.raises(MemoryNotFoundError, match="kept 7 days after they finish"):
        alice.get_profile_job(old)
    assert alice.get_profile_job(recent)["job"]["status"] == "succeeded"
    assert alice.get_profile_job(pending)["job"]["status"] == "pending"
    assert alice.get_profile("alice")["profile"]["city"] == "Lisbon"  # what the jobs wrote stays


def test_a_job_request_field_it_does_not_take_is_a_400_naming_it(api_client):
    # A misspelt limit ran a sample of the default size.
    body = {"operation": "sample", "entity_type": "user", "limt": 2}
    response = api_client.post("/v2/profiles/jobs/", body, format="json")
    assert response.status_code == 400 and "limt" in response.json()["detail"]


def test_a_generation_needs_profiles_on_a_schema_an_llm_and_a_known_user(alice, run_jobs):
    # Each says how, to a user of either official client (the TypeScript one's method is updateProfileSettings).
    with pytest.raises(ValidationError, match="Profiles are not enabled.*updateProfileSettings in TypeScript"):
        alice.generate_profile("alice")
    alice.update_profile_settings(enabled=True)
    with pytest.raises(ValidationError, match="have no schema.*updateProfileSettings in TypeScript"):
        alice.generate_profile("alice")
    alice.update_profile_settings(schema=SCHEMA)
    with pytest.raises(ValidationError, match="none is configured"):
        alice.generate_profile("alice")
    with pytest.raises(ValidationError, match="none is configured"):
        alice.sample_profiles()
    assert not ProfileJob.objects.exists()


def test_unknown_users_and_off_profiles_read_as_the_sdk_expects(alice, llm_on):
    with pytest.raises(MemoryNotFoundError, match="User 'carol' not found"):
        alice.get_profile("carol")
    alice.update_profile_settings(enabled=True, schema=SCHEMA)
    with pytest.raises(MemoryNotFoundError, match="User 'carol' not found"):
        alice.generate_profile("carol")
    alice.update_profile_settings(enabled=False)
    off = alice.get_profile("alice")
    assert (off["status"], off["profile"], off["generation_count"], off["updated_at"]) == ("not_enabled", {}, 0, None)
    assert "Profiles are not enabled" in off["error"]
    assert not ProfileJob.objects.exists()  # reading a profile that is off queues nothing


def test_the_first_read_of_a_never_generated_profile_queues_it(alice, enabled, llm_on, run_jobs):
    llm_on.chat_queue.append(as_json({"city": "Berlin"}))
    assert alice.get_profile("alice")["status"] == "pending"
    assert alice.get_profile("alice")["status"] == "pending"
    assert list(ProfileJob.objects.values_list("operation", flat=True)) == ["auto"]  # one job, not one per read
    run_jobs()
    assert alice.get_profile("alice")["profile"] == {"city": "Berlin"}


def test_a_read_after_new_memories_refreshes_the_profile_in_the_background(alice, enabled, llm_on, run_jobs):
    llm_on.chat_queue.extend([as_json({"city": "Berlin"}), as_json({"city": "Lisbon"})])
    alice.generate_profile("alice")
    run_jobs()
    assert alice.get_profile("alice")["profile"] == {"city": "Berlin"}
    assert ProfileJob.objects.count() == 1  # nothing new since: no refresh

    alice.add("Moved to Lisbon", user_id="alice", infer=False, async_mode=False)
    for _ in range(2):  # the old profile meanwhile, still "succeeded"; one refresh, not one per read
        current = alice.get_profile("alice")
        assert (current["status"], current["profile"], current["generation_count"]) == (
            "succeeded",
            {"city": "Berlin"},
            1,
        )
    assert list(ProfileJob.objects.order_by("created_at").values_list("operation", flat=True)) == ["trigger", "auto"]

    run_jobs()
    refreshed = alice.get_profile("alice")
    assert (refreshed["profile"], refreshed["generation_count"]) == ({"city": "Lisbon"}, 2)
    assert "Moved to Lisbon" in llm_on.chat_calls()[1].body["messages"][-1]["content"]
    assert ProfileJob.objects.count() == 2


def test_a_read_after_a_memory_was_deleted_refreshes_the_profile(alice, enabled, llm_on, run_jobs):
    llm_on.chat_queue.extend([as_json({"city": "Berlin", "diet": "vegetarian"}), as_json({"city": "Berlin"})])
    alice.generate_profile("alice")
    run_jobs()
    assert alice.get_profile("alice")["profile"] == {"city": "Berlin", "diet": "vegetarian"}

    vegetarian = Memory.objects.get(user_id="alice", text="Is vegetarian")
    alice.delete(str(vegetarian.id))
    assert alice.get_profile("alice")["profile"] == {"city": "Berlin", "diet": "vegetarian"}  # until the refresh
    assert alice.get_profile("alice")["generation_count"] == 1
    assert list(ProfileJob.objects.order_by("created_at").values_list("operation", flat=True)) == ["trigger", "auto"]

    run_jobs()
    refreshed = alice.get_profile("alice")
    assert (refreshed["profile"], refreshed["generation_count"]) == ({"city": "Berlin"}, 2)
    assert "Is vegetarian" not in llm_on.chat_calls()[1].body["messages"][-1]["content"]
    assert ProfileJob.objects.count() == 2  # and nothing new since: no further refresh


def test_a_read_after_older_memories_were_imported_refreshes_the_profile(
    alice, alice_account, enabled, llm_on, run_jobs
):
    # Memories imported from a backup or from Mem0 keep their dates, older than the last generation: a read saw
    # nothing new (no memory updated since, no fewer than it read) and kept the profile of the 2 memories before.
    llm_on.chat_queue.extend([as_json({"city": "Berlin"}), as_json({"city": "Berlin", "diet": "vegan"})])
    alice.generate_profile("alice")
    run_jobs()
    assert alice.get_profile("alice")["profile"] == {"city": "Berlin"}
    line = {
        "id": str(uuid.uuid4()),
        "memory": "Has been vegan since 2019",
        "user_id": "alice",
        "created_at": "2020-01-01T00:00:00+00:00",
        "updated_at": "2020-01-01T00:00:00+00:00",
    }
    assert import_jsonl(lines=[json.dumps(line)], account=alice_account).created == 1

    assert alice.get_profile("alice")["profile"] == {"city": "Berlin"}  # until the refresh
    assert list(ProfileJob.objects.order_by("created_at").values_list("operation", flat=True)) == ["trigger", "auto"]
    run_jobs()
    refreshed = alice.get_profile("alice")
    assert (refreshed["profile"], refreshed["generation_count"]) == ({"city": "Berlin", "diet": "vegan"}, 2)
    assert "Has been vegan since 2019" in llm_on.chat_calls()[1].body["messages"][-1]["content"]
    assert ProfileJob.objects.count() == 2  # and nothing new since: no further refresh


def test_a_sample_run_generates_the_users_whose_memories_changed_last(alice, enabled, llm_on, run_jobs, make_memory):
    llm_on.chat_queue.extend([as_json({"city": "Berlin"}), as_json({"city": None})])
    sample = alice.sample_profiles(limit=5)
    assert sample["operation"] == "sample"
    assert (sample["sampled"], sorted(sample["entity_ids"])) == (2, ["alice", "alice-bot"])
    assert sample["entity_ids"][0] == "alice-bot"  # its memory is the newest
    with pytest.raises(ValidationError, match="A sample run is already in progress"):
        alice.sample_profiles()
    run_jobs()
    job = alice.get_profile_job(sample["status_url"])["job"]
    assert (job["status"], job["succeeded"], job["completed"]) == ("succeeded", 2, 2)
    assert {alice.get_profile(user)["status"] for user in sample["entity_ids"]} == {"succeeded"}
    assert alice.sample_profiles(limit=1)["entity_ids"] == ["alice-bot"]


def test_an_answer_outside_the_schema_twice_fails_the_profile_with_the_reason(alice, enabled, llm_on, run_jobs):
    llm_on.chat_queue.extend([as_json({"diet": "vegan"}), as_json({"city": 7})])
    job = alice.generate_profile("alice")
    run_jobs()
    profile = alice.get_profile("alice")
    assert profile["status"] == "failed"
    assert "does not match the schema" in profile["error"]
    assert profile["profile"] == {}
    assert alice.get_profile_job(job["job_id"])["job"]["status"] == "failed"
    assert alice.get_profile_job(job["job_id"])["job"]["failed"] == 1


def run_until_finished(run_jobs, job_id: str) -> ProfileJob:
    """Run due jobs until the profile job finished (a retry is due a backoff after the failure)."""
    for _ in range(200):
        run_jobs()
        job = ProfileJob.objects.get(id=job_id)
        if job.status in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"profile job {job_id} did not finish: {job.status}, {job.attempts} runs")


def test_an_llm_failure_that_may_pass_is_retried_later_and_the_profile_then_written(
    alice, enabled, llm_on, run_jobs, settings
):
    settings.WORKER_RETRY_BACKOFF_SECONDS = 600  # the retry is not due while the first run_jobs runs, however slow
    # Two 500s: the LLM client's own immediate retry also fails, so this run leaves the profile for the next.
    llm_on.chat_queue.extend([error(500, "overloaded"), error(500, "overloaded"), as_json({"city": "Berlin"})])
    job = alice.generate_profile("alice")
    run_jobs()
    waiting = alice.get_profile_job(job["status_url"])["job"]
    assert (waiting["status"], waiting["completed"], waiting["attempts"]) == ("pending", 0, 1)
    assert alice.get_profile("alice")["status"] == "pending"

    # The backoff passes: the queued retry falls due now.
    retry = ProcrastinateJob.objects.filter(task_name="profiles.generate_profiles", status="todo")
    assert retry.update(scheduled_at=timezone.now()) == 1
    done = run_until_finished(run_jobs, job["job_id"])
    assert (done.status, done.attempts, done.succeeded) == ("succeeded", 2, 1)
    assert alice.get_profile("alice")["profile"] == {"city": "Berlin"}


def test_an_llm_failing_on_every_run_fails_the_profile_after_the_last(alice, enabled, llm_on, run_jobs, settings):
    settings.WORKER_RETRY_BACKOFF_SECONDS = 0.5
    settings.WORKER_MAX_ATTEMPTS = 2
    llm_on.chat_queue.extend([error(503, "down")] * 4)
    job = alice.generate_profile("alice")
    done = run_until_finished(run_jobs, job["job_id"])
    assert (done.status, done.attempts, done.failed) == ("failed", 2, 1)
    profile = alice.get_profile("alice")
    assert profile["status"] == "failed"
    assert "down" in profile["error"]


class WorkerKilled(BaseException):
    """A run cut off mid-generation (the OOM killer): RUNNING, and nothing more ever written."""


def refresh_given_up(alice, llm_on, run_jobs, monkeypatch, settings) -> None:
    """Alice's profile generated ({"city": "Berlin", "diet": "vegetarian"}), a memory deleted, and the refresh
    the next read queued given up: its worker died mid-generation on each of its WORKER_MAX_ATTEMPTS runs (the
    stalled-job check queued it again after each), and the run after them fails it without running."""
    settings.WORKER_MAX_ATTEMPTS = 2
    llm_on.chat_queue.append(as_json({"city": "Berlin", "diet": "vegetarian"}))
    alice.generate_profile("alice")
    run_jobs()
    alice.delete(str(Memory.objects.get(user_id="alice", text="Is vegetarian").id))
    assert alice.get_profile("alice")["status"] == "succeeded"
    refresh = ProfileJob.objects.get(operation="auto")

    def killed(**kwargs):
        raise WorkerKilled

    with monkeypatch.context() as patch:
        patch.setattr("exports.shaping.memories_shape", killed)
        for _ in range(2):
            with pytest.raises(WorkerKilled):
                job_run(job_id=refresh.id)
    run_jobs()  # the queued run: the third start
    refresh.refresh_from_db()
    assert (refresh.status, refresh.attempts, refresh.failed) == ("failed", 2, 1)


def test_a_profile_whose_refresh_was_given_up_is_not_refreshed_again_by_reads(
    alice, enabled, llm_on, run_jobs, monkeypatch, settings
):
    refresh_given_up(alice, llm_on, run_jobs, monkeypatch, settings)
    for _ in range(2):  # not one more job, to take down one more worker, per read
        profile = alice.get_profile("alice")
        assert ProfileJob.objects.count() == 2  # the generation and the refresh given up
        assert (profile["status"], profile["profile"], profile["generation_count"]) == (
            "succeeded",
            {"city": "Berlin", "diet": "vegetarian"},
            1,
        )
        assert "started 2 times without finishing (WORKER_MAX_ATTEMPTS)" in profile["error"]
        assert "not queued again until this user's memories change" in profile["error"]


def test_after_a_refresh_was_given_up_a_new_memory_makes_a_read_queue_one_again(
    alice, enabled, llm_on, run_jobs, monkeypatch, settings
):
    refresh_given_up(alice, llm_on, run_jobs, monkeypatch, settings)
    alice.get_profile("alice")
    assert ProfileJob.objects.count() == 2

    alice.add("Moved to Lisbon", user_id="alice", infer=False, async_mode=False)
    queued = alice.get_profile("alice")
    assert (queued["status"], queued["error"]) == ("succeeded", None)  # the old profile, and a refresh on its way
    assert list(ProfileJob.objects.order_by("created_at").values_list("operation", "status")) == [
        ("trigger", "succeeded"),
        ("auto", "failed"),
        ("auto", "pending"),
    ]
    llm_on.chat_queue.append(as_json({"city": "Lisbon"}))
    run_jobs()
    refreshed = alice.get_profile("alice")
    assert (refreshed["status"], refreshed["profile"], refreshed["error"]) == ("succeeded", {"city": "Lisbon"}, None)


def test_after_a_refresh_was_given_up_generate_profile_still_generates_it(
    alice, enabled, llm_on, run_jobs, monkeypatch, settings
):
    refresh_given_up(alice, llm_on, run_jobs, monkeypatch, settings)
    alice.get_profile("alice")
    assert ProfileJob.objects.count() == 2

    job = alice.generate_profile("alice")
    assert alice.get_profile("alice")["status"] == "pending"
    llm_on.chat_queue.append(as_json({"city": "Berlin"}))
    run_jobs()
    assert alice.get_profile_job(job["status_url"])["job"]["status"] == "succeeded"
    profile = alice.get_profile("alice")
    assert (profile["status"], profile["profile"], profile["generation_count"], profile["error"]) == (
        "succeeded",
        {"city": "Berlin"},
        2,
        None,
    )
    assert ProfileJob.objects.count() == 3  # and no refresh after it: nothing changed since


def test_a_refresh_that_failed_for_good_is_not_queued_again_by_reads(alice, enabled, llm_on, run_jobs):
    """A memory deleted makes the next read queue a refresh; when that refresh fails for a lasting reason (answers
    outside the schema), later reads queue nothing more (each would be one more failing LLM call) until the
    user's memories change again."""
    llm_on.chat_queue.append(as_json({"city": "Berlin", "diet": "vegetarian"}))
    alice.generate_profile("alice")
    run_jobs()
    alice.delete(str(Memory.objects.get(user_id="alice", text="Is vegetarian").id))
    alice.get_profile("alice")  # queues the refresh
    llm_on.chat_queue.extend([as_json({"diet": "vegan"}), as_json({"city": 7})])
    run_jobs()
    for _ in range(2):
        profile = alice.get_profile("alice")
        assert profile["status"] == "failed"
        assert "does not match the schema" in profile["error"]
        assert ProfileJob.objects.count() == 2  # the generation and the failed refresh, nothing more queued
    run_jobs()
    assert len(llm_on.chat_calls()) == 3

    alice.add("Moved to Lisbon", user_id="alice", infer=False, async_mode=False)
    alice.get_profile("alice")
    assert ProfileJob.objects.count() == 3


def test_a_user_whose_memories_expired_before_the_job_ran_has_insufficient_data(alice, enabled, llm_on, run_jobs):
    job = alice.generate_profile("alice")
    Memory.objects.filter(user_id="alice").update(expiration_date=timezone.localdate() - timedelta(days=1))
    run_jobs()
    profile = alice.get_profile("alice")
    assert profile["status"] == "insufficient_data"
    finished = alice.get_profile_job(job["job_id"])["job"]
    assert (finished["status"], finished["skipped"]) == ("succeeded", 1)
    assert llm_on.chat_calls() == []


def test_deleting_a_user_deletes_its_profile(alice, enabled, llm_on, run_jobs):
    llm_on.chat_queue.extend([as_json({"city": "Berlin"}), as_json({"city": None})])
    alice.sample_profiles()
    run_jobs()
    assert Profile.objects.filter(status="succeeded").count() == 2
    alice.delete_users(user_id="alice")
    assert list(Profile.objects.values_list("entity_id", flat=True)) == ["alice-bot"]
    with pytest.raises(MemoryNotFoundError):
        alice.get_profile("alice")
    alice.delete_all(user_id="alice-bot")
    assert not Profile.objects.exists()


def test_a_profile_whose_memories_went_without_a_delete_is_gone_when_read(alice, enabled, llm_on, run_jobs):
    llm_on.chat_queue.append(as_json({"city": "Berlin"}))
    alice.generate_profile("alice")
    run_jobs()
    memories_reset()  # POST /reset: TRUNCATE, no history rows and no change signal
    with pytest.raises(MemoryNotFoundError):
        alice.get_profile("alice")
    assert not Profile.objects.exists()


def test_accounts_see_only_their_own_profiles_jobs_and_settings(alice, bob, enabled, llm_on, run_jobs):
    llm_on.chat_queue.append(as_json({"city": "Berlin"}))
    job = alice.generate_profile("alice")
    run_jobs()
    assert bob.get_profile_settings()["enabled"] is False
    with pytest.raises(MemoryNotFoundError):
        bob.get_profile_job(job["job_id"])
    with pytest.raises(MemoryNotFoundError):
        bob.get_profile("alice")  # Bob has no memory of an "alice"
    bob.update_profile_settings(enabled=True, schema=SCHEMA)
    assert bob.sample_profiles()["entity_ids"] == ["bob"]
    assert Profile.objects.get(entity_id="alice").account.email == "alice@example.com"


def test_a_bad_job_request_says_what_is_wrong(alice, enabled):
    for body, message in [
        ({"operation": "trigger", "entity_type": "user"}, "A trigger needs the user's entity_id"),
        ({"operation": "rebuild", "entity_type": "user"}, "is not a valid choice"),
        ({"operation": "trigger", "entity_type": "agent", "entity_id": "x"}, "is not a valid choice"),
        ({"operation": "sample", "limit": 11}, "less than or equal to 10"),
        ({"operation": "sample", "entity_id": "alice"}, "picks its users"),
    ]:
        answer = alice.client.post("/v2/profiles/jobs/", json=body)
        assert answer.status_code == 400, body
        assert message in answer.text, body
    answer = alice.client.get("/v2/profiles/jobs/nope/")
    assert answer.status_code == 404
    too_long = {"Idempotency-Key": "k" * 300}
    answer = alice.client.post("/v2/profiles/jobs/", json={"operation": "sample"}, headers=too_long)
    assert answer.status_code == 400 and "255" in answer.text
    assert not ProfileJob.objects.exists()


def test_the_async_client_reads_and_generates_profiles(server, sdk_key, alice_account, make_memory, llm_on, run_jobs):
    make_memory("Drinks oat milk", user_id="alice", principal=alice_account)
    key = sdk_key(alice_account)
    llm_on.chat_queue.append(as_json({"city": None, "diet": "oat milk"}))

    async def start():
        async with AsyncMemoryClient(api_key=key, host=server) as client:
            await client.update_profile_settings(enabled=True, schema=SCHEMA)
            return await client.generate_profile("alice")

    async def read(status_url):
        async with AsyncMemoryClient(api_key=key, host=server) as client:
            return await client.get_profile("alice"), await client.get_profile_job(status_url)

    job = asyncio.run(start())
    run_jobs()
    profile, status = asyncio.run(read(job["status_url"]))
    assert profile["profile"] == {"city": None, "diet": "oat milk"}
    assert status["job"]["status"] == "succeeded"
