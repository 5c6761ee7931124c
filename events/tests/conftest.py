"""Fixtures for the events tests: the official SDK and keys come from platform_api's test fixtures."""

import pytest  # noqa: E402

from memories.tests.fake_openai import llm_configured  # noqa: E402
from platform_api.tests.conftest import llm_on, sdk, sdk_key, server  # noqa: F401 (fixtures)


@pytest.fixture
def llm_on_here(embedder):
    """Inference on against the scripted fake, for jobs run in this process (no live server)."""
    with llm_configured() as fake:
        yield fake
