"""Operator surfaces: the Django admin pages load, and no secret shows up in them or in the logs."""

from __future__ import annotations

import logging

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from apikeys.models import APIKey
from apikeys.services import apikey_create
from memories.models import Memory, MemoryHistory

PASSWORD = "an admin passphrase"


@pytest.fixture
def staff_client(db, client):
    admin = User.objects.create_superuser(email="root@example.com", password=PASSWORD)
    client.force_login(admin)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/accounts/user/",
        "/admin/accounts/user/add/",
        "/admin/apikeys/apikey/",
        "/admin/memories/memory/",
        "/admin/memories/memoryhistory/",
    ],
)
def test_admin_pages_load(staff_client, path):
    assert staff_client.get(path).status_code == 200


def test_an_admin_demoted_in_the_admin_loses_the_admin_and_one_promoted_gains_it(staff_client, client, make_memory):
    make_memory("Bank PIN 4711")
    eve = User.objects.create_superuser(email="eve@example.com", password=PASSWORD)
    form = {"email": eve.email, "name": "", "role": "member", "is_active": "on"}
    assert staff_client.post(f"/admin/accounts/user/{eve.pk}/change/", form).status_code == 302
    eves = type(client)()
    eves.force_login(User.objects.get(pk=eve.pk))
    for path in ("/admin/", "/admin/memories/memory/", "/admin/accounts/user/"):
        assert eves.get(path).status_code == 302  # to the admin's login page: the Django admin is for admins
    assert "Bank PIN" not in eves.get("/admin/memories/memory/", follow=True).content.decode()

    form["role"] = "admin"
    assert staff_client.post(f"/admin/accounts/user/{eve.pk}/change/", form).status_code == 302
    eves.force_login(User.objects.get(pk=eve.pk))
    assert "Bank PIN" in eves.get("/admin/memories/memory/").content.decode()


def test_deactivating_in_the_admin_ends_the_accounts_tokens_and_sessions_for_good(staff_client, client):
    eve = User.objects.create_user(email="eve@example.com", password=PASSWORD)
    tokens = APIClient().post("/auth/login", {"email": eve.email, "password": PASSWORD}, format="json").json()
    eves_session = type(client)()
    eves_session.force_login(eve)
    form = {"email": eve.email, "name": "", "role": "member"}
    assert staff_client.post(f"/admin/accounts/user/{eve.pk}/change/", form).status_code == 302  # inactive
    assert staff_client.post(f"/admin/accounts/user/{eve.pk}/change/", {**form, "is_active": "on"}).status_code == 302
    assert User.objects.get(pk=eve.pk).is_active
    eves = APIClient()
    eves.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert eves.get("/auth/me").status_code == 401
    refresh = APIClient().post("/auth/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")
    assert refresh.status_code == 401
    assert eves_session.get("/dashboard/memories/").status_code == 302  # to the login page


def test_an_admin_added_in_the_admin_can_use_it(staff_client, client):
    form = {"email": "ann@example.com", "name": "", "role": "admin", "usable_password": "true"}
    form |= {"password1": PASSWORD, "password2": PASSWORD}
    assert staff_client.post("/admin/accounts/user/add/", form).status_code == 302
    anns = type(client)()
    anns.force_login(User.objects.get(email="ann@example.com"))
    assert anns.get("/admin/accounts/user/").status_code == 200


def test_admin_never_shows_an_api_key_digest(staff_client):
    api_key, key = apikey_create(user=User.objects.get(), label="ops")
    for path in ("/admin/apikeys/apikey/", f"/admin/apikeys/apikey/{api_key.pk}/change/"):
        html = staff_client.get(path).content.decode()
        assert api_key.key_prefix in html
        assert api_key.digest not in html
        assert key not in html


def test_admin_revoke_action_revokes(staff_client):
    api_key, _ = apikey_create(user=User.objects.get(), label="ops")
    staff_client.post("/admin/apikeys/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]})
    assert APIKey.objects.get().revoked_at is not None


def test_admin_deletes_memories_with_history(staff_client, make_memory):
    memory_id = make_memory("to be removed")
    staff_client.post("/admin/memories/memory/", {"action": "delete_with_history", "_selected_action": [memory_id]})
    assert not Memory.objects.exists()
    assert list(MemoryHistory.objects.values_list("event", flat=True).order_by("created_at")) == ["ADD", "DELETE"]


def test_no_secret_reaches_the_logs(db, embedder, admin_key, caplog):
    caplog.set_level(logging.DEBUG)
    client = APIClient()
    client.post("/auth/register", {"email": "ada@example.com", "password": PASSWORD}, format="json")
    tokens = client.post("/auth/login", {"email": "ada@example.com", "password": PASSWORD}, format="json").json()
    client.post("/auth/login", {"email": "ada@example.com", "password": "wrong " + PASSWORD}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    key = client.post("/api-keys", {"label": "x"}, format="json").json()["key"]
    APIClient(HTTP_X_API_KEY=key).get("/memories")
    APIClient(HTTP_X_API_KEY=key + "x").get("/memories")
    APIClient(HTTP_X_API_KEY=admin_key).get("/memories")
    logged = caplog.text
    assert caplog.records, "expected some log lines to check"
    for secret in (PASSWORD, tokens["access_token"], tokens["refresh_token"], key, admin_key):
        assert secret not in logged


@pytest.mark.parametrize(
    ("method", "path", "data", "says"),
    [
        ("get", "/admin/accounts/user/?role__exact=%00", None, "NUL"),
        ("get", "/admin/memories/memory/?user_id=%00", None, "NUL"),
        ("post", "/admin/accounts/user/", {"action": "delete_selected", "_selected_action": "abc"}, "'abc'"),
        ("post", "/admin/apikeys/apikey/", {"action": "delete_selected", "_selected_action": "abc"}, "'abc'"),
    ],
)
def test_an_admin_page_given_what_its_fields_cannot_hold_is_a_400_saying_so(staff_client, method, path, data, says):
    # A NUL in a list's filter (PostgreSQL's text holds none) and an id of the wrong type in a posted action were
    # 500s, raised inside Django's admin.
    response = getattr(staff_client, method)(path, data) if data else getattr(staff_client, method)(path)
    assert response.status_code == 400, response.content[:300]
    assert says in response.content.decode()


def test_the_debug_error_page_shows_no_url_credentials(db, admin_key, settings, monkeypatch):
    """With DEBUG=true a 500 answers Django's error page, with the settings and each frame's variables, to whoever
    made the request: Django hides values named like secrets, but DATABASE_URL, REDIS_URL and OPENAI_BASE_URL were
    shown with their passwords, as was a variable holding such a URL."""
    # Spelt in two parts: the page quotes the source lines around each frame's line, this test's among them.
    secrets = [f"{name}-SECRET" for name in ("DB", "REDIS", "BASE", "QS")]
    settings.DEBUG = True
    settings.DATABASE_URL = f"postgres://app:{secrets[0]}@db.internal:5432/mem0"
    settings.REDIS_URL = f"redis://:{secrets[1]}@cache:6379/0"
    settings.OPENAI_BASE_URL = f"http://u:42/{secrets[2]}@llm.internal/v1?api-key={secrets[3]}"

    def broken(**kwargs):
        connection_string = settings.DATABASE_URL  # a frame's variable holding one
        raise RuntimeError(f"a bug, near {len(connection_string)} characters")

    monkeypatch.setattr("memories.selectors.memories_list", broken)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_X_API_KEY=admin_key)
    response = client.get("/memories?user_id=alice")
    page = response.content.decode()
    assert response.status_code == 500 and "a bug, near" in page  # the page a developer reads
    assert "postgres://app:[redacted]@db.internal:5432/mem0" in page
    for secret in [*secrets, admin_key]:
        assert secret not in page
