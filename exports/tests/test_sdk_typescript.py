"""Exports through the official TypeScript SDK (npm mem0ai, as installed for platform_api's TypeScript test)
against a live server: exports/tests/js/exports_check.mjs drives it, the job runs in this process between."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from apikeys.services import apikey_create
from memories.tests.fake_openai import as_json

pytestmark = pytest.mark.django_db(transaction=True)

JS = Path(__file__).parent / "js"
NODE_MODULES = Path(__file__).parents[2] / "platform_api" / "tests" / "js" / "node_modules"


def exports_check(part: str, *, host: str, key: str, **env: str) -> dict:
    node = shutil.which("node")
    assert node, "node is not installed: the TypeScript SDK test needs Node.js 18 or newer"
    assert (NODE_MODULES / "mem0ai").is_dir(), "run `make test` or `npm ci --prefix platform_api/tests/js` first"
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": tempfile.gettempdir(),
        "MEM0_TELEMETRY": "false",
        "MEM0_DIR": os.path.join(tempfile.gettempdir(), "mem0server-ts-sdk"),
        "MEM0_HOST": host,
        "MEM0_API_KEY": key,
        **env,
    }
    done = subprocess.run(  # noqa: S603  (a fixed script of ours, run by the node found on PATH)
        [node, "exports_check.mjs", part], cwd=JS, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"exports_check.mjs {part} failed:\n{done.stderr}\n{done.stdout}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_typescript_sdk_creates_an_export_and_reads_it_when_ready(
    server, llm_on, alice_account, make_memory, run_jobs
):
    make_memory("Lives in Lisbon", user_id="ts-export", principal=alice_account)
    key = apikey_create(user=alice_account, label="ts")[1]
    llm_on.chat_queue.append(as_json({"city": "Lisbon"}))

    created = exports_check("create", host=server, key=key)
    assert created["created"]["message"].startswith("Memory export request received")
    assert created["pending"]["status"] == "PENDING"

    run_jobs()
    done = exports_check("get", host=server, key=key, MEM0_EXPORT_ID=created["created"]["id"])
    assert done["byId"] == {"city": "Lisbon"}
    assert done["byFilters"] == {"city": "Lisbon"}
    [call] = llm_on.chat_calls()
    assert "Only the city." in call.body["messages"][0]["content"]
    assert "Lives in Lisbon" in call.body["messages"][-1]["content"]
