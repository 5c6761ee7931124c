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


@pytest.fixture
def run_jobs_here():
    """Run the due jobs in this process (events/tests/helpers.py); the session's shared worker process, if a
    test before started it, is stopped first so that it cannot take them."""
    from events.tests.helpers import run_jobs_here as run
    from events.tests.workers import stop_shared_workers

    stop_shared_workers()
    return run
