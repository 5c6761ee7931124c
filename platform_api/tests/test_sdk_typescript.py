"""The official TypeScript SDK (npm mem0ai, pinned in platform_api/tests/js/package.json; `make test` installs it)
against a live server: platform_api/tests/js/sdk_check.mjs drives it and prints what the server answered."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from accounts.models import User
from apikeys.services import apikey_create
from memories.models import Memory, MemoryHistory
from memories.tests.fake_openai import llm_configured
from platform_api.tests.node_sdk import run_node_check

pytestmark = pytest.mark.django_db(transaction=True)

JS = Path(__file__).parent / "js"


def run_sdk_check(part: str, *, host: str, key: str, **env: str) -> dict:
    return run_node_check(JS / "sdk_check.mjs", part, host=host, key=key, **env)


def test_the_typescript_sdk_lists_batches_and_deletes_the_keys_entities(live_server, admin_key, embedder, make_memory):
    owner = User.objects.create_user(email="ts@example.com", name="TS")
    stranger = User.objects.create_user(email="stranger@example.com", name="Stranger")
    ids = [make_memory(f"TypeScript fact {i}", user_id="ts-user", principal=owner) for i in range(3)]
    theirs = make_memory("Not the key's", user_id="ts-user", principal=stranger)
    key = apikey_create(user=owner, label="ts")[1]

    report = run_sdk_check(
        "entities", host=live_server.url, key=key, MEM0_USER_ID="ts-user", MEM0_MEMORY_IDS=",".join(ids)
    )

    assert report["users"] == [{"type": "user", "name": "ts-user", "totalMemories": 3}]
    assert report["updated"] == {"message": "Successfully updated 1 memories"}
    assert report["batchDeleted"] == {"message": "Successfully deleted 1 memories"}
    assert report["usersDeleted"] == {"message": "Entity deleted successfully."}
    assert not Memory.objects.filter(account=owner).exists()
    update = MemoryHistory.objects.get(memory_id=ids[0], event="UPDATE")
    assert (update.old_memory, update.new_memory) == ("TypeScript fact 0", "Updated from TypeScript")
    assert list(Memory.objects.values_list("id", flat=True)) == [uuid.UUID(theirs)]


def test_the_typescript_sdk_adds_lists_searches_and_deletes(live_server, admin_key, embedder, worker):
    owner = User.objects.create_user(email="ts-core@example.com", name="TS")
    key = apikey_create(user=owner, label="ts")[1]
    # The add is queued; the worker process (maybe still loading its embedder) does it.
    report = run_sdk_check("core", host=live_server.url, key=key, MEM0_WAIT_SECONDS="90")
    assert report["added"]["status"] == "PENDING"
    assert report["listed"][0]["memory"] == "I moved to Lisbon last spring"
    assert report["searched"][0]["id"] == report["listed"][0]["id"]
    assert not Memory.objects.filter(account=owner).exists()


def test_the_typescript_sdks_image_message_is_remembered_by_what_it_shows_with_vision_on(
    live_server, admin_key, embedder, worker
):
    owner = User.objects.create_user(email="ts-image@example.com", name="TS")
    key = apikey_create(user=owner, label="ts")[1]
    with llm_configured(vision=True) as llm:
        report = run_sdk_check("image", host=live_server.url, key=key, MEM0_USER_ID="ts-alice", MEM0_WAIT_SECONDS="90")
    assert report["added"]["status"] == "PENDING"
    assert llm.described() == ["https://example.com/ts/veggie-pizza.jpg"]
    # Its search may find the message's text too: one run found it after the picture's (why is not known).
    assert report["found"][0] == "A picture of veggie pizza"
    texts = set(Memory.objects.filter(account=owner).values_list("text", flat=True))
    assert texts == {"A picture of veggie pizza", "Hi, my name is Alice."}


def test_the_typescript_sdk_clears_the_memory_depth_with_null_as_its_types_allow(live_server, admin_key, embedder):
    owner = User.objects.create_user(email="ts-project@example.com", name="TS")
    key = apikey_create(user=owner, label="ts")[1]
    report = run_sdk_check("project", host=live_server.url, key=key)
    assert (report["set"]["memoryDepth"], report["cleared"]["memoryDepth"]) == ("deep", "")
    assert report["read"] == {"memoryDepth": "", "customInstructions": "Be brief."}


def test_the_typescript_clients_delete_all_with_filters_is_told_to_pass_scope_ids(
    live_server, admin_key, embedder, make_memory
):
    owner = User.objects.create_user(email="ts-delete@example.com", name="TS")
    make_memory("Stays", user_id="alice", principal=owner)
    key = apikey_create(user=owner, label="ts")[1]
    report = run_sdk_check("deleteall", host=live_server.url, key=key)
    assert report["error"]["name"] == "ValidationError"
    assert "deleteAll({userId: 'alice'})" in report["error"]["message"]
    assert Memory.objects.filter(account=owner).count() == 1


def test_the_typescript_sdks_filters_in_camel_case_are_told_to_use_snake_case(
    live_server, admin_key, embedder, make_memory
):
    # The SDK turns its options' names into snake_case but sends the filters' keys as written: {userId: ...}.
    owner = User.objects.create_user(email="ts-camel@example.com", name="TS")
    make_memory("Lives in Lisbon", user_id="alice", principal=owner)
    key = apikey_create(user=owner, label="ts")[1]
    report = run_sdk_check("camelfilters", host=live_server.url, key=key, MEM0_USER_ID="alice")
    for answer in (report["listed"], report["searched"]):
        assert answer.get("error", {}).get("name") == "ValidationError", answer
        assert "filters.userId" in answer["error"]["message"]
        assert "user_id" in answer["error"]["message"]


def test_the_typescript_sdks_reference_date_says_which_week_is_last_week(live_server, admin_key, embedder, make_memory):
    from datetime import UTC, datetime

    owner = User.objects.create_user(email="ts-when@example.com", name="TS")
    for city, day in (("Paris", 20), ("Tokyo", 12)):
        when = datetime(2025, 3, day, 10, tzinfo=UTC)
        make_memory(f"Met Maya at the Orion conference in {city}.", user_id="maya", principal=owner, timestamp=when)
    key = apikey_create(user=owner, label="ts")[1]
    for reference, city in (("2025-03-21", "Tokyo"), ("2025-03-28", "Paris")):
        report = run_sdk_check(
            "when", host=live_server.url, key=key, MEM0_USER_ID="maya", MEM0_REFERENCE_DATE=reference
        )
        assert city in report["found"][0]
