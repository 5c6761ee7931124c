"""Every protected route × every kind of credential gives the status the contract says.

Each route is called with a request that is valid once authenticated, so "allowed" shows as that route's
normal answer (200, 201, or 404 for an id that does not exist) and refusals as 401 / 403.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from accounts.services import tokens_issue
from apikeys.models import APIKey
from apikeys.services import apikey_create
from conftest import ADMIN_KEY

# Fixed, so every process that collects these tests (pytest-xdist workers) names them alike.
UNKNOWN = uuid.UUID("0d7c1f5e-5b1e-4c0a-9d38-3f6f7b8e2a41")

# (method, path, body, status when allowed, who is allowed)
#   any: every valid credential · admin: admin credentials only · account: credentials of an account
#   (per-user key or JWT) · login: a JWT of an account (API keys cannot manage API keys, nor change the
#   account's email or password)
ROUTES = [
    ("get", "/memories", None, 200, "any"),
    ("post", "/memories", {"messages": "Likes tea", "user_id": "alice", "infer": False}, 200, "any"),
    ("delete", "/memories?user_id=alice", None, 200, "admin"),
    ("get", f"/memories/{UNKNOWN}", None, 404, "any"),
    ("put", f"/memories/{UNKNOWN}", {"text": "x"}, 404, "any"),
    ("delete", f"/memories/{UNKNOWN}", None, 404, "any"),
    ("get", f"/memories/{UNKNOWN}/history", None, 404, "any"),
    ("post", "/search", {"query": "tea", "user_id": "alice"}, 200, "any"),
    ("post", "/reset", None, 200, "admin"),
    ("get", "/auth/me", None, 200, "account"),
    ("patch", "/auth/me", {"name": "New Name"}, 200, "login"),
    ("post", "/auth/change-password", {}, 400, "login"),
    ("get", "/api-keys", None, 200, "login"),
    ("post", "/api-keys", {"label": "x"}, 201, "login"),
    ("delete", "/api-keys/999999", None, 404, "login"),
    ("get", "/requests", None, 200, "any"),
    ("get", "/entities", None, 200, "any"),
    ("delete", "/entities/user/nobody", None, 404, "admin"),
    ("get", "/configure", None, 200, "any"),
    ("get", "/configure/providers", None, 200, "any"),
    ("post", "/configure", {}, 200, "admin"),
]

# credential -> (is admin, has an account, is a login token); None for credentials that must fail with 401
CREDENTIALS = {
    "none": None,
    "garbage_bearer": None,
    "expired_access": None,
    "refresh_as_access": None,
    "revoked_api_key": None,
    "unknown_api_key": None,
    "unknown_token_key": None,
    "empty_token": None,
    "member_api_key": (False, True, False),
    "member_token_key": (False, True, False),
    "member_bearer_key": (False, True, False),
    "member_jwt": (False, True, True),
    "admin_account_api_key": (True, True, False),
    "admin_jwt": (True, True, True),
    "ADMIN_API_KEY": (True, False, False),
    "ADMIN_API_KEY_token": (True, False, False),
    "AUTH_DISABLED": (True, False, False),
}


def expected_status(allowed_status: int, who: str, credential: str) -> int:
    traits = CREDENTIALS[credential]
    if traits is None:
        return 401
    is_admin, has_account, is_login = traits
    allowed = {"any": True, "admin": is_admin, "account": has_account, "login": is_login}[who]
    return allowed_status if allowed else 403


def make_client(credential: str, settings, make_user) -> APIClient:
    client = APIClient()
    member = make_user("member@example.com")
    admin = make_user("admin@example.com", role=User.Role.ADMIN)
    if credential == "garbage_bearer":
        client.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")
    elif credential == "expired_access":
        token = AccessToken.for_user(member)
        token.set_exp(lifetime=-timedelta(minutes=1))
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    elif credential == "refresh_as_access":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=member).refresh_token}")
    elif credential == "revoked_api_key":
        api_key, key = apikey_create(user=member, label="old")
        APIKey.objects.filter(pk=api_key.pk).update(revoked_at=api_key.created_at)
        client.credentials(HTTP_X_API_KEY=key)
    elif credential == "unknown_api_key":
        client.credentials(HTTP_X_API_KEY="m0sk_" + "A" * 43)
    elif credential == "unknown_token_key":
        client.credentials(HTTP_AUTHORIZATION="Token m0sk_" + "A" * 43)
    elif credential == "empty_token":
        client.credentials(HTTP_AUTHORIZATION="Token ")
    elif credential in ("member_token_key", "member_bearer_key"):
        scheme = "Token" if credential == "member_token_key" else "Bearer"
        client.credentials(HTTP_AUTHORIZATION=f"{scheme} {apikey_create(user=member, label='k')[1]}")
    elif credential == "ADMIN_API_KEY_token":
        client.credentials(HTTP_AUTHORIZATION=f"Token {ADMIN_KEY}")
    elif credential in ("member_api_key", "admin_account_api_key"):
        client.credentials(HTTP_X_API_KEY=apikey_create(user=member if "member" in credential else admin, label="k")[1])
    elif credential in ("member_jwt", "admin_jwt"):
        user = member if credential == "member_jwt" else admin
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=user).access_token}")
    elif credential == "ADMIN_API_KEY":
        client.credentials(HTTP_X_API_KEY=ADMIN_KEY)
    elif credential == "AUTH_DISABLED":
        settings.AUTH_DISABLED = True
    return client


@pytest.mark.parametrize("credential", list(CREDENTIALS))
@pytest.mark.parametrize(
    ("method", "path", "body", "allowed_status", "who"), ROUTES, ids=[f"{r[0]} {r[1]}" for r in ROUTES]
)
def test_auth_matrix(admin_key, embedder, settings, make_user, credential, method, path, body, allowed_status, who):
    client = make_client(credential, settings, make_user)
    response = getattr(client, method)(path, body, format="json")
    expected = expected_status(allowed_status, who, credential)
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response.json()["detail"]
    if expected == 401:
        assert "WWW-Authenticate" in response
