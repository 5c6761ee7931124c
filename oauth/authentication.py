"""`Authorization: Bearer m0at_…`: an OAuth access token, accepted by /mcp only (the resource it was issued for)."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from oauth.discovery import mcp_challenge
from oauth.services import ACCESS_PREFIX, grant_authenticate


class OAuthAccessTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        token = value.strip()
        if scheme.lower() != "bearer" or not token.startswith(ACCESS_PREFIX):
            return None
        grant = grant_authenticate(token=token)
        if grant is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked OAuth access token.")
        return grant.user, grant

    def authenticate_header(self, request) -> str:
        return mcp_challenge(request)
