"""/auth/*: first-admin registration, login, single-use refresh tokens, profile and password changes."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.cache.backends import locmem
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts import services
from accounts.models import User
from conftest import DEPLOYED_PASSWORD_HASHERS

PASSWORD = "correct horse battery"


def post(client, path, body):
    return client.post(path, body, format="json")


@pytest.fixture
def client(db) -> APIClient:
    return APIClient()


@pytest.fixture
def registered(client) -> dict:
    response = post(client, "/auth/register", {"name": "Ada", "email": "Ada@Example.com", "password": PASSWORD})
    assert response.status_code == 201
    return response.json()


def bearer(tokens: dict) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    return client


# --- setup and registration --------------------------------------------------------------------------


def test_setup_status_says_setup_is_needed_until_someone_registers(client):
    assert client.get("/auth/setup-status").json() == {"needsSetup": True}
    post(client, "/auth/register", {"name": "Ada", "email": "ada@example.com", "password": PASSWORD})
    assert client.get("/auth/setup-status").json() == {"needsSetup": False}


def test_register_creates_the_first_admin_and_returns_tokens(registered):
    assert registered["token_type"] == "bearer"
    assert registered["access_token"] and registered["refresh_token"]
    user = User.objects.get()
    assert (user.email, user.name, user.role, user.is_staff) == ("ada@example.com", "Ada", "admin", True)
    assert user.password.startswith("argon2")
    assert PASSWORD not in user.password
    me = bearer(registered).get("/auth/me").json()
    assert me["email"] == "ada@example.com"
    assert me["role"] == "admin"


def test_a_password_is_stored_at_the_deployed_argon2_cost(client, settings):
    """The other tests hash at argon2's lowest cost (conftest.py); a deployed server uses Django's defaults."""
    settings.PASSWORD_HASHERS = DEPLOYED_PASSWORD_HASHERS
    post(client, "/auth/register", {"name": "Ada", "email": "ada@example.com", "password": PASSWORD})
    stored = User.objects.get().password
    assert stored.startswith("argon2$argon2id$v=19$m=102400,t=2,p=8$"), stored
    assert post(client, "/auth/login", {"email": "ada@example.com", "password": PASSWORD}).status_code == 200


def test_register_is_refused_once_an_account_exists(client, registered):
    response = post(client, "/auth/register", {"name": "Eve", "email": "eve@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "ada@example.com", "password": "short"}, "password"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"password": PASSWORD}, "email"),
        ({"email": "ada@example.com"}, "password"),
        ({"email": "ada@example.com", "password": 12345678}, "password"),
    ],
)
def test_register_rejects_bad_input(client, body, field):
    response = post(client, "/auth/register", body)
    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert not User.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_racing_registrations_create_exactly_one_admin():
    barrier = threading.Barrier(4)
    statuses = []

    def register(i: int) -> None:
        try:
            barrier.wait()
            body = {"name": f"u{i}", "email": f"u{i}@example.com", "password": PASSWORD}
            statuses.append(post(APIClient(), "/auth/register", body).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [201, 403, 403, 403]
    assert User.objects.filter(role="admin").count() == 1


# --- login -------------------------------------------------------------------------------------------


def test_login_with_the_right_password_returns_tokens_in_any_email_case(client, registered):
    response = post(client, "/auth/login", {"email": "ADA@example.COM", "password": PASSWORD})
    assert response.status_code == 200
    assert bearer(response.json()).get("/auth/me").status_code == 200
    assert User.objects.get().last_login is not None


def test_the_django_admin_cannot_give_an_account_another_accounts_email_in_other_case(client, registered):
    # Logins match emails in any case (UserManager.get_by_natural_key): the Django admin's forms took
    # "Ada@example.com" beside "ada@example.com" (the column's unique check is exact), and from then on both
    # accounts' logins were a 500 (MultipleObjectsReturned).
    admin = APIClient()
    admin.force_login(User.objects.get())
    form = {
        "email": "Ada@EXAMPLE.com",
        "name": "Other",
        "role": "member",
        "usable_password": "true",
        "password1": "another long passphrase",
        "password2": "another long passphrase",
    }
    created = admin.post("/admin/accounts/user/add/", form)
    assert created.status_code == 200, created.status_code  # the form again, saying why
    assert "already exists" in created.content.decode()
    member = User.objects.create_user(email="bob@example.com", password="another long passphrase", name="Bob")
    edit = {"email": "ADA@example.com", "name": "Bob", "role": "member", "is_active": "on"}
    edited = admin.post(f"/admin/accounts/user/{member.pk}/change/", edit)
    assert edited.status_code == 200, edited.status_code
    assert "already exists" in edited.content.decode()
    assert sorted(User.objects.values_list("email", flat=True)) == ["ada@example.com", "bob@example.com"]
    assert post(client, "/auth/login", {"email": "ada@example.com", "password": PASSWORD}).status_code == 200
    # An email the admin types in capitals is kept as every other way of making an account keeps it.
    edit["email"] = "Bob@Example.COM"
    assert admin.post(f"/admin/accounts/user/{member.pk}/change/", edit).status_code == 302
    assert User.objects.get(pk=member.pk).email == "bob@example.com"


def test_a_login_whose_email_two_accounts_hold_in_other_cases_is_the_lower_case_ones(client, registered):
    # Such a pair, which the Django admin's forms could make before they stored emails in lower case, made both
    # logins a 500 (MultipleObjectsReturned).
    User.objects.create(email="ADA@example.com", name="Other")
    for typed in ("ada@example.com", "Ada@Example.com"):
        answer = post(client, "/auth/login", {"email": typed, "password": PASSWORD})
        assert answer.status_code == 200, answer.json()


@pytest.mark.parametrize("email", ["ada@example.com", "nobody@example.com"])
def test_login_failures_look_the_same_for_wrong_password_and_unknown_email(client, registered, email):
    response = post(client, "/auth/login", {"email": email, "password": "wrong password"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid email or password."}
    assert "WWW-Authenticate" in response


def test_inactive_accounts_cannot_log_in(client, registered):
    User.objects.update(is_active=False)
    assert post(client, "/auth/login", {"email": "ada@example.com", "password": PASSWORD}).status_code == 401


# --- refresh -----------------------------------------------------------------------------------------


def test_a_refresh_token_works_once(client, registered):
    first = post(client, "/auth/refresh", {"refresh_token": registered["refresh_token"]})
    assert first.status_code == 200
    fresh = first.json()
    assert fresh["refresh_token"] != registered["refresh_token"]
    assert bearer(fresh).get("/auth/me").status_code == 200
    replay = post(client, "/auth/refresh", {"refresh_token": registered["refresh_token"]})
    assert replay.status_code == 401
    assert post(client, "/auth/refresh", {"refresh_token": fresh["refresh_token"]}).status_code == 200


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
def test_refresh_rejects_garbage(client, registered, token):
    assert post(client, "/auth/refresh", {"refresh_token": token}).status_code == 401


def test_refresh_is_refused_once_the_account_is_deactivated(client, registered):
    User.objects.update(is_active=False)
    assert post(client, "/auth/refresh", {"refresh_token": registered["refresh_token"]}).status_code == 401


def test_refresh_is_refused_once_the_password_was_set_outside_the_api(client, registered):
    user = User.objects.get()
    user.set_password("another horse battery")  # as the Django admin's password form and changepassword do
    user.save()
    assert post(client, "/auth/refresh", {"refresh_token": registered["refresh_token"]}).status_code == 401


def test_an_access_token_is_not_a_refresh_token(client, registered):
    assert post(client, "/auth/refresh", {"refresh_token": registered["access_token"]}).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_refresh_token_replayed_concurrently_wins_once():
    tokens = post(APIClient(), "/auth/register", {"email": "ada@example.com", "password": PASSWORD}).json()
    barrier = threading.Barrier(8)
    statuses = []

    def refresh() -> None:
        try:
            barrier.wait()
            statuses.append(post(APIClient(), "/auth/refresh", {"refresh_token": tokens["refresh_token"]}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200] + [401] * 7


# --- me and password ---------------------------------------------------------------------------------


def test_me_can_change_name_and_email(registered):
    client = bearer(registered)
    response = client.patch("/auth/me", {"name": "Ada L.", "email": "ada@lovelace.org"}, format="json")
    assert response.status_code == 200
    assert response.json()["email"] == "ada@lovelace.org"
    assert User.objects.get().name == "Ada L."


def test_me_refuses_an_email_that_is_taken(registered, make_user):
    make_user("taken@example.com")
    response = bearer(registered).patch("/auth/me", {"email": "TAKEN@example.com"}, format="json")
    assert response.status_code == 409
    assert User.objects.get(role="admin").email == "ada@example.com"


def test_a_name_change_does_not_undo_an_email_change_made_while_it_ran(registered):
    # Each PATCH works on the account as its request loaded it: a name-only change loaded before an email change
    # committed wrote the old email back over the new one.
    loaded_before = User.objects.get(role="admin")
    services.user_update(user=User.objects.get(role="admin"), email="ada@new.example")
    services.user_update(user=loaded_before, name="Ada L.")
    account = User.objects.get(role="admin")
    assert (account.name, account.email) == ("Ada L.", "ada@new.example")


@pytest.mark.parametrize(("body", "field"), [({}, "name"), ({"email": "nope"}, "email"), ({"name": 5}, "name")])
def test_me_rejects_bad_updates(registered, body, field):
    response = bearer(registered).patch("/auth/me", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["detail"]


def test_change_password_needs_the_current_one(registered):
    body = {"current_password": "wrong password", "new_password": "another good one"}
    response = bearer(registered).post("/auth/change-password", body, format="json")
    assert response.status_code == 401
    assert User.objects.get().check_password(PASSWORD)


def test_change_password_refuses_a_short_new_one(registered):
    body = {"current_password": PASSWORD, "new_password": "short"}
    response = bearer(registered).post("/auth/change-password", body, format="json")
    assert response.status_code == 400
    assert "8 characters" in response.json()["detail"]


def test_change_password_ends_earlier_tokens(client, registered):
    body = {"current_password": PASSWORD, "new_password": "a brand new passphrase"}
    assert bearer(registered).post("/auth/change-password", body, format="json").status_code == 200
    assert bearer(registered).get("/auth/me").status_code == 401
    assert post(client, "/auth/refresh", {"refresh_token": registered["refresh_token"]}).status_code == 401
    login = post(client, "/auth/login", {"email": "ada@example.com", "password": "a brand new passphrase"})
    assert login.status_code == 200


def test_an_expired_access_token_is_refused(registered):
    token = AccessToken.for_user(User.objects.get())
    token.set_exp(lifetime=-timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get("/auth/me")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or expired access token."}


def test_a_refresh_token_is_not_an_access_token(registered):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {registered['refresh_token']}")
    assert client.get("/auth/me").status_code == 401


# --- rate limits -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "limit"), [("/auth/login", 10), ("/auth/register", 5), ("/auth/refresh", 20)])
def test_auth_endpoints_are_rate_limited_per_client_ip(client, path, limit):
    for _ in range(limit):
        assert post(client, path, {}).status_code == 400
    response = post(client, path, {})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "throttled" in response.json()["detail"].lower()
    other_ip = APIClient(REMOTE_ADDR="10.0.0.9")
    assert post(other_ip, path, {}).status_code == 400


def test_the_login_limit_holds_across_worker_processes(client):
    for _ in range(10):
        assert post(client, "/auth/login", {}).status_code == 400
    # Another worker process: nothing of this one's memory (a process-local cache started empty there).
    for kept in (*locmem._caches.values(), *locmem._expire_info.values()):
        kept.clear()
    assert post(client, "/auth/login", {}).status_code == 429


def test_a_forged_forwarded_for_header_does_not_dodge_the_limit(client):
    for i in range(10):
        post(APIClient(HTTP_X_FORWARDED_FOR=f"203.0.113.{i}"), "/auth/login", {})
    assert post(APIClient(HTTP_X_FORWARDED_FOR="203.0.113.99"), "/auth/login", {}).status_code == 429


def test_a_field_an_auth_route_does_not_take_is_a_400_naming_it_and_changes_nothing(client, registered):
    # Each was ignored: a misspelt field answered as if the request had been right (an API key that never expires).
    me = bearer(registered)
    cases = [
        (me, "patch", "/auth/me", {"nmae": "Ada L."}, "nmae"),
        (me, "patch", "/auth/me", {"name": "Ada L.", "emial": "new@example.com"}, "emial"),
        (me, "post", "/auth/change-password", {"current_password": PASSWORD, "new_pasword": "x" * 12}, "new_pasword"),
        (me, "post", "/auth/onboarding-complete", {"usecase": "notes"}, "usecase"),
        (me, "post", "/api-keys", {"label": "bot", "expires_at": "2030-01-01"}, "expires_at"),
        (me, "post", "/generate-instructions", {"use_case": "notes", "tone": "short"}, "tone"),
    ]
    for api, method, path, body, name in cases:
        response = getattr(api, method)(path, body, format="json")
        assert (path, response.status_code) == (path, 400)
        assert f"Unknown field(s): {name}." in response.json()["detail"]
    assert me.get("/auth/me").json()["name"] == "Ada"
    assert me.get("/api-keys").json() == []
