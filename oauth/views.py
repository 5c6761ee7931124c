"""The OAuth protocol endpoints MCP clients call by themselves: metadata, registration, token, revocation.

They answer OAuth's JSON (`error`, `error_description`), not the REST API's, and are left out of /openapi.json as
/mcp is: their contract is the RFCs and the metadata. The authorization page a person sees is the dashboard's.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from mem0server.parsers import LimitedJSONParser
from oauth import discovery, services
from oauth.serializers import (
    RegisterRequestSerializer,
    RegisterResponseSerializer,
    ResourceMetadataSerializer,
    RevokeRequestSerializer,
    ServerMetadataSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
)
from oauth.services import OAuthError


def _first_problem(errors) -> str:
    """One sentence from a serializer's errors: the first field and what is wrong with it."""
    field, problems = next(iter(errors.items()))
    while isinstance(problems, dict):  # a list field's item: {index: [problem]}
        problems = next(iter(problems.values()))
    return f"{field}: {problems[0]}"


@extend_schema(exclude=True)
class OAuthView(APIView):
    """No credentials of the REST API's kinds; OAuth's error JSON for every refusal this view makes."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def handle_exception(self, exc):
        if isinstance(exc, OAuthError):
            response = Response({"error": exc.error, "error_description": exc.description}, status=exc.status)
            if exc.status == 401:
                response["WWW-Authenticate"] = 'Basic realm="oauth"'
            return response
        if isinstance(exc, exceptions.ParseError | exceptions.UnsupportedMediaType):
            return Response({"error": "invalid_request", "error_description": str(exc.detail)}, exc.status_code)
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"  # RFC 6749 §5.1: tokens and secrets are never cached
        return response

    def valid(self, serializer_class, data, *, error: str = "invalid_request") -> dict:
        serializer = serializer_class(data=data)
        if not serializer.is_valid():
            raise OAuthError(error, _first_problem(serializer.errors))
        return serializer.validated_data

    def client(self, request, data: dict):
        """The calling client: its id and secret from HTTP Basic (client_secret_basic) or the form."""
        client_id, client_secret = data.get("client_id"), data.get("client_secret")
        scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise OAuthError(
                    "invalid_client", "The Basic credentials are not base64 of id:secret.", status=401
                ) from None
            basic_id, _, basic_secret = decoded.partition(":")
            client_id, client_secret = unquote(basic_id), unquote(basic_secret)
        return services.client_authenticate(client_id=client_id, client_secret=client_secret)


class ResourceMetadataView(OAuthView):
    """RFC 9728: /mcp is protected by this server's own authorization server."""

    def get(self, request):
        return Response(ResourceMetadataSerializer(discovery.resource_metadata(request)).data)


class ServerMetadataView(OAuthView):
    """RFC 8414: where to register, authorize and get tokens."""

    def get(self, request):
        return Response(ServerMetadataSerializer(discovery.server_metadata(request)).data)


class RegisterView(OAuthView):
    """RFC 7591 dynamic registration, open to anyone (as MCP clients need), bounded per address."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "oauth_register"
    parser_classes = [LimitedJSONParser]

    def post(self, request):
        data = self.valid(RegisterRequestSerializer, request.data, error="invalid_client_metadata")
        client, secret = services.client_register(
            redirect_uris=data["redirect_uris"],
            client_name=data["client_name"],
            token_endpoint_auth_method=data["token_endpoint_auth_method"],
        )
        body = {
            "client_id": client.client_id,
            "client_id_issued_at": int(client.created_at.timestamp()),
            "client_name": client.client_name,
            "redirect_uris": client.redirect_uris,
            "token_endpoint_auth_method": client.token_endpoint_auth_method,
            "grant_types": data["grant_types"],
            "response_types": data["response_types"],
            "scope": services.granted_scope(data.get("scope")),
        }
        if secret is not None:
            body |= {"client_secret": secret, "client_secret_expires_at": 0}
        return Response(RegisterResponseSerializer(body).data, status=201)


class TokenView(OAuthView):
    """RFC 6749 §4.1.3 and §6: a code (with its PKCE verifier) or a refresh token for new tokens."""

    parser_classes = [FormParser, LimitedJSONParser]

    def post(self, request):
        data = self.valid(TokenRequestSerializer, request.data)
        grant_type = data["grant_type"]
        if grant_type not in services.GRANT_TYPES:
            raise OAuthError("unsupported_grant_type", f"grant_type must be one of {', '.join(services.GRANT_TYPES)}.")
        needed = ("code", "code_verifier") if grant_type == "authorization_code" else ("refresh_token",)
        for name in needed:
            if not data.get(name):
                raise OAuthError("invalid_request", f"{name} is required for grant_type={grant_type}.")
        client = self.client(request, data)
        if grant_type == "authorization_code":
            tokens = services.token_for_code(
                client=client,
                code=data["code"],
                redirect_uri=data.get("redirect_uri"),
                code_verifier=data["code_verifier"],
                resource=data.get("resource"),
            )
        else:
            tokens = services.token_for_refresh(
                client=client, refresh_token=data["refresh_token"], resource=data.get("resource")
            )
        return Response(TokenResponseSerializer(tokens).data)


class RevokeView(OAuthView):
    """RFC 7009: a client gives up a token (its grant ends); 200 whether or not the token was live."""

    parser_classes = [FormParser, LimitedJSONParser]

    def post(self, request):
        data = self.valid(RevokeRequestSerializer, request.data)
        services.token_revoke(client=self.client(request, data), token=data["token"])
        return Response(status=200)
