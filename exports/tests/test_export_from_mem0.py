"""manage.py export_from_mem0: a project's memories read over Mem0's Platform API, then import_memories.

The Platform here is this server's own Platform API on a live socket (no Mem0 Platform is reachable from tests): the
memories are read, the database is emptied as a fresh server's would be, the file is imported, and the official SDK
(the pinned mem0ai) must see what it saw before.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from exports import mem0_api
from exports.tests.scripted_http import scripted_api
from memories import services
from memories.models import Memory, MemoryHistory

pytestmark = pytest.mark.django_db(transaction=True)


def seen_by_the_sdk(client) -> tuple[list, dict]:
    memories = sorted(client.get_all(filters={"user_id": "alice"}, page_size=100)["results"], key=lambda m: m["id"])
    history = {}
    for memory in memories:
        rows = client.history(memory["id"])
        history[memory["id"]] = sorted((row["event"], row["old_memory"], row["new_memory"]) for row in rows)
    return memories, history


def test_a_projects_memories_move_over_with_their_ids_dates_metadata_categories_and_history(
    server, sdk, sdk_key, make_user, make_memory, tmp_path, monkeypatch
):
    monkeypatch.setattr(mem0_api, "PAGE_SIZE", 1)  # one memory a page: the pages are followed
    alice = make_user("alice@example.com")
    tea = make_memory("Likes green tea", principal=alice, metadata={"topic": "drinks"})
    make_memory("Lives in Berlin", principal=alice, scope={"agent_id": "concierge"})
    services.memory_update(principal=alice, memory_id=tea, text="Likes black tea")
    Memory.objects.filter(id=tea).update(categories=["food"])
    before = seen_by_the_sdk(sdk(alice))
    assert len(before[0]) == 2 and len(before[1][str(tea)]) == 2

    path = tmp_path / "mem0.jsonl"
    said = StringIO()
    call_command(
        "export_from_mem0", "--api-url", server, "--api-key", sdk_key(alice), "--output", str(path), stderr=said
    )
    assert f"Wrote 2 memories (3 history rows) to {path}" in said.getvalue()

    MemoryHistory.objects.all().delete()  # a fresh server's database
    Memory.objects.all().delete()
    call_command("import_memories", "--input", str(path), "--account", "alice@example.com", stdout=StringIO())
    assert seen_by_the_sdk(sdk(alice)) == before


def test_filters_choose_the_memories_and_history_can_be_left_out(server, sdk_key, make_user, make_memory):
    alice = make_user("alice@example.com")
    make_memory("Likes green tea", principal=alice)
    make_memory("Lives in Berlin", principal=alice, user_id="bob")
    out = StringIO()
    call_command(
        "export_from_mem0", "--api-url", server, "--api-key", sdk_key(alice), "--filters", '{"user_id": "bob"}',
        "--no-history", stdout=out, stderr=StringIO(),
    )  # fmt: skip
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and '"memory": "Lives in Berlin"' in lines[0] and '"history"' not in lines[0]


def test_a_refused_key_is_a_clear_error_that_does_not_show_it(server):
    with pytest.raises(CommandError) as refused:
        call_command("export_from_mem0", "--api-url", server, "--api-key", "m0sk_wrong-key-123", stdout=StringIO())
    message = str(refused.value)
    assert "answered POST /v3/memories/ with 401" in message and "m0sk_wrong-key-123" not in message


def test_the_key_goes_to_the_address_given_only_never_where_it_redirects():
    with scripted_api([]) as (elsewhere, asked_elsewhere):
        redirect = (307, {"Location": f"{elsewhere}/v3/memories/"}, {})
        with scripted_api([redirect]) as (named, asked), pytest.raises(CommandError) as refused:
            call_command("export_from_mem0", "--api-url", named, "--api-key", "m0-secret", stdout=StringIO())
    assert f"with a redirect to {elsewhere}/v3/memories/" in str(refused.value)
    assert [headers["authorization"] for _, _, headers, _ in asked] == ["Token m0-secret"]
    assert asked_elsewhere == []


def test_a_rate_limit_or_a_gateways_error_is_tried_again_after_the_pause_asked():
    memory = {"id": "3dc42f86-6356-450a-bbe7-6fd2737f538f", "memory": "Likes tea", "user_id": "alice",
              "created_at": "2025-03-01T10:00:00Z", "updated_at": "2025-03-02T10:00:00Z",
              "timestamp": 1740823200, "expiration_date": "2026-01-01T00:00:00Z"}  # fmt: skip
    answers = [
        (429, {"Retry-After": "0"}, {"detail": "Request was throttled."}),
        (200, {}, {"count": 1, "next": None, "previous": None, "results": [memory]}),
        (503, {"Retry-After": "nan"}, {"detail": "Service unavailable"}),  # not a number of seconds: 1 s
        (200, {}, []),
    ]
    out, said = StringIO(), StringIO()
    with scripted_api(answers) as (url, asked):
        call_command("export_from_mem0", "--api-url", url, "--api-key", "k", stdout=out, stderr=said)
    assert [(method, path.split("?")[0]) for method, path, _, _ in asked] == [
        ("POST", "/v3/memories/"),
        ("POST", "/v3/memories/"),
        ("GET", f"/v1/memories/{memory['id']}/history/"),
        ("GET", f"/v1/memories/{memory['id']}/history/"),
    ]
    assert "POST /v3/memories/ answered 429; trying again in 0 s." in said.getvalue()
    assert f"GET /v1/memories/{memory['id']}/history/ answered 503; trying again in 1 s." in said.getvalue()
    line = json.loads(out.getvalue())
    assert line["memory"] == "Likes tea"
    # As import_memories reads them: unix seconds as a time, an expiration date as a day.
    assert (line["timestamp"], line["expiration_date"]) == ("2025-03-01T10:00:00+00:00", "2026-01-01")
    assert "Would import 1 memory" in import_dry_run(out.getvalue())


def import_dry_run(text: str) -> str:
    said = StringIO()
    call_command("import_memories", "--dry-run", stdin=StringIO(text), stdout=said)
    return said.getvalue()


def test_an_export_that_stops_halfway_leaves_the_file_as_it_was(tmp_path):
    memory = {"id": "3dc42f86-6356-450a-bbe7-6fd2737f538f", "memory": "Likes tea", "user_id": "alice",
              "created_at": "2025-03-01T10:00:00Z", "updated_at": "2025-03-01T10:00:00Z"}  # fmt: skip
    answers = [
        (200, {}, {"count": 2, "next": "page 2", "previous": None, "results": [memory]}),
        (401, {}, {"detail": "Invalid API key."}),
    ]
    path = tmp_path / "mem0.jsonl"
    path.write_text("yesterday's whole export\n")
    with scripted_api(answers) as (url, _), pytest.raises(CommandError) as refused:
        call_command(
            "export_from_mem0", "--api-url", url, "--api-key", "k", "--no-history", "--output", str(path),
            stderr=StringIO(),
        )  # fmt: skip
    assert "answered POST /v3/memories/ with 401" in str(refused.value)
    assert f"({path} not written)" in str(refused.value)
    assert path.read_text() == "yesterday's whole export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["mem0.jsonl"]


def test_an_export_stopped_by_an_error_carries_on_without_asking_again_for_the_history_it_has(tmp_path):
    def memory(n: int, updated: str = "2025-03-01T10:00:00Z") -> dict:
        return {"id": f"3dc42f86-6356-450a-bbe7-6fd2737f538{n}", "memory": f"Fact {n}", "user_id": "alice",
                "created_at": "2025-03-01T10:00:00Z", "updated_at": updated}  # fmt: skip

    def page(*items, last: bool = False) -> tuple[int, dict, dict]:
        return 200, {}, {"count": 3, "next": None if last else "more", "previous": None, "results": list(items)}

    def history(n: int) -> tuple[int, dict, list]:
        return 200, {}, [{"id": f"h{n}", "event": "ADD", "old_memory": None, "new_memory": f"Fact {n}",
                          "created_at": "2025-03-01T10:00:00Z", "updated_at": "2025-03-01T10:00:00Z"}]  # fmt: skip

    path = tmp_path / "mem0.jsonl"
    export = ["export_from_mem0", "--api-key", "m0-test-key", "--output", str(path)]
    # Memories 1 and 2 with their history, then the third page is refused for good.
    answers = [page(memory(1)), history(1), page(memory(2)), history(2), (401, {}, {"detail": "Invalid API key."})]
    with scripted_api(answers) as (url, _), pytest.raises(CommandError) as refused:
        call_command(*export, "--api-url", url, stderr=StringIO())
    assert f"({path} not written; {path}.partial keeps the 2 memories read so far" in str(refused.value)
    assert not path.exists()

    # Again: the pages are read from the start, but only memory 3's history and memory 2's (changed since) are asked.
    answers = [page(memory(1)), page(memory(2, updated="2025-04-01T10:00:00Z")), history(2), page(memory(3), last=True),
               history(3)]  # fmt: skip
    said = StringIO()
    with scripted_api(answers) as (url, asked):
        call_command(*export, "--api-url", url, stderr=said)
    assert f"Carrying on from {path}.partial: 2 memories" in said.getvalue()
    assert [path.split("?")[0] for _, path, _, _ in asked] == [
        "/v3/memories/",
        "/v3/memories/",
        f"/v1/memories/{memory(2)['id']}/history/",
        "/v3/memories/",
        f"/v1/memories/{memory(3)['id']}/history/",
    ]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["memory"], line["updated_at"], line["history"][0]["id"]) for line in lines] == [
        ("Fact 1", "2025-03-01T10:00:00Z", "h1"),
        ("Fact 2", "2025-04-01T10:00:00Z", "h2"),
        ("Fact 3", "2025-03-01T10:00:00Z", "h3"),
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["mem0.jsonl"]


def test_an_export_stopped_by_ctrl_c_keeps_what_it_read_for_the_next(tmp_path, monkeypatch):
    memory = {"id": "3dc42f86-6356-450a-bbe7-6fd2737f5381", "memory": "Fact 1", "user_id": "alice",
              "created_at": "2025-03-01T10:00:00Z", "updated_at": "2025-03-01T10:00:00Z"}  # fmt: skip
    second = {**memory, "id": "3dc42f86-6356-450a-bbe7-6fd2737f5382", "memory": "Fact 2"}
    asked_history = []

    def history(api, memory_id):
        if asked_history:
            raise KeyboardInterrupt  # what Ctrl-C raises while the second history is asked for
        asked_history.append(memory_id)
        return []

    monkeypatch.setattr(mem0_api.Mem0Api, "history", history)
    answers = [(200, {}, {"count": 2, "next": None, "previous": None, "results": [memory, second]})]
    path = tmp_path / "mem0.jsonl"
    with scripted_api(answers) as (url, _), pytest.raises(CommandError) as refused:
        call_command("export_from_mem0", "--api-url", url, "--api-key", "m0-test-key", "--output", str(path))
    assert str(refused.value) == (
        f"Stopped (Ctrl-C) ({path} not written; {path}.partial keeps the 1 memory read so far: the same command "
        "carries on)."
    )
    assert [json.loads(line)["id"] for line in (tmp_path / "mem0.jsonl.partial").read_text().splitlines()] == [
        memory["id"]
    ]


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ([], "Give the Mem0 project's API key"),
        (["--api-key", "k", "--filters", "{"], "--filters is not JSON"),
        (["--api-key", "k", "--filters", "[]"], "--filters must be a JSON object"),
        (["--api-key", "k", "--api-url", "api.mem0.ai"], "--api-url must start with https:// or http://"),
    ],
)
def test_missing_or_malformed_arguments_are_clear_errors(monkeypatch, arguments, said):
    monkeypatch.delenv("MEM0_API_KEY", raising=False)
    with pytest.raises(CommandError) as refused:
        call_command("export_from_mem0", "--api-url", "http://127.0.0.1:9", *arguments, stdout=StringIO())
    assert said in str(refused.value)


def test_a_key_copied_with_a_line_end_is_used_without_it_and_one_no_key_could_be_is_refused_unseen(
    server, sdk_key, make_user, make_memory, monkeypatch
):
    # A key read from a file with Windows line ends ends with "\r": the HTTP client refused the header, and its message
    # showed the key escaped, most of it past the redaction ("Illegal header value b'Token [redacted]tkeyABCDEF…\r'").
    alice = make_user("alice@example.com")
    make_memory("Likes green tea", principal=alice)
    key = sdk_key(alice)
    monkeypatch.setenv("MEM0_API_KEY", key + "\r\n")
    out = StringIO()
    call_command("export_from_mem0", "--api-url", server, "--no-history", stdout=out, stderr=StringIO())
    assert '"memory": "Likes green tea"' in out.getvalue()

    odd = key[:10] + "é" + key[10:]  # a key no API has: refused before it is sent, not a traceback
    with pytest.raises(CommandError) as refused:
        call_command("export_from_mem0", "--api-url", server, "--api-key", odd, stdout=StringIO())
    assert str(refused.value).startswith("The key given in --api-key holds a character no API key has")
    assert key[3:] not in str(refused.value) and key[-8:] not in str(refused.value)
