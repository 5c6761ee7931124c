"""/api-keys and X-API-Key authentication: shown once, stored as a digest, revocable, cheap to check."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import tokens_issue
from apikeys import services
from apikeys.models import APIKey


@pytest.fixture
def login(db):
    """An APIClient with a Bearer access token of the given account."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=user).access_token}")
        return client

    return make


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    return client


def test_create_shows_the_key_once_and_stores_only_its_digest(login, member, embedder):
    response = login(member).post("/api-keys", {"label": "support bot"}, format="json")
    assert response.status_code == 201
    body = response.json()
    key = body["key"]
    assert key.startswith("m0sk_") and len(key) >= 45
    assert body["key_prefix"] == key[:12]
    assert body["label"] == "support bot"
    stored = APIKey.objects.get(pk=body["id"])
    assert key not in {stored.digest, stored.key_prefix, stored.label}
    listed = login(member).get("/api-keys").json()
    assert [(k["id"], k["key_prefix"]) for k in listed] == [(body["id"], key[:12])]
    assert "key" not in listed[0] and "digest" not in listed[0]
    assert key_client(key).get("/memories").status_code == 200


def test_list_shows_only_the_callers_live_keys(login, member, make_user):
    other = make_user("other@example.com")
    client = login(member)
    mine = client.post("/api-keys", {"label": "a"}, format="json").json()
    gone = client.post("/api-keys", {"label": "b"}, format="json").json()
    login(other).post("/api-keys", {"label": "theirs"}, format="json")
    client.delete(f"/api-keys/{gone['id']}")
    assert [k["id"] for k in client.get("/api-keys").json()] == [mine["id"]]


def test_revoked_keys_stop_working(login, member, embedder):
    created = login(member).post("/api-keys", {"label": "temp"}, format="json").json()
    response = login(member).delete(f"/api-keys/{created['id']}")
    assert response.status_code == 200
    assert response.json() == {"message": "API key revoked."}
    refused = key_client(created["key"]).get("/memories")
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Invalid API key."}


def test_revoking_twice_is_a_400_and_someone_elses_key_a_404(login, member, make_user):
    other = make_user("other@example.com")
    theirs = login(other).post("/api-keys", {"label": "theirs"}, format="json").json()
    mine = login(member).post("/api-keys", {"label": "mine"}, format="json").json()
    assert login(member).delete(f"/api-keys/{theirs['id']}").status_code == 404
    assert key_client(theirs["key"]).get("/api-keys").status_code == 403  # still valid, but keys cannot manage keys
    assert login(member).delete(f"/api-keys/{mine['id']}").status_code == 200
    again = login(member).delete(f"/api-keys/{mine['id']}")
    assert again.status_code == 400
    assert "already revoked" in again.json()["detail"]
    assert login(member).delete("/api-keys/999999").status_code == 404


def test_revoking_is_documented_as_the_200_with_a_message_it_answers(client):
    responses = client.get("/openapi.json").json()["paths"]["/api-keys/{key_id}"]["delete"]["responses"]
    assert "204" not in responses
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/MessageResponse")


def test_keys_of_deactivated_accounts_stop_working(login, member, embedder):
    key = login(member).post("/api-keys", {"label": "x"}, format="json").json()["key"]
    User.objects.filter(pk=member.pk).update(is_active=False)
    assert key_client(key).get("/memories").status_code == 401


@pytest.mark.parametrize(
    "credentials",
    [
        {"HTTP_X_API_KEY": "test-admin-key-0123456789abcdef"},
        {},
    ],
    ids=["admin-api-key", "none"],
)
def test_managing_keys_needs_a_login_token(admin_key, db, credentials):
    client = APIClient()
    client.credentials(**credentials)
    response = client.post("/api-keys", {"label": "x"}, format="json")
    assert response.status_code in (401, 403)
    assert not APIKey.objects.exists()


def test_last_used_is_written_at_most_once_a_minute(login, member, embedder, monkeypatch):
    created = login(member).post("/api-keys", {"label": "x"}, format="json").json()
    client = key_client(created["key"])
    client.get("/memories")
    first = APIKey.objects.get().last_used_at
    assert first is not None
    client.get("/memories")
    assert APIKey.objects.get().last_used_at == first
    later = timezone.now() + timedelta(minutes=2)
    monkeypatch.setattr(services.timezone, "now", lambda: later)
    client.get("/memories")
    assert APIKey.objects.get().last_used_at == later


def test_a_key_revoked_by_another_worker_stops_working_within_the_cache_time(login, member, embedder, monkeypatch):
    key = login(member).post("/api-keys", {"label": "x"}, format="json").json()["key"]
    client = key_client(key)
    start = time.monotonic()
    monkeypatch.setattr(services.time, "monotonic", lambda: start)  # however slow the machine, no time passes
    assert client.get("/memories").status_code == 200
    # Another process revokes it: this one still remembers the key as valid, for API_KEY_CACHE_SECONDS.
    APIKey.objects.update(revoked_at=timezone.now())
    assert client.get("/memories").status_code == 200
    expired = start + settings.API_KEY_CACHE_SECONDS + 0.1
    monkeypatch.setattr(services.time, "monotonic", lambda: expired)
    assert client.get("/memories").status_code == 401


def test_with_the_cache_off_a_revocation_anywhere_is_immediate(login, member, embedder, settings):
    settings.API_KEY_CACHE_SECONDS = 0
    key = login(member).post("/api-keys", {"label": "x"}, format="json").json()["key"]
    client = key_client(key)
    assert client.get("/memories").status_code == 200
    APIKey.objects.update(revoked_at=timezone.now())
    assert client.get("/memories").status_code == 401


@pytest.mark.parametrize("body", [{}, {"label": ""}, {"label": 5}, {"label": "x" * 101}])
def test_create_rejects_bad_labels(login, member, body):
    response = login(member).post("/api-keys", body, format="json")
    assert response.status_code == 400
    assert "label" in response.json()["detail"]


def test_createapikey_command_prints_the_key_once(member, capsys, embedder, admin_key):
    call_command("createapikey", "--email", member.email, "--label", "cli")
    key = capsys.readouterr().out.strip()
    assert key.startswith("m0sk_")
    assert key_client(key).get("/memories").status_code == 200
    assert APIKey.objects.get().label == "cli"


def test_createapikey_gives_the_key_to_the_account_of_the_exact_email_or_refuses(make_user, capsys):
    # An older database may hold one email in two cases (the Django admin once stored emails as typed): the key went
    # to the first of them made, whichever case was given.
    make_user("ann@example.com")
    shouty = make_user("shouty@example.com")
    User.objects.filter(pk=shouty.pk).update(email="Ann@Example.com")
    call_command("createapikey", "--email", "Ann@Example.com", "--label", "cli")
    assert APIKey.objects.get().user_id == shouty.pk
    with pytest.raises(CommandError, match=r"^2 accounts have the email ANN@example.com, in other case \("):
        call_command("createapikey", "--email", "ANN@example.com", "--label", "cli")
    assert APIKey.objects.count() == 1


def test_authorization_token_and_bearer_carry_the_same_key_and_tenancy(member, make_user, embedder):
    """Mem0's SDKs send `Authorization: Token <key>`, MCP clients `Bearer <key>`: both act as X-API-Key does."""
    _, key = services.apikey_create(user=member, label="sdk")
    _, other_key = services.apikey_create(user=make_user("other@example.com"), label="sdk")
    body = {"messages": "Likes tea", "user_id": "alice", "infer": False}
    added = key_client(other_key).post("/memories", body, format="json").json()["results"][0]
    for header in (f"Token {key}", f"token {key}", f"Bearer {key}"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        assert client.get("/memories").json()["results"] == []
        assert client.get(f"/memories/{added['id']}").status_code == 404
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {other_key}")
    assert [m["id"] for m in client.get("/memories").json()["results"]] == [added["id"]]


def test_a_bad_token_key_is_refused_with_the_api_key_message(db, admin_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token m0sk_nope")
    response = client.get("/memories")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid API key."
