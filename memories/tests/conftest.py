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
