"""Fixtures shared by every app's tests. The database is the real embedded PostgreSQL (test_mem0)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from memories import services
from memories.embeddings import get_embedder

ADMIN_KEY = "test-admin-key-0123456789abcdef"


@pytest.fixture(scope="session")
def embedder():
    """The real local embedder, loaded once for the whole session."""
    instance = get_embedder()
    instance.embed(["warm up"])
    return instance


@pytest.fixture
def admin_key(settings) -> str:
    settings.ADMIN_API_KEY = ADMIN_KEY
    settings.AUTH_DISABLED = False
    return ADMIN_KEY


@pytest.fixture
def anon_client(admin_key) -> APIClient:
    """No credentials, while auth is on."""
    return APIClient()


@pytest.fixture
def api_client(admin_key, embedder, db) -> APIClient:
    """Authenticated as admin through ADMIN_API_KEY."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=admin_key)
    return client


@pytest.fixture
def make_memory(embedder, db):
    """Store one memory through the service (infer=false) and return its id."""

    def make(text: str, *, user_id: str | None = "alice", role: str = "user", **kwargs) -> str:
        scope = {key: value for key, value in {"user_id": user_id, **kwargs.pop("scope", {})}.items() if value}
        results = services.memories_add(
            messages=[services.Message(role=role, content=text)], scope=scope, infer=False, **kwargs
        )
        return results[0]["id"]

    return make
