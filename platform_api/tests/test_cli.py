"""Mem0's official CLI (`mem0`, PyPI mem0-cli, pinned in requirements-dev.txt; its npm twin @mem0/cli, pinned in
platform_api/tests/js/package.json, where said) against a live server: each command runs as its own process, as a
user types it, with MEM0_BASE_URL and MEM0_API_KEY and a home directory of its own. What it sends, over plain HTTP:
test_cli_requests.py ."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.models import User
from apikeys.services import apikey_create
from mem0server.tests.server_process import wait_for
from memories.models import Memory
from platform_api.tests.node_sdk import NODE_MODULES

NODE_CLI = NODE_MODULES / "@mem0" / "cli" / "dist" / "index.js"
# Without it each npm CLI command lingers 5 s after its answer (its ping's timer): see the file.
UNREF_TIMERS = NODE_MODULES.parent / "unref_timers.mjs"


def mem0(server: str, key: str, home: Path, *args: str, npm: bool = False) -> subprocess.CompletedProcess:
    """`mem0 ARGS` with only the environment a user would set: telemetry off (else it posts to Mem0's analytics
    host), a home of its own (it writes ~/.mem0/config.json), no agent runtime variables, no terminal. `npm`: the
    npm CLI, run by node."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "MEM0_BASE_URL": server,
        "MEM0_API_KEY": key,
        "MEM0_TELEMETRY": "false",
        "COLUMNS": "200",
        "PYTHONIOENCODING": "utf-8",
    }
    node = [shutil.which("node") or "node", "--import", UNREF_TIMERS.as_uri(), str(NODE_CLI)]
    command = node if npm else [sys.executable, "-m", "mem0_cli"]
    return subprocess.run(  # noqa: S603 (our interpreter or node, fixed arguments)
        [*command, *args],
        env=env,
        stdin=subprocess.DEVNULL,  # a pipe would be read as the text to add
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def cli(live_server, admin_key, embedder, tmp_path):
    """Run `mem0` as the given account's user: cli(user)("search", ...) → its parsed JSON (or the process, raw=True);
    cli(user, npm=True) runs the npm CLI."""

    def as_user(user: User, *, npm: bool = False):
        key = apikey_create(user=user, label="cli")[1]

        def run(*args: str, raw: bool = False, ok: bool = True):
            done = mem0(live_server.url, key, tmp_path, *args, npm=npm)
            if ok:
                assert done.returncode == 0, (args, done.stdout, done.stderr)
            return done if raw else json.loads(done.stdout)

        return run

    return as_user


@pytest.mark.django_db(transaction=True)
def test_the_cli_adds_finds_lists_updates_and_deletes_a_memory(cli, worker):
    mem0 = cli(User.objects.create_user(email="cli@example.com", name="CLI"))

    assert mem0("--json", "status")["data"]["connected"] is True
    [queued] = mem0("add", "I moved to Lisbon last spring", "-u", "alice", "-m", '{"topic": "home"}', "-o", "json")
    assert queued["status"] == "PENDING"
    # The add is queued, as on Mem0's Platform: the session's worker (maybe still loading its embedder) does it.
    event = wait_for(
        lambda: (ev := mem0("event", "status", queued["event_id"], "-o", "json"))["status"] == "SUCCEEDED" and ev,
        timeout=90,
        what="the CLI's add done",
    )
    [result] = event["results"]
    assert (result["event"], result["data"], result["user_id"]) == ("ADD", {"memory": result["memory"]}, "alice")
    shown = mem0("event", "status", queued["event_id"], raw=True).stdout
    assert "ADD  I moved to Lisbon last spring  (user_id=alice)" in shown

    [found] = mem0("search", "Lisbon", "-u", "alice", "-o", "json")
    assert (found["id"], found["memory"]) == (result["id"], "I moved to Lisbon last spring")
    listed = mem0("list", "-u", "alice", "-o", "json")
    assert [m["memory"] for m in listed["data"]] == ["I moved to Lisbon last spring"]
    assert mem0("get", found["id"], "-o", "json")["metadata"] == {"topic": "home"}
    assert mem0("update", found["id"], "I moved to Porto", "-o", "json")["memory"] == "I moved to Porto"
    assert mem0("--agent", "search", "Porto", "-u", "alice")["data"][0]["memory"] == "I moved to Porto"
    assert [u["name"] for u in mem0("entity", "list", "users", "-o", "json")] == ["alice"]

    assert "deleted" in mem0("delete", found["id"], "--force", raw=True).stdout
    assert mem0("list", "-u", "alice", "-o", "json")["count"] == 0


@pytest.mark.django_db(transaction=True)
def test_the_npm_cli_adds_finds_lists_updates_and_deletes_a_memory(cli, worker):
    # The same commands through the npm twin, whose JSON wraps most answers as {status, command, data}.
    mem0 = cli(User.objects.create_user(email="cli-npm@example.com", name="CLI"), npm=True)

    assert mem0("--json", "status")["data"]["connected"] is True
    queued = mem0("add", "I moved to Lisbon last spring", "-u", "alice", "-m", '{"topic": "home"}', "-o", "json")
    assert queued["status"] == "PENDING"
    event = wait_for(
        lambda: (
            (ev := mem0("event", "status", queued["event_id"], "-o", "json")["data"])["status"] == "SUCCEEDED" and ev
        ),
        timeout=90,
        what="the npm CLI's add done",
    )
    [result] = event["results"]
    assert (result["event"], result["memory"], result["user_id"]) == ("ADD", "I moved to Lisbon last spring", "alice")
    assert (
        "ADD  I moved to Lisbon last spring  (user_id=alice)"
        in mem0("event", "status", queued["event_id"], raw=True).stdout
    )

    [found] = mem0("search", "Lisbon", "-u", "alice", "-o", "json")
    assert (found["id"], found["memory"]) == (result["id"], "I moved to Lisbon last spring")
    assert [m["memory"] for m in mem0("list", "-u", "alice", "-o", "json")["data"]] == ["I moved to Lisbon last spring"]
    assert mem0("get", found["id"], "-o", "json")["metadata"] == {"topic": "home"}
    assert mem0("update", found["id"], "I moved to Porto", "-o", "json")["memory"] == "I moved to Porto"
    assert mem0("--agent", "search", "Porto", "-u", "alice")["data"][0]["memory"] == "I moved to Porto"
    assert mem0("entity", "list", "users", "-o", "json")["data"] == [{"name": "alice", "type": "user"}]
    assert "deleted" in mem0("delete", found["id"], "--force", raw=True).stdout
    assert mem0("list", "-u", "alice", "-o", "json")["count"] == 0
    done = mem0("get", "not-a-uuid", raw=True, ok=False)
    assert done.returncode == 1 and "'not-a-uuid' is not a valid memory id" in done.stderr


@pytest.mark.django_db(transaction=True)
def test_the_cli_deletes_a_scope_and_the_whole_project_but_not_another_accounts(cli, make_memory):
    owner = User.objects.create_user(email="cli-delete@example.com", name="CLI")
    stranger = User.objects.create_user(email="stranger@example.com", name="Stranger")
    make_memory("Bob's", user_id="bob", principal=owner)
    make_memory("Carol's", user_id="carol", principal=owner)
    make_memory("The agent's", user_id=None, scope={"agent_id": "helper"}, principal=owner)
    theirs = make_memory("Not the key's", user_id="bob", principal=stranger)
    mem0 = cli(owner)

    assert mem0("delete", "--all", "-u", "bob", "--force", "-o", "json") == {
        "message": "Memories deleted successfully!",
        "deleted": 1,
    }
    assert mem0("delete", "--all", "--project", "--force", "-o", "json")["deleted"] == 2
    assert list(Memory.objects.values_list("id", flat=True)) == [Memory.objects.get(id=theirs).id]


@pytest.mark.django_db(transaction=True)
def test_the_cli_shows_the_servers_reason_for_a_bad_request(cli):
    mem0 = cli(User.objects.create_user(email="cli-bad@example.com", name="CLI"))
    done = mem0("get", "not-a-uuid", raw=True, ok=False)
    assert done.returncode == 1
    assert "'not-a-uuid' is not a valid memory id" in done.stderr
    done = mem0("search", "anything", raw=True, ok=False)
    assert done.returncode == 1 and "Search needs a scope" in done.stderr
