"""The bodies of the OAuth endpoints: registration (RFC 7591), token and revocation requests (RFC 6749, 7009), the
answers, and the two metadata documents (RFC 8414, RFC 9728)."""

from __future__ import annotations

from rest_framework import serializers

from oauth.services import AUTH_METHODS, DEFAULT_AUTH_METHOD, GRANT_TYPES, MAX_REDIRECT_URIS, MAX_URI_LENGTH

TOKEN_LENGTH = 200  # far above what this server issues; longer is not one of its codes or tokens


class RegisterRequestSerializer(serializers.Serializer):
    # Other client metadata (client_uri, logo_uri, software_id, …) is not kept, as RFC 7591 §2 allows.
    redirect_uris = serializers.ListField(
        child=serializers.CharField(max_length=MAX_URI_LENGTH, trim_whitespace=False),
        min_length=1,
        max_length=MAX_REDIRECT_URIS,
    )
    client_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    # RFC 7591's default; MCP clients usually ask for `none` (a public client with PKCE).
    token_endpoint_auth_method = serializers.ChoiceField(AUTH_METHODS, default=DEFAULT_AUTH_METHOD)
    grant_types = serializers.ListField(
        child=serializers.ChoiceField(GRANT_TYPES), max_length=2, default=["authorization_code", "refresh_token"]
    )
    response_types = serializers.ListField(child=serializers.ChoiceField(["code"]), max_length=1, default=["code"])
    scope = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class RegisterResponseSerializer(serializers.Serializer):
    client_id = serializers.CharField()
    client_id_issued_at = serializers.IntegerField()
    client_secret = serializers.CharField(required=False)
    client_secret_expires_at = serializers.IntegerField(required=False)
    client_name = serializers.CharField()
    redirect_uris = serializers.ListField(child=serializers.CharField())
    token_endpoint_auth_method = serializers.CharField()
    grant_types = serializers.ListField(child=serializers.CharField())
    response_types = serializers.ListField(child=serializers.CharField())
    scope = serializers.CharField()


def _text(**kwargs) -> serializers.CharField:
    return serializers.CharField(required=False, trim_whitespace=False, **kwargs)


class TokenRequestSerializer(serializers.Serializer):
    grant_type = serializers.CharField()
    code = _text(max_length=TOKEN_LENGTH)
    redirect_uri = _text(max_length=MAX_URI_LENGTH)
    code_verifier = _text(max_length=TOKEN_LENGTH)
    refresh_token = _text(max_length=TOKEN_LENGTH)
    resource = _text(max_length=MAX_URI_LENGTH)
    scope = _text(max_length=1000)
    client_id = _text(max_length=MAX_URI_LENGTH)  # a registered one's, or the URL of its metadata document
    client_secret = _text(max_length=TOKEN_LENGTH)


class TokenResponseSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()
    refresh_token = serializers.CharField()
    scope = serializers.CharField()


class RevokeRequestSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=TOKEN_LENGTH, trim_whitespace=False)
    token_type_hint = _text(max_length=100)
    client_id = _text(max_length=MAX_URI_LENGTH)
    client_secret = _text(max_length=TOKEN_LENGTH)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    error_description = serializers.CharField()


class ResourceMetadataSerializer(serializers.Serializer):
    resource = serializers.URLField()
    authorization_servers = serializers.ListField(child=serializers.URLField())
    scopes_supported = serializers.ListField(child=serializers.CharField())
    bearer_methods_supported = serializers.ListField(child=serializers.CharField())
    resource_name = serializers.CharField()


class ServerMetadataSerializer(serializers.Serializer):
    issuer = serializers.URLField()
    authorization_endpoint = serializers.URLField()
    token_endpoint = serializers.URLField()
    registration_endpoint = serializers.URLField()
    revocation_endpoint = serializers.URLField()
    scopes_supported = serializers.ListField(child=serializers.CharField())
    response_types_supported = serializers.ListField(child=serializers.CharField())
    grant_types_supported = serializers.ListField(child=serializers.CharField())
    code_challenge_methods_supported = serializers.ListField(child=serializers.CharField())
    token_endpoint_auth_methods_supported = serializers.ListField(child=serializers.CharField())
    revocation_endpoint_auth_methods_supported = serializers.ListField(child=serializers.CharField())
    client_id_metadata_document_supported = serializers.BooleanField()
    authorization_response_iss_parameter_supported = serializers.BooleanField()
