"""The export services and selectors called directly: the job's limits, idempotence and ownership."""

from __future__ import annotations

import json
import logging
import tracemalloc

import pytest
from django.db import DataError
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from accounts.models import User
from conftest import ADMIN
from events.tests.helpers import refused_as_by_a_restart, run_through_a_restart
from exports import selectors
from exports.models import MemoryExport
from exports.services import COPY_BYTES, export_create, export_run
from mem0server.exceptions import NotFound
from memories.configuration import server_config_forget
from memories.models import Memory
from memories.serializers import MemorySerializer
from memories.tests.fake_openai import as_json, llm_configured

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    return make_user("alice@example.com")


@pytest.fixture
def llm():
    with llm_configured() as fake:
        yield fake


def test_creating_an_export_queues_one_job_with_its_id(alice):
    export = export_create(principal=alice, filters={"user_id": "alice"})
    # Other tests' committed jobs stay (procrastinate's tables are not flushed): only this export's count.
    [job] = ProcrastinateJob.objects.filter(task_name="exports.export_memories", args__export_id=str(export.id))
    assert job.args == {"export_id": str(export.id)}
    assert (export.status, export.scope, export.schema) == ("PENDING", {"user_id": "alice"}, None)


def test_the_export_reads_the_newest_memories_up_to_the_limit_and_says_it_was_cut(alice, make_memory, settings):
    settings.EXPORT_MAX_MEMORIES = 2
    for text in ("first", "second", "third"):
        make_memory(text, principal=alice)
    export = export_run(export_id=export_create(principal=alice, filters={}).id)
    assert export.status == MemoryExport.Status.SUCCEEDED
    assert [m["memory"] for m in export.result["memories"]] == ["third", "second"]
    assert (export.result["count"], export.result["truncated"], export.memory_count) == (2, True, 2)


def test_the_export_reads_the_newest_memories_up_to_the_text_limit_and_says_it_was_cut(alice, make_memory, settings):
    """An account of long memories (up to 200,000 characters each) made one export read up to EXPORT_MAX_MEMORIES of
    them whole: gigabytes in a worker."""
    settings.EXPORT_MAX_TEXT_BYTES = 25
    for text in ("first: ten", "second: é é", "third: 10"):  # 10, 13 (two 2-byte letters) and 9 bytes
        make_memory(text, principal=alice)
    export = export_run(export_id=export_create(principal=alice, filters={}).id)
    assert [m["memory"] for m in export.result["memories"]] == ["third: 10", "second: é é"]
    assert (export.result["count"], export.result["truncated"], export.memory_count) == (2, True, 2)
    settings.EXPORT_MAX_TEXT_BYTES = 1  # the newest memory is read whatever its size
    export = export_run(export_id=export_create(principal=alice, filters={}).id)
    assert [m["memory"] for m in export.result["memories"]] == ["third: 10"]
    assert export.result["truncated"] is True


def _many_memories(account, count: int) -> None:
    """`count` memories of 2,000 characters, stored as they are (no embedder), and a first export run: what it
    loads (modules, the configuration) is not what a later run holds."""
    text = "likes oolong tea, café au lait, 東京 " * 55 + "\u2028"
    Memory.objects.bulk_create(
        Memory(account=account, text=f"memory {i}: {text}", hash=f"{i:032x}", metadata={"n": i}, embedding=[0.0] * 384)
        for i in range(count)
    )
    export_run(export_id=export_create(principal=account, filters={"user_id": "nobody"}).id)


def _peak_memory_of_the_job(export_id) -> int:
    tracemalloc.start()
    try:
        export_run(export_id=export_id)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_large_export_is_written_a_memory_at_a_time_not_held_whole(alice):
    # Every memory read first, then all their JSON, then the JSON text of it all as the statement's parameter: a
    # 65 MB export of 10,000 memories raised the job's peak memory by 285-365 MiB (bench/export_build.py), and here
    # 3,000 memories of 2,000 characters (9.5 MB of JSON) took 40.1 MB of Python's memory at the job's peak; 1.4 MB now.
    _many_memories(alice, 3_000)
    export = export_create(principal=alice, filters={})

    peak = _peak_memory_of_the_job(export.id)

    export.refresh_from_db()
    assert export.status == MemoryExport.Status.SUCCEEDED
    memories = export.result["memories"]
    assert (len(memories), export.result["count"], export.result["truncated"]) == (3_000, 3_000, False)
    assert memories[0] == MemorySerializer(Memory.objects.order_by("-created_at", "-id").first()).data
    size = len(json.dumps(export.result).encode())
    one_memory = len(json.dumps(memories[0]).encode())
    # A few memories' worth, whatever the export's size: a chunk of rows (100) held as Python objects, with the JSON of
    # one, and a piece of the file (COPY_BYTES) on its way to PostgreSQL.
    bound = 8 * 100 * one_memory + 3 * COPY_BYTES
    assert bound < size / 2
    assert peak < bound, (peak, one_memory, size)


def test_an_export_shaped_by_the_llm_reads_only_the_memories_the_llm_sees(alice, llm, settings):
    # It read every memory within the limits (here 3,000: 15.5 MB of Python's memory at the job's peak, 0.2 MB now) and
    # showed the LLM the newest EXPORT_LLM_MAX_MEMORIES of them.
    settings.EXPORT_LLM_MAX_MEMORIES = 2
    _many_memories(alice, 3_000)
    llm.chat_queue.extend([as_json({}), as_json({"likes": ["tea"]})])
    export_run(export_id=export_create(principal=alice, filters={"user_id": "nobody"}, schema={"type": "object"}).id)
    export = export_create(principal=alice, filters={}, schema={"type": "object"})

    peak = _peak_memory_of_the_job(export.id)

    export.refresh_from_db()
    assert (export.status, export.result, export.memory_count) == ("SUCCEEDED", {"likes": ["tea"]}, 2)
    prompt = llm.chat_calls()[1].body["messages"][-1]["content"]
    assert "memory 2999: " in prompt and "memory 2998: " in prompt and "memory 2997: " not in prompt
    one_memory = len(Memory.objects.first().text.encode())
    assert peak < 100 * one_memory, (peak, one_memory)


def test_an_export_that_fails_halfway_through_writing_keeps_nothing(alice, make_memory, monkeypatch):
    for text in ("first", "second", "third"):
        make_memory(text, principal=alice)
    written = MemorySerializer.to_representation

    def fails_at_the_second(serializer, memory):
        if memory.text == "second":
            raise RuntimeError("the disk is full")
        return written(serializer, memory)

    monkeypatch.setattr(MemorySerializer, "to_representation", fails_at_the_second)
    export = export_create(principal=alice, filters={})
    with pytest.raises(RuntimeError, match="the disk is full"):
        export_run(export_id=export.id)
    export.refresh_from_db()
    assert (export.status, export.result, export.memory_count) == ("FAILED", None, None)
    assert export.error == "The export failed unexpectedly; see the server log."


def test_an_export_whose_data_the_database_refuses_fails_rather_than_running_for_ever(alice, make_memory, monkeypatch):
    # An error while storing the data (here PostgreSQL refusing a NaN; a statement timeout, a lost connection) left the
    # export RUNNING for ever: get_memory_export answered 202 "RUNNING" to every poll, and no job ran it again.
    make_memory("a fact", principal=alice)
    written = MemorySerializer.to_representation
    monkeypatch.setattr(MemorySerializer, "to_representation", lambda *args: written(*args) | {"score": float("nan")})
    export = export_create(principal=alice, filters={})
    with pytest.raises(DataError):
        export_run(export_id=export.id)
    export.refresh_from_db()
    assert (export.status, export.result, export.memory_count) == ("FAILED", None, None)
    assert export.error == "The export failed unexpectedly; see the server log."


@pytest.mark.django_db(transaction=True)
def test_an_export_the_database_went_away_under_is_run_again_not_left_running(alice, make_memory, settings, run_jobs):
    """An export whose data, and then its failure, the database's going away refused to store (a restart, a
    failover) failed its job for good, with no retry: with the database back within seconds, the export stayed
    RUNNING for ever (get_memory_export answered 202 to every poll). The job runs again."""
    settings.WORKER_RETRY_BACKOFF_SECONDS = 600  # the retry stays queued while the test looks
    make_memory("a fact", principal=alice)
    export = export_create(principal=alice, filters={})
    refused = ("exports_memoryexport", "NEW.status IN ('SUCCEEDED', 'FAILED')", "UPDATE")
    run_through_a_restart(run_jobs, "exports.export_memories", refused, export_id=str(export.id))  # not left RUNNING
    export.refresh_from_db()
    assert (export.status, export.memory_count, export.attempts) == ("SUCCEEDED", 1, 2)


@pytest.mark.django_db(transaction=True)
def test_an_import_the_database_went_away_under_is_run_again_not_left_running(alice, make_memory, settings, run_jobs):
    """As an export's: an import whose end, and then its failure, the database's going away refused to store stayed
    RUNNING for ever. The job runs again, skipping what the first run wrote."""
    import io

    from exports import services
    from exports.backup import export_jsonl, memories_for_backup
    from exports.models import MemoryImport

    settings.WORKER_RETRY_BACKOFF_SECONDS = 600  # the retry stays queued while the test looks
    ids = [make_memory("Likes green tea", principal=alice), make_memory("Lives in Lisbon", principal=alice)]
    out = io.StringIO()
    export_jsonl(memories=memories_for_backup(accounts=[alice]), out=out)
    Memory.objects.filter(id__in=ids).delete()
    job = services.import_create(account=alice, file_name="backup.jsonl", text=out.getvalue())
    refused = ("exports_memoryimport", "NEW.status IN ('SUCCEEDED', 'FAILED')", "UPDATE")
    run_through_a_restart(run_jobs, "exports.import_memories", refused, import_id=str(job.id))  # not left RUNNING
    job = MemoryImport.objects.get(id=job.id)
    assert (job.status, job.imported, job.attempts) == ("SUCCEEDED", 2, 2)
    assert sorted(Memory.objects.filter(account=alice).values_list("text", flat=True)) == [
        "Likes green tea",
        "Lives in Lisbon",
    ]


LOST = "the database connection was lost while it ran (PostgreSQL restarted, failed over or ended it)"


@pytest.mark.django_db(transaction=True)
def test_an_export_the_database_went_away_under_waits_for_its_next_run_and_says_why_on_its_last(
    alice, make_memory, settings, run_jobs
):
    """A run whose connection the database ended (a restart, a failover) while it stored the data failed the export
    for good, "The export failed unexpectedly; see the server log.", with the database back a moment later. It is
    run again, and when its runs are used up it says the database was lost."""
    settings.WORKER_RETRY_BACKOFF_SECONDS = 600  # the retry stays queued while the test looks
    settings.WORKER_MAX_ATTEMPTS = 3
    make_memory("a fact", principal=alice)
    export = export_create(principal=alice, filters={})
    with refused_as_by_a_restart("exports_memoryexport", "NEW.status = 'SUCCEEDED'", on="UPDATE"):
        run_jobs()
    export.refresh_from_db()
    assert (export.status, export.attempts, export.error) == (
        "PENDING",
        1,
        f"{LOST}, on run 1 of 3 (WORKER_MAX_ATTEMPTS)",
    )
    job = ProcrastinateJob.objects.filter(task_name="exports.export_memories", args__export_id=str(export.id))
    assert job.values_list("status", flat=True).get() == "todo"
    # Its next two runs died with their workers (the stalled-job check queues it again).
    MemoryExport.objects.filter(id=export.id).update(status="RUNNING", attempts=3)
    export = export_run(export_id=export.id)
    assert export.status == MemoryExport.Status.FAILED
    assert export.error == (
        "The export was started 3 times without finishing (WORKER_MAX_ATTEMPTS). Last failure: "
        f"{LOST}, on run 1 of 3 (WORKER_MAX_ATTEMPTS); see the server log."
    )
    job.delete()


@pytest.mark.django_db(transaction=True)
def test_an_import_the_database_went_away_under_on_its_last_run_fails_saying_so(alice, make_memory, settings, run_jobs):
    """As an export's: the import failed for good at once, "The import failed unexpectedly; see the server log."."""
    import io

    from exports import services
    from exports.backup import export_jsonl, memories_for_backup
    from exports.models import MemoryImport

    settings.WORKER_RETRY_BACKOFF_SECONDS = 600  # the retry stays queued while the test looks
    settings.WORKER_MAX_ATTEMPTS = 2
    make_memory("Likes green tea", principal=alice)
    out = io.StringIO()
    export_jsonl(memories=memories_for_backup(accounts=[alice]), out=out)
    Memory.objects.all().delete()
    job = services.import_create(account=alice, file_name="backup.jsonl", text=out.getvalue())
    retry = ProcrastinateJob.objects.filter(task_name="exports.import_memories", args__import_id=str(job.id))
    with refused_as_by_a_restart("exports_memoryimport", "NEW.status = 'SUCCEEDED'", on="UPDATE"):
        run_jobs()
        job = MemoryImport.objects.get(id=job.id)
        assert (job.status, job.attempts, job.error) == ("PENDING", 1, f"{LOST}, on run 1 of 2 (WORKER_MAX_ATTEMPTS)")
        assert retry.update(scheduled_at=timezone.now()) == 1
        run_jobs()
    job = MemoryImport.objects.get(id=job.id)
    assert (job.status, job.attempts, job.lines) == ("FAILED", 2, "")
    assert job.error == f"Given up: {LOST}, on run 2 of 2 (WORKER_MAX_ATTEMPTS); see the server log."
    assert retry.values_list("status", flat=True).get() == "failed"  # not run again


def test_running_a_finished_export_again_changes_nothing(alice, make_memory):
    make_memory("kept", principal=alice)
    export = export_run(export_id=export_create(principal=alice, filters={}).id)
    make_memory("added later", principal=alice)
    again = export_run(export_id=export.id)
    assert again.result == export.result
    assert again.finished_at == export.finished_at
    assert export_run(export_id=MemoryExport().id) is None  # an unknown id (a deleted account's export)


def test_the_llm_sees_at_most_the_llm_limit_of_memories(alice, make_memory, llm, settings):
    settings.EXPORT_LLM_MAX_MEMORIES = 1
    make_memory("old fact", principal=alice)
    make_memory("new fact", principal=alice)
    llm.chat_queue.append(as_json({"facts": ["new fact"]}))
    export = export_run(export_id=export_create(principal=alice, filters={}, schema={"type": "object"}).id)
    assert export.result == {"facts": ["new fact"]}
    prompt = llm.chat_calls()[0].body["messages"][-1]["content"]
    assert "new fact" in prompt and "old fact" not in prompt


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ({"type": "object", "properties": {"a": {"$ref": "https://example.com/a.json"}}}, "cannot be resolved"),
        ({"type": "object", "properties": {"a": {"type": "string", "pattern": "^(a+)+$"}}}, "`pattern`"),
    ],
)
def test_a_stored_schema_that_is_refused_now_fails_the_export_with_the_reason(alice, make_memory, llm, schema, reason):
    """Schemas stored before schema_check refused them (an older version) are checked again when used."""
    make_memory("a fact", principal=alice)
    # An answer the pattern rejects at once: without the check, this test fails rather than hangs.
    llm.chat_queue.extend([as_json({"a": "b"}), as_json({"a": "b"})])
    export = export_create(principal=alice, filters={}, schema={"type": "object"})
    MemoryExport.objects.filter(id=export.id).update(schema=schema)
    export = export_run(export_id=export.id)
    assert export.status == MemoryExport.Status.FAILED
    assert export.error.startswith("The schema cannot be used: ")
    assert reason in export.error


def test_the_admin_keys_exports_are_its_own_and_cover_every_memory(alice, make_memory):
    make_memory("alice's", principal=alice)
    make_memory("the admin's", principal=ADMIN)
    admins = export_run(export_id=export_create(principal=ADMIN, filters={}).id)
    assert admins.account is None
    assert sorted(m["memory"] for m in admins.result["memories"]) == ["alice's", "the admin's"]
    with pytest.raises(NotFound):
        selectors.export_get(principal=alice, export_id=str(admins.id))
    with pytest.raises(NotFound):
        selectors.export_latest(principal=alice, filters={})
    assert selectors.export_latest(principal=ADMIN, filters={}) == admins


def test_an_llm_answer_that_is_not_an_object_is_asked_again(alice, make_memory, llm):
    make_memory("a fact", principal=alice)
    llm.chat_queue.extend([as_json(["a fact"]), as_json({"facts": ["a fact"]})])
    schema = {"properties": {"facts": {"type": "array"}}}  # no top-level type: a list would validate
    export = export_run(export_id=export_create(principal=alice, filters={}, schema=schema).id)
    assert export.result == {"facts": ["a fact"]}
    assert "must be a JSON object, not list" in llm.chat_calls()[1].body["messages"][-1]["content"]


def test_a_worker_started_before_the_llm_was_configured_uses_it(alice, make_memory, llm):
    make_memory("Lives in Oslo", principal=alice)
    export = export_create(principal=alice, filters={}, schema={"type": "object"})
    # This process's snapshot as a job worker started before POST /configure (in a web worker) has it.
    server_config_forget()
    llm.chat_queue.append(as_json({"city": "Oslo"}))
    assert export_run(export_id=export.id).result == {"city": "Oslo"}


class WorkerKilled(BaseException):
    """What a run cut off mid-export looks like from the database: RUNNING, and nothing more ever written."""


def test_an_export_whose_worker_dies_every_time_fails_after_the_attempts_and_is_not_run_again(
    alice, make_memory, settings, monkeypatch
):
    settings.WORKER_MAX_ATTEMPTS = 3
    make_memory("a fact", principal=alice)
    export = export_create(principal=alice, filters={})
    produced = []

    def killed(export):
        produced.append(export.id)
        raise WorkerKilled  # e.g. the OOM killer, mid-export

    monkeypatch.setattr("exports.services._produce", killed)
    for _ in range(3):  # the stalled-job check queues it again after each death
        with pytest.raises(WorkerKilled):
            export_run(export_id=export.id)
    export = export_run(export_id=export.id)
    assert len(produced) == 3  # not a fourth run, which would kill the next worker too
    assert export.status == MemoryExport.Status.FAILED
    assert "started 3 times without finishing" in export.error and "WORKER_MAX_ATTEMPTS" in export.error
    assert selectors.export_get(principal=alice, export_id=str(export.id)).status == MemoryExport.Status.FAILED


def test_an_export_of_an_account_deactivated_since_it_was_asked_for_fails_and_holds_no_memory(
    alice, make_memory, make_user
):
    # The export still ran for a deactivated account: its memories were written out, ready for any later reader.
    from accounts.services import user_set_active

    make_memory("alice's secret", principal=alice)
    export = export_create(principal=alice, filters={})
    user_set_active(actor=make_user("admin@example.com", role="admin"), user_id=alice.pk, active=False)
    export = export_run(export_id=export.id)
    assert (export.status, export.result, export.memory_count) == ("FAILED", None, None)
    assert "deactivated" in export.error


def test_a_reset_deletes_the_finished_exports_and_one_running_through_it_keeps_no_memory(
    alice, make_memory, monkeypatch
):
    # A finished export's download held every memory it read after POST /reset, and one reading when the reset came
    # wrote them all out after it.
    from exports import services
    from memories.services import memories_reset

    make_memory("Likes chess", principal=alice)
    done = export_run(export_id=export_create(principal=alice, filters={}).id)
    queued = export_create(principal=alice, filters={})
    produce = services._produce

    def reset_after_reading(export):
        produced = produce(export)
        memories_reset()
        return produced

    monkeypatch.setattr(services, "_produce", reset_after_reading)
    running = export_run(export_id=queued.id)
    assert not MemoryExport.objects.filter(id=done.id).exists()
    running.refresh_from_db()
    assert (running.status, running.result, running.memory_count) == ("FAILED", None, None)
    assert "reset" in running.error


def test_an_export_whose_account_is_deactivated_while_it_reads_keeps_no_memory(
    alice, make_memory, make_user, monkeypatch
):
    # Past its first check the export ran on, and what it had read was kept for a deactivated account.
    from accounts.services import user_set_active
    from exports import services

    make_memory("alice's secret", principal=alice)
    admin = make_user("admin@example.com", role="admin")
    produce = services._produce

    def deactivate_after_reading(export):
        produced = produce(export)
        user_set_active(actor=admin, user_id=alice.pk, active=False)
        return produced

    monkeypatch.setattr(services, "_produce", deactivate_after_reading)
    export = export_run(export_id=export_create(principal=alice, filters={}).id)
    assert (export.status, export.result, export.memory_count) == ("FAILED", None, None)
    assert "deactivated" in export.error


def said_once_that_the_account_was_deleted(caplog, job_id) -> None:
    """What the worker's log shows of a job whose account was deleted while it ran: one line, no traceback."""
    assert not [record for record in caplog.records if record.exc_info or record.levelno >= logging.ERROR]
    [line] = [record for record in caplog.records if str(job_id) in record.getMessage()]
    assert line.levelno in (logging.INFO, logging.WARNING)
    assert "its account was deleted while it ran" in line.getMessage()


@pytest.mark.parametrize("then", ["read", "failed"])
def test_an_export_whose_account_is_deleted_while_it_runs_ends_with_one_log_line(
    alice, make_user, make_memory, monkeypatch, caplog, then
):
    # Its last write found no row: "Save with update_fields did not affect any rows." and a traceback (after a failure
    # of the LLM, say), or nothing said at all (after a read).
    from exports import services

    bob = make_user("bob@example.com")
    make_memory("alice's secret", principal=alice)
    make_memory("bob's note", principal=bob)
    produce = services._produce

    def delete_the_account_meanwhile(export):
        produced = produce(export)
        User.objects.filter(pk=alice.pk).delete()
        if then == "failed":
            raise services.ExportFailed("The LLM did not answer.")
        return produced

    monkeypatch.setattr(services, "_produce", delete_the_account_meanwhile)
    export = export_create(principal=alice, filters={})
    with caplog.at_level(logging.INFO):
        assert export_run(export_id=export.id) is None
    said_once_that_the_account_was_deleted(caplog, export.id)
    assert not MemoryExport.objects.filter(id=export.id).exists()
    monkeypatch.setattr(services, "_produce", produce)
    other = export_run(export_id=export_create(principal=bob, filters={}).id)
    assert (other.status, [m["memory"] for m in other.result["memories"]]) == ("SUCCEEDED", ["bob's note"])


def test_an_import_whose_account_is_deleted_between_batches_ends_with_one_log_line(
    alice, make_user, make_memory, monkeypatch, caplog, settings
):
    # It stopped before its next batch, then found no row to say so in: MemoryImport.DoesNotExist and a traceback.
    import io

    from exports import services
    from exports.backup import export_jsonl, memories_for_backup
    from exports.models import MemoryImport
    from memories.models import Memory, MemoryHistory

    settings.EXPORT_IMPORT_BATCH = 1
    bob = make_user("bob@example.com")
    ids = [make_memory("Likes green tea", principal=alice), make_memory("Lives in Lisbon", principal=alice)]
    out = io.StringIO()
    export_jsonl(memories=memories_for_backup(accounts=[alice]), out=out)
    Memory.objects.filter(id__in=ids).delete()
    MemoryHistory.objects.filter(memory_id__in=ids).delete()
    kept = make_memory("bob's note", principal=bob)
    job = services.import_create(account=alice, file_name="backup.jsonl", text=out.getvalue())
    checked = services.account_deactivated

    def delete_after_the_first_batch(account_id, **kwargs):
        if MemoryImport.objects.filter(id=job.id, imported=1).exists():
            User.objects.filter(pk=alice.pk).delete()
        return checked(account_id, **kwargs)

    monkeypatch.setattr(services, "account_deactivated", delete_after_the_first_batch)
    with caplog.at_level(logging.INFO):
        assert services.import_run(import_id=job.id) is None
    said_once_that_the_account_was_deleted(caplog, job.id)
    assert not MemoryImport.objects.exists()
    assert [str(memory_id) for memory_id in Memory.objects.filter(account=bob).values_list("id", flat=True)] == [kept]
    # Its first batch stays, for the admins, as every memory of a deleted account; the next was not written.
    assert [str(m) for m in Memory.objects.filter(account__isnull=True).values_list("id", flat=True)] == ids[:1]
