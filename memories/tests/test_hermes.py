"""Hermes Agent (Nous Research) for real: its Mem0 memory plugin, unchanged, in its own venv (`make hermes`, which
`make test` runs), set up as its docs say for a self-hosted Mem0 server (MEM0_HOST and MEM0_API_KEY), drives a live
server through hermes/check_hermes.py: the agent's four memory tools, its recall before a turn and its capture after
one, through the LLM."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import User
from apikeys.services import apikey_create
from memories.models import Memory
from memories.tests.fake_openai import llm_configured
from platform_api.tests.node_sdk import run_client_check

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = Path(__file__).parent / "hermes" / "check_hermes.py"
VENV = settings.DATA_DIR / "clients" / "hermes-agent-0.19.0"


def run_hermes(*args: str, host: str, key: str, **env: str) -> dict:
    """hermes/check_hermes.py with these arguments in the Hermes venv, against `host` with `key`; its report."""
    assert (VENV / ".installed").is_file(), f"run `make test` or `make hermes` first ({VENV} is missing)"
    command = [str(VENV / "bin" / "python"), str(SCRIPT), *args]
    return run_client_check(command, cwd=SCRIPT.parent, host=host, key=key, state="mem0server-hermes", **env)


def test_hermes_agents_mem0_plugin_stores_recalls_changes_forgets_and_captures_a_turn(live_server, admin_key, embedder):
    owner = User.objects.create_user(email="hermes@example.com", name="Hermes")
    key = apikey_create(user=owner, label="hermes")[1]
    with llm_configured() as llm:
        llm.facts = lambda messages: [
            "Started learning the cello last month" for _, said in messages if "cello" in said
        ]
        report = run_hermes("turns", str(settings.LLM_TIMEOUT * 2), host=live_server.url, key=key)

    assert report["available"] is True
    assert "Mode: self-hosted (HTTP API). User: tg-4242." in report["prompt"]
    assert report["tools"] == ["mem0_add", "mem0_delete", "mem0_search", "mem0_update"]
    assert report["add"]["result"] == "Fact stored."
    assert [r["memory"] for r in report["search"]["results"]][0] == "I keep bees on my balcony in Lisbon"
    assert report["prefetch"].startswith("## Mem0 Memory\n- My sister Ana visits every August")
    assert report["update"]["result"] == "Memory updated."
    assert report["after_update"] == ["I keep bees on my balcony in Porto"]
    assert report["delete"]["result"] == "Memory deleted."
    assert report["delete_again"] == {"error": f"Memory not found: {report['delete']['memory_id']}"}
    # An id the model made up is "not found" to the plugin, as an unknown one is: it is not counted as the server
    # failing, so six of them in a row leave memory available (five failures open the plugin's circuit breaker).
    assert report["made_up"] == [{"error": "Memory not found: mem_1"}] * 6
    assert report["after_made_up"] == ["My sister Ana visits every August"]
    # The turn went to the LLM, which drew the fact the next search finds.
    assert report["after_sync"] == ["Started learning the cello last month"]
    [extract] = llm.chat_calls("extract")
    assert "I started learning the cello last month" in str(extract.body["messages"])

    # What the plugin stored: in the chat user's scope, under its agent, tagged with the chat's platform.
    stored = Memory.objects.filter(account=owner).order_by("text")
    assert [(m.text, m.user_id, m.agent_id, m.metadata) for m in stored] == [
        ("My sister Ana visits every August", "tg-4242", "hermes", {"channel": "telegram"}),
        ("Started learning the cello last month", "tg-4242", "hermes", {"channel": "telegram"}),
    ]
