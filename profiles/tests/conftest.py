"""Fixtures for the profile tests: the export tests' accounts, and the Platform tests' live server and SDK
clients; queued jobs run in this process through the root conftest's `run_jobs`."""

from __future__ import annotations

from exports.tests.conftest import alice_account, bob_account  # noqa: F401 (fixtures)
from platform_api.tests.conftest import llm_on, sdk, sdk_key, server  # noqa: F401 (fixtures)
