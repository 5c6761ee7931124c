"""Fixtures for the profile tests: the Platform tests' live server and SDK clients; queued jobs run in this
process through the root conftest's `run_jobs`."""

from __future__ import annotations

import pytest

from platform_api.tests.conftest import llm_on, sdk, sdk_key, server  # noqa: F401 (fixtures)


@pytest.fixture
def alice_account(make_user):
    return make_user("alice@example.com", name="Alice")


@pytest.fixture
def bob_account(make_user):
    return make_user("bob@example.com", name="Bob")
