"""Account takeover paths: what an API key may change, password guessing on /admin/login/ and
/auth/change-password, and forged access tokens."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User
from apikeys.services import apikey_create

PASSWORD = "correct horse battery"


@pytest.fixture
def admin_user(db) -> User:
    return User.objects.create_superuser(email="ada@example.com", password=PASSWORD, name="Ada")


def login(email: str = "ada@example.com", password: str = PASSWORD) -> APIClient:
    response = APIClient().post("/auth/login", {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")
    return client


def with_api_key(user: User) -> APIClient:
    _, key = apikey_create(user=user, label="agent")
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    return client


# --- an API key cannot take the account over ------------------------------------------------------------


def test_an_api_key_cannot_change_the_accounts_email(admin_user):
    response = with_api_key(admin_user).patch("/auth/me", {"email": "attacker@example.com"}, format="json")
    assert response.status_code == 403
    assert "login" in response.json()["detail"] and "API key" in response.json()["detail"]
    admin_user.refresh_from_db()
    assert admin_user.email == "ada@example.com"


def test_an_api_key_cannot_change_the_accounts_name_and_the_answer_says_the_name(admin_user):
    response = with_api_key(admin_user).patch("/auth/me", {"name": "Mallory"}, format="json")
    assert response.status_code == 403
    assert "name" in response.json()["detail"] and "access token from POST /auth/login" in response.json()["detail"]
    admin_user.refresh_from_db()
    assert admin_user.name != "Mallory"


def test_an_api_key_cannot_change_the_password(admin_user):
    response = with_api_key(admin_user).post(
        "/auth/change-password", {"current_password": PASSWORD, "new_password": "a new long password"}, format="json"
    )
    assert response.status_code == 403
    assert "access token from POST /auth/login" in response.json()["detail"]
    admin_user.refresh_from_db()
    assert admin_user.check_password(PASSWORD)


def test_an_api_key_can_still_read_its_account(admin_user):
    response = with_api_key(admin_user).get("/auth/me")
    assert response.status_code == 200
    assert response.json()["email"] == "ada@example.com"


def test_a_login_token_can_change_email_and_password(admin_user):
    client = login()
    assert client.patch("/auth/me", {"email": "ada@new.example"}, format="json").status_code == 200
    response = client.post(
        "/auth/change-password", {"current_password": PASSWORD, "new_password": "a new long password"}, format="json"
    )
    assert response.status_code == 200
    login("ada@new.example", "a new long password")


def test_a_weak_new_password_is_refused_naming_new_password(admin_user):
    # The 400 named the field "password", which this request does not have.
    weak = {"current_password": PASSWORD, "new_password": "12345678"}
    response = login().post("/auth/change-password", weak, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["new_password"], response.json()


# --- password guessing -----------------------------------------------------------------------------------


def test_change_password_is_rate_limited_per_account(admin_user):
    client = login()
    wrong = {"current_password": "not it", "new_password": "a new long password"}
    for _ in range(5):
        assert client.post("/auth/change-password", wrong, format="json").status_code == 401
    response = client.post(
        "/auth/change-password", {"current_password": PASSWORD, "new_password": "a new long password"}, format="json"
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    admin_user.refresh_from_db()
    assert admin_user.check_password(PASSWORD)


def test_admin_login_page_stops_checking_passwords_after_ten_attempts(admin_user, client):
    def attempt(password: str, **extra):
        return client.post("/admin/login/", {"username": "ada@example.com", "password": password}, **extra)

    for _ in range(10):
        response = attempt("wrong password")
        assert response.status_code == 200  # the form again, with an error
        assert "_auth_user_id" not in client.session
    response = attempt(PASSWORD)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    # Another address is not affected.
    other = type(client)(REMOTE_ADDR="10.0.0.9")
    response = other.post("/admin/login/", {"username": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert other.session["_auth_user_id"] == str(admin_user.pk)


def test_admin_login_page_still_shows_its_form_while_limited(admin_user, client):
    for _ in range(11):
        client.post("/admin/login/", {"username": "ada@example.com", "password": "wrong"})
    assert client.get("/admin/login/").status_code == 200


# --- forged tokens ------------------------------------------------------------------------------------


@pytest.mark.parametrize("user_id", ["abc", "1; DROP TABLE", [1], {"id": 1}, 2**70, -1, 0, 1.5, True, None])
def test_an_access_token_whose_user_id_is_not_a_user_number_is_a_401(admin_user, user_id):
    token = AccessToken.for_user(admin_user)
    token["user_id"] = user_id
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get("/auth/me")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or expired access token."}


@pytest.mark.parametrize("user_id", ["abc", [1], 2**70])
def test_a_refresh_token_whose_user_id_is_not_a_user_number_is_a_401(admin_user, user_id):
    token = RefreshToken.for_user(admin_user)
    token["user_id"] = user_id
    response = APIClient().post("/auth/refresh", {"refresh_token": str(token)}, format="json")
    assert response.status_code == 401
