"""The profile services called directly, in the situations the SDK tests cannot set up."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import OperationalError, connection

from events.tests.helpers import refused_as_by_a_restart
from mem0server.exceptions import Conflict
from memories.configuration import server_config_forget
from memories.tests.fake_openai import as_json, llm_configured
from profiles.models import Profile, ProfileJob
from profiles.services import job_create, job_run, profile_get, settings_update

pytestmark = pytest.mark.django_db

SCHEMA = {"type": "object", "properties": {"city": {"type": ["string", "null"], "description": "Where they live."}}}


@pytest.fixture
def alice(make_user):
    return make_user("alice@example.com")


def test_a_worker_started_before_the_llm_was_configured_uses_it(alice, make_memory):
    make_memory("Lives in Oslo", user_id="alice", principal=alice)
    settings_update(principal=alice, enabled=True, schema=SCHEMA)
    with llm_configured() as llm:
        job, _ = job_create(principal=alice, operation="trigger", entity_id="alice")
        # This process's snapshot as a job worker started before POST /configure (in a web worker) has it.
        server_config_forget()
        llm.chat_queue.append(as_json({"city": "Oslo"}))
        job_run(job_id=job.id)
    profile = Profile.objects.get(entity_id="alice")
    assert (profile.status, profile.profile, profile.error) == ("succeeded", {"city": "Oslo"}, None)


@pytest.mark.django_db(transaction=True)
def test_concurrent_reads_queue_one_generation_and_then_one_refresh(alice, make_memory):
    make_memory("Lives in Oslo", user_id="alice", principal=alice)
    settings_update(principal=alice, enabled=True, schema=SCHEMA)

    def read_together(readers: int = 6) -> set[str]:
        barrier = threading.Barrier(readers)

        def read():
            try:
                barrier.wait()
                return profile_get(principal=alice, entity_id="alice").status
            finally:
                connection.close()

        with ThreadPoolExecutor(readers) as pool:
            return set(pool.map(lambda _: read(), range(readers)))

    with llm_configured() as llm:
        assert read_together() == {"pending"}
        assert ProfileJob.objects.count() == 1
        llm.chat_queue.append(as_json({"city": "Oslo"}))
        job_run(job_id=ProfileJob.objects.get().id)
        make_memory("Moved to Bergen", user_id="alice", principal=alice)
        assert read_together() == {"succeeded"}
    assert list(ProfileJob.objects.order_by("created_at").values_list("operation", flat=True)) == ["auto", "auto"]


def concurrent_samples(alice, make_memory, requests: int, **options) -> list:
    """`requests` sample requests of alice's released at once: each one's job id, or its Conflict's detail."""
    make_memory("Lives in Oslo", user_id="alice", principal=alice)
    settings_update(principal=alice, enabled=True, schema=SCHEMA)
    barrier = threading.Barrier(requests)

    def sample():
        try:
            barrier.wait()
            return job_create(principal=alice, operation="sample", **options)[0].id
        except Conflict as exc:
            return exc.detail
        finally:
            connection.close()

    with llm_configured(), ThreadPoolExecutor(requests) as pool:
        return list(pool.map(lambda _: sample(), range(requests)))


@pytest.mark.django_db(transaction=True)
def test_concurrent_sample_requests_start_one_run_and_the_others_are_told_it_is_in_progress(alice, make_memory):
    answers = concurrent_samples(alice, make_memory, 6)
    [job] = ProfileJob.objects.all()
    assert answers.count(job.id) == 1
    assert sum("A sample run is already in progress" in str(answer) for answer in answers) == 6 - 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_sample_requests_with_one_idempotency_key_all_get_the_one_run(alice, make_memory):
    answers = concurrent_samples(alice, make_memory, 6, idempotency_key="retry-1")
    [job] = ProfileJob.objects.all()
    assert answers == [job.id] * 6  # retries of one request: its job, not "already in progress"


@pytest.mark.django_db(transaction=True)
def test_a_job_the_database_went_away_under_keeps_its_profile_for_the_next_run_and_says_why_on_the_last(
    alice, make_memory, settings
):
    """A run whose connection the database ended (a restart, a failover) while it stored a profile failed that
    profile for good, "The generation failed unexpectedly; see the server log.", and the job with it, the database
    back a moment later. The profile waits for the job's next run, and the last run says the database was lost."""
    settings.WORKER_MAX_ATTEMPTS = 2
    make_memory("Lives in Oslo", user_id="alice", principal=alice)
    settings_update(principal=alice, enabled=True, schema=SCHEMA)
    lost = "the database connection was lost while it ran (PostgreSQL restarted, failed over or ended it)"
    with llm_configured() as llm, refused_as_by_a_restart("profiles_profile", "NEW.status = 'succeeded'", on="UPDATE"):
        llm.chat_queue.extend([as_json({"city": "Oslo"})] * 2)
        job, _ = job_create(principal=alice, operation="trigger", entity_id="alice")
        with pytest.raises(OperationalError):  # the job is retried (events.tasks.ProviderBackoff)
            job_run(job_id=job.id)
        job.refresh_from_db()
        assert (job.status, job.attempts, job.failed, job.remaining) == ("pending", 1, 0, ["alice"])
        assert job.last_failure == f"{lost}, on run 1 of 2 (WORKER_MAX_ATTEMPTS)"
        assert Profile.objects.get(entity_id="alice").status == "pending"
        with pytest.raises(OperationalError):
            job_run(job_id=job.id)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.failed, job.remaining) == ("failed", 2, 1, [])
    profile = Profile.objects.get(entity_id="alice")
    assert profile.status == "failed"
    assert profile.error.startswith(f"Given up: {lost}, on run 2 of 2 (WORKER_MAX_ATTEMPTS); see the server log.")


class WorkerKilled(BaseException):
    """What a run cut off mid-generation looks like from the database: RUNNING, and nothing more ever written."""


def test_a_job_whose_worker_dies_every_time_fails_after_the_attempts_and_is_not_run_again(
    alice, make_memory, settings, monkeypatch
):
    settings.WORKER_MAX_ATTEMPTS = 2
    make_memory("Lives in Oslo", user_id="alice", principal=alice)
    settings_update(principal=alice, enabled=True, schema=SCHEMA)
    generated = []

    def killed(**kwargs):
        generated.append(kwargs["entity_id"])
        raise WorkerKilled  # e.g. the OOM killer, mid-generation

    with llm_configured():
        job, _ = job_create(principal=alice, operation="trigger", entity_id="alice")
        monkeypatch.setattr("profiles.services.profile_generate", killed)
        for _ in range(2):  # the stalled-job check queues it again after each death
            with pytest.raises(WorkerKilled):
                job_run(job_id=job.id)
        job = job_run(job_id=job.id)
    assert generated == ["alice", "alice"]  # not a third run, which would kill the next worker too
    assert (job.status, job.attempts, job.failed, job.remaining) == ("failed", 2, 1, [])
    profile = Profile.objects.get(entity_id="alice")
    assert profile.status == "failed"
    assert "started 2 times without finishing" in profile.error and "WORKER_MAX_ATTEMPTS" in profile.error
    with llm_configured():  # and a read does not queue it again, though no run read the memories
        read = profile_get(principal=alice, entity_id="alice")
    assert (read.status, read.error) == ("failed", profile.error)
    assert ProfileJob.objects.count() == 1


def test_a_generation_for_an_account_deactivated_since_fails_without_calling_the_llm(alice, make_memory, make_user):
    # It still sent the account's memories to the LLM and wrote what came back.
    from accounts.services import user_set_active

    make_memory("Lives in Oslo", user_id="alice", principal=alice)
    settings_update(principal=alice, enabled=True, schema=SCHEMA)
    with llm_configured() as llm:
        job, _ = job_create(principal=alice, operation="trigger", entity_id="alice")
        user_set_active(actor=make_user("admin@example.com", role="admin"), user_id=alice.pk, active=False)
        llm.chat_queue.append(as_json({"city": "Oslo"}))
        llm.reset_calls()
        job = job_run(job_id=job.id)
        assert not llm.chat_calls()
    assert (job.status, job.failed) == ("failed", 1)
    profile = Profile.objects.get(entity_id="alice")
    assert (profile.status, profile.profile) == ("failed", {})
    assert "deactivated" in profile.error


def test_a_reset_deletes_every_profile_with_what_the_llm_wrote_of_the_memories(alice, make_memory):
    # The profiles stayed after POST /reset (a read of one deleted it; the Profiles page listed them all).
    from memories.services import memories_reset

    make_memory("Lives in Oslo", user_id="alice", principal=alice)
    settings_update(principal=alice, enabled=True, schema=SCHEMA)
    with llm_configured() as llm:
        job, _ = job_create(principal=alice, operation="trigger", entity_id="alice")
        llm.chat_queue.append(as_json({"city": "Oslo"}))
        job_run(job_id=job.id)
    assert Profile.objects.get(entity_id="alice").profile == {"city": "Oslo"}
    memories_reset()
    assert not Profile.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_generation_running_through_a_reset_keeps_nothing_the_llm_wrote(alice, make_memory, monkeypatch):
    from exports import shaping
    from memories.services import memories_reset

    make_memory("Lives in Oslo", user_id="alice", principal=alice)
    settings_update(principal=alice, enabled=True, schema=SCHEMA)

    def reset_then_answer(**kwargs):
        memories_reset()
        return {"city": "Oslo"}

    monkeypatch.setattr(shaping, "memories_shape", reset_then_answer)
    with llm_configured():
        job, _ = job_create(principal=alice, operation="trigger", entity_id="alice")
        job_run(job_id=job.id)
    assert not Profile.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_profile_whose_account_is_deactivated_while_the_llm_writes_it_is_not_kept(
    alice, make_memory, make_user, monkeypatch
):
    # Past its first check the generation ran on, and what the LLM wrote was kept for a deactivated account.
    from accounts.services import user_set_active
    from exports import shaping

    make_memory("Lives in Oslo", user_id="alice", principal=alice)
    settings_update(principal=alice, enabled=True, schema=SCHEMA)
    admin = make_user("admin@example.com", role="admin")

    def deactivate_then_answer(**kwargs):
        user_set_active(actor=admin, user_id=alice.pk, active=False)
        return {"city": "Oslo"}

    monkeypatch.setattr(shaping, "memories_shape", deactivate_then_answer)
    make_memory("Lives in Bergen", user_id="bob", principal=alice)
    with llm_configured():
        job, _ = job_create(principal=alice, operation="sample", limit=2)
        job = job_run(job_id=job.id)
    assert (job.status, job.failed) == ("failed", 2)
    first, second = Profile.objects.order_by("updated_at")
    assert (first.status, first.profile) == ("failed", {})
    assert "deactivated while" in first.error
    # The other user's was not asked of the LLM, the account deactivated by then.
    assert (second.status, second.profile, second.generation_count) == ("failed", {}, 0)
    assert "deactivated after" in second.error


def test_a_generation_whose_account_is_deleted_while_it_runs_ends_with_one_log_line(
    alice, make_memory, make_user, monkeypatch, caplog
):
    # Its next look at its own row raised ProfileJob.DoesNotExist: a traceback in the worker's log.
    from accounts.models import User
    from exports import shaping

    bob = make_user("bob@example.com")
    make_memory("Lives in Oslo", user_id="alice", principal=alice)
    make_memory("Lives in Bergen", user_id="carol", principal=alice)
    make_memory("Lives in Rome", user_id="dave", principal=bob)
    settings_update(principal=alice, enabled=True, schema=SCHEMA)
    settings_update(principal=bob, enabled=True, schema=SCHEMA)

    def delete_the_account_then_answer(**kwargs):
        User.objects.filter(pk=alice.pk).delete()
        return {"city": "Oslo"}

    with llm_configured():
        job, _ = job_create(principal=alice, operation="sample", limit=2)
        other, _ = job_create(principal=bob, operation="trigger", entity_id="dave")
        monkeypatch.setattr(shaping, "memories_shape", delete_the_account_then_answer)
        with caplog.at_level(logging.INFO):
            assert job_run(job_id=job.id) is None
        monkeypatch.setattr(shaping, "memories_shape", lambda **kwargs: {"city": "Rome"})
        other = job_run(job_id=other.id)
    assert not [record for record in caplog.records if record.exc_info or record.levelno >= logging.ERROR]
    [line] = [record for record in caplog.records if str(job.id) in record.getMessage()]
    assert line.levelno in (logging.INFO, logging.WARNING)
    assert "its account was deleted while it ran" in line.getMessage()
    assert not ProfileJob.objects.filter(id=job.id).exists()
    assert (other.status, Profile.objects.get(entity_id="dave").profile) == ("succeeded", {"city": "Rome"})
