"""Mem0's filter language and get_all options as its docs write them, sent by the official Python SDK (`mem0ai`)
to a live server: what the SDK's user gets back."""

from __future__ import annotations

import pytest
from mem0 import MemoryClient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice_account(make_user):
    return make_user("alice@example.com", name="Alice")


@pytest.fixture
def client(sdk, alice_account) -> MemoryClient:
    return sdk(alice_account)


@pytest.fixture
def remember(make_memory, alice_account):
    """Store one of alice's memories (as the account's own, without the queue) and return its id."""

    def make(text: str, **kwargs) -> str:
        return make_memory(text, principal=alice_account, **kwargs)

    return make


def listed(client: MemoryClient, *conditions: dict, **options) -> list[str]:
    """The texts get_all answers for alice's memories meeting every condition, newest first."""
    answer = client.get_all(filters={"AND": [{"user_id": "alice"}, *conditions]}, **options)
    return [memory["memory"] for memory in answer["results"]]


# --- NOT ----------------------------------------------------------------------------------------------------


def test_not_takes_one_filter_object_as_mem0s_docs_write_it(client, remember):
    remember("Likes spam", metadata={"topic": "spam"})
    remember("Likes tea", metadata={"topic": "drinks"})
    remember("Plays chess", metadata={"topic": "games"})

    assert listed(client, {"NOT": {"topic": "spam"}}) == ["Plays chess", "Likes tea"]
    assert listed(client, {"NOT": {"OR": [{"topic": "spam"}, {"topic": "games"}]}}) == ["Likes tea"]
    assert listed(client, {"NOT": {"topic": "spam"}}) == listed(client, {"NOT": [{"topic": "spam"}]})
    hits = client.search("a drink", filters={"user_id": "alice", "NOT": {"topic": {"in": ["spam", "games"]}}})
    assert [hit["memory"] for hit in hits["results"]] == ["Likes tea"]
