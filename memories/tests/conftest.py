"""Fixtures for the LLM tests: a local OpenAI-wire server that the real `openai` client talks to.
The fake server is the only fake; database and local embedder are real."""

from __future__ import annotations

import pytest

from memories.tests.fake_openai import FakeOpenAI


@pytest.fixture
def fake_openai():
    with FakeOpenAI() as fake:
        yield fake
