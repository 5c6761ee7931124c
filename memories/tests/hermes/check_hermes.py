"""Run by memories/tests/test_hermes.py in the Hermes Agent venv (`make hermes`): Hermes's own Mem0 memory plugin,
loaded and driven as Hermes drives it (its MemoryManager), against the server in MEM0_HOST with MEM0_API_KEY, as a
user who set both in Hermes's .env would. Prints one JSON line of what the plugin answered.

The plugin's tools are what the agent's model calls (mem0_add, mem0_search, mem0_update, mem0_delete); before each
turn it recalls memories for the user's message (prefetch), and after each turn it sends the exchange for the
server's LLM to draw facts from (sync, on a background thread).

`check_hermes.py turns <seconds>`: the tools, recall and capture, waiting at most that long for a captured turn.
`check_hermes.py snippet`: Hermes's .env as the dashboard's snippet gives it (in HERMES_DOTENV), loaded as Hermes
loads it; then one search, as the agent's first recall.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Hermes keeps its configuration and state in HERMES_HOME; the plugin's mem0ai package is never installed (the
# self-hosted backend does not use it), so Hermes must not try to install it here.
os.environ["HERMES_HOME"] = tempfile.mkdtemp(prefix="hermes-home-")
os.environ["HERMES_DISABLE_LAZY_INSTALLS"] = "1"

from agent.memory_manager import MemoryManager  # noqa: E402
from hermes_cli.env_loader import load_hermes_dotenv  # noqa: E402
from plugins.memory import _get_active_memory_provider, load_memory_provider  # noqa: E402

MADE_UP_ID = "mem_1"  # what a model calling mem0_update or mem0_delete sometimes makes up


def session(provider_name: str, **chat: str) -> tuple:
    """Hermes's memory manager with the named provider, its session started as Hermes starts one (`chat`: the
    gateway's platform and user id, none for the CLI)."""
    provider = load_memory_provider(provider_name)
    manager = MemoryManager()
    manager.add_provider(provider)
    manager.initialize_all("session-1", **chat)
    return provider, manager


def turns(wait_seconds: float) -> dict:
    # A Telegram chat: its user id scopes the memories, its platform goes into each write's metadata.
    provider, manager = session("mem0", platform="telegram", user_id="tg-4242")

    def call(tool: str, **args) -> dict:
        return json.loads(manager.handle_tool_call(tool, args))

    def search(query: str) -> list[str]:
        return [r["memory"] for r in call("mem0_search", query=query, top_k=5).get("results", [])]

    report: dict = {
        "available": provider.is_available(),
        "prompt": manager.build_system_prompt(),
        "tools": sorted(schema["name"] for schema in manager.get_all_tool_schemas()),
        "add": call("mem0_add", content="I keep bees on my balcony in Lisbon"),
    }
    call("mem0_add", content="My sister Ana visits every August")
    found = call("mem0_search", query="where are the bees kept?", top_k=5)
    report["search"] = found
    bees = found["results"][0]["id"]
    report["prefetch"] = manager.prefetch_all("when does Ana visit?")
    report["update"] = call("mem0_update", memory_id=bees, text="I keep bees on my balcony in Porto")
    report["after_update"] = search("bees")
    report["delete"] = call("mem0_delete", memory_id=bees)
    report["delete_again"] = call("mem0_delete", memory_id=bees)
    # Ids a model made up, more times than the plugin's circuit breaker allows failures in a row (5): memory must
    # stay available after them.
    report["made_up"] = [call(tool, memory_id=MADE_UP_ID, text="x") for tool in ("mem0_update", "mem0_delete") * 3]
    report["after_made_up"] = search("Ana")

    manager.sync_all("I started learning the cello last month", "How lovely! Which piece first?")
    deadline = time.monotonic() + wait_seconds
    while not (synced := search("cello")) and time.monotonic() < deadline:
        time.sleep(0.2)
    report["after_sync"] = synced
    manager.shutdown_all()
    return report


def snippet() -> dict:
    """As the snippet's heading says: its lines in Hermes's .env, then `hermes config set memory.provider mem0`."""
    home = Path(os.environ["HERMES_HOME"])
    (home / ".env").write_text(os.environ["HERMES_DOTENV"] + "\n", encoding="utf-8")
    hermes = Path(sys.executable).with_name("hermes")
    subprocess.run([hermes, "config", "set", "memory.provider", "mem0"], check=True, capture_output=True)  # noqa: S603
    load_hermes_dotenv(hermes_home=home)  # as Hermes's entry points do
    _, manager = session(_get_active_memory_provider())  # the CLI: no gateway, so the user is the one configured
    found = json.loads(manager.handle_tool_call("mem0_search", {"query": "What does alice drink?"}))
    manager.shutdown_all()
    return {"prompt": manager.build_system_prompt(), "search": [r["memory"] for r in found.get("results", [])]}


if __name__ == "__main__":
    report = turns(float(sys.argv[2])) if sys.argv[1] == "turns" else snippet()
    print(json.dumps(report))
