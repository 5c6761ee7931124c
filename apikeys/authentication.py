"""DRF authentication for the legacy ADMIN_API_KEY (per-user keys come with the accounts work)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

API_KEY_HEADER = "HTTP_X_API_KEY"


@dataclass(frozen=True)
class AdminPrincipal:
    """Who a request is when it presents ADMIN_API_KEY: an admin with no dashboard account."""

    is_authenticated: bool = True
    is_admin: bool = True
    auth_type: str = "admin_api_key"

    def __str__(self) -> str:
        return "admin (ADMIN_API_KEY)"


class AdminAPIKeyAuthentication(authentication.BaseAuthentication):
    """Accepts `X-API-Key: <ADMIN_API_KEY>`; compared in constant time, never logged."""

    def authenticate(self, request):
        presented = request.META.get(API_KEY_HEADER)
        if presented is None:
            return None
        expected = settings.ADMIN_API_KEY
        if expected and hmac.compare_digest(presented.encode(), expected.encode()):
            return AdminPrincipal(), None
        raise exceptions.AuthenticationFailed("Invalid API key.")

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) when credentials are missing or wrong.
        return 'APIKey realm="api", header="X-API-Key"'


class AdminAPIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.authentication.AdminAPIKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}
