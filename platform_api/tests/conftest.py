"""Fixtures for the Platform API tests: the official `mem0ai` SDK against a live server (a real socket, the whole
middleware stack, the real database), and per-account keys to drive it with."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

# Before `mem0` is first imported: its telemetry (PostHog, an outside host) stays off, and its config file goes
# to a temporary folder instead of the home directory.
os.environ["MEM0_TELEMETRY"] = "False"
if "MEM0_DIR" not in os.environ:
    os.environ["MEM0_DIR"] = tempfile.mkdtemp(prefix="mem0-sdk-")
    atexit.register(shutil.rmtree, os.environ["MEM0_DIR"], ignore_errors=True)

from apikeys.services import apikey_create  # noqa: E402
from memories.tests.fake_openai import llm_configured  # noqa: E402


@pytest.fixture
def server(live_server, admin_key, embedder) -> str:
    """The live server's base URL (auth on, ADMIN_API_KEY set, the local embedder loaded)."""
    return live_server.url


@pytest.fixture
def sdk_key():
    """A fresh per-user API key (m0sk_…) of the given account."""

    def make(user) -> str:
        return apikey_create(user=user, label="sdk")[1]

    return make


@pytest.fixture
def sdk(server, sdk_key):
    """A constructed `MemoryClient` for the given account (its constructor already calls GET /v1/ping/)."""
    from mem0 import MemoryClient

    clients = []

    def make(user):
        client = MemoryClient(api_key=sdk_key(user), host=server)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.client.close()


@pytest.fixture
def llm_on(server):
    """Inference on, against the scripted OpenAI-wire fake (memories/tests/fake_openai.py)."""
    with llm_configured() as fake:
        yield fake
