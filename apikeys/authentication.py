"""Who is calling: AUTH_DISABLED, an API key (per-user key or ADMIN_API_KEY), or a Bearer JWT.

An API key comes in `X-API-Key`, in `Authorization: Token <key>` (Mem0's official SDKs send that), or, for a
per-user `m0sk_` key only, in `Authorization: Bearer <key>` (what MCP clients send).

Every class implements authenticate_header(), so missing or bad credentials answer 401, not 403.
Failures say the same thing for unknown and wrong secrets, and no secret is ever logged.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed as JWTAuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken

from accounts.services import token_revoked, valid_user_id
from apikeys.models import APIKey
from apikeys.services import KEY_PREFIX, apikey_authenticate

API_KEY_HEADER = "HTTP_X_API_KEY"
CHALLENGE = 'Bearer realm="api", APIKey realm="api", header="X-API-Key"'


@dataclass(frozen=True)
class AdminPrincipal:
    """An admin with no dashboard account: ADMIN_API_KEY, or anyone while AUTH_DISABLED=true."""

    auth_type: str
    is_authenticated: bool = True
    is_admin: bool = True
    is_active: bool = True
    # Owns nothing: memories written this way belong to no account (admins see them).
    account: None = None
    pk: None = None

    def __str__(self) -> str:
        return f"admin ({self.auth_type})"


def acting_for(account, *, auth_type: str):
    """Whom background work done for `account` acts as: the account (a User is its own principal), or, for
    the rows the admin principal made (no account), the admin principal."""
    return account if account is not None else AdminPrincipal(auth_type=auth_type)


def auth_type_of(user, auth) -> str:
    """bearer / api_key / admin_api_key / disabled / oauth / none, for logs."""
    if isinstance(user, AdminPrincipal):
        return user.auth_type
    if hasattr(auth, "auth_type"):  # an OAuth grant (oauth.models.OAuthGrant) names itself
        return auth.auth_type
    if isinstance(auth, APIKey):
        return "api_key"
    if user is not None and getattr(user, "is_authenticated", False):
        return "bearer"
    return "none"


def presented_api_key(request) -> str | None:
    """The API key a request carries, from whichever header carries it; None when it carries none."""
    presented = request.META.get(API_KEY_HEADER)
    if presented is not None:
        return presented
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "token" or (scheme == "bearer" and value.startswith(KEY_PREFIX)):
        return value
    return None


class AuthDisabledAuthentication(authentication.BaseAuthentication):
    """AUTH_DISABLED=true: every request is an admin, whatever it sends."""

    def authenticate(self, request):
        if settings.AUTH_DISABLED:
            return AdminPrincipal(auth_type="disabled"), None
        return None

    def authenticate_header(self, request) -> str:
        return CHALLENGE


class APIKeyAuthentication(authentication.BaseAuthentication):
    """ADMIN_API_KEY (constant-time compare) or a per-user `m0sk_` key (digest lookup), from any key header."""

    def authenticate(self, request):
        presented = presented_api_key(request)
        if presented is None:
            return None
        admin_key = settings.ADMIN_API_KEY
        if admin_key and hmac.compare_digest(presented.encode(), admin_key.encode()):
            return AdminPrincipal(auth_type="admin_api_key"), None
        api_key = apikey_authenticate(key=presented) if presented.startswith(KEY_PREFIX) else None
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        return api_key.user, api_key

    def authenticate_header(self, request) -> str:
        return CHALLENGE


class BearerAuthentication(JWTAuthentication):
    """`Authorization: Bearer <access token>`; refresh tokens and expired or forged tokens are refused."""

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except (InvalidToken, JWTAuthenticationFailed):
            # One plain sentence instead of simplejwt's per-token-class diagnostics.
            raise exceptions.AuthenticationFailed("Invalid or expired access token.") from None

    def get_user(self, validated_token):
        # Our tokens carry a whole-number user id; anything else (a string, a list, a number beyond bigint)
        # is a forged or foreign token, and reached the database as a 500.
        if not valid_user_id(validated_token.get(settings.SIMPLE_JWT["USER_ID_CLAIM"])):
            raise InvalidToken("Token contained no recognizable user identification")
        user = super().get_user(validated_token)
        if token_revoked(user=user, claims=validated_token):
            raise InvalidToken("Token was issued before the account was deactivated")
        return user

    def authenticate_header(self, request) -> str:
        return CHALLENGE


class APIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.authentication.APIKeyAuthentication"
    name = ["ApiKeyAuth", "TokenAuth"]

    def get_security_requirement(self, auto_schema):
        return [{name: []} for name in self.name]  # either header, not both

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "A per-user key (m0sk_…) from POST /api-keys, or ADMIN_API_KEY.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Token <key>`, as Mem0's official SDKs send it: the same keys as X-API-Key.",
            },
        ]


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.authentication.BearerAuthentication"
    name = "BearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The access_token from POST /auth/login.",
        }
