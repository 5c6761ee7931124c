"""manage.py export_from_mem0: a project's memories read over Mem0's Platform API, then import_memories.

The Platform here is this server's own Platform API on a live socket (no Mem0 Platform is reachable from tests): the
memories are read, the database is emptied as a fresh server's would be, the file is imported, and the official SDK
(the pinned mem0ai) must see what it saw before.
"""

from __future__ import annotations

import http.server
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from exports import mem0_api
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
    asked = []

    class Redirecting(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            asked.append((self.server.server_port, self.headers.get("Authorization")))
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{elsewhere.server_port}/v3/memories/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    named = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    elsewhere = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    for httpd in (named, elsewhere):
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with pytest.raises(CommandError) as refused:
            call_command(
                "export_from_mem0", "--api-url", f"http://127.0.0.1:{named.server_port}", "--api-key", "m0-secret",
                stdout=StringIO(),
            )  # fmt: skip
    finally:
        for httpd in (named, elsewhere):
            httpd.shutdown()
            httpd.server_close()
    assert "with a redirect to" in str(refused.value)
    assert asked == [(named.server_port, "Token m0-secret")]


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ([], "Give the Mem0 project's API key"),
        (["--api-key", "k", "--filters", "{"], "--filters is not JSON"),
        (["--api-key", "k", "--filters", "[]"], "--filters must be a JSON object"),
    ],
)
def test_missing_or_malformed_arguments_are_clear_errors(monkeypatch, arguments, said):
    monkeypatch.delenv("MEM0_API_KEY", raising=False)
    with pytest.raises(CommandError) as refused:
        call_command("export_from_mem0", "--api-url", "http://127.0.0.1:9", *arguments, stdout=StringIO())
    assert said in str(refused.value)
