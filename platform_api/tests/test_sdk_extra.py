"""The official Python SDK (mem0ai's MemoryClient and AsyncMemoryClient, pinned in requirements-dev.txt) against a
live server: users, delete_users, reset, batch_update, batch_delete, feedback and get_summary, with the data
they return and tenancy between two accounts. Memories are created through the services (make_memory)."""

from __future__ import annotations

import asyncio
import os
import tempfile

# The SDK reads these when imported: no telemetry to Mem0's analytics host, no writes to ~/.mem0.
os.environ["MEM0_TELEMETRY"] = "false"
os.environ.setdefault("MEM0_DIR", os.path.join(tempfile.gettempdir(), "mem0server-sdk-tests"))

import pytest  # noqa: E402
from mem0 import AsyncMemoryClient, MemoryClient  # noqa: E402
from mem0.exceptions import MemoryNotFoundError, ValidationError  # noqa: E402

from accounts.models import User  # noqa: E402
from apikeys.services import apikey_create  # noqa: E402
from memories.models import Memory, MemoryHistory  # noqa: E402
from memories.tests.fake_openai import llm_configured, text  # noqa: E402
from platform_api.models import Feedback  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice_account(db) -> User:
    return User.objects.create_user(email="alice@example.com", name="Alice")


@pytest.fixture
def mallory_account(db) -> User:
    return User.objects.create_user(email="mallory@example.com", name="Mallory")


def sdk_client(live_server, user: User) -> MemoryClient:
    return MemoryClient(api_key=apikey_create(user=user, label="sdk")[1], host=live_server.url)


@pytest.fixture
def client(live_server, admin_key, embedder, alice_account) -> MemoryClient:
    return sdk_client(live_server, alice_account)


@pytest.fixture
def mallory(live_server, admin_key, embedder, mallory_account) -> MemoryClient:
    return sdk_client(live_server, mallory_account)


def texts(user: User) -> set[str]:
    return set(Memory.objects.filter(account=user).values_list("text", flat=True))


def test_users_lists_the_entities_of_the_keys_own_memories(client, alice_account, mallory_account, make_memory):
    make_memory("Likes tea", user_id="alice", principal=alice_account, scope={"agent_id": "helper"})
    make_memory("Lives in Oslo", user_id="alice", principal=alice_account, scope={"app_id": "shop"})
    make_memory("Mallory's", user_id="mallory", principal=mallory_account, scope={"run_id": "r1"})
    users = client.users()
    found = {(e["type"], e["name"]): e["total_memories"] for e in users["results"]}
    assert found == {("user", "alice"): 2, ("agent", "helper"): 1, ("app", "shop"): 1}
    assert users["count"] == 3
    assert all(e["created_at"] and e["updated_at"] for e in users["results"])
    # Mem0's API reference and the TypeScript client's User type require each entity's owner.
    assert {e["owner"] for e in users["results"]} == {"alice@example.com"}
    assert client.client.get("/v2/entities/user/alice/").json()["owner"] == "alice@example.com"


def test_delete_users_of_one_user_deletes_only_that_users_memories(client, alice_account, make_memory):
    make_memory("Likes tea", user_id="alice", principal=alice_account)
    make_memory("Bob's", user_id="bob", principal=alice_account)
    answer = client.delete_users(user_id="alice")
    assert answer == {"message": "Entity deleted successfully."}
    assert texts(alice_account) == {"Bob's"}
    assert [e["name"] for e in client.users()["results"]] == ["bob"]


def test_delete_users_never_reaches_another_accounts_memories(
    client, mallory, alice_account, mallory_account, make_memory
):
    make_memory("Alice's", user_id="shared", principal=alice_account)
    make_memory("Mallory's", user_id="shared", principal=mallory_account)
    mallory.delete_users(user_id="shared")
    assert texts(alice_account) == {"Alice's"}
    assert texts(mallory_account) == set()


def test_reset_deletes_every_entity_of_the_key_even_when_scopes_overlap(
    client, alice_account, mallory_account, make_memory
):
    # One memory in three scopes: deleting the user first leaves the agent and run with nothing, which must
    # not stop reset() halfway.
    make_memory("Likes tea", user_id="alice", principal=alice_account, scope={"agent_id": "helper", "run_id": "r1"})
    make_memory("Agent only", user_id=None, principal=alice_account, scope={"agent_id": "helper"})
    make_memory("Mallory's", user_id="alice", principal=mallory_account)
    assert client.reset() == {"message": "Client reset successful. All users and memories deleted."}
    assert texts(alice_account) == set()
    assert client.users()["results"] == []
    assert texts(mallory_account) == {"Mallory's"}
    assert MemoryHistory.objects.filter(account=alice_account, event="DELETE").count() == 2


def test_batch_update_changes_text_and_metadata_and_writes_history(client, alice_account, make_memory):
    tea = make_memory("Likes tea", principal=alice_account, metadata={"topic": "drinks"})
    oslo = make_memory("Lives in Oslo", principal=alice_account)
    answer = client.batch_update(
        [{"memory_id": tea, "text": "Likes green tea"}, {"memory_id": oslo, "metadata": {"verified": True}}]
    )
    assert answer == {"message": "Successfully updated 2 memories"}
    assert Memory.objects.get(id=tea).text == "Likes green tea"
    assert Memory.objects.get(id=oslo).metadata == {"verified": True}
    update = MemoryHistory.objects.get(memory_id=tea, event="UPDATE")
    assert (update.old_memory, update.new_memory) == ("Likes tea", "Likes green tea")


def test_a_batch_update_leaving_a_memory_with_too_much_metadata_is_refused_and_changes_nothing(
    client, alice_account, make_memory
):
    tea = make_memory("Likes tea", principal=alice_account)
    notes = make_memory("Notes", principal=alice_account, metadata={f"k{i:04d}": "v" * 20 for i in range(2000)})
    more = {f"m{i:04d}": "v" * 20 for i in range(1000)}  # with the 58 KB already there, over 64 KB
    with pytest.raises(ValidationError, match=f"Memory {notes}: metadata holds .*METADATA_MAX_BYTES"):
        client.batch_update([{"memory_id": tea, "text": "Likes green tea"}, {"memory_id": notes, "metadata": more}])
    assert Memory.objects.get(id=tea).text == "Likes tea"
    assert len(Memory.objects.get(id=notes).metadata) == 2000


def test_batch_delete_deletes_every_given_memory(client, alice_account, make_memory):
    ids = [make_memory(f"Fact {i}", principal=alice_account) for i in range(3)]
    answer = client.batch_delete([{"memory_id": ids[0]}, {"memory_id": ids[1]}])
    assert answer == {"message": "Successfully deleted 2 memories"}
    assert texts(alice_account) == {"Fact 2"}
    assert MemoryHistory.objects.filter(memory_id__in=ids[:2], event="DELETE").count() == 2


def test_batches_naming_another_accounts_memory_raise_not_found_and_change_nothing(
    client, alice_account, mallory_account, make_memory
):
    mine = make_memory("Mine", principal=alice_account)
    theirs = make_memory("Theirs", principal=mallory_account)
    with pytest.raises(MemoryNotFoundError) as raised:
        client.batch_update([{"memory_id": mine, "text": "changed"}, {"memory_id": theirs, "text": "stolen"}])
    assert theirs in raised.value.message
    with pytest.raises(MemoryNotFoundError):
        client.batch_delete([{"memory_id": mine}, {"memory_id": theirs}])
    assert texts(alice_account) == {"Mine"}
    assert texts(mallory_account) == {"Theirs"}


def test_a_batch_over_1000_raises_the_sdks_validation_error_naming_the_limit(client):
    items = [{"memory_id": f"00000000-0000-0000-0000-{i:012d}", "text": "x"} for i in range(1001)]
    with pytest.raises(ValidationError) as raised:
        client.batch_update(items)
    assert "At most 1000 memories" in raised.value.message


def test_feedback_is_stored_and_echoed(client, alice_account, mallory_account, make_memory):
    memory_id = make_memory("Likes tea", principal=alice_account)
    answer = client.feedback(memory_id, feedback="very_negative", feedback_reason="Not true any more")
    assert (answer["feedback"], answer["feedback_reason"], answer["memory_id"]) == (
        "VERY_NEGATIVE",
        "Not true any more",
        memory_id,
    )
    stored = Feedback.objects.get(id=answer["id"])
    assert (stored.account, stored.feedback) == (alice_account, "VERY_NEGATIVE")
    theirs = make_memory("Theirs", principal=mallory_account)
    with pytest.raises(MemoryNotFoundError):
        client.feedback(theirs, feedback="POSITIVE")


@pytest.fixture
def llm(live_server):
    """Inference on, against the scripted OpenAI-wire server."""
    with llm_configured() as fake:
        yield fake


def test_get_summary_returns_the_llms_summary_of_the_filtered_memories(client, alice_account, make_memory, llm):
    make_memory("Likes green tea", principal=alice_account)
    make_memory("Bob's fact", user_id="bob", principal=alice_account)
    llm.chat_queue.append(text("Alice likes green tea."))
    answer = client.get_summary(filters={"user_id": "alice"})
    assert answer == {"summary": "Alice likes green tea.", "memories_summarized": 1, "total_memories": 1}
    shown = llm.chat_calls()[0].body["messages"][-1]["content"]
    assert "Likes green tea" in shown
    assert "Bob's fact" not in shown


def test_get_summary_without_an_llm_raises_a_validation_error_that_says_why(client, alice_account, make_memory):
    make_memory("Likes tea", principal=alice_account)
    with pytest.raises(ValidationError) as raised:
        client.get_summary(filters={"user_id": "alice"})
    assert "Summaries need an LLM" in raised.value.message


def test_the_async_client_does_the_same(live_server, admin_key, embedder, alice_account, mallory_account, make_memory):
    key = apikey_create(user=alice_account, label="async")[1]
    tea = make_memory("Likes tea", principal=alice_account, scope={"agent_id": "helper"})
    oslo = make_memory("Lives in Oslo", principal=alice_account)
    gone = make_memory("Temporary", user_id="bob", principal=alice_account)
    theirs = make_memory("Mallory's", user_id="alice", principal=mallory_account)

    async def scenario():
        async with AsyncMemoryClient(api_key=key, host=live_server.url) as client:
            users = await client.users()
            found = {(e["type"], e["name"]): e["total_memories"] for e in users["results"]}
            assert found == {("user", "alice"): 2, ("agent", "helper"): 1, ("user", "bob"): 1}
            assert await client.batch_update([{"memory_id": tea, "text": "Likes green tea"}]) == {
                "message": "Successfully updated 1 memories"
            }
            assert (await client.feedback(oslo, feedback="POSITIVE"))["feedback"] == "POSITIVE"
            with pytest.raises(MemoryNotFoundError):
                await client.batch_delete([{"memory_id": theirs}])
            assert await client.batch_delete([{"memory_id": gone}]) == {"message": "Successfully deleted 1 memories"}
            with pytest.raises(ValidationError):
                await client.get_summary(filters={"user_id": "alice"})
            await client.delete_users(agent_id="helper")

    async def reset():
        async with AsyncMemoryClient(api_key=key, host=live_server.url) as client:
            await client.reset()

    asyncio.run(scenario())
    assert texts(alice_account) == {"Lives in Oslo"}
    assert MemoryHistory.objects.get(memory_id=tea, event="UPDATE").new_memory == "Likes green tea"
    asyncio.run(reset())
    assert texts(alice_account) == set()
    assert texts(mallory_account) == {"Mallory's"}
    assert Memory.objects.filter(id=theirs).exists()


def test_an_update_field_the_server_does_not_take_is_the_sdks_validation_error_and_changes_nothing(
    client, alice_account, make_memory
):
    # The SDK sends its keyword arguments as they are: a misspelt metadata was dropped and the text changed alone.
    memory_id = make_memory("Likes tea", user_id="alice", principal=alice_account, metadata={"topic": "drinks"})
    with pytest.raises(ValidationError, match=r"Unknown field\(s\): metdata"):
        client.update(memory_id, text="Likes green tea", metdata={"topic": "tea"})
    memory = Memory.objects.get(id=memory_id)
    assert (memory.text, memory.metadata) == ("Likes tea", {"topic": "drinks"})
    client.update(memory_id, text="Likes green tea", metadata={"topic": "tea"})
    memory.refresh_from_db()
    assert (memory.text, memory.metadata["topic"]) == ("Likes green tea", "tea")
