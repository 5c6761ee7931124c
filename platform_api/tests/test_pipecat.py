"""Pipecat (Daily's voice-agent framework) for real: its Mem0 memory service, unchanged, in its own venv (`make
pipecat`, which `make test` runs), given this server as its `host`, in a Pipecat pipeline run by Pipecat's runner
(pipecat/check_pipecat.py): what it stores of a conversation, and what it puts in the LLM's context."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import User
from apikeys.services import apikey_create
from memories.models import Memory
from platform_api.tests.node_sdk import run_client_check

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = Path(__file__).parent / "pipecat" / "check_pipecat.py"
VENV = settings.DATA_DIR / "clients" / "pipecat-ai-1.14.0"
RECALL = "Based on previous conversations, I recall: \n\n"  # the service's default system_prompt


def run_pipecat(part: str, host: str) -> tuple[User, dict]:
    assert (VENV / ".installed").is_file(), f"run `make test` or `make pipecat` first ({VENV} is missing)"
    owner = User.objects.create_user(email=f"pipecat-{part}@example.com", name="Pipecat")
    key = apikey_create(user=owner, label="pipecat")[1]
    # The adds are queued: the worker stores them, as fast as the server's configuration allows.
    command = [str(VENV / "bin" / "python"), str(SCRIPT), part, str(settings.LLM_TIMEOUT)]
    return owner, run_client_check(command, cwd=SCRIPT.parent, host=host, key=key, state="mem0server-pipecat")


def recalled(context: list[dict]) -> list[str]:
    """The memories the service put in a context the LLM was handed (a developer message, numbered)."""
    [message] = [m for m in context if m["role"] == "developer"] or [{"content": RECALL}]
    assert message["content"].startswith(RECALL)
    return [line.split(". ", 1)[1] for line in message["content"].removeprefix(RECALL).split("\n\n") if line]


def test_pipecats_memory_service_stores_a_conversation_once_and_recalls_it_in_the_next(
    live_server, admin_key, embedder, worker
):
    owner, report = run_pipecat("remember", live_server.url)

    first, second = report["first"], report["second"]
    # Nothing was known before the first turn; the second recalled the first (the service searches each turn).
    assert [recalled(context) for context in first["contexts"]] == [[], ["I moved to Lisbon last spring"]]
    # The service sends the whole conversation so far with each turn: each message is stored once.
    assert first["stored"] == [
        ["I moved to Lisbon last spring"],
        ["I moved to Lisbon last spring", "I play the cello in a quartet", "Noted, reply 1."],
    ]
    # A new conversation: the LLM is handed what the user said before, the best match first.
    [context] = second["contexts"]
    assert recalled(context)[0] == "I moved to Lisbon last spring"
    assert context[-1] == {"role": "user", "content": "Where do I live now?"}
    stored = Memory.objects.filter(account=owner).order_by("created_at")
    assert [(m.text, m.role, m.user_id, m.agent_id, m.metadata) for m in stored] == [
        ("I moved to Lisbon last spring", "user", "alice", "voice-bot", {"platform": "pipecat"}),
        ("Noted, reply 1.", "assistant", "alice", "voice-bot", {"platform": "pipecat"}),
        ("I play the cello in a quartet", "user", "alice", "voice-bot", {"platform": "pipecat"}),
        ("Where do I live now?", "user", "alice", "voice-bot", {"platform": "pipecat"}),
    ]


def test_pipecats_memory_service_keeps_storing_past_fifty_exchanges(live_server, admin_key, embedder, worker):
    # The 51st turn of a conversation sends 101 messages: refused at 100 before (the service logs the error and
    # goes on), so nothing said after the 50th exchange was remembered.
    owner, report = run_pipecat("long", live_server.url)

    assert "My sister Ana visits every August" in report["first"]["stored"][0]
    [context] = report["second"]["contexts"]
    assert recalled(context)[0] == "My sister Ana visits every August"
    assert Memory.objects.filter(account=owner, text="My sister Ana visits every August").count() == 1


def test_a_conversation_where_the_bot_called_a_function_is_still_remembered(live_server, admin_key, embedder, worker):
    # A function call leaves an assistant message with tool_calls and no content in Pipecat's context, which the
    # service sends with each later turn: each such add was refused (content required), so nothing said after the
    # bot's first function call was remembered.
    owner, report = run_pipecat("tools", live_server.url)

    first, second = report["first"], report["second"]
    call = [m for m in first["contexts"][1] if m.get("tool_calls")]
    assert call and "content" not in call[0]  # as Pipecat's aggregator writes it
    assert first["stored"][1] == [
        "I moved to Lisbon last spring",
        "Noted, reply 1.",
        "What is the weather in Lisbon today?",
    ]
    [context] = second["contexts"]
    assert recalled(context)[0] == "I moved to Lisbon last spring"
    assert not Memory.objects.filter(account=owner, text__contains="get_weather").exists()


def test_with_an_llm_each_turn_is_extracted_from_once(live_server, admin_key, embedder, worker, llm_on):
    # Each turn the service sends the whole conversation so far: the LLM is given the turn's new messages, with what
    # was said before as their context (before, the whole conversation as new, each turn, its facts drawn again).
    llm_on.facts = lambda messages: [
        {"Lisbon": "Lives in Lisbon", "cello": "Plays the cello"}[word]
        for role, said in messages
        if role == "user"
        for word in ("Lisbon", "cello")
        if word in said
    ]
    owner, report = run_pipecat("remember", live_server.url)

    news = [call.body["messages"][-1]["content"].split("New messages:\n")[1] for call in llm_on.chat_calls("extract")]
    assert news == [
        "user: I moved to Lisbon last spring",
        "assistant: Noted, reply 1.\nuser: I play the cello in a quartet",
        "user: Where do I live now?",
    ]
    assert recalled(report["second"]["contexts"][0])[0] == "Lives in Lisbon"
    assert sorted(Memory.objects.filter(account=owner).values_list("text", flat=True)) == [
        "Lives in Lisbon",
        "Plays the cello",
    ]


def test_a_file_in_pipecats_context_is_remembered_by_its_text(live_server, admin_key, embedder, worker):
    owner, report = run_pipecat("file", live_server.url)
    # Its message's text, and the file's text (Pipecat's file_base64 part) after it; then the turn.
    assert report["first"]["stored"] == [
        ["Garden notes\n\nThe tomatoes go in the south bed.", "My notes", "Where do the tomatoes go?"]
    ]
    # A new conversation: the LLM is handed it (the service lists memories one per paragraph: this one holds two).
    [context] = report["second"]["contexts"]
    [recall] = [m["content"] for m in context if m["role"] == "developer"]
    assert recall.startswith(RECALL) and "Garden notes\n\nThe tomatoes go in the south bed." in recall
