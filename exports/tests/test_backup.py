"""manage.py export_memories / import_memories: JSON lines for backups and moves between servers."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import threading
import time
import tracemalloc
import uuid
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import User
from conftest import ADMIN
from exports import backup
from memories import selectors, services
from memories.configuration import server_config_forget
from memories.models import Memory, MemoryHistory, ServerConfig
from memories.tests.fake_openai import FakeOpenAI
from memories.tests.test_configure import openai_embedder

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    return make_user("alice@example.com", name="Alice")


@pytest.fixture
def stored(make_memory, alice):
    """Alice's memories (one updated, so with two history rows), and one written with the admin key."""
    ids = {
        "berlin": make_memory("Lives in Berlin", principal=alice, metadata={"topic": "home"}),
        "tea": make_memory("Likes green tea", principal=alice, scope={"agent_id": "barista"}),
        "admin": make_memory("Server notes", user_id="ops"),
    }
    services.memory_update(principal=alice, memory_id=ids["tea"], text="Likes black tea")
    Memory.objects.filter(id=ids["tea"]).update(categories=["food", "user_preferences"])
    return ids


def snapshot() -> tuple[list, list]:
    memories = list(
        Memory.objects.order_by("id").values_list(
            "id",
            "account__email",
            "text",
            "hash",
            "user_id",
            "agent_id",
            "metadata",
            "categories",
            "created_at",
            "updated_at",
        )
    )
    history = list(
        MemoryHistory.objects.order_by("id").values_list(
            "id", "memory_id", "account__email", "event", "old_memory", "new_memory", "created_at"
        )
    )
    return memories, history


def export(**options) -> str:
    out = StringIO()
    call_command("export_memories", stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def import_text(text: str, **options) -> str:
    out = StringIO()
    call_command("import_memories", stdin=StringIO(text), stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def wipe() -> None:
    """What a fresh server's database holds: the accounts, no memories."""
    Memory.objects.all().delete()
    MemoryHistory.objects.all().delete()


def test_a_round_trip_through_a_file_restores_the_same_memories_and_search_finds_them(stored, alice, tmp_path):
    before = snapshot()
    path = tmp_path / "backup.jsonl"
    call_command("export_memories", output=str(path), stderr=StringIO())
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 3
    assert "embedding" not in lines[0]
    tea = next(line for line in lines if line["id"] == stored["tea"])
    assert [row["event"] for row in tea["history"]] == ["ADD", "UPDATE"]
    assert tea["account"] == "alice@example.com"
    assert tea["categories"] == ["food", "user_preferences"]

    wipe()
    out = StringIO()
    call_command("import_memories", input_path=str(path), stdout=out, stderr=StringIO())

    assert "Imported 3 memories" in out.getvalue()
    assert snapshot() == before
    found = selectors.memories_search(principal=alice, query="where does she live", filters={"user_id": "alice"})
    assert [str(m.id) for m in found][:1] == [stored["berlin"]]
    assert [
        m.text for m in selectors.memories_search(principal=alice, query="tea", filters={"agent_id": "barista"})
    ] == ["Likes black tea"]


def test_an_export_stopped_halfway_leaves_the_earlier_backup_file_as_it_was(stored, tmp_path, monkeypatch):
    # Ctrl-C (or the database going away) after the first memory: the file named --output was already truncated and
    # held one memory of three, a backup that looked whole; the previous night's backup was lost.
    path = tmp_path / "backup.jsonl"
    call_command("export_memories", output=str(path), stderr=StringIO())
    path.chmod(0o600)
    earlier = path.read_text()
    lines = []
    real_line = backup.memory_line

    def stopped_after_one(memory, history):
        if lines:
            raise KeyboardInterrupt
        lines.append(real_line(memory, history))
        return lines[-1]

    monkeypatch.setattr(backup, "memory_line", stopped_after_one)
    with pytest.raises(KeyboardInterrupt):
        call_command("export_memories", output=str(path), stderr=StringIO())
    assert path.read_text() == earlier
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.jsonl"]
    monkeypatch.undo()
    call_command("export_memories", output=str(path), stderr=StringIO())
    assert path.read_text() == earlier  # the whole export replaces it, keeping its mode
    assert path.stat().st_mode & 0o777 == 0o600


def test_importing_the_same_file_twice_skips_the_memories_already_there(stored):
    text = export()
    before = snapshot()
    assert "skipped 3 whose id already exists" in import_text(text)
    assert snapshot() == before
    wipe()
    import_text(text)
    assert "Imported 0 memories" in import_text(text)
    assert snapshot() == before


def test_a_backup_of_other_accounts_memories_is_imported_under_new_ids_once(stored, alice, make_user, make_memory):
    # Bob restoring, on the same server, a backup holding Alice's and the admin's memories got none of them: their ids
    # existed here (another account's), and each was "skipped whose id already exists" as if it were already his.
    bob = make_user("bob@example.com")
    own = make_memory("Has a bike", principal=bob)
    text = export()
    before = snapshot()

    said = import_text(text, account="bob@example.com", dry_run=True)
    assert "Would import 3 memories (4 history rows), 3 of them under a new id" in said, said
    said = import_text(text, account="bob@example.com")

    assert "Imported 3 memories (4 history rows), 3 of them under a new id" in said, said
    assert "skipped 1 whose id already exists" in said  # his own
    bobs = Memory.objects.filter(account=bob)
    assert sorted(bobs.values_list("text", flat=True)) == [
        "Has a bike",
        "Likes black tea",
        "Lives in Berlin",
        "Server notes",
    ]
    assert {str(i) for i in bobs.values_list("id", flat=True)} & set(stored.values()) == set()
    memories, history = snapshot()
    assert [m for m in memories if m[0] in {m[0] for m in before[0]}] == before[0]  # Alice's and the admin's stay
    assert [row for row in history if row[0] in {row[0] for row in before[1]}] == before[1]
    # His copy of the tea keeps its history, read by its new id; search finds it.
    [tea] = bobs.filter(text="Likes black tea")
    history, _ = selectors.memory_history(principal=bob, memory_id=tea.id)
    assert [(row.event, row.old_memory, row.new_memory) for row in history] == [
        ("ADD", None, "Likes green tea"),
        ("UPDATE", "Likes green tea", "Likes black tea"),
    ]
    found = selectors.memories_search(principal=bob, query="tea", filters={"agent_id": "barista"})
    assert [m.id for m in found] == [tea.id]

    # Again: nothing is imported twice.
    before = snapshot()
    said = import_text(text, account="bob@example.com")
    assert "Imported 0 memories (0 history rows); skipped 4 whose id already exists." in said, said
    assert snapshot() == before
    assert str(own) in {str(i) for i in bobs.values_list("id", flat=True)}
    # Nor once Alice's are gone: his copies are found by their own ids.
    services.memory_delete(principal=alice, memory_id=stored["berlin"])
    assert "Imported 0 memories" in import_text(text, account="bob@example.com")
    assert bobs.count() == 4


def test_history_rows_already_here_are_not_counted_as_imported(stored):
    """Memories deleted without their history (Memory rows removed by hand): their history rows stay, so importing
    the backup writes the memories and only the history rows that are missing, and says how many it wrote."""
    text = export()
    Memory.objects.all().delete()
    MemoryHistory.objects.filter(memory_id=stored["berlin"]).delete()
    said = import_text(text)
    assert "Imported 3 memories" in said and "(1 history row)" in said, said
    assert MemoryHistory.objects.count() == 4


@pytest.mark.parametrize("into", [{}, {"account": "alice@example.com"}], ids=["admin", "member"])
def test_a_backup_restores_a_memory_deleted_since_with_a_history_that_says_it_came_back(stored, alice, into):
    # `memory_delete` then `import_memories`: the memory was back, but its history still ended with DELETE, so
    # GET /v1/memories/{id}/history/ read ADD, DELETE of a memory that exists.
    text = export()
    services.memory_update(principal=alice, memory_id=stored["tea"], text="Likes oolong tea")  # changed since
    services.memory_delete(principal=alice, memory_id=stored["berlin"])  # deleted since
    services.memory_delete(principal=ADMIN, memory_id=stored["admin"])
    before = snapshot()

    said = import_text(text, **into)

    assert "Imported 2 memories" in said and "skipped 1 whose id already exists" in said, said
    berlin = Memory.objects.get(id=stored["berlin"])
    assert (berlin.account, berlin.text) == (alice, "Lives in Berlin")
    history, _ = selectors.memory_history(principal=alice, memory_id=berlin.id)
    assert [(row.event, row.old_memory, row.new_memory, row.is_deleted) for row in history] == [
        ("ADD", None, "Lives in Berlin", False),
        ("DELETE", "Lives in Berlin", None, True),
        ("ADD", None, "Lives in Berlin", False),
    ]
    assert history[-1].created_at > history[-2].created_at
    # The one changed since is not touched, nor the history of the one that never left.
    tea, _ = selectors.memory_history(principal=alice, memory_id=stored["tea"])
    assert [row.event for row in tea] == ["ADD", "UPDATE", "UPDATE"]
    assert Memory.objects.get(id=stored["tea"]).text == "Likes oolong tea"
    memories, history_rows = snapshot()
    assert [row for row in history_rows if row[0] in {r[0] for r in before[1]}] == before[1]
    # The admin's memory, deleted since: back as the admin's, its history saying so; imported into Alice's (under its
    # own id, free again), her history of it is the file's ADD (the row's id is the admin's row's: written as a copy).
    admin_memory = Memory.objects.get(id=stored["admin"])
    rows = MemoryHistory.objects.filter(memory_id=admin_memory.id, account=admin_memory.account)
    events = [row.event for row in rows.order_by("created_at", "id")]
    assert events == (["ADD"] if into else ["ADD", "DELETE", "ADD"])

    # Again: nothing more, the history as it is.
    before = snapshot()
    assert "Imported 0 memories" in import_text(text, **into)
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_file_at_once_both_succeed_and_write_each_memory_once(stored, monkeypatch):
    """Replicas importing a seed file as they start, or an operator's second terminal: both imports have checked
    which ids exist before either writes (a barrier holds each before its first batch)."""
    text = export()
    before = snapshot()
    wipe()
    ready = threading.Barrier(2, timeout=60)
    embed = backup.embed_memories

    def embed_when_both_are_ready(*args, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            ready.wait()
        return embed(*args, **kwargs)

    monkeypatch.setattr(backup, "embed_memories", embed_when_both_are_ready)
    outputs, errors = [], []

    def run():
        try:
            outputs.append(import_text(text))
        except BaseException as exc:  # noqa: BLE001 (the test reads it)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert snapshot() == before
    imported = sorted(int(re.search(r"Imported (\d+) memories", out)[1]) for out in outputs)
    skipped = sorted(int(re.search(r"skipped (\d+) whose", out)[1]) for out in outputs)
    assert (imported, skipped) == ([0, 3], [0, 3]), outputs


def test_an_import_into_an_account_deactivated_meanwhile_stops_before_writing_with_one_line(
    stored, alice, make_user, monkeypatch
):
    """import_memories --account refuses a deactivated account at its start, but one deactivated while a batch was
    embedded got that batch written."""
    from accounts.services import user_set_active

    text = export(email=["alice@example.com"])
    wipe()
    admin = make_user("admin@example.com", role=User.Role.ADMIN)
    embed = backup.embed_memories

    def deactivated_meanwhile(embedder, texts):
        user_set_active(actor=admin, user_id=alice.pk, active=False)
        return embed(embedder, texts)

    monkeypatch.setattr(backup, "embed_memories", deactivated_meanwhile)
    with pytest.raises(CommandError) as refused:
        import_text(text, account="alice@example.com")
    assert str(refused.value) == (
        "Stopped after 0 new memories (0 batches) were written: alice@example.com was deactivated meanwhile, and "
        "nothing more is imported into it."
    )
    assert not Memory.objects.exists() and not MemoryHistory.objects.exists()


def test_export_filters_by_account_email_and_scope(stored):
    by_account = [json.loads(line)["memory"] for line in export(email=["ALICE@example.com"]).splitlines()]
    assert sorted(by_account) == ["Likes black tea", "Lives in Berlin"]
    by_agent = [json.loads(line)["memory"] for line in export(agent_id="barista").splitlines()]
    assert by_agent == ["Likes black tea"]
    with pytest.raises(CommandError, match="No account with email ghost@example.com"):
        export(email=["ghost@example.com"])


def test_an_email_two_accounts_hold_in_other_cases_names_the_exact_one_or_is_refused(stored, make_user, make_memory):
    # An older database may hold one email in two cases (the Django admin once stored emails as typed). --email
    # took both accounts' memories, and --account the first account of the two, whichever case was given.
    shouty = make_user("shouty@example.com")
    User.objects.filter(pk=shouty.pk).update(email="Alice@Example.com")
    make_memory("Shouts a lot", principal=shouty)
    alices = {json.loads(line)["memory"] for line in export(email=["alice@example.com"]).splitlines()}
    assert alices == {"Likes black tea", "Lives in Berlin"}
    text = export(email=["Alice@Example.com"])
    assert [json.loads(line)["memory"] for line in text.splitlines()] == ["Shouts a lot"]
    ambiguous = (
        "2 accounts have the email ALICE@example.com, in other case (Alice@Example.com, alice@example.com): give "
        "the one you mean exactly as it is written there."
    )
    with pytest.raises(CommandError) as refused:
        export(email=["alice@example.com", "ALICE@example.com"])
    assert str(refused.value) == ambiguous

    wipe()
    with pytest.raises(CommandError) as refused:
        import_text(text, account="ALICE@example.com")
    assert str(refused.value) == ambiguous
    assert not Memory.objects.exists()
    assert "Imported 1 memory" in import_text(text, account="Alice@Example.com")
    assert list(Memory.objects.values_list("account", flat=True)) == [shouty.pk]
    # One account holding it in any case is the one meant, as before.
    bob = make_user("bob@example.com")
    wipe()
    assert "Imported 1 memory" in import_text(text, account="BOB@example.com")
    assert list(Memory.objects.values_list("account", flat=True)) == [bob.pk]


def test_a_backup_restored_where_two_accounts_hold_one_email_in_other_cases_goes_back_to_each(
    stored, make_user, make_memory
):
    # Each line's email was matched in lower case only: every memory went to alice@example.com, and an account
    # holding its email in other case alone was "no account with email …".
    shouty = make_user("shouty@example.com")
    User.objects.filter(pk=shouty.pk).update(email="Alice@Example.com")
    make_memory("Shouts a lot", principal=shouty)
    before = snapshot()
    text = export()
    wipe()
    assert "Imported 4 memories" in import_text(text)
    assert snapshot() == before

    wipe()
    line = json.loads(text.splitlines()[0])
    with pytest.raises(CommandError) as refused:
        import_text(json.dumps(line | {"account": "ALICE@example.com"}) + "\n")
    assert (
        "line 1: 2 accounts have the email ALICE@example.com here, in other case (Alice@Example.com, "
        "alice@example.com); write the one meant exactly so in the file, or pass --account"
    ) in str(refused.value)
    assert not Memory.objects.exists()
    User.objects.filter(email="alice@example.com").delete()
    assert "Imported 1 memory" in import_text(json.dumps(line | {"account": "alice@EXAMPLE.com"}) + "\n")
    assert list(Memory.objects.values_list("account", flat=True)) == [shouty.pk]


def test_a_bad_line_is_named_with_its_number_and_nothing_is_written(stored):
    good, *_ = export().splitlines()
    wipe()
    second = json.loads(good) | {"id": "4c7f3f0e-8a55-4c55-9a43-37c8e08a1b7e", "created_at": "yesterday"}
    text = "\n".join([good, json.dumps(second), "{not json", json.dumps(json.loads(good))]) + "\n"
    with pytest.raises(CommandError) as failure:
        import_text(text)
    message = str(failure.value)
    assert "Nothing was imported" in message
    assert "line 2: created_at: Datetime has wrong format" in message
    assert "line 3: not JSON" in message
    assert "line 4: id" in message and "already on line 1" in message
    assert not Memory.objects.exists()
    assert not MemoryHistory.objects.exists()


@pytest.mark.parametrize(
    ("field", "refused", "why"),
    [
        ("user_id", "*", 'Must not be "*"'),
        ("agent_id", "..", 'Must not be "." or ".."'),
        ("run_id", "John Smith", "Must not contain whitespace."),
    ],
)
def test_a_scope_id_the_api_refuses_is_refused_naming_the_line_and_the_field(stored, field, refused, why):
    """An older server stored "*" as a user id, which no search by that id can find ("*" means any value there); an
    import took "..", which no URL can name, and ids with a space, which no request may give."""
    good = json.loads(export().splitlines()[0])
    wipe()
    with pytest.raises(CommandError) as failure:
        import_text(json.dumps(good | {field: refused}) + "\n")
    message = str(failure.value)
    assert f"line 1: {field}: {why}" in message
    assert "Change it in the file (or clear it) to import this memory." in message
    assert not Memory.objects.exists()
    assert "Imported 1 memory" in import_text(json.dumps(good | {"user_id": "everyone"}) + "\n")


def test_an_import_stopped_by_a_later_batchs_failure_says_how_far_it_got_in_one_sentence_each(
    stored, monkeypatch, settings
):
    text = export()
    wipe()
    settings.EXPORT_IMPORT_BATCH = 1
    embedded = backup.embed_memories
    calls = []

    def fails_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("The embedder could not be reached.")
        return embedded(*args, **kwargs)

    monkeypatch.setattr(backup, "embed_memories", fails_second)
    with pytest.raises(CommandError) as refused:
        import_text(text)
    # Its reason ended with its own full stop, and another followed ("reached.. Importing").
    assert str(refused.value) == (
        "Stopped after 1 new memory (1 batch) was written: The embedder could not be reached. "
        "Importing the same file again skips what was written and carries on."
    )
    assert Memory.objects.count() == 1


def test_an_unknown_account_email_stops_the_import_unless_another_account_is_named(stored, make_user):
    text = export(email=["alice@example.com"])
    wipe()
    line = json.loads(text.splitlines()[0]) | {"account": "ghost@example.com"}
    with pytest.raises(CommandError, match="line 1: no account with email ghost@example.com"):
        import_text(json.dumps(line) + "\n")
    assert not Memory.objects.exists()

    carol = make_user("carol@example.com")
    assert "Imported 1 memory" in import_text(json.dumps(line) + "\n", account="carol@example.com")
    assert list(Memory.objects.values_list("account", flat=True)) == [carol.pk]
    assert list(MemoryHistory.objects.values_list("account", flat=True).distinct()) == [carol.pk]


def test_an_unknown_account_named_by_account_says_to_create_it_as_an_unknown_line_account_does(stored):
    """README's `import_memories --input alice.jsonl --account carol@example.com --dry-run`, run before carol's account
    exists, said only "No account with email carol@example.com.", where a line naming an unknown account says how to
    create it."""
    text = export(email=["alice@example.com"])
    with pytest.raises(CommandError) as refused:
        import_text(text, account="carol@example.com", dry_run=True)
    assert str(refused.value) == (
        "No account with email carol@example.com here; create it first "
        "(manage.py createuser --email carol@example.com), then import again."
    )


def test_a_dry_run_checks_and_counts_without_writing(stored):
    text = export()
    wipe()
    # The same counts the import itself then reports: three memories, four history rows (the tea was updated).
    assert "Would import 3 memories (4 history rows)" in import_text(text, dry_run=True)
    assert not Memory.objects.exists()
    assert "Imported 3 memories (4 history rows)" in import_text(text)


def test_an_import_embeds_with_the_embedder_stored_through_configure(stored):
    text = export()
    wipe()
    with FakeOpenAI() as fake:
        # A fresh `manage.py` process, on a database where a web worker stored another (same-size) embedder.
        server_config_forget()
        ServerConfig.objects.create(pk=1, version=1, config={"embedder": openai_embedder(fake, 384)})
        try:
            import_text(text)
        finally:
            server_config_forget()
    embedded = sorted(text for call in fake.embed_calls() for text in call.body["input"])
    assert embedded == ["Likes black tea", "Lives in Berlin", "Server notes"]


def test_a_round_trip_keeps_the_time_a_memorys_text_names(alice, make_memory):
    """The time a text names is read from when that text was written: for a text changed by an update, not when the
    memory was first stored. The import read every text from its created_at, so such a memory came back dated
    otherwise (here 'yesterday' of January 1st instead of the day before the update) and searches for its time
    no longer found it."""
    met = make_memory("Likes tea", principal=alice)
    Memory.objects.filter(id=met).update(created_at=datetime(2025, 1, 1, 12, tzinfo=UTC))
    services.memory_update(principal=alice, memory_id=met, text="Yesterday I met Maya")
    undated = make_memory("Likes green tea", principal=alice)
    dates = ("id", "event_start", "event_end")
    before = list(Memory.objects.order_by("id").values_list(*dates))
    assert before[[str(row[0]) for row in before].index(met)][1] > datetime(2025, 1, 2, tzinfo=UTC)
    text = export()
    wipe()
    import_text(text)
    assert list(Memory.objects.order_by("id").values_list(*dates)) == before
    assert Memory.objects.get(id=undated).event_start is None


# A backup line of a memory whose text names a time ("Yesterday"), with no event dates of its own.
MAYA_LINE = {
    "id": "00000000-0000-0000-0000-000000000001",
    "account": "alice@example.com",
    "memory": "Yesterday I met Maya",
    "created_at": "2025-03-02T12:00:00Z",
    "updated_at": "2025-03-02T12:00:00Z",
}


@pytest.mark.parametrize(
    ("dates", "says"),
    [
        ({"event_start": "2025-03-01T00:00:00Z"}, "event_start and event_end"),
        ({"event_start": "2025-03-02T00:00:00Z", "event_end": "2025-03-01T00:00:00Z"}, "before event_end"),
    ],
)
def test_event_dates_that_are_no_window_are_a_problem_of_their_line(alice, dates, says):
    with pytest.raises(CommandError, match=f"line 1: .*{says}"):
        import_text(json.dumps(MAYA_LINE | dates) + "\n")
    assert not Memory.objects.exists()


def test_a_backup_without_event_dates_reads_the_texts_from_when_they_were_stored(alice):
    """Backups written before they carried event_start and event_end."""
    import_text(json.dumps(MAYA_LINE) + "\n")
    memory = Memory.objects.get()
    assert (memory.event_start, memory.event_end) == (
        datetime(2025, 3, 1, tzinfo=UTC),
        datetime(2025, 3, 2, tzinfo=UTC),
    )


@pytest.mark.django_db(transaction=True)
def test_an_export_piped_into_a_reader_that_stops_early_ends_with_one_line_not_a_traceback(alice):
    """`manage.py export_memories | head -1`: more lines than the pipe holds, and a reader gone after the first."""
    import subprocess
    import sys

    from events.tests.workers import REPO, database_url_for_workers

    Memory.objects.bulk_create(
        Memory(text=f"Memory number {i} " + "x" * 300, hash=f"h{i}", user_id="alice", embedding=[0.0] * 384)
        for i in range(600)
    )
    env = {**os.environ, "DATABASE_URL": database_url_for_workers(), "PYTHONUNBUFFERED": "1"}
    export = subprocess.Popen(  # noqa: S603 (this interpreter, our manage.py)
        [sys.executable, "manage.py", "export_memories"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first = json.loads(export.stdout.readline())
    export.stdout.close()  # as `head -1` does once it has its line
    errors = export.stderr.read().decode()
    assert export.wait(timeout=120) == 1
    assert first["memory"].startswith("Memory number")
    assert "Traceback" not in errors and "Exception ignored" not in errors, errors
    assert "Stopped: the program reading the export closed its end of the pipe." in errors


@pytest.mark.django_db(transaction=True)
def test_a_backup_written_to_a_slow_reader_outlasts_the_idle_in_transaction_timeout(stored, monkeypatch):
    # The backup reads in chunks inside a transaction (so a pooler in transaction mode keeps its cursor on one server
    # connection), which sits idle while each line is written: a reader slower than DB_IDLE_IN_TRANSACTION_TIMEOUT_MS
    # must not end it.
    monkeypatch.setattr(backup, "EXPORT_CHUNK", 2)

    class SlowReader(StringIO):
        def write(self, line):
            time.sleep(0.5)  # five times the session's limit below
            return super().write(line)

    out = SlowReader()
    with connection.cursor() as cursor:
        cursor.execute("SET idle_in_transaction_session_timeout = '100ms'")
    try:
        assert backup.export_jsonl(memories=backup.memories_for_backup(), out=out) == (3, 4)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET idle_in_transaction_session_timeout")
    assert len(out.getvalue().splitlines()) == 3


def test_a_backup_saved_with_a_byte_order_mark_is_imported(stored, tmp_path):
    # Opened and saved again in an editor that writes UTF-8 with a BOM (Windows Notepad): the command refused it,
    # "line 1: not JSON (Unexpected UTF-8 BOM ...)", while the dashboard's Import page took the same file.
    before = snapshot()
    text = export()
    wipe()
    path = tmp_path / "memories.jsonl"
    path.write_text(text, encoding="utf-8-sig")

    out = StringIO()
    call_command("import_memories", input_path=str(path), stdout=out, stderr=StringIO())
    assert "Imported 3 memories" in out.getvalue()
    assert snapshot() == before
    assert "Imported 0 memories" in import_text("\ufeff" + text)  # from stdin too: all there already


@pytest.mark.parametrize("errors", ["strict", "surrogateescape"])
def test_a_file_piped_in_that_is_not_utf8_is_one_line_saying_so(stored, monkeypatch, errors):
    # sys.stdin decodes as the locale says: under en_US.UTF-8 (strict) a Latin-1 file was a UnicodeDecodeError
    # traceback; under C.UTF-8 (surrogateescape) "line 1: memory: Must not contain an unpaired surrogate character".
    text = export().replace("Lives in Berlin", "Lives in Zürich")
    wipe()
    piped = io.TextIOWrapper(io.BytesIO(text.encode("latin-1")), encoding="utf-8", errors=errors)
    monkeypatch.setattr(sys, "stdin", piped)
    with pytest.raises(CommandError, match=r"^The input is not UTF-8 text \(invalid start byte\); nothing"):
        call_command("import_memories", stdout=StringIO(), stderr=StringIO())
    assert not Memory.objects.exists()

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode()), encoding="utf-8", errors=errors))
    out = StringIO()
    call_command("import_memories", stdout=out, stderr=StringIO())
    assert "Imported 3 memories" in out.getvalue()
    assert Memory.objects.filter(text="Lives in Zürich").exists()


def backup_line(index: int, chars: int = 20) -> str:
    text = f"memory {index}: " + "likes oolong tea " * (chars // 17)
    when = f"2026-01-01T00:00:{index % 60:02d}+00:00"
    row = {"id": str(uuid.UUID(int=10**9 + index)), "event": "ADD", "new_memory": text, "created_at": when}
    memory = {"id": str(uuid.UUID(int=index + 1)), "memory": text, "created_at": when, "updated_at": when}
    return json.dumps(memory | {"user_id": "alice", "metadata": {"n": index}, "history": [row]})


def test_a_large_file_is_checked_holding_its_lines_ids_not_its_memories(tmp_path):
    # Every line was kept, parsed, to check them all before writing any: an 85 MB file took 182 MiB more at the
    # command's peak (bench/import_read.py), and here 6,000 lines (14 MB) 22.8 MB of Python's memory. Now the file is
    # read twice, checked, then placed and written PLACED_AT_ONCE (500) lines at a time: 3.6 MB.
    path = tmp_path / "memories.jsonl"
    lines = 4_500  # 10 MB; the peak is the same for any count (the lines a batch holds), half of 7 MB
    path.write_text("".join(backup_line(index, 1_000) + "\n" for index in range(lines)), encoding="utf-8")
    size = path.stat().st_size
    out = StringIO()
    tracemalloc.start()
    try:
        call_command("import_memories", input_path=str(path), dry_run=True, stdout=out, stderr=StringIO())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert f"Would import {lines} memories ({lines} history rows)" in out.getvalue()
    assert peak < size / 2, (peak, size)


def test_a_bad_last_line_of_a_file_of_many_batches_writes_nothing():
    text = "".join(backup_line(index) + "\n" for index in range(2_500)) + "{not json\n"
    with pytest.raises(CommandError, match="line 2501: not JSON"):
        import_text(text, batch_size=100)
    assert not Memory.objects.exists()


def test_lines_that_change_between_their_check_and_their_import_stop_it_there():
    readings = []

    def lines():
        readings.append(1)
        first = [backup_line(index) for index in range(3)]
        return first if len(readings) == 1 else [*first[:2], "{not json"]

    with pytest.raises(backup.ImportInterrupted, match=r"the file changed while it was imported \(line 3: not JSON"):
        backup.import_jsonl(lines=backup.Reiterable(lines))
    assert not Memory.objects.exists()


def test_an_unpaired_surrogate_in_a_text_is_a_problem_of_its_line():
    line = json.loads(backup_line(0))
    line["history"][0]["new_memory"] = "a \ud800 b"
    with pytest.raises(CommandError, match=r"line 1: history.0.new_memory: Must not contain an unpaired surrogate"):
        import_text(json.dumps(line) + "\n")
    assert not Memory.objects.exists()
