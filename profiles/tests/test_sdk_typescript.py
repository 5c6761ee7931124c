"""Profiles through the official TypeScript SDK (npm mem0ai, as installed for platform_api's TypeScript test)
against a live server: profiles/tests/js/profiles_check.mjs drives it, the job runs in this process between."""

from __future__ import annotations

from pathlib import Path

import pytest

from apikeys.services import apikey_create
from memories.tests.fake_openai import as_json
from platform_api.tests.node_sdk import run_node_check

pytestmark = pytest.mark.django_db(transaction=True)

JS = Path(__file__).parent / "js"


def profiles_check(part: str, *, host: str, key: str, **env: str) -> dict:
    return run_node_check(JS / "profiles_check.mjs", part, host=host, key=key, timeout=120, **env)


def test_the_typescript_sdk_sets_up_profiles_generates_one_and_reads_it(
    server, llm_on, alice_account, make_memory, run_jobs
):
    make_memory("Lives in Porto", user_id="ts-user", principal=alice_account)
    key = apikey_create(user=alice_account, label="ts")[1]
    llm_on.chat_queue.append(as_json({"home_city": "Porto"}))

    started = profiles_check("start", host=server, key=key)
    assert started["updated"]["enabled"] is True
    # The schema comes back with its property names as written (the SDK restores them from the raw body).
    assert list(started["settings"]["entities"]["user"]["schema"]["properties"]) == ["home_city"]
    assert started["settings"]["entities"]["user"]["customInstructions"] == "Only the city."
    assert started["job"]["statusUrl"] == f"/v2/profiles/jobs/{started['job']['jobId']}/"
    assert started["pending"]["status"] == "pending"

    run_jobs()
    done = profiles_check("read", host=server, key=key, MEM0_STATUS_URL=started["job"]["statusUrl"])
    assert done["profile"]["status"] == "succeeded"
    assert done["profile"]["entityId"] == "ts-user"
    assert done["profile"]["generationCount"] == 1
    assert done["job"]["job"]["status"] == "succeeded"
    assert done["job"]["job"]["succeeded"] == 1
    assert done["profile"]["profile"] == {"home_city": "Porto"}  # the schema's names, not camel-cased
    [call] = llm_on.chat_calls()
    assert "Only the city." in call.body["messages"][0]["content"]
    assert "Lives in Porto" in call.body["messages"][-1]["content"]
