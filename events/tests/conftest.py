"""Fixtures for the events tests: the official SDK and keys come from platform_api's test fixtures."""

import pytest  # noqa: E402

from memories import configuration  # noqa: E402
from memories.tests.fake_openai import FakeOpenAI  # noqa: E402
from platform_api.tests.conftest import llm_on, sdk, sdk_key, server  # noqa: F401 (fixtures)


@pytest.fixture
def llm_on_here(embedder):
    """Inference on against the scripted fake, for jobs run in this process (no live server)."""
    with FakeOpenAI() as fake:
        llm = {"provider": "openai", "config": {"model": "fake", "api_key": "sk-test", "openai_base_url": fake.url}}
        configuration.server_config_set(changes={"llm": llm})
        yield fake
