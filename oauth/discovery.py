"""Where a client finds this server's OAuth: the URLs of RFC 9728 (protected resource) and RFC 8414 (authorization
server) metadata, built from the request's own host (ALLOWED_HOSTS guards it; BEHIND_TLS_PROXY gives https)."""

from __future__ import annotations

from django.urls import reverse

from oauth.services import AUTH_METHODS, GRANT_TYPES, KNOWN_SCOPES, READ_SCOPE, SCOPE


def issuer(request) -> str:
    """This server as an authorization server: its origin with the root path, `https://host/`, as both metadata
    name it and every authorization answer carries it (`iss`, RFC 9207). Clients compare that `iss` as a string:
    the Python MCP SDK with the issuer as pydantic writes a root URL (ending in "/"), the TypeScript SDK v2 with the
    issuer as written, so only this form satisfies both. Its RFC 8414 metadata URL is the same as without the "/"."""
    return request.build_absolute_uri("/")


def mcp_resource(request) -> str:
    """The protected resource the tokens are for: the MCP endpoint."""
    return request.build_absolute_uri(reverse("mcp"))


def mcp_challenge(request) -> str:
    """/mcp's WWW-Authenticate: OAuth clients read where the metadata is (MCP's authorization spec); the others
    see the key headers they may send instead."""
    metadata = request.build_absolute_uri(reverse("oauth-protected-resource-mcp"))
    return (
        f'Bearer realm="mcp", resource_metadata="{metadata}", scope="{SCOPE}", APIKey realm="mcp", header="X-API-Key"'
    )


def resource_metadata(request) -> dict:
    return {
        "resource": mcp_resource(request),
        "authorization_servers": [issuer(request)],
        "scopes_supported": [SCOPE, READ_SCOPE],
        "bearer_methods_supported": ["header"],
        "resource_name": "mem0server MCP",
    }


def server_metadata(request) -> dict:
    def url(name: str) -> str:
        return request.build_absolute_uri(reverse(name))

    return {
        "issuer": issuer(request),
        "authorization_endpoint": url("dashboard:oauth-authorize"),
        "token_endpoint": url("oauth-token"),
        "registration_endpoint": url("oauth-register"),
        "revocation_endpoint": url("oauth-revoke"),
        "scopes_supported": list(KNOWN_SCOPES),
        "response_types_supported": ["code"],
        "grant_types_supported": list(GRANT_TYPES),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        # A client_id may be the https URL of the client's metadata (oauth/client_metadata.py).
        "client_id_metadata_document_supported": True,
        # Every authorization answer, refusals included, names the issuer (RFC 9207: against mix-up attacks).
        "authorization_response_iss_parameter_supported": True,
    }
