"""Exports through the official TypeScript SDK (npm mem0ai, as installed for platform_api's TypeScript test)
against a live server: exports/tests/js/exports_check.mjs drives it, the job runs in this process between."""

from __future__ import annotations

from pathlib import Path

import pytest

from apikeys.services import apikey_create
from memories.tests.fake_openai import as_json
from platform_api.tests.node_sdk import run_node_check

pytestmark = pytest.mark.django_db(transaction=True)

JS = Path(__file__).parent / "js"


def exports_check(part: str, *, host: str, key: str, **env: str) -> dict:
    return run_node_check(JS / "exports_check.mjs", part, host=host, key=key, timeout=120, **env)


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
