"""Integrations built on Mem0's Platform API that take a base URL, unchanged, against a live server: Mem0's OpenClaw
plugin (npm @mem0/openclaw-mem0), n8n node (npm @mem0/n8n-nodes-mem0), LangChain.js memory (npm @mem0/community,
@langchain/community's Mem0Memory) and Vercel AI SDK provider (npm @mem0/vercel-ai-provider), and Mastra's
integration (npm @mastra/mem0), pinned in
platform_api/tests/js/package.json and driven by check scripts there (`make test` installs them)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from accounts.models import User
from apikeys.services import apikey_create
from events.models import Event
from memories.models import Memory
from memories.tests.fake_openai import FakeOpenAI, llm_configured
from memories.tests.files import pdf_of
from memories.vision import RED_PIXEL
from platform_api.tests.node_sdk import run_node_check
from requestlog.models import RequestLog

pytestmark = pytest.mark.django_db(transaction=True)

JS = Path(__file__).parent / "js"


def run_openclaw(mode: str, host: str) -> tuple[User, dict]:
    owner = User.objects.create_user(email=f"openclaw-{mode}@example.com", name="OpenClaw")
    key = apikey_create(user=owner, label="openclaw")[1]
    return owner, run_node_check(JS / "openclaw_check.mjs", mode, host=host, key=key)


def memories_of(step: dict) -> list[str]:
    return sorted(m["memory"] for m in step["details"].get("memories", []))


def assert_the_tools_and_recall_worked(report: dict, owner: User) -> None:
    assert report["tools"] == [
        "memory_add",
        "memory_delete",
        "memory_event_list",
        "memory_event_status",
        "memory_get",
        "memory_list",
        "memory_search",
        "memory_update",
    ]
    assert memories_of(report["listed"]) == ["Likes green tea", "Lives in Lisbon"]
    assert memories_of(report["search"]) == ["Lives in Lisbon"]
    assert "Lives in Lisbon" in report["get"]["text"]
    assert report["update"]["details"]["action"] == "updated"
    assert report["got"]["details"]["memory"]["memory"] == "Lives in Porto"
    assert "Status: SUCCEEDED" in report["event"]["text"]
    assert "- Lives in Porto" in report["recall"]["prependContext"]
    assert report["deleted"]["details"]["action"] == "deleted"
    assert report["deleteAll"]["details"]["action"] == "deleted_all"
    assert report["empty"]["details"]["count"] == 0
    assert not Memory.objects.filter(account=owner).exists()
    assert not [line for line in report["logs"] if "failed" in line]
    # The request log names the plugin where it says who it is (its event tools send X-Mem0-Source, its adds a body
    # `source`); its mem0ai 3.0.7 client says nothing else, so Node's own User-Agent stands there.
    assert set(RequestLog.objects.filter(account=owner).values_list("client", flat=True)) == {"OPENCLAW", "node"}
    adds = RequestLog.objects.filter(account=owner, path="/v3/memories/add/")
    assert adds.exists() and set(adds.values_list("client", flat=True)) == {"OPENCLAW"}


def test_openclaws_plugin_remembers_recalls_and_captures_through_the_llm(
    live_server, admin_key, embedder, worker, llm_on
):
    llm_on.facts = lambda messages: [
        fact
        for role, content in messages
        if role == "user"
        for fact in (content.split(" and ") if "green tea" in content else [content])
    ]
    llm_on.categorize = lambda catalog, texts: [[catalog[0]["name"]] for _ in texts]
    owner, report = run_openclaw("default", live_server.url)

    assert_the_tools_and_recall_worked(report, owner)
    # The plugin's extraction instructions and its category catalog (identity first) reached the LLM.
    extract, categorize = llm_on.chat_calls("extract")[0], llm_on.chat_calls("categorize")[0]
    assert extract.body["messages"][0]["content"].startswith("Your Task: Extract durable, actionable facts")
    assert '"name": "identity"' in categorize.body["messages"][-1]["content"]
    assert [m["categories"] for m in report["listed"]["details"]["memories"]] == [["identity"], ["identity"]]
    assert memories_of(report["identity"]) == ["Lives in Lisbon"]
    assert report["goals"]["details"]["count"] == 0
    # After the turn, the conversation was captured: the user's words, not the assistant's.
    assert memories_of(report["afterCapture"]) == [
        "I started learning the cello last month and I practise every evening after work.",
        "Likes green tea",
        "Lives in Porto",
    ]


def test_openclaws_plugin_in_skills_mode_stores_its_facts_as_given(live_server, admin_key, embedder, worker):
    owner, report = run_openclaw("skills", live_server.url)
    assert report["add"]["text"].startswith("Stored 2 fact(s) [identity]")
    assert_the_tools_and_recall_worked(report, owner)


def test_n8ns_node_adds_searches_pages_changes_and_deletes(live_server, admin_key, embedder, worker):
    owner = User.objects.create_user(email="n8n@example.com", name="n8n")
    key = apikey_create(user=owner, label="n8n")[1]
    report = run_node_check(JS / "n8n_check.mjs", "memory", host=live_server.url, key=key)

    assert report["credentialTest"]["status"] == "ok"
    # Each add waited for its queued event (the node polls GET /v1/event/{id}/) and hands back what was stored.
    assert [(r["event"], r["memory"]) for r in report["added"]] == [("ADD", "I moved to Lisbon last spring")]
    assert [(r["event"], r["memory"]) for r in report["addedToo"]] == [("ADD", "I drink green tea every morning")]
    [found] = report["searched"]
    assert (found["memory"], found["metadata"]) == ("I moved to Lisbon last spring", {"workflow": "onboarding"})
    # "Return All" pages through with page_size 1 until the answer has no next page.
    assert sorted(m["memory"] for m in report["pagedAll"]) == [
        "I drink green tea every morning",
        "I moved to Lisbon last spring",
    ]
    assert [m["memory"] for m in report["pageTwo"]] == ["I moved to Lisbon last spring"]
    assert report["got"][0]["id"] == found["id"]
    assert report["updated"][0]["memory"] == "I moved to Porto last spring"
    assert report["deleted"] == [{"message": "Memory deleted successfully!"}]
    assert report["gone"]["httpCode"] == "404"
    # The node shows a 400's detail, which says what is wrong.
    assert report["refused"]["httpCode"] == "400"
    assert "user_id: Must not contain whitespace." in report["refused"]["description"]
    assert list(Memory.objects.filter(account=owner).values_list("text", flat=True)) == [
        "I drink green tea every morning"
    ]
    # Its source, in each request's query, names it in the request log.
    assert set(RequestLog.objects.filter(account=owner, path__startswith="/v3/").values_list("client", flat=True)) == {
        "N8N"
    }


def test_mastras_integration_remembers_and_finds(live_server, admin_key, embedder):
    # It spreads its client's options (apiKey, host) into each add and search: a 400 naming them, before.
    owner = User.objects.create_user(email="mastra@example.com", name="Mastra")
    key = apikey_create(user=owner, label="mastra")[1]
    report = run_node_check(JS / "mastra_check.mjs", "memory", host=live_server.url, key=key)

    assert report["created"].endswith("\n\nI moved to Lisbon last spring\nI drink green tea every morning")
    assert report["found"].endswith("\n\nI moved to Lisbon last spring")
    assert sorted(Memory.objects.filter(account=owner).values_list("user_id", "text")) == [
        ("mastra-user", "I drink green tea every morning"),
        ("mastra-user", "I moved to Lisbon last spring"),
    ]


def run_langchain(part: str, host: str) -> tuple[User, dict]:
    owner = User.objects.create_user(email=f"{part}@example.com", name="LangChain")
    key = apikey_create(user=owner, label=part)[1]
    return owner, run_node_check(JS / "langchain_check.mjs", part, host=host, key=key)


@pytest.mark.parametrize("part", ["plain", "options-v2"])
def test_langchains_mem0_memory_saves_a_turn_and_loads_it_back(live_server, admin_key, embedder, part):
    # With options (enable_graph false beside the user id) its search and list were a 400, before.
    owner, report = run_langchain(part, live_server.url)
    assert report["errors"] == []
    assert report["searched"].endswith("\n\nI moved to Lisbon last spring\nLisbon is lovely in spring!")
    assert sorted(report["listed"].split("\n\n\n")[1].splitlines()) == [
        "I moved to Lisbon last spring",
        "Lisbon is lovely in spring!",
    ]
    assert set(Memory.objects.filter(account=owner).values_list("user_id", flat=True)) == {f"memory-{part}"}


def test_langchains_mem0_memory_with_object_options_is_told_how_to_list(live_server, admin_key, embedder):
    # Without api_version "v2" the 2.x client writes the options' filters and metadata objects into the list's
    # query as "[object Object]": nothing the server can honour, so that list is refused saying what to set.
    _, report = run_langchain("options", live_server.url)
    assert report["searched"].endswith("\n\nI moved to Lisbon last spring\nLisbon is lovely in spring!")
    assert report["listed"] == ""
    [error] = report["errors"]
    assert error.startswith("Error loading memories: ValidationError") and 'give getAll api_version \\"v2\\"' in error


def test_the_vercel_ai_sdk_providers_image_is_remembered_by_what_it_shows_with_vision_on(
    live_server, admin_key, embedder, worker
):
    owner = User.objects.create_user(email="vercel-vision@example.com", name="Vercel")
    key = apikey_create(user=owner, label="vercel")[1]
    with llm_configured(vision=True) as llm:
        png = RED_PIXEL.split(",", 1)[1]  # the picture's content in base64, as the AI SDK's file part holds it
        gif = base64.b64encode(b"GIF89a\x01\x00\x01\x00").decode()  # sent as its bytes, a Uint8Array
        report = run_node_check(
            JS / "vercel_check.mjs", "vision", host=live_server.url, key=key, PNG_BASE64=png, GIF_BASE64=gif
        )
    assert report["added"]["status"] == "PENDING", report["added"]
    photo = "https://example.com/pets/luna-on-the-beach.png"
    assert sorted(llm.described()) == sorted([photo, f"data:image/png;base64,{png}", f"data:image/gif;base64,{gif}"])
    # The fake's facts are the user messages' texts: the message's own, and its images' descriptions (the add's
    # memories commit together: what the search found says the add is done).
    assert sorted(m["memory"] for m in report["got"]) == ["A picture of luna on the beach", "This is my dog Luna"]
    assert sorted(Memory.objects.filter(user_id="vercel-user").values_list("text", flat=True)) == [
        "A picture of luna on the beach",
        "A picture sent inline",
        "This is my dog Luna",
    ]


def test_the_vercel_ai_sdk_providers_pdf_file_is_remembered_by_its_text(live_server, admin_key, embedder, worker):
    owner = User.objects.create_user(email="vercel-pdf@example.com", name="Vercel")
    key = apikey_create(user=owner, label="vercel")[1]
    lease = base64.b64encode(pdf_of("Lease of the flat on Rua Augusta", "The rent is 950 euros a month")).decode()
    # Read by the script into a Buffer and a Uint8Array, as a file read from disk is.
    insurance = base64.b64encode(pdf_of("The insurance of the flat costs 20 euros a month")).decode()
    report = run_node_check(
        JS / "vercel_check.mjs",
        "document",
        host=live_server.url,
        key=key,
        PDF_BASE64=lease,
        PDF2_BASE64=insurance,
        MD_TEXT="# Flat\n\nThe landlord is Senhora Costa.",
    )
    assert report["added"]["status"] == "PENDING", report["added"]
    assert sorted(m["memory"] for m in report["got"]) == [
        "# Flat\n\nThe landlord is Senhora Costa.",
        "Here is my lease",
        "Lease of the flat on Rua Augusta\n\nThe rent is 950 euros a month",
        "The insurance of the flat costs 20 euros a month",
    ]


def test_the_vercel_ai_sdk_provider_adds_finds_and_hands_the_model_the_memories(
    live_server, admin_key, embedder, worker
):
    owner = User.objects.create_user(email="vercel@example.com", name="Vercel")
    key = apikey_create(user=owner, label="vercel")[1]
    with FakeOpenAI() as model:
        report = run_node_check(
            JS / "vercel_check.mjs", "memory", host=live_server.url, key=key, FAKE_OPENAI_URL=model.url
        )
        [call] = model.chat_calls()

    assert report["added"]["status"] == "PENDING"
    assert [m["memory"] for m in report["got"]] == ["I moved to Lisbon last spring"]
    assert report["retrieved"].endswith("Memory: I moved to Lisbon last spring\n\n")
    # A message with an image: its text is stored, its image (sent apart, as image_url content) skipped, where the
    # whole add was a 400 before (content must be a string) and nothing of it was remembered.
    assert report["addedWithImage"]["status"] == "PENDING", report["addedWithImage"]
    assert "This is my cat Miso" in [m["memory"] for m in report["cat"]]
    assert [m["memory"] for m in report["searched"]["results"]] == ["I moved to Lisbon last spring"]
    # The wrapped model was asked with the memory in its system message, and the answer names it as a source.
    system, user = call.body["messages"]
    assert system["role"] == "system" and "Memory: I moved to Lisbon last spring" in system["content"]
    assert user == {"role": "user", "content": "Which city do I live in?"}
    # (The prompt it added just before may be among them: the worker can store it before the search runs.)
    [source] = report["sources"]
    assert "I moved to Lisbon last spring" in source.split("\n\n")
    # The wrapper added the prompt too (queued, as each add of its).
    prompts = [e.payload["messages"] for e in Event.objects.filter(account=owner).order_by("created_at")]
    assert prompts[1] == [{"role": "user", "content": "This is my cat Miso"}]  # the image left out
    assert prompts[2] == [{"role": "user", "content": "Which city do I live in?"}]
