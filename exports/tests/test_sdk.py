"""Exports through the official Python SDK (`mem0ai` MemoryClient) against a live server: create_memory_export,
the job run by procrastinate's worker in this process, then get_memory_export."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from mem0 import AsyncMemoryClient
from mem0.exceptions import MemoryNotFoundError, ValidationError

from exports.models import MemoryExport
from exports.tasks import prune_exports
from memories.tests.fake_openai import as_json

pytestmark = pytest.mark.django_db(transaction=True)

PROFILE = {
    "title": "Profile",
    "type": "object",
    "properties": {
        "name": {"type": ["string", "null"]},
        "city": {"type": ["string", "null"]},
        "diet": {"enum": ["vegetarian", "vegan", "omnivore", None]},
    },
    "required": ["name", "city"],
}
ALICE_ONLY = {"AND": [{"user_id": "alice"}]}


@pytest.fixture
def alice(sdk, alice_account, run_jobs):
    client = sdk(alice_account)
    for text in ("Lives in Berlin", "Is vegetarian"):
        client.add(text, filters={"user_id": "alice"}, infer=False, metadata={"topic": "profile"})
    client.add("Works at night", filters={"user_id": "alice-bot"}, infer=False)
    run_jobs()  # the SDK's adds are queued (events): done here, before any export is asked for
    return client


@pytest.fixture
def bob(sdk, bob_account, run_jobs):
    client = sdk(bob_account)
    client.add("Bob's secret plan", filters={"user_id": "alice"}, infer=False)
    run_jobs()
    return client


def test_an_export_is_pending_until_its_job_runs_then_gives_the_memories(alice, run_jobs):
    created = alice.create_memory_export(schema={}, filters=ALICE_ONLY)
    assert created["message"].startswith("Memory export request received")
    pending = alice.get_memory_export(memory_export_id=created["id"])
    assert (pending["id"], pending["status"]) == (created["id"], "PENDING")

    run_jobs()

    exported = alice.get_memory_export(memory_export_id=created["id"])
    assert exported["count"] == 2
    assert exported["truncated"] is False
    assert sorted(m["memory"] for m in exported["memories"]) == ["Is vegetarian", "Lives in Berlin"]
    first = exported["memories"][0]
    assert first["user_id"] == "alice"
    assert first["metadata"] == {"topic": "profile"}
    assert first["id"] and first["created_at"] and first["updated_at"]


def test_a_schema_without_an_llm_still_exports_the_memories_as_json(alice, run_jobs):
    created = alice.create_memory_export(schema=json.dumps(PROFILE), user_id="alice")
    run_jobs()
    exported = alice.get_memory_export(memory_export_id=created["id"])
    assert sorted(m["memory"] for m in exported["memories"]) == ["Is vegetarian", "Lives in Berlin"]


def test_the_latest_export_matching_the_filters_is_returned_without_an_id(alice, run_jobs):
    alice.create_memory_export(schema={}, filters={"user_id": "alice-bot"})
    newest = alice.create_memory_export(schema={}, filters=ALICE_ONLY)
    run_jobs()
    by_scope = alice.get_memory_export(filters={"AND": [{"user_id": "alice"}]})
    assert sorted(m["memory"] for m in by_scope["memories"]) == ["Is vegetarian", "Lives in Berlin"]
    bot = alice.get_memory_export(filters={"user_id": "alice-bot"})
    assert [m["memory"] for m in bot["memories"]] == ["Works at night"]
    since = alice.get_memory_export(filters={"AND": [{"user_id": "alice"}, {"created_at": {"gte": "2000-01-01"}}]})
    assert since == alice.get_memory_export(memory_export_id=newest["id"])
    with pytest.raises(MemoryNotFoundError):
        alice.get_memory_export(filters={"user_id": "carol"})


def test_with_a_schema_and_an_llm_the_export_is_the_object_the_llm_filled_in(alice, llm_on, run_jobs):
    llm_on.chat_queue.append(as_json({"name": None, "city": "Berlin", "diet": "vegetarian"}))
    created = alice.create_memory_export(
        schema=PROFILE, filters=ALICE_ONLY, export_instructions="Prefer the newest facts."
    )
    run_jobs()
    assert alice.get_memory_export(memory_export_id=created["id"]) == {
        "name": None,
        "city": "Berlin",
        "diet": "vegetarian",
    }
    [call] = llm_on.chat_calls()
    prompt = call.body["messages"][-1]["content"]
    assert "Lives in Berlin" in prompt and "Is vegetarian" in prompt
    assert "Works at night" not in prompt  # another scope
    assert '"Profile"' in prompt  # the schema itself
    assert "Prefer the newest facts." in call.body["messages"][0]["content"]


def test_an_llm_answer_outside_the_schema_is_asked_again_once(alice, llm_on, run_jobs):
    llm_on.chat_queue.extend([as_json({"city": "Berlin"}), as_json({"name": "Alice", "city": "Berlin"})])
    created = alice.create_memory_export(schema=PROFILE, filters=ALICE_ONLY)
    run_jobs()
    assert alice.get_memory_export(memory_export_id=created["id"]) == {"name": "Alice", "city": "Berlin"}
    second = llm_on.chat_calls()[1].body["messages"][-1]["content"]
    assert "did not validate against the schema: 'name' is a required property" in second


def test_an_export_the_llm_gets_wrong_twice_fails_with_the_reason(alice, llm_on, run_jobs):
    llm_on.chat_queue.extend([as_json({"city": 7}), as_json({"city": 7})])
    created = alice.create_memory_export(schema=PROFILE, filters=ALICE_ONLY)
    run_jobs()
    with pytest.raises(ValidationError, match="does not match the schema"):
        alice.get_memory_export(memory_export_id=created["id"])
    export = MemoryExport.objects.get(id=created["id"])
    assert export.status == MemoryExport.Status.FAILED
    assert "does not match the schema" in export.error


def test_a_member_cannot_read_another_accounts_export_nor_export_its_memories(alice, bob, run_jobs):
    created = alice.create_memory_export(schema={}, filters=ALICE_ONLY)
    bobs = bob.create_memory_export(schema={}, filters=ALICE_ONLY)
    run_jobs()
    with pytest.raises(MemoryNotFoundError):
        bob.get_memory_export(memory_export_id=created["id"])
    # "The latest export for user_id alice" is Bob's own, which holds only Bob's memory.
    assert [m["memory"] for m in bob.get_memory_export(filters=ALICE_ONLY)["memories"]] == ["Bob's secret plan"]
    assert bob.get_memory_export(memory_export_id=bobs["id"])["count"] == 1


DRAFT_3 = "http://json-schema.org/draft-03/schema#"
DRAFT_4 = "http://json-schema.org/draft-04/schema#"
DOUBLING = {"d0": {"type": "string"}} | {
    f"d{i}": {"anyOf": [{"$ref": f"#/$defs/d{i - 1}"}, {"$ref": f"#/$defs/d{i - 1}"}]} for i in range(1, 13)
}


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "object", "properties": {"age": {"type": "nonsense"}}}, "not a valid JSON Schema"),
        ("{not json", "must hold a JSON Schema object"),
        ({"type": "array"}, "top-level type must be object"),
        ([1, 2], "Must be a JSON object"),
        ({"$schema": 5}, "must be a string"),
        ({"$ref": "#/$defs/missing"}, "a \\$ref cannot be resolved"),
        ({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}, "lead back to themselves"),
        ({"properties": {"a": {"$ref": "https://example.com/a.json"}}}, "only references inside the schema"),
        # A pointer at a keyword's value, not at a schema: the first was a 500, the second failed the export.
        ({"$ref": "#/required", "required": ["a"]}, "points at list .* not at a schema"),
        ({"properties": {"a": {"$ref": "#/minProperties"}}, "minProperties": 1}, "points at int 1, not at a schema"),
        # What could make checking the LLM's answer cost without bound: a pattern Python matches in exponential
        # time, a schema through which anyOf branches again at each level of the answer, and $refs that
        # multiply (12 levels, each anyOf twice the one before: 4,096 subschemas written out).
        ({"properties": {"a": {"type": "string", "pattern": "^(a+)+$"}}}, "`pattern` .* is not supported"),
        ({"patternProperties": {"^(a+)+$": {}}}, "`patternProperties` .* is not supported"),
        # Draft 3 nests subschemas where later drafts do not: a pattern there went unseen, and was matched; a schema
        # in its `type` list made jsonschema fail while saying why an answer did not fit.
        *(
            ({"$schema": DRAFT_3, "properties": {"a": nested}}, "JSON Schema draft 3 is not supported")
            for nested in (
                {"extends": {"pattern": "^(a+)+$"}},
                {"extends": [{"type": "string"}, {"pattern": "^(a+)+$"}]},
                {"type": ["null", {"type": "string", "pattern": "^(a+)+$"}]},
                {"disallow": [{"type": "string", "pattern": "^(a+)+$"}]},
                {"type": ["null", {"type": "string"}]},
            )
        ),
        (
            {"$defs": {"n": {"anyOf": [{"type": "string"}, {"items": {"$ref": "#/$defs/n"}}]}}, "$ref": "#/$defs/n"},
            "recursive schemas are not supported",
        ),
        ({"$defs": DOUBLING, "$ref": "#/$defs/d12"}, "too large with its \\$refs written out"),
        # Long lists the metaschema wants unique items in, of items jsonschema compares pair by pair (objects): 3,000
        # took 8 s of the request each (1 MiB of them, hours); the first was then accepted, the second refused.
        (
            {"$schema": DRAFT_4, "properties": {"a": {"enum": [{"k": n} for n in range(3_000)]}}},
            "`enum` \\(at /properties/a\\) lists 3000 items that are not all strings or all numbers",
        ),
        (
            {"$defs": {"unused": {"type": [{"k": n} for n in range(3_000)]}}},
            "`type` \\(at /\\$defs/unused\\) lists 3000",
        ),
    ],
)
def test_a_bad_schema_is_refused_at_once(alice, schema, message):
    with pytest.raises(ValidationError, match=message):
        alice.create_memory_export(schema=schema, filters=ALICE_ONLY)
    assert not MemoryExport.objects.exists()


def test_long_lists_of_strings_or_numbers_and_short_ones_of_objects_are_taken(alice):
    enums = {"a": {"enum": [str(n) for n in range(3_000)]}, "b": {"enum": list(range(3_000))}}
    objects = {"c": {"enum": [{"k": n} for n in range(100)]}}
    alice.create_memory_export(schema={"$schema": DRAFT_4, "properties": enums | objects}, filters=ALICE_ONLY)
    assert MemoryExport.objects.get().schema["properties"]["c"]["enum"][99] == {"k": 99}


def test_a_schema_of_too_many_subschemas_is_refused_for_its_size_before_it_is_checked_against_its_metaschema(alice):
    # 30,000 properties (0.9 MB) took 5.6 s of the request to check against JSON Schema's metaschema, then were refused
    # for their size. The size, counted in milliseconds, now comes first: a schema both too large and malformed is
    # refused for its size (it was refused as malformed, after walking all of it).
    properties = {f"p{n}": {"type": "string"} for n in range(2_000)} | {"last": {"type": "nonsense"}}
    with pytest.raises(ValidationError, match="too large with its \\$refs written out"):
        alice.create_memory_export(schema={"type": "object", "properties": properties}, filters=ALICE_ONLY)
    assert not MemoryExport.objects.exists()


@pytest.mark.parametrize(
    "filters",
    [
        {"user_id": {"in": ["alice", "alice-bot"]}},
        {"AND": [{"user_id": "alice"}, {"topic": "profile"}]},
        {"OR": [{"user_id": "alice"}, {"user_id": "alice-bot"}]},
    ],
)
def test_an_export_made_with_other_filters_is_found_by_the_same_filters(alice, run_jobs, filters):
    made = alice.create_memory_export(schema={}, filters=filters)
    alice.create_memory_export(schema={}, filters=ALICE_ONLY)  # newer, but made with other filters
    run_jobs()
    assert alice.get_memory_export(filters=filters) == alice.get_memory_export(memory_export_id=made["id"])
    with pytest.raises(MemoryNotFoundError, match="created with exactly them"):
        alice.get_memory_export(filters={"AND": [{"user_id": "alice"}, {"topic": "travel"}]})


def test_bad_filters_are_refused_at_once(alice):
    with pytest.raises(ValidationError, match="Unknown filter operator"):
        alice.create_memory_export(schema={}, filters={"user_id": {"like": "a%"}})
    with pytest.raises(ValidationError, match="Unknown filter operator"):
        alice.get_memory_export(filters={"user_id": {"like": "a%"}})
    with pytest.raises(ValidationError, match="filters.user_id must be a non-empty string"):
        alice.get_memory_export(filters={"AND": [{"user_id": ""}, {"topic": "profile"}]})
    with pytest.raises(ValidationError, match="filters.created_at.gte"):
        alice.get_memory_export(filters={"user_id": "alice", "created_at": {"gte": "soon"}})
    with pytest.raises(ValidationError, match="not a valid memory_export_id"):
        alice.get_memory_export(memory_export_id="nope")
    assert not MemoryExport.objects.exists()


def test_another_project_id_is_not_found(alice):
    with pytest.raises(MemoryNotFoundError):
        alice.create_memory_export(schema={}, filters=ALICE_ONLY, project_id="proj_someone_else")


def test_the_async_client_creates_an_export_and_reads_it(server, sdk_key, alice_account, make_memory, run_jobs):
    make_memory("Drinks oat milk", user_id="alice", principal=alice_account)
    key = sdk_key(alice_account)

    async def create():
        async with AsyncMemoryClient(api_key=key, host=server) as client:
            return await client.create_memory_export(schema=None, user_id="alice")

    async def read(export_id):
        async with AsyncMemoryClient(api_key=key, host=server) as client:
            return await client.get_memory_export(memory_export_id=export_id)

    created = asyncio.run(create())
    run_jobs()
    exported = asyncio.run(read(created["id"]))
    assert [m["memory"] for m in exported["memories"]] == ["Drinks oat milk"]


def test_a_finished_export_is_kept_the_retention_days_then_deleted_with_its_data(alice, run_jobs, settings):
    settings.EXPORT_RETENTION_DAYS = 7
    old, recent = (alice.create_memory_export(schema={}, filters=ALICE_ONLY)["id"] for _ in range(2))
    pending = alice.create_memory_export(schema={}, filters=ALICE_ONLY)["id"]
    run_jobs()
    MemoryExport.objects.filter(id=pending).update(status="PENDING", result=None, finished_at=None)
    for export_id, days in ((old, 8), (recent, 6)):
        MemoryExport.objects.filter(id=export_id).update(finished_at=timezone.now() - timedelta(days=days))
    prune_exports.defer(timestamp=0)  # what the workers queue every hour
    run_jobs()
    with pytest.raises(MemoryNotFoundError, match="kept 7 days after they finish"):
        alice.get_memory_export(memory_export_id=old)
    assert alice.get_memory_export(memory_export_id=recent)["count"] == 2
    assert alice.get_memory_export(memory_export_id=pending)["status"] == "PENDING"  # not finished: kept


def test_an_export_field_the_server_does_not_take_is_the_sdks_validation_error_and_exports_nothing(alice):
    # The SDK sends its keyword arguments as they are: filter= (for filters) exported every memory of the account,
    # alice-bot's too, and a misspelt export id read the newest export instead of the one asked for.
    from mem0.exceptions import ValidationError

    from exports.models import MemoryExport

    with pytest.raises(ValidationError, match=r"Unknown field\(s\): filter\. POST /v1/exports/ takes"):
        alice.create_memory_export(schema={}, filter={"user_id": "alice"})
    assert not MemoryExport.objects.exists()
    created = alice.create_memory_export(schema={}, filters=ALICE_ONLY)
    with pytest.raises(ValidationError, match=r"Unknown field\(s\): memory_export_idd"):
        alice.get_memory_export(memory_export_idd=created["id"])
