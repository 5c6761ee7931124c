"""infer=true with an LLM: the real `openai` client against a local OpenAI-wire server, the real database
and the real local embedder. Covers every decision, the failures that must write nothing, and call counts."""

from __future__ import annotations

import json
import math
import re
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from conftest import ADMIN
from memories import inference, services
from memories.embeddings import get_embedder
from memories.models import Memory, MemoryHistory, SessionMessage
from memories.tests.adds import THINGS
from memories.tests.conftest import configure, llm_section
from memories.tests.fake_openai import as_json, default_decide, default_facts, error, text
from memories.tests.scope_turns import another_add_deciding
from memories.timestamps import dated_text

# Failure bounds only: how long a request thread may take to reach the LLM, or to finish, on a loaded machine.
THREAD_SLACK = 60


def add(client, *contents: str, **body):
    body = {"user_id": "alice", **body}
    messages = [{"role": "user", "content": c} for c in contents]
    body = {key: value for key, value in body.items() if value is not None}
    return client.post("/memories", {"messages": messages, **body}, format="json")


def events(response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.json()
    return [(r["event"], r["memory"]) for r in response.json()["results"]]


def snapshot() -> tuple:
    """Everything an add could change."""
    return (
        sorted(Memory.objects.values_list("id", "text", "updated_at")),
        MemoryHistory.objects.count(),
        SessionMessage.objects.count(),
    )


# --- the four decisions ----------------------------------------------------------------------------------


def test_first_add_extracts_facts_and_adds_them(api_client, llm):
    llm.facts = lambda messages: ["Is vegetarian", "Lives in Berlin"]
    response = add(api_client, "Hi! I'm a vegetarian living in Berlin.")
    assert events(response) == [("ADD", "Is vegetarian"), ("ADD", "Lives in Berlin")]
    results = response.json()["results"]
    assert all(set(r) == {"id", "memory", "event"} for r in results)
    stored = Memory.objects.get(id=results[0]["id"])
    assert (stored.user_id, stored.text) == ("alice", "Is vegetarian")
    history = api_client.get(f"/memories/{stored.id}/history").json()
    assert [(h["event"], h["new_memory"]) for h in history] == [("ADD", "Is vegetarian")]
    # One extraction call, no decision needed while the scope was empty.
    [extract] = llm.chat_calls()
    assert extract.kind == "extract"
    assert extract.body["model"] == "fake-model"
    assert extract.body["response_format"] == {"type": "json_object"}
    system = extract.body["messages"][0]["content"]
    assert timezone.localdate().isoformat() in system
    assert "language" in system
    assert extract.headers["authorization"] == "Bearer sk-test"


def test_a_contradicting_fact_updates_the_memory_with_history(api_client, llm):
    events(add(api_client, "Lives in Berlin"))
    memory = Memory.objects.get()
    response = add(api_client, "Lives in Munich")
    assert response.json()["results"] == [
        {"id": str(memory.id), "memory": "Lives in Munich", "event": "UPDATE", "previous_memory": "Lives in Berlin"}
    ]
    memory.refresh_from_db()
    assert memory.text == "Lives in Munich"
    history = api_client.get(f"/memories/{memory.id}/history").json()
    assert [(h["event"], h["old_memory"], h["new_memory"]) for h in history] == [
        ("ADD", None, "Lives in Berlin"),
        ("UPDATE", "Lives in Berlin", "Lives in Munich"),
    ]
    # The new text was searchable under its new meaning (re-embedded from the fact's vector).
    hits = api_client.post("/search", {"query": "Munich", "user_id": "alice"}, format="json").json()["results"]
    assert hits[0]["memory"] == "Lives in Munich"
    [decide] = llm.chat_calls("decide")
    assert '"stored_memories": [{"id": "0", "text": "Lives in Berlin"}]' in decide.body["messages"][-1]["content"]


def test_the_memory_to_update_is_found_beside_many_closer_memories_of_other_users(api_client, llm, crowded):
    crowded("Lives in Munich")  # closer to the new fact than alice's memory
    events(add(api_client, "Lives in Berlin"))
    assert events(add(api_client, "Lives in Munich")) == [("UPDATE", "Lives in Munich")]


def test_an_update_that_would_leave_a_memory_with_too_much_metadata_is_refused_and_changes_nothing(
    api_client, llm, settings
):
    settings.METADATA_MAX_BYTES = 60
    events(add(api_client, "Lives in Berlin", metadata={"a": "x" * 30}))
    before = snapshot()
    # Each add's metadata fits; merged into the memory the LLM updates, the two would not.
    refused = add(api_client, "Lives in Munich", metadata={"b": "y" * 30})
    assert refused.status_code == 400
    assert refused.json()["errors"].keys() == {"metadata"}
    assert "metadata holds 75 bytes" in refused.json()["detail"] and "METADATA_MAX_BYTES" in refused.json()["detail"]
    assert snapshot() == before


def test_an_updated_texts_time_is_read_from_the_conversation_that_said_it(api_client, llm):
    events(add(api_client, "Maya moved to Berlin", timestamp="2025-01-10T12:00:00Z"))
    updated = add(api_client, "Maya moved to Lisbon yesterday", timestamp="2025-03-12T12:00:00Z")
    assert events(updated) == [("UPDATE", "Maya moved to Lisbon yesterday")]
    memory = Memory.objects.get()
    assert (memory.event_start, memory.event_end) == (
        datetime(2025, 3, 11, tzinfo=UTC),
        datetime(2025, 3, 12, tzinfo=UTC),
    )  # not the day before the Berlin conversation, January 9th


def stored_vector(memory_id) -> np.ndarray:
    return np.array(Memory.objects.get(id=memory_id).embedding)


def test_a_memory_rewritten_by_a_timestamped_add_takes_its_timestamp_and_is_embedded_with_that_day(api_client, llm):
    events(add(api_client, "Lives in Berlin", timestamp="2025-01-10T12:00:00Z"))
    memory = Memory.objects.get()
    assert events(add(api_client, "Lives in Munich", timestamp="2025-03-12T12:00:00Z")) == [
        ("UPDATE", "Lives in Munich")
    ]
    # The new text was said on March 12th: the memory answers that timestamp, a search of that day finds it, and
    # its vector is of that day (re-embedding it by its timestamp changes nothing).
    assert api_client.get(f"/memories/{memory.id}").json()["timestamp"] == "2025-03-12T12:00:00Z"
    march = {"user_id": "alice", "timestamp": {"gte": "2025-03-12", "lte": "2025-03-12"}}
    found = api_client.post("/v2/memories/search/", {"query": "Munich", "filters": march}, format="json")
    assert [hit["id"] for hit in found.json()] == [str(memory.id)]
    expected = get_embedder().embed([dated_text("Lives in Munich", datetime(2025, 3, 12, tzinfo=UTC))])[0]
    assert np.allclose(stored_vector(memory.id), expected, atol=1e-5)
    before = stored_vector(memory.id)
    call_command("reembed_memories")
    assert np.allclose(stored_vector(memory.id), before, atol=1e-5)


def test_a_memory_rewritten_by_an_add_without_timestamp_keeps_its_own_and_is_embedded_with_that_day(api_client, llm):
    events(add(api_client, "Lives in Berlin", timestamp="2025-01-10T12:00:00Z"))
    memory = Memory.objects.get()
    assert events(add(api_client, "Lives in Munich")) == [("UPDATE", "Lives in Munich")]
    # As an edit of its text keeps it (memory_update): no time was given for the new text.
    assert api_client.get(f"/memories/{memory.id}").json()["timestamp"] == "2025-01-10T12:00:00Z"
    expected = get_embedder().embed([dated_text("Lives in Munich", datetime(2025, 1, 10, tzinfo=UTC))])[0]
    assert np.allclose(stored_vector(memory.id), expected, atol=1e-5)
    before = stored_vector(memory.id)
    call_command("reembed_memories")
    assert np.allclose(stored_vector(memory.id), before, atol=1e-5)


@pytest.mark.django_db(transaction=True)
def test_a_rewritten_memorys_timestamp_changed_before_the_write_is_the_day_it_is_embedded_with(api_client, llm):
    events(add(api_client, "Lives in Berlin", timestamp="2025-01-10T12:00:00Z"))
    memory = Memory.objects.get()
    june = datetime(2024, 6, 1, tzinfo=UTC)

    def decide(stored, facts):
        # After the new text was embedded with the memory's day, the user changes its timestamp (PUT /memories/{id}).
        try:
            services.memory_update(principal=ADMIN, memory_id=memory.id, occurred_at=june)
        finally:
            connection.close()  # the fake server thread's own database session
        return default_decide(stored, facts)

    llm.decide = decide
    services.memories_add(
        principal=ADMIN,
        messages=[services.Message(role="user", content="Lives in Munich")],
        scope={"user_id": "alice"},
        categories={"places": "where Alice lives"},
    )
    memory.refresh_from_db()
    assert (memory.text, memory.occurred_at) == ("Lives in Munich", june)
    expected = get_embedder().embed([dated_text("Lives in Munich", june)])[0]
    assert np.allclose(stored_vector(memory.id), expected, atol=1e-5)


def test_a_retraction_deletes_the_memory(api_client, llm):
    events(add(api_client, "Likes tea"))
    memory = Memory.objects.get()
    assert events(add(api_client, "No longer likes tea")) == [("DELETE", "Likes tea")]
    assert not Memory.objects.exists()
    history = api_client.get(f"/memories/{memory.id}/history").json()
    assert [(h["event"], h["is_deleted"]) for h in history] == [("ADD", False), ("DELETE", True)]


def test_a_fact_added_beside_the_deletion_of_a_memory_nearly_the_same_is_stored(api_client, llm):
    # "Is allergic to peanuts" and "Is not allergic to peanuts" are 0.96 alike to the local embedder: the fact the
    # decision adds was taken for a repeat of the memory the same decision deletes, and neither was left.
    events(add(api_client, "Is allergic to peanuts"))
    old = Memory.objects.get()
    llm.decide = lambda stored, facts: [
        {"event": "DELETE", "id": "0"},
        {"event": "ADD", "text": "Is not allergic to peanuts"},
    ]
    assert events(add(api_client, "Is not allergic to peanuts")) == [
        ("DELETE", "Is allergic to peanuts"),
        ("ADD", "Is not allergic to peanuts"),
    ]
    assert list(Memory.objects.values_list("text", flat=True)) == ["Is not allergic to peanuts"]
    history = api_client.get(f"/memories/{old.id}/history").json()
    assert [h["event"] for h in history] == ["ADD", "DELETE"]


def test_a_fact_added_beside_the_rewrite_of_a_memory_nearly_the_same_is_stored(api_client, llm):
    # The memory the decision rewrites no longer holds the text the fact nearly repeats.
    events(add(api_client, "Is allergic to peanuts"))
    old = Memory.objects.get()
    llm.decide = lambda stored, facts: [
        {"event": "UPDATE", "id": "0", "text": "Was allergic to peanuts as a child"},
        {"event": "ADD", "text": "Is not allergic to peanuts"},
    ]
    assert events(add(api_client, "Is not allergic to peanuts")) == [
        ("UPDATE", "Was allergic to peanuts as a child"),
        ("ADD", "Is not allergic to peanuts"),
    ]
    assert sorted(Memory.objects.values_list("text", flat=True)) == [
        "Is not allergic to peanuts",
        "Was allergic to peanuts as a child",
    ]
    assert Memory.objects.get(id=old.id).text == "Was allergic to peanuts as a child"


def test_a_fact_added_beside_a_rewrite_to_the_same_text_is_that_memory(api_client, llm):
    events(add(api_client, "Is allergic to peanuts"))
    old = Memory.objects.get()
    llm.decide = lambda stored, facts: [
        {"event": "ADD", "text": "Is not allergic to peanuts"},
        {"event": "UPDATE", "id": "0", "text": "Is not allergic to peanuts"},
    ]
    response = add(api_client, "Is not allergic to peanuts")
    assert response.json()["results"] == [
        {"id": str(old.id), "memory": "Is not allergic to peanuts", "event": "NONE"},
        {
            "id": str(old.id),
            "memory": "Is not allergic to peanuts",
            "event": "UPDATE",
            "previous_memory": "Is allergic to peanuts",
        },
    ]
    assert list(Memory.objects.values_list("id", "text")) == [(old.id, "Is not allergic to peanuts")]


@pytest.mark.parametrize("repeat", ["Is not allergic to peanuts", "Is not allergic to peanuts."])
@pytest.mark.parametrize("stored_at", [None, "2024-01-10T12:00:00Z"])
def test_a_fact_added_after_a_rewrite_to_nearly_the_same_text_is_that_memory(api_client, llm, repeat, stored_at):
    # The rewrite comes first: the written memory's new text is what the fact repeats, also when the memory keeps a
    # timestamp the add has not (its new text embedded with that day). It passes as the code is: a guard.
    events(add(api_client, "Is allergic to peanuts", timestamp=stored_at))
    old = Memory.objects.get()
    llm.decide = lambda stored, facts: [
        {"event": "UPDATE", "id": "0", "text": "Is not allergic to peanuts"},
        {"event": "ADD", "text": repeat},
    ]
    assert add(api_client, "Is not allergic to peanuts").json()["results"] == [
        {
            "id": str(old.id),
            "memory": "Is not allergic to peanuts",
            "event": "UPDATE",
            "previous_memory": "Is allergic to peanuts",
        },
        {"id": str(old.id), "memory": "Is not allergic to peanuts", "event": "NONE"},
    ]
    assert list(Memory.objects.values_list("id", "text")) == [(old.id, "Is not allergic to peanuts")]


def test_a_repeat_is_none_and_writes_no_memory(api_client, llm):
    first = add(api_client, "Has two cats").json()["results"][0]
    before = snapshot()
    response = add(api_client, "Has two cats")
    assert response.json()["results"] == [{"id": first["id"], "memory": "Has two cats", "event": "NONE"}]
    memories, history, _ = snapshot()
    assert (memories, history) == before[:2]


def test_a_merged_update_gets_its_own_embedding(api_client, llm):
    events(add(api_client, "Likes cheese pizza"))
    llm.decide = lambda stored, facts: [{"event": "UPDATE", "id": "0", "text": "Likes cheese and pepperoni pizza"}]
    llm.reset_calls()
    assert events(add(api_client, "Also likes pepperoni pizza")) == [("UPDATE", "Likes cheese and pepperoni pizza")]
    hits = api_client.post("/search", {"query": "pepperoni pizza", "user_id": "alice"}, format="json").json()
    assert hits["results"][0]["memory"] == "Likes cheese and pepperoni pizza"


def test_an_update_to_what_another_memory_says_leaves_one_memory_saying_it(api_client, llm):
    """The model rewrites "Lives in Berlin" to "Lives in Munich", which the scope holds already: before, both were
    kept, two memories saying the same (an added fact is checked for that, a rewrite was not). Now the rewritten one
    goes (its old text is what the model replaced), and the one saying it stays as it was."""
    events(add(api_client, "Lives in Berlin", infer=False))
    events(add(api_client, "Lives in Munich", infer=False))
    berlin, munich = (Memory.objects.get(text=text) for text in ("Lives in Berlin", "Lives in Munich"))
    llm.facts = lambda messages: ["Moved to Munich"]

    def decide(stored, facts):
        [index] = [item["id"] for item in stored if item["text"] == "Lives in Berlin"]
        return [{"event": "UPDATE", "id": index, "text": "Lives in Munich"}]

    llm.decide = decide
    response = add(api_client, "I moved to Munich")
    assert response.json()["results"] == [{"id": str(berlin.id), "memory": "Lives in Berlin", "event": "DELETE"}]
    assert list(Memory.objects.values_list("id", "text")) == [(munich.id, "Lives in Munich")]
    history = api_client.get(f"/memories/{berlin.id}/history").json()
    assert [(h["event"], h["old_memory"], h["new_memory"]) for h in history] == [
        ("ADD", None, "Lives in Berlin"),
        ("DELETE", "Lives in Berlin", None),
    ]


def test_two_updates_to_one_text_in_one_add_leave_one_memory_saying_it(api_client, llm):
    events(add(api_client, "Likes tea", infer=False))
    events(add(api_client, "Likes coffee", infer=False))
    llm.decide = lambda stored, facts: [
        {"event": "UPDATE", "id": item["id"], "text": "Likes tea and coffee"} for item in stored
    ]
    results = add(api_client, "I like tea and coffee").json()["results"]
    assert sorted(r["event"] for r in results) == ["DELETE", "UPDATE"]
    assert list(Memory.objects.values_list("text", flat=True)) == ["Likes tea and coffee"]


def test_ids_the_model_invents_are_ignored(api_client, llm):
    events(add(api_client, "Plays the cello"))
    llm.decide = lambda stored, facts: [
        {"event": "UPDATE", "id": "7", "text": "Plays the violin"},
        {"event": "DELETE", "id": "3f2b1c9e-0000-4000-8000-000000000000"},
        {"event": "DELETE"},
        {"event": "NONE", "id": "12"},
        {"event": "EXPLODE", "id": "0"},
        {"event": "ADD", "text": "Speaks Italian"},
    ]
    assert events(add(api_client, "Speaks Italian")) == [("ADD", "Speaks Italian")]
    assert sorted(Memory.objects.values_list("text", flat=True)) == ["Plays the cello", "Speaks Italian"]


def test_each_memory_is_changed_at_most_once(api_client, llm):
    events(add(api_client, "Works as a nurse"))
    llm.decide = lambda stored, facts: [
        {"event": "NONE", "id": "0"},
        {"event": "UPDATE", "id": "0", "text": "Works as a head nurse"},
        {"event": "DELETE", "id": "0"},
    ]
    assert events(add(api_client, "Was promoted to head nurse")) == [("UPDATE", "Works as a head nurse")]
    assert Memory.objects.get().text == "Works as a head nurse"


def test_facts_keep_the_language_of_the_input(api_client, llm):
    assert events(add(api_client, "Wohnt in München")) == [("ADD", "Wohnt in München")]
    assert "Wohnt in München" in llm.chat_calls()[0].body["messages"][-1]["content"]


def test_no_facts_means_no_memories_and_no_embedding(api_client, llm):
    llm.facts = lambda messages: []
    assert events(add(api_client, "Hello there!")) == []
    assert not Memory.objects.exists()
    assert len(llm.chat_calls()) == 1


def test_metadata_and_expiration_apply_to_inferred_memories(api_client, llm):
    add(
        api_client,
        "Is in Paris this week",
        metadata={"topic": "travel", "user_id": "mallory"},
        expiration_date="2999-01-01",
    )
    memory = Memory.objects.get()
    assert (memory.metadata, str(memory.expiration_date), memory.user_id) == (
        {"topic": "travel"},
        "2999-01-01",
        "alice",
    )


def test_a_fact_whose_memory_expired_is_stored_again(api_client, llm):
    events(add(api_client, "Is in Paris this week", expiration_date="2020-01-01"))
    assert events(add(api_client, "Is in Paris this week")) == [("ADD", "Is in Paris this week")]
    assert Memory.objects.count() == 2


def test_infer_false_still_stores_messages_without_any_llm_call(api_client, llm):
    assert events(add(api_client, "Verbatim note", infer=False)) == [("ADD", "Verbatim note")]
    assert llm.calls == []


def test_system_messages_are_not_sent_for_extraction(api_client, llm):
    messages = [{"role": "system", "content": "You are a pirate"}, {"role": "user", "content": "Likes sailing"}]
    api_client.post("/memories", {"messages": messages, "user_id": "alice"}, format="json")
    assert "pirate" not in llm.chat_calls()[0].body["messages"][-1]["content"]


# --- prompts and context -----------------------------------------------------------------------------------


def test_the_last_messages_of_the_session_are_context(api_client, llm):
    add(api_client, "My sister is called Ana", run_id="chat-1")
    add(api_client, "Something else entirely", run_id="chat-2")
    add(api_client, "She lives in Porto", run_id="chat-1")
    user = llm.chat_calls("extract")[-1].body["messages"][-1]["content"]
    context, new = user.split("New messages:")
    assert "My sister is called Ana" in context
    assert "Something else entirely" not in user
    assert "She lives in Porto" in new


def test_an_extractions_context_fits_in_what_its_run_leaves_of_the_runs_size(api_client, llm, settings):
    # Ten remembered messages of 1,500 characters (a chat of long turns, or a document's passages), then a short one:
    # the prompt held all ten (15,000 characters) beside a run of at most 4,000.
    settings.LLM_EXTRACTION_CHUNK_CHARS = 4_000
    llm.facts = lambda messages: []
    for n in range(10):
        add(api_client, f"Turn {n}: " + "we talked about the garden. " * 53)
    add(api_client, "She lives in Porto")
    context = llm.chat_calls("extract")[-1].body["messages"][-1]["content"].split("New messages:")[0]
    assert [n for n in range(10) if f"Turn {n}:" in context] == [8, 9]  # 3,000 characters: 4,000 less the run's 18
    # A run of 3,500 characters: its context within a quarter of the run's size, at least the last message.
    add(api_client, "My sister Ana visits every August. " * 100)
    context = llm.chat_calls("extract")[-1].body["messages"][-1]["content"].split("New messages:")[0]
    assert "She lives in Porto" in context and "Turn 9:" not in context


def test_a_message_longer_than_an_extraction_run_is_read_in_runs_cut_at_its_paragraphs(api_client, llm, settings):
    settings.LLM_EXTRACTION_CHUNK_CHARS = 1_000
    paragraphs = [
        f"Day {n}: the garden's {thing} was moved. " + "Rain fell all day long. " * 20
        for n, thing in enumerate(THINGS[:5])
    ]
    llm.facts = lambda messages: [content.split(".")[0] for role, content in messages if role == "user"]
    assert events(add(api_client, "\n\n".join(paragraphs))) == [("ADD", p.split(".")[0]) for p in paragraphs]
    runs = [call.body["messages"][-1]["content"].split("New messages:\n", 1) for call in llm.chat_calls("extract")]
    runs.sort(key=lambda run: int(run[1].split()[2].rstrip(":")))  # asked side by side: in the document's order
    assert [new for _, new in runs] == [f"user: {p.strip()}" for p in paragraphs]  # one paragraph a run fits
    # Each later run with the paragraph before it as context (the last message before it, whatever its length).
    assert [context.count("\nuser: Day ") for context, _ in runs] == [0, 1, 1, 1, 1]
    assert [context.split("\nuser: ")[-1][:6] for context, _ in runs[1:]] == ["Day 0:", "Day 1:", "Day 2:", "Day 3:"]


def test_an_adds_extraction_runs_are_asked_for_side_by_side(api_client, llm, settings):
    # Each run's call waits in the model until three are being answered at once (at most 60 s, then it fails): they
    # are, with LLM_ADD_CONCURRENCY 3. One after another, a long document took the sum of its runs' times.
    settings.LLM_EXTRACTION_CHUNK_CHARS, settings.LLM_ADD_CONCURRENCY = 1_000, 3
    assert configure(api_client, llm=llm_section(llm, timeout=THREAD_SLACK)).status_code == 200
    together = threading.Barrier(3, timeout=THREAD_SLACK)

    def facts(messages):
        together.wait()
        return [content.split(".")[0] for role, content in messages if role == "user"]

    llm.facts = facts
    said = [f"Alice packed the {thing}." + " It took a while." * 40 for thing in THINGS[:3]]  # a run each
    assert events(add(api_client, *said)) == [("ADD", f"Alice packed the {thing}") for thing in THINGS[:3]]


def test_more_facts_than_one_decision_takes_are_decided_in_batches_side_by_side_none_lost(api_client, llm, settings):
    events(add(api_client, "Alice likes tea"))
    settings.LLM_EXTRACTION_CHUNK_CHARS = 1_000  # 60 facts of about 25 characters: two runs
    said = [f"Alice owns the {thing}" for thing in THINGS[:60]]
    said[3], said[55] = "Alice likes coffee", "Alice likes cocoa"  # each rewrites the stored tea (the fake's rule)
    # The two decisions are asked for side by side: each waits in the model until both are (at most 60 s).
    assert configure(api_client, llm=llm_section(llm, timeout=THREAD_SLACK)).status_code == 200
    together = threading.Barrier(2, timeout=THREAD_SLACK)

    def decide(stored, facts):
        together.wait()
        return default_decide(stored, facts)

    llm.decide = decide
    llm.reset_calls()
    answer = events(add(api_client, *said))
    decisions = [json.loads(call.body["messages"][-1]["content"]) for call in llm.chat_calls("decide")]
    assert sorted(len(decision["new_facts"]) for decision in decisions) == [10, 50]  # MAX_FACTS a decision
    # The second decision did not see the first's rewrite of the tea: its own is kept as a memory of its own.
    assert ("UPDATE", "Alice likes coffee") in answer and ("ADD", "Alice likes cocoa") in answer
    assert sorted(Memory.objects.values_list("text", flat=True)) == sorted(said)


def test_more_memories_than_one_categorization_takes_are_tagged_in_batches_side_by_side(api_client, llm, settings):
    # Each categorization waits in the model until both are being asked at once (at most 60 s, then the add goes on
    # without categories, and the test fails).
    settings.LLM_EXTRACTION_CHUNK_CHARS = 1_000  # 60 facts of about 25 characters: two runs
    assert configure(api_client, llm=llm_section(llm, timeout=THREAD_SLACK)).status_code == 200
    together = threading.Barrier(2, timeout=THREAD_SLACK)

    def categorize(catalog, texts):
        together.wait()
        return [["things"] for _ in texts]

    llm.categorize = categorize
    said = [f"Alice owns the {thing}" for thing in THINGS[:60]]
    services.memories_add(
        principal=ADMIN,
        messages=[services.Message(role="user", content=text) for text in said],
        scope={"user_id": "alice"},
        categories={"things": "what Alice owns"},
    )
    assert sorted(Memory.objects.values_list("text", flat=True)) == sorted(said)
    assert all(memory.categories == ["things"] for memory in Memory.objects.all())
    asked = [json.loads(call.body["messages"][-1]["content"])["memories"] for call in llm.chat_calls("categorize")]
    assert sorted(len(memories) for memories in asked) == [10, 50]  # MAX_FACTS a call


def test_the_facts_categories_are_asked_beside_the_decision_not_after_it(api_client, llm):
    """An add to a scope holding memories asked the LLM three times one after another (facts, decision, categories),
    the last two in the scope's turn: the categories of the facts are asked beside the decision. The decision's answer
    waits in the model until the categories are asked (at most THREAD_SLACK, then the test fails)."""
    events(add(api_client, "Lives in Berlin"))
    asked = threading.Event()

    def decide(stored, facts):
        assert asked.wait(THREAD_SLACK), "the categories were not asked while the decision was"
        return default_decide(stored, facts)

    def categorize(catalog, texts):
        asked.set()
        return [["places"] if "Munich" in text else ["drinks"] for text in texts]

    llm.decide, llm.categorize = decide, categorize
    services.memories_add(
        principal=ADMIN,
        messages=[services.Message("user", "Lives in Munich"), services.Message("user", "Drinks green tea")],
        scope={"user_id": "alice"},
        categories={"places": "where Alice lives", "drinks": "what Alice drinks"},
    )
    assert sorted(Memory.objects.values_list("text", "categories")) == [
        ("Drinks green tea", ["drinks"]),
        ("Lives in Munich", ["places"]),
    ]
    assert [call.kind for call in llm.chat_calls()][-3:] in (
        ["extract", "decide", "categorize"],
        ["extract", "categorize", "decide"],
    )  # one call for the categories: the decision kept the facts' texts


def test_a_text_the_decision_rewords_is_categorised_after_it(api_client, llm):
    events(add(api_client, "Lives in Berlin"))
    llm.decide = lambda stored, facts: [
        {"event": "UPDATE", "id": stored[0]["id"], "text": "Moved from Berlin to Munich"}
    ]
    llm.categorize = lambda catalog, texts: [["places"] for _ in texts]
    services.memories_add(
        principal=ADMIN,
        messages=[services.Message("user", "Lives in Munich")],
        scope={"user_id": "alice"},
        categories={"places": "where Alice lives"},
    )
    assert list(Memory.objects.values_list("text", "categories")) == [("Moved from Berlin to Munich", ["places"])]
    asked = [json.loads(call.body["messages"][-1]["content"])["memories"] for call in llm.chat_calls("categorize")]
    assert sorted(asked) == [["Lives in Munich"], ["Moved from Berlin to Munich"]]


def test_session_context_keeps_only_the_newest_messages(api_client, llm):
    llm.facts = lambda messages: []
    for n in range(14):
        add(api_client, f"message {n}")
    assert SessionMessage.objects.count() == 10
    user = llm.chat_calls("extract")[-1].body["messages"][-1]["content"]
    assert "message 3" in user and "message 2\n" not in user


def turn(client, *said: tuple[str, str]):
    messages = [{"role": role, "content": content} for role, content in said]
    return client.post("/memories", {"messages": messages, "user_id": "alice"}, format="json")


def test_a_conversation_sent_again_is_extracted_from_its_new_messages_only(api_client, llm):
    # Pipecat sends the whole conversation so far with each turn: its earlier messages, extracted from by the adds
    # before, went to the LLM as new again with every turn (the prompt growing with the conversation), and the
    # LLM drew their facts again.
    llm.facts = lambda messages: [content for role, content in messages if role == "user"]
    u1, r1, u2, r2, u3 = (
        ("user", "I moved to Lisbon last spring"),
        ("assistant", "Lovely! How do you like it?"),
        ("user", "I play the cello in a quartet"),
        ("assistant", "Wonderful."),
        ("user", "My sister Ana visits every August"),
    )
    assert events(turn(api_client, u1)) == [("ADD", u1[1])]
    assert events(turn(api_client, u1, r1, u2)) == [("ADD", u2[1])]
    assert events(turn(api_client, u1, r1, u2, r2, u3)) == [("ADD", u3[1])]
    extractions = [call.body["messages"][-1]["content"] for call in llm.chat_calls("extract")]
    news = [prompt.split("New messages:\n")[1] for prompt in extractions]
    assert news == [f"user: {u1[1]}", f"assistant: {r1[1]}\nuser: {u2[1]}", f"assistant: {r2[1]}\nuser: {u3[1]}"]
    assert u1[1] in extractions[2].split("New messages:")[0]  # what was said before stays the context
    # Nothing after what was said before: all of it is extracted from, as a message said again alone is.
    assert events(turn(api_client, u1, r1, u2, r2, u3)) == [("NONE", u1[1]), ("NONE", u2[1]), ("NONE", u3[1])]
    # Messages that merely end as the conversation did are all new.
    assert events(turn(api_client, ("user", "Something else"), r2, u3)) == [("ADD", "Something else"), ("NONE", u3[1])]


def test_deleting_a_scope_or_resetting_forgets_its_conversation_context(api_client, llm):
    add(api_client, "Likes tea")
    add(api_client, "Likes jazz", user_id="bob")
    api_client.delete("/memories?user_id=alice")
    assert list(SessionMessage.objects.values_list("user_id", flat=True)) == ["bob"]
    api_client.post("/reset")
    assert not SessionMessage.objects.exists()


def test_a_prompt_in_the_request_replaces_the_extraction_instructions(api_client, llm):
    add(api_client, "Likes jazz", prompt="Only extract music preferences.")
    system = llm.chat_calls()[0].body["messages"][0]["content"]
    assert system.startswith("Only extract music preferences.")
    assert '{"facts"' in system  # the reply format is still asked for


def test_custom_prompts_from_the_configuration_are_used(api_client, llm):
    configure(
        api_client, custom_fact_extraction_prompt="EXTRACT CAREFULLY", custom_update_memory_prompt="DECIDE WISELY"
    )
    add(api_client, "Likes jazz")
    add(api_client, "Likes blues")
    assert llm.chat_calls("extract")[0].body["messages"][0]["content"].startswith("EXTRACT CAREFULLY")
    assert llm.chat_calls("decide")[0].body["messages"][0]["content"].startswith("DECIDE WISELY")


def test_an_agent_only_scope_extracts_facts_about_the_agent(api_client, llm):
    add(api_client, "Your name is Ada", user_id=None, agent_id="helper")
    assert "about the assistant" in llm.chat_calls()[0].body["messages"][0]["content"]


# --- malformed answers -------------------------------------------------------------------------------------


def test_json_in_fences_with_prose_is_repaired(api_client, llm):
    llm.chat_queue.append(text('Sure! Here they are:\n```json\n{"facts": ["Likes chess",]}\n```\nAnything else?'))
    assert events(add(api_client, "I play chess")) == [("ADD", "Likes chess")]
    assert len(llm.chat_calls()) == 1


def test_a_nul_or_half_a_surrogate_pair_in_the_models_facts_is_taken_out(api_client, llm):
    # The model's JSON spells them as escapes (\u0000, \ud800); a NUL was a 400 blaming the caller, and the
    # surrogate a 500 in the embedder.
    llm.chat_queue.append(as_json({"facts": ["Likes gr\u0000een tea", "Drinks \ud800 coffee"]}))
    assert events(add(api_client, "I like green tea and coffee")) == [
        ("ADD", "Likes green tea"),
        ("ADD", "Drinks \ufffd coffee"),
    ]


def test_a_provider_error_quoting_half_a_surrogate_pair_is_a_readable_502(api_client, llm):
    llm.chat_queue.append(error(400, "Bad input near \udc00 here"))
    response = add(api_client, "Likes tea")  # writing the answer was a 500: UTF-8 cannot encode the surrogate
    assert response.status_code == 502
    assert "Bad input near" in response.json()["detail"]


def test_unusable_json_is_asked_for_once_more(api_client, llm):
    llm.chat_queue.append(text("I think the user likes chess."))
    llm.chat_queue.append(as_json({"facts": ["Likes chess"]}))
    assert events(add(api_client, "I play chess")) == [("ADD", "Likes chess")]
    assert len(llm.chat_calls()) == 2


def test_unusable_json_twice_is_a_502_and_writes_nothing(api_client, llm):
    events(add(api_client, "Likes tea"))
    before = snapshot()
    llm.chat_queue.extend([as_json({"facts": ["Likes coffee"]}), text("ADD it, I guess"), as_json({"ops": "?"})])
    response = add(api_client, "Likes coffee")
    assert response.status_code == 502
    body = response.json()
    assert body["code"] == "provider_unavailable"
    assert "not the JSON" in body["detail"]
    assert body["request_id"] == response["X-Request-ID"]
    assert snapshot() == before


# --- upstream failures ---------------------------------------------------------------------------------------


def test_a_timeout_is_a_504_and_writes_nothing(api_client, llm):
    configure(api_client, llm={"config": {"timeout": 0.3}})
    llm.chat_queue.append(text('{"facts": ["Likes tea"]}', delay=1.0))
    response = add(api_client, "Likes tea")
    assert response.status_code == 504
    assert response.json()["code"] == "provider_timeout"
    assert "0.3 s" in response.json()["detail"]
    assert snapshot() == ([], 0, 0)
    assert len(llm.chat_calls()) == 1  # a timeout is not retried


def test_a_429_is_retried_once_after_the_servers_pause(api_client, llm):
    llm.chat_queue.append(error(429, "Rate limit reached", headers={"retry-after-ms": "20"}))
    assert events(add(api_client, "Likes tea")) == [("ADD", "Likes tea")]
    assert [c.kind for c in llm.chat_calls()] == ["extract", "extract"]


def test_a_second_5xx_is_a_502_and_writes_nothing(api_client, llm, monkeypatch):
    monkeypatch.setattr("memories.llm.RETRY_BACKOFF_SECONDS", 0.01)
    llm.chat_queue.extend([error(503, "overloaded"), error(500, "boom")])
    response = add(api_client, "Likes tea")
    assert response.status_code == 502
    assert response.json()["code"] == "provider_unavailable"
    assert "HTTP 500" in response.json()["detail"]
    assert snapshot() == ([], 0, 0)


def test_rate_limited_twice_is_a_502_naming_it(api_client, llm):
    llm.chat_queue.extend([error(429, headers={"retry-after": "0"}), error(429, "slow down")])
    response = add(api_client, "Likes tea")
    assert (response.status_code, response.json()["code"]) == (502, "provider_rate_limited")


def test_a_long_retry_after_is_not_waited_for(api_client, llm):
    llm.chat_queue.append(error(429, headers={"retry-after": "120"}))
    response = add(api_client, "Likes tea")
    assert (response.status_code, response.json()["code"]) == (502, "provider_rate_limited")
    assert len(llm.chat_calls()) == 1


def test_a_wrong_api_key_is_a_502_provider_auth_failed(api_client, fake_openai):
    fake_openai.api_key = "sk-right"
    configure(api_client, llm=llm_section(fake_openai, api_key="sk-wrong"))
    response = add(api_client, "Likes tea")
    assert (response.status_code, response.json()["code"]) == (502, "provider_auth_failed")
    assert "Incorrect API key" in response.json()["detail"]
    assert "sk-wrong" not in response.json()["detail"]


def test_an_unknown_model_is_a_502_provider_bad_request(api_client, llm):
    llm.chat_queue.append(error(404, "The model `nope` does not exist"))
    response = add(api_client, "Likes tea")
    assert (response.status_code, response.json()["code"]) == (502, "provider_bad_request")


def test_an_unreachable_server_is_a_502_provider_unavailable(api_client, llm, monkeypatch):
    monkeypatch.setattr("memories.llm.RETRY_BACKOFF_SECONDS", 0.01)
    llm.stop()
    response = add(api_client, "Likes tea")
    assert (response.status_code, response.json()["code"]) == (502, "provider_unavailable")
    assert "could not be reached" in response.json()["detail"]


def test_a_server_without_json_mode_is_asked_again_without_it(api_client, llm):
    llm.chat_queue.append(error(400, "response_format json_object is not supported"))
    assert events(add(api_client, "Likes tea")) == [("ADD", "Likes tea")]
    first, second = llm.chat_calls()
    assert "response_format" in first.body and "response_format" not in second.body
    add(api_client, "Likes coffee")
    assert all("response_format" not in c.body for c in llm.chat_calls()[2:])


# --- procedural memory ---------------------------------------------------------------------------------------


def test_procedural_memory_summarises_the_conversation_into_one_memory(api_client, llm):
    llm.summary = lambda conversation: "Goal: book a flight. Step 1: searched flights (3 found)."
    messages = [
        {"role": "user", "content": "Book me a flight to Oslo"},
        {"role": "assistant", "content": "Searched flights: 3 found"},
    ]
    response = api_client.post(
        "/memories",
        {"messages": messages, "agent_id": "travel-bot", "memory_type": "procedural_memory", "metadata": {"k": 1}},
        format="json",
    )
    assert events(response) == [("ADD", "Goal: book a flight. Step 1: searched flights (3 found).")]
    memory = Memory.objects.get()
    assert (memory.agent_id, memory.metadata) == ("travel-bot", {"k": 1, "memory_type": "procedural_memory"})
    [call] = llm.chat_calls()
    assert call.kind == "procedural"
    assert "response_format" not in call.body
    assert "assistant: Searched flights: 3 found" in call.body["messages"][-1]["content"]
    assert MemoryHistory.objects.get(memory_id=memory.id).event == "ADD"


def test_procedural_memory_without_an_llm_is_a_400_saying_how_to_turn_it_on(api_client):
    response = api_client.post(
        "/memories", {"messages": "x", "agent_id": "bot", "memory_type": "procedural_memory"}, format="json"
    )
    assert response.status_code == 400
    assert "OPENAI_API_KEY" in response.json()["detail"]


# --- counts and concurrency --------------------------------------------------------------------------------


def test_an_add_makes_two_chat_calls_and_one_embedding_batch(api_client, llm):
    response = configure(
        api_client,
        embedder={
            "provider": "openai",
            "config": {"model": "fake-embed", "api_key": "sk-test", "openai_base_url": llm.url, "embedding_dims": 64},
        },
    )
    assert response.status_code == 200, response.json()
    events(add(api_client, "Lives in Berlin", "Likes tea"))
    llm.reset_calls()
    assert events(add(api_client, "Lives in Munich", "Likes tea", "Has a dog")) == [
        ("UPDATE", "Lives in Munich"),
        ("NONE", "Likes tea"),
        ("ADD", "Has a dog"),
    ]
    assert [c.kind for c in llm.calls] == ["extract", "embed", "decide"]
    assert llm.embed_calls()[0].body["input"] == ["Lives in Munich", "Likes tea", "Has a dog"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_the_same_fact_store_it_once(admin_key, embedder, fake_openai):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=admin_key)
    assert configure(client, llm=llm_section(fake_openai)).status_code == 200
    # Both extractions are answered only once both requests have arrived, so both adds run side by side.
    barrier = threading.Barrier(2, timeout=THREAD_SLACK)

    def facts(messages):
        barrier.wait()
        return ["Likes green tea"]

    fake_openai.facts = facts
    results: list = []

    def add_one():
        try:
            results.append(
                services.memories_add(
                    principal=ADMIN, messages=[services.Message("user", "I like green tea")], scope={"user_id": "bo"}
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=add_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(THREAD_SLACK * 2)
    assert sorted(r[0]["event"] for r in results) == ["ADD", "NONE"]
    assert Memory.objects.filter(user_id="bo").count() == 1


def side_by_side(fake_openai, *adds: tuple[str, dict[str, str]]) -> list:
    """Sync inferring adds run at once in threads: each extraction is answered only once all have arrived."""
    barrier = threading.Barrier(len(adds), timeout=THREAD_SLACK)

    def facts(messages):
        barrier.wait()
        return default_facts(messages)

    fake_openai.facts = facts
    results: list = []

    def add_one(content, scope):
        try:
            results.append(
                services.memories_add(principal=ADMIN, messages=[services.Message("user", content)], scope=scope)
            )
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=add_one, args=add) for add in adds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(THREAD_SLACK * 2)
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_a_scope_decide_in_turn_so_the_second_updates_the_first(admin_key, embedder, fake_openai):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=admin_key)
    assert configure(client, llm=llm_section(fake_openai)).status_code == 200
    # Side by side, both found nothing stored and both were added: two contradicting homes.
    results = side_by_side(
        fake_openai, ("I live in Berlin now.", {"user_id": "bo"}), ("I live in Munich now.", {"user_id": "bo"})
    )
    assert sorted(r[0]["event"] for r in results) == ["ADD", "UPDATE"], results
    assert Memory.objects.filter(user_id="bo").count() == 1
    assert len(fake_openai.chat_calls("decide")) == 1  # the second decided against what the first stored


@pytest.mark.django_db(transaction=True)
def test_a_decision_outlasting_the_idle_in_transaction_timeout_keeps_its_scope_locked(api_client, llm, monkeypatch):
    # The decision is a transaction left open while the LLM answers, holding the scope's lock: the database's
    # idle-in-transaction timeout (DB_IDLE_IN_TRANSACTION_TIMEOUT_MS, here 100 ms on the connection that decides)
    # would end it, and another add of the scope would decide beside this one, were it not exempt.
    events(add(api_client, "Lives in Berlin"))
    lock = inference.scope_decision_lock

    @contextmanager
    def with_short_idle_limit(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SET idle_in_transaction_session_timeout = '100ms'")
        try:
            with lock(*args, **kwargs):
                yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET idle_in_transaction_session_timeout")

    monkeypatch.setattr(inference, "scope_decision_lock", with_short_idle_limit)
    other_add = []

    def slow_decide(stored, facts):
        time.sleep(1.0)  # ten times that limit
        try:  # another add of the scope, from another thread (and database connection)
            with lock(None, {"user_id": "alice"}, wait=0.2):
                other_add.append("decided beside it")
        except services.ScopeBusy:
            other_add.append("waited")
        finally:
            connection.close()
        return default_decide(stored, facts)

    llm.decide = slow_decide
    assert [event for event, _ in events(add(api_client, "Lives in Munich"))] == ["UPDATE"]
    assert other_add == ["waited"]
    assert list(Memory.objects.values_list("text", flat=True)) == ["Lives in Munich"]


@pytest.mark.django_db(transaction=True)
def test_while_the_llm_extracts_facts_the_add_holds_no_database_connection_of_the_pool(api_client, llm, settings):
    # An LLM call takes seconds: meanwhile the request's database connection goes back to the pool, so adds waiting
    # on the model use up neither DB_POOL_MAX_SIZE nor PostgreSQL's max_connections. The decision keeps its
    # connection: its transaction holds the scope's lock.
    events(add(api_client, "Lives in Berlin"))
    request_db = connections["default"]  # this thread's: the test client runs the request here
    held = {}

    def facts(messages):
        held["extracting"] = request_db.connection is not None
        return default_facts(messages)

    def decide(stored, facts):
        held["deciding"] = request_db.connection is not None
        return default_decide(stored, facts)

    llm.facts, llm.decide = facts, decide
    assert [event for event, _ in events(add(api_client, "Lives in Munich"))] == ["UPDATE"]
    assert held == {"extracting": False, "deciding": True}
    assert list(Memory.objects.values_list("text", flat=True)) == ["Lives in Munich"]
    # Nor while an add's runs are asked for side by side (the calls in threads of their own).
    settings.LLM_EXTRACTION_CHUNK_CHARS = 1_000
    held.clear()
    assert len(llm.chat_calls("extract")) == 2
    events(add(api_client, "Lives in Lisbon. " + "It is sunny there. " * 30, "Has a dog. " + "A big one. " * 60))
    assert len(llm.chat_calls("extract")) == 4  # two runs
    assert held == {"extracting": False, "deciding": True}


@pytest.mark.django_db(transaction=True)
def test_an_add_waiting_longer_than_the_llm_timeout_for_its_scope_is_a_409(api_client, llm):
    assert configure(api_client, llm=llm_section(llm, timeout=0.5)).status_code == 200
    with another_add_deciding(None, {"user_id": "alice"}):
        response = add(api_client, "Lives in Berlin")
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert detail.startswith("Another add to this scope was still being decided after this one waited 0.5 s")
    # It said "Try again." and no more: now when (its Retry-After, once the other add's LLM call has answered or timed
    # out), and that a queued add waits for its turn instead.
    assert response["Retry-After"] == "1"
    assert "Send it again in 1 s (Retry-After), or queue it (the Platform API's async_mode)" in detail
    assert not Memory.objects.exists()
    assert events(add(api_client, "Lives in Berlin")) == [("ADD", "Lives in Berlin")]  # its turn, once free


@pytest.mark.django_db(transaction=True)
def test_an_add_waits_for_its_turn_only_what_its_extraction_left_of_the_llm_timeout(api_client, llm):
    """Extraction, then a whole LLM_TIMEOUT of waiting, then the decision's call: three timeouts, where README tells a
    reverse proxy to allow two, so a proxy could answer 504 while the add went on to store. Now extraction and wait
    share one (the server's own figure in its 409: what was waited)."""
    assert configure(api_client, llm=llm_section(llm, timeout=3)).status_code == 200

    def slow_facts(messages):
        time.sleep(1.2)
        return default_facts(messages)

    llm.facts = slow_facts
    with another_add_deciding(None, {"user_id": "alice"}):
        response = add(api_client, "Lives in Berlin")
    assert response.status_code == 409
    waited = float(re.search(r"decided after (?:this one waited )?([\d.]+) s", response.json()["detail"])[1])
    assert waited <= 3 - 1.2
    assert response["Retry-After"] == str(math.ceil(3 - waited))
    assert not Memory.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_edit_made_while_the_llm_decided_is_neither_deleted_nor_overwritten_by_its_decision(api_client, llm):
    events(add(api_client, "Likes tea", "Lives in Berlin"))
    tea, home = (Memory.objects.get(text=text).id for text in ("Likes tea", "Lives in Berlin"))

    def decide(stored, facts):
        # While the model decides about the texts it was shown, the user edits both memories (PUT /memories/{id}).
        try:
            services.memory_update(principal=ADMIN, memory_id=tea, text="Likes tea with lemon, never with milk")
            services.memory_update(principal=ADMIN, memory_id=home, text="Lives in Berlin, works in Potsdam")
        finally:
            connection.close()  # the fake server thread's own database session
        ids = {memory["text"]: memory["id"] for memory in stored}
        return [
            {"event": "DELETE", "id": ids["Likes tea"]},
            {"event": "UPDATE", "id": ids["Lives in Berlin"], "text": "Lives in Munich"},
        ]

    llm.decide = decide
    response = add(api_client, "No longer likes tea", "Lives in Munich")
    # Decided about texts no longer stored: the edits stay, and the new fact is stored beside them.
    assert [event for event, _ in events(response)] == ["ADD"]
    assert sorted(Memory.objects.values_list("text", flat=True)) == [
        "Likes tea with lemon, never with milk",
        "Lives in Berlin, works in Potsdam",
        "Lives in Munich",
    ]
    assert MemoryHistory.objects.filter(event="DELETE").count() == 0


# --- tenancy ----------------------------------------------------------------------------------------------


def test_inference_reconciles_only_with_the_callers_own_memories(llm, make_user, key_client):
    """Another account's memory in the same user_id is neither shown to the model nor updated."""
    a, b = make_user("a@example.com"), make_user("b@example.com")
    client_a, client_b = key_client(a), key_client(b)
    assert events(add(client_b, "Lives in Berlin")) == [("ADD", "Lives in Berlin")]
    llm.reset_calls()
    assert events(add(client_a, "Lives in Munich")) == [("ADD", "Lives in Munich")]
    assert [call.kind for call in llm.chat_calls()] == ["extract"]  # nothing of B's to decide against
    assert Memory.objects.get(text="Lives in Berlin").account == b
    assert Memory.objects.get(text="Lives in Munich").account == a
    assert set(MemoryHistory.objects.values_list("account", flat=True)) == {a.pk, b.pk}
    # The conversation context kept for the next extraction is per account too.
    assert SessionMessage.objects.filter(account=a).count() == 1
    assert SessionMessage.objects.filter(account=b).count() == 1
