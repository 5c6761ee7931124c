"""The dashboard's Import page: upload a file of memories, a job imports it into the uploader's account, the page
shows how it went (own imports only). Jobs run in this process (run_jobs), on the real database."""

from __future__ import annotations

import io
import json
import re
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from accounts.models import User
from accounts.services import user_set_active
from dashboard.tests.clients import logged_in
from exports import services
from exports.backup import export_jsonl, import_jsonl, memories_for_backup
from exports.models import MemoryExport, MemoryImport
from memories import selectors
from memories import services as memories
from memories.models import Memory, MemoryHistory

pytestmark = pytest.mark.django_db(transaction=True)


def backup_of(user, make_memory) -> tuple[str, list[str]]:
    """export_memories' lines of two memories of `user` (one updated), then deleted here as on a server they left."""
    ids = [make_memory("Likes green tea", principal=user), make_memory("Lives in Lisbon", principal=user)]
    Memory.objects.filter(id=ids[0]).update(text="Likes black tea")
    out = io.StringIO()
    export_jsonl(memories=memories_for_backup(accounts=[user]), out=out)
    Memory.objects.filter(id__in=ids).delete()
    MemoryHistory.objects.filter(memory_id__in=ids).delete()
    return out.getvalue(), ids


def upload(client, text: str, name: str = "backup.jsonl", **kwargs):
    file = SimpleUploadedFile(name, text.encode() if isinstance(text, str) else text)
    return client.post("/dashboard/imports/", {"file": file}, **kwargs)


def test_a_member_uploads_a_backup_and_its_memories_arrive_in_their_account(alice, bob, make_memory, run_jobs):
    text, ids = backup_of(bob, make_memory)  # another account's backup: its lines name bob
    client = logged_in(alice)

    page = upload(client, text, follow=True).content.decode()
    assert "backup.jsonl queued" in page and "PENDING" in page
    run_jobs()
    page = client.get("/dashboard/imports/").content.decode()
    assert "SUCCEEDED" in page
    done = MemoryImport.objects.get()
    assert (done.memory_count, done.imported, done.skipped, done.history_rows, done.lines) == (2, 2, 0, 2, "")
    # In the uploader's account, whatever account the lines name, with their history.
    assert {str(i) for i in Memory.objects.filter(account=alice).values_list("id", flat=True)} == set(ids)
    assert not Memory.objects.filter(account=bob).exists()
    assert MemoryHistory.objects.filter(memory_id=ids[0], account=alice).count() == 1
    assert "Likes black tea" in client.get("/dashboard/memories/").content.decode()

    # The same file again: every memory skipped.
    upload(client, text)
    run_jobs()
    again = MemoryImport.objects.order_by("-created_at").first()
    assert (again.status, again.imported, again.skipped) == ("SUCCEEDED", 0, 2)


def test_a_backup_of_memories_another_account_holds_here_is_imported_as_copies(alice, bob, make_memory, run_jobs):
    # Alice's backup, uploaded by Bob on the server where Alice still has those memories: the page said 0 imported,
    # 2 skipped (their ids were here, Alice's), and Bob got none of them.
    ids = [make_memory("Likes green tea", principal=alice), make_memory("Lives in Lisbon", principal=alice)]
    out = io.StringIO()
    export_jsonl(memories=memories_for_backup(accounts=[alice]), out=out)
    client = logged_in(bob)

    upload(client, out.getvalue())
    run_jobs()
    done = MemoryImport.objects.get()
    assert (done.status, done.memory_count, done.imported, done.skipped, done.history_rows) == ("SUCCEEDED", 2, 2, 0, 2)
    page = client.get("/dashboard/memories/").content.decode()
    assert "Likes green tea" in page and "Lives in Lisbon" in page
    assert sorted(Memory.objects.filter(account=alice).values_list("id", flat=True)) == sorted(map(uuid.UUID, ids))

    upload(client, out.getvalue())  # the same file again: nothing twice
    run_jobs()
    again = MemoryImport.objects.order_by("-created_at").first()
    assert (again.status, again.imported, again.skipped) == ("SUCCEEDED", 0, 2)
    assert Memory.objects.filter(account=bob).count() == 2


def test_an_exports_json_downloaded_from_the_exports_page_is_imported(alice, make_memory, run_jobs):
    memory_id = make_memory("Plays the cello", principal=alice, metadata={"topic": "music"})
    client = logged_in(alice)
    client.post("/dashboard/exports/", {"user_id": "alice"})
    run_jobs()
    download = client.get(f"/dashboard/exports/{MemoryExport.objects.get().id}/download/")
    download = b"".join(download.streaming_content).decode()
    Memory.objects.all().delete()

    upload(client, download, name="memory-export.json")
    run_jobs()
    assert MemoryImport.objects.get().status == "SUCCEEDED"
    memory = Memory.objects.get(id=memory_id)
    assert (memory.text, memory.metadata, memory.account) == ("Plays the cello", {"topic": "music"}, alice)


def test_a_file_with_a_line_that_cannot_be_imported_imports_nothing_and_says_which(alice, make_memory, run_jobs):
    text, ids = backup_of(alice, make_memory)
    lines = text.splitlines()
    broken = json.loads(lines[1]) | {"created_at": "yesterday"}
    client = logged_in(alice)
    upload(client, "\n".join([lines[0], json.dumps(broken)]))
    run_jobs()
    failed = MemoryImport.objects.get()
    assert failed.status == "FAILED"
    assert "Nothing was imported: 1 problem(s)." in failed.error and "line 2: created_at:" in failed.error
    assert "line 2: created_at:" in client.get("/dashboard/imports/").content.decode()
    assert not Memory.objects.exists()


def test_a_file_nested_deeper_than_json_decodes_fails_its_import_saying_which_line(alice, run_jobs):
    # An object nested 3,000 deep: reading the file whole raised RecursionError, a 500 for the upload.
    response = upload(logged_in(alice), '{"memories": ' + "[" * 3000 + "]" * 3000 + "}")
    assert response.status_code == 302
    run_jobs()
    failed = MemoryImport.objects.get()
    assert failed.status == "FAILED" and "line 1: not JSON" in failed.error
    assert not Memory.objects.exists()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "The submitted file is empty."),
        (b"   \n", "The file is empty."),
        ("Café".encode("latin-1"), "The file is not UTF-8 text"),
        (b'{"memories": "none"}\n\n', "The file's `memories` is not a list of memories."),
        (b'{"id": "a\x00b"}\n', "The file contains the NUL character"),
    ],
)
def test_a_file_that_is_not_memories_is_a_400_saying_so_and_nothing_is_queued(alice, content, says):
    response = upload(logged_in(alice), content)
    assert response.status_code == 400
    assert escape(says) in response.content.decode()
    assert not MemoryImport.objects.exists()


def backup_of_many(user, make_memory, count: int) -> str:
    """export_memories' lines of `count` memories of `user`, then deleted here."""
    ids = [make_memory(f"Remembers fact number {n}", principal=user) for n in range(count)]
    out = io.StringIO()
    export_jsonl(memories=memories_for_backup(accounts=[user]), out=out)
    Memory.objects.filter(id__in=ids).delete()
    MemoryHistory.objects.filter(memory_id__in=ids).delete()
    return out.getvalue()


def test_a_logged_in_account_uploads_a_file_larger_than_other_requests_up_to_import_max_bytes(
    alice, make_memory, run_jobs, settings
):
    settings.MAX_REQUEST_BYTES = 2_000
    text = backup_of_many(alice, make_memory, 30)
    settings.IMPORT_MAX_BYTES = len(text) + 1_000  # the form's fields and boundaries too
    client = logged_in(alice)
    page = client.get("/dashboard/imports/").content.decode()
    assert f"Files up to {filesizeformat(settings.IMPORT_MAX_BYTES)} (<code>IMPORT_MAX_BYTES</code>)" in page

    response = upload(client, text)
    assert response.status_code == 302
    run_jobs()
    assert (MemoryImport.objects.get().status, Memory.objects.filter(account=alice).count()) == ("SUCCEEDED", 30)

    settings.IMPORT_MAX_BYTES = len(text) // 2
    response = upload(client, text)
    assert response.status_code == 413
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert f"larger than this server takes in one request: {len(text) // 2:,} bytes" in response.content.decode()
    assert "IMPORT_MAX_BYTES" in response.content.decode()
    assert "<code>manage.py import_memories</code>" in response.content.decode()
    assert '<a href="/dashboard/imports/">Back to the page</a>' in response.content.decode()
    assert MemoryImport.objects.count() == 1


def test_a_file_over_max_request_bytes_is_a_413_page_for_whoever_is_not_logged_in(alice, settings):
    # Not logged in, or a session from before the password changed, or another page: the usual limit, so nobody
    # without an account can make the server hold more than MAX_REQUEST_BYTES.
    settings.MAX_REQUEST_BYTES, settings.IMPORT_MAX_BYTES = 2_000, 1_000_000
    text = '{"id": "x"}\n' * 200
    stale = logged_in(alice)
    alice.set_password("a new passphrase")
    alice.save()
    other_page = logged_in(alice)
    imports = "/dashboard/imports/"
    for client, path in [(Client(), imports), (stale, imports), (other_page, "/dashboard/")]:
        file = SimpleUploadedFile("backup.jsonl", text.encode())
        response = client.post(path, {"file": file})
        assert response.status_code == 413, path
        assert response["Content-Type"] == "text/html; charset=utf-8"
        page = response.content.decode()
        assert "larger than this server takes in one request: 2,000 bytes" in page and "MAX_REQUEST_BYTES" in page
    assert not MemoryImport.objects.exists()


def test_a_post_without_a_file_is_a_400(alice):
    response = logged_in(alice).post("/dashboard/imports/", {})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_a_member_sees_only_their_own_imports(alice, bob):
    upload(logged_in(bob), '{"id": "x"}\n', name="bob-secret-file.jsonl")
    assert "bob-secret-file" in logged_in(bob).get("/dashboard/imports/").content.decode()
    assert "bob-secret-file" not in logged_in(alice).get("/dashboard/imports/").content.decode()


def test_an_import_of_an_account_deactivated_since_imports_nothing(alice, make_user, make_memory, run_jobs):
    text, _ = backup_of(alice, make_memory)
    upload(logged_in(alice), text)
    admin = make_user("admin@example.com", role=User.Role.ADMIN)
    user_set_active(actor=admin, user_id=alice.id, active=False)
    run_jobs()
    failed = MemoryImport.objects.get()
    assert (failed.status, failed.error) == ("FAILED", services.IMPORT_DEACTIVATED)
    assert not Memory.objects.exists()


def test_an_account_deactivated_while_an_import_batch_is_embedded_gets_none_of_that_batch(
    alice, make_user, make_memory, run_jobs, monkeypatch
):
    """Deactivated after the import had started (the admin's click while the batch's memories were embedded), the
    batch was still written, then the import stopped: memories arrived in a deactivated account, which README says
    gets nothing from its jobs once deactivated."""
    from exports import backup

    text, _ = backup_of(alice, make_memory)
    upload(logged_in(alice), text)
    admin = make_user("admin@example.com", role=User.Role.ADMIN)
    embed = backup.embed_memories

    def deactivated_meanwhile(embedder, texts):
        user_set_active(actor=admin, user_id=alice.id, active=False)
        return embed(embedder, texts)

    monkeypatch.setattr(backup, "embed_memories", deactivated_meanwhile)
    run_jobs()
    stopped = MemoryImport.objects.get()
    assert (stopped.status, stopped.error, stopped.imported) == ("FAILED", services.IMPORT_DEACTIVATED, 0)
    assert not Memory.objects.exists() and not MemoryHistory.objects.exists()


def test_a_reset_while_an_import_runs_stops_it_before_its_next_batch(
    alice, make_memory, run_jobs, settings, monkeypatch
):
    settings.EXPORT_IMPORT_BATCH = 1
    text, _ = backup_of(alice, make_memory)
    upload(logged_in(alice), text)
    checked = services.account_deactivated

    def reset_after_the_first_batch(account_id, **kwargs):
        # Called between batches (and once before the first): the first batch is written, then comes POST /reset.
        if MemoryImport.objects.filter(imported=1, status="RUNNING").exists():
            services.imports_forget()
        return checked(account_id, **kwargs)

    monkeypatch.setattr(services, "account_deactivated", reset_after_the_first_batch)
    run_jobs()
    stopped = MemoryImport.objects.get()
    assert (stopped.status, stopped.error, stopped.imported) == ("FAILED", services.IMPORT_RESET, 1)
    assert Memory.objects.count() == 1


def test_an_import_run_again_after_its_worker_died_counts_what_the_first_run_wrote_as_imported(
    alice, make_memory, run_jobs, settings
):
    """A worker killed after the first batch: the run that carries on skips what that one wrote by id. Those
    memories came from this file, so they are imported, not "skipped whose id was already here" (the page said
    1 imported, 1 skipped for a file of two new memories)."""
    settings.EXPORT_IMPORT_BATCH = 1
    text, _ = backup_of(alice, make_memory)
    upload(logged_in(alice), text)
    # What the killed run left: its first batch committed and counted, the import RUNNING, one run started.
    first = MemoryImport.objects.get()
    import_jsonl(lines=first.lines.splitlines()[:1], account=alice)
    MemoryImport.objects.update(status="RUNNING", attempts=1, imported=1)
    run_jobs()  # the stalled-job check put the job back; it runs again
    done = MemoryImport.objects.get()
    assert (done.status, done.memory_count, done.imported, done.skipped) == ("SUCCEEDED", 2, 2, 0)
    assert Memory.objects.filter(account=alice).count() == 2


def test_finished_imports_are_deleted_after_the_retention(alice):
    upload(logged_in(alice), '{"id": "x"}\n')
    MemoryImport.objects.update(status="FAILED", finished_at=timezone.now() - timedelta(days=8))
    assert services.imports_prune(older_than_days=7) == 1
    assert not MemoryImport.objects.exists()


def test_the_exports_page_backup_carries_history_to_another_account_through_the_import_page(
    alice, bob, make_memory, run_jobs
):
    """A move between two servers in a browser: Download a backup on one, upload it on the other's Import page."""
    kept = make_memory("Likes green tea", principal=bob)
    Memory.objects.filter(id=kept).update(text="Likes black tea")
    make_memory("alice's own note", principal=alice)
    page = logged_in(bob).get("/dashboard/exports/").content.decode()
    assert 'href="/dashboard/exports/backup/"' in page
    response = logged_in(bob).get("/dashboard/exports/backup/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="memories-')
    text = b"".join(response.streaming_content).decode()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["id"] for line in lines] == [str(kept)]  # bob's memories only
    assert [event["event"] for event in lines[0]["history"]] == ["ADD"]

    Memory.objects.filter(id=kept).delete()  # as on a server left behind
    MemoryHistory.objects.filter(memory_id=kept).delete()
    upload(logged_in(alice), text, name="memories.jsonl")
    run_jobs()
    moved = Memory.objects.get(id=kept)
    assert (moved.account, moved.text) == (alice, "Likes black tea")
    assert MemoryHistory.objects.filter(memory_id=kept).count() == 1


@pytest.mark.parametrize("role", [User.Role.MEMBER, User.Role.ADMIN])
def test_a_backup_uploaded_after_a_memory_was_deleted_brings_it_back_with_a_history_that_says_so(
    make_user, make_memory, run_jobs, role
):
    # The memory came back, but its history page read "added, deleted": the DELETE stayed its last event.
    owner = make_user("carol@example.com", role=role)
    gone = make_memory("Likes green tea", principal=owner)
    kept = make_memory("Lives in Lisbon", principal=owner)
    client = logged_in(owner)
    text = b"".join(client.get("/dashboard/exports/backup/").streaming_content).decode()
    memories.memory_delete(principal=owner, memory_id=gone)

    upload(client, text)
    run_jobs()

    done = MemoryImport.objects.get()
    assert (done.status, done.imported, done.skipped, done.history_rows) == ("SUCCEEDED", 1, 1, 1)
    assert Memory.objects.get(id=gone).account == owner
    history, _ = selectors.memory_history(principal=owner, memory_id=gone)
    assert [(row.event, row.new_memory) for row in history] == [
        ("ADD", "Likes green tea"),
        ("DELETE", None),
        ("ADD", "Likes green tea"),
    ]
    kept_history, _ = selectors.memory_history(principal=owner, memory_id=kept)
    assert [row.event for row in kept_history] == ["ADD"]
    page = client.get(f"/dashboard/memories/{gone}/").content.decode()
    assert re.findall(r'<li class="event-(\w+)">', page) == ["add", "delete", "add"]  # newest first


def test_a_backup_larger_than_the_dashboard_takes_says_to_use_the_command(alice, make_memory, settings):
    settings.EXPORT_MAX_MEMORIES = 1
    make_memory("one", principal=alice)
    make_memory("two", principal=alice)
    page = logged_in(alice).get("/dashboard/exports/backup/", follow=True).content.decode()
    assert "has 2 memories" in page and "export_memories --email alice@example.com" in page


def test_a_backup_carries_no_history_of_another_accounts_deleted_memory_whose_id_it_was_given(
    alice, bob, make_memory, run_jobs
):
    # Alice's memory deleted, its history kept (hers to read); Bob, knowing its id (from a backup of hers he was given),
    # imported a line of his own under that id, which was free: his backup then carried Alice's whole history of it,
    # the texts she wrote after the backup he had included.
    from memories import services as memory_services

    memory_id = make_memory("Likes green tea", principal=alice)
    memory_services.memory_update(principal=alice, memory_id=uuid.UUID(memory_id), text="Alice's door code is 4711")
    memory_services.memory_delete(principal=alice, memory_id=uuid.UUID(memory_id))
    now = timezone.now().isoformat()
    line = {"id": memory_id, "memory": "bait", "created_at": now, "updated_at": now}
    client = logged_in(bob)
    upload(client, json.dumps(line))
    run_jobs()
    assert Memory.objects.get(id=memory_id).account == bob

    backup = b"".join(client.get("/dashboard/exports/backup/").streaming_content).decode()
    [mine] = [json.loads(text) for text in backup.splitlines()]
    assert mine["history"] == []
    assert "4711" not in backup and "green tea" not in backup
    assert MemoryHistory.objects.filter(memory_id=memory_id, account=alice).count() == 3  # still hers


def test_a_backup_carries_no_memory_of_an_account_whose_email_differs_in_case_only(alice, make_memory):
    # Such a pair of accounts, which the Django admin's forms made before they stored emails in lower case: the
    # backup took every account's memories whose email matched in any case, the other account's too.
    other = User.objects.create(email="ALICE@example.com", name="Another person")
    make_memory("Alice's own note", principal=alice)
    make_memory("The other account's diary", principal=other)

    backup = b"".join(logged_in(alice).get("/dashboard/exports/backup/").streaming_content).decode()
    assert [json.loads(line)["memory"] for line in backup.splitlines()] == ["Alice's own note"]
    backup = b"".join(logged_in(other).get("/dashboard/exports/backup/").streaming_content).decode()
    assert [json.loads(line)["memory"] for line in backup.splitlines()] == ["The other account's diary"]


def test_one_file_uploaded_twice_and_imported_by_two_workers_at_once_is_written_once(
    alice, bob, make_memory, monkeypatch
):
    """Two uploads of one backup whose jobs two workers run side by side (a barrier holds each before its first
    batch, when both have checked which ids exist): each memory is written once, with its history once, and the two
    imports say so between them (one imported both, the other skipped both)."""
    import threading
    from contextlib import suppress

    from django.db import connection

    from exports import backup

    text, ids = backup_of(bob, make_memory)
    client = logged_in(alice)
    upload(client, text), upload(client, text)
    ready = threading.Barrier(2, timeout=60)
    embed = backup.embed_memories

    def embed_when_both_are_ready(*args, **kwargs):
        with suppress(threading.BrokenBarrierError):
            ready.wait()
        return embed(*args, **kwargs)

    monkeypatch.setattr(backup, "embed_memories", embed_when_both_are_ready)

    def run(import_id):
        try:
            services.import_run(import_id=import_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job.id,)) for job in MemoryImport.objects.all()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    jobs = sorted(MemoryImport.objects.values_list("status", "imported", "skipped", "history_rows"))
    assert jobs == [("SUCCEEDED", 0, 2, 0), ("SUCCEEDED", 2, 0, 2)]
    assert sorted(str(i) for i in Memory.objects.filter(account=alice).values_list("id", flat=True)) == sorted(ids)
    assert MemoryHistory.objects.filter(memory_id__in=ids).count() == 2


def test_a_backup_of_a_memory_holding_a_line_separator_character_comes_back(alice, make_memory, run_jobs):
    # A text with U+2028 (LINE SEPARATOR) or U+0085 (NEL), as pasted from a web page or a PDF: the backup's line holds
    # them unescaped inside its JSON strings. The import split the file at them too: "Nothing was imported: 5
    # problem(s). line 1: not JSON (Unterminated string ...)".
    memory_id = make_memory("Line one\u2028line two\x85line three", principal=alice)
    client = logged_in(alice)
    text = b"".join(client.get("/dashboard/exports/backup/").streaming_content).decode()
    assert len(text.split("\n")) == 2  # one line and the newline that ends it
    Memory.objects.all().delete()
    MemoryHistory.objects.all().delete()

    upload(client, text)
    run_jobs()
    done = MemoryImport.objects.get()
    assert (done.status, done.error, done.imported) == ("SUCCEEDED", "", 1)
    assert Memory.objects.get(id=memory_id).text == "Line one\u2028line two\x85line three"


def test_an_upload_holding_a_text_or_metadata_larger_than_an_add_writes_imports_nothing_and_says_which(alice, run_jobs):
    # The Import page stored what no add or update of the account could: a memory of 1,000,000 characters (an add
    # takes 100,000) and 2 MB of metadata (METADATA_MAX_BYTES: 64 KiB), each list and search answer carrying them.
    line = {
        "id": str(uuid.uuid4()),
        "memory": "A long note. " * 80_000,
        "metadata": {"blob": "x" * 2_000_000},
        "user_id": "alice",
        "created_at": "2024-01-01T00:00:00+00:00",
        "updated_at": "2024-01-01T00:00:00+00:00",
        "history": [
            {
                "id": str(uuid.uuid4()),
                "event": "ADD",
                "new_memory": "x" * 100_001,
                "created_at": "2024-01-01T00:00:00+00:00",
            }
        ],
    }
    fits = {**line, "id": str(uuid.uuid4()), "memory": "Fits", "metadata": {"topic": "x" * 60_000}, "history": []}
    client = logged_in(alice)
    upload(client, json.dumps(line) + "\n" + json.dumps(fits) + "\n")
    run_jobs()
    failed = MemoryImport.objects.get()
    assert failed.status == "FAILED"
    assert "Nothing was imported: 3 problem(s)." in failed.error
    assert "line 1: memory: 1040000 characters, more than a memory holds (100000)." in failed.error
    assert "line 1: history.0.new_memory: 100001 characters" in failed.error
    assert "line 1: metadata: metadata holds 2000011 bytes as JSON, more than a memory keeps" in failed.error
    assert "line 2" not in failed.error
    assert not Memory.objects.exists()

    upload(client, json.dumps(fits) + "\n")  # at the limits: imported
    run_jobs()
    assert MemoryImport.objects.order_by("-created_at").first().status == "SUCCEEDED"
    assert Memory.objects.get().text == "Fits"
