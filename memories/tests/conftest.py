"""Fixtures for the LLM and /configure tests: a local OpenAI-wire server, and a configuration that points
the real `openai` client at it. The fake server is the only fake; database and local embedder are real."""

from __future__ import annotations

import pytest

from memories.tests.fake_openai import FakeOpenAI


@pytest.fixture
def fake_openai():
    with FakeOpenAI() as fake:
        yield fake


def configure(client, **changes):
    return client.post("/configure", changes, format="json")


def llm_section(fake: FakeOpenAI, **config) -> dict:
    return {
        "provider": "openai",
        "config": {"model": "fake-model", "api_key": "sk-test", "openai_base_url": fake.url, "timeout": 5, **config},
    }


@pytest.fixture
def llm(api_client, fake_openai) -> FakeOpenAI:
    """Inference on, through POST /configure, against the fake server (embedder: the real local one)."""
    response = configure(api_client, llm=llm_section(fake_openai))
    assert response.status_code == 200, response.json()
    return fake_openai


@pytest.fixture(autouse=True)
def _fresh_search_plans():
    """Each test's scopes start unknown: a cached exact-or-HNSW decision must not outlive its database."""
    from memories.selectors import search_plan_cache_clear

    search_plan_cache_clear()


@pytest.fixture
def crowded(db, embedder):
    """Call crowded(text): statistics that call alice's scope most of the table (as after she deleted most of her
    memories), which send a lookup of her nearest memories through the HNSW index, and 500 other users' memories
    of `text`, which are the index's nearest rows for it."""
    from django.db import connection

    from memories.models import Memory

    def crowd(text: str) -> None:
        [vector] = embedder.embed([text])
        Memory.objects.bulk_create(
            Memory(text=f"x{i}", hash="0" * 32, user_id="alice", embedding=vector) for i in range(2000)
        )
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Memory._meta.db_table}")
        Memory.objects.filter(user_id="alice").delete()
        Memory.objects.bulk_create(
            Memory(text=text, hash="0" * 32, user_id=f"user-{i}", embedding=vector) for i in range(500)
        )

    return crowd


@pytest.fixture
def vision(api_client, fake_openai):
    """The scripted model configured with vision on (enable_vision, high detail): it describes images."""
    response = configure(api_client, llm=llm_section(fake_openai, enable_vision=True, vision_details="high"))
    assert response.status_code == 200, response.json()
    return fake_openai
