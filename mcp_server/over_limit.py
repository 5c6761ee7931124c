"""A JSON-RPC message POSTed to an MCP URL with a body over MAX_REQUEST_BYTES: refused before Django reads it, with a
JSON-RPC error saying so and what the limit is, as the body of mem0server.buffering's 413, which the mcp SDKs show as
the call's error (any other body only as "Server returned an error response").
"""

from __future__ import annotations

import json

from django.conf import settings
from mcp_types import INVALID_REQUEST


def refusal() -> str:
    return (
        f"This request is larger than this server takes in one request: {settings.MAX_REQUEST_BYTES:,} bytes "
        "(MAX_REQUEST_BYTES), and nothing of it was stored. Send less in one call (a long text as several)."
    )


def refusal_body() -> bytes:
    """The 413's body for an MCP URL: a JSON-RPC error without an id, as the transport's other refusals."""
    error = {"code": INVALID_REQUEST, "message": refusal()}
    return json.dumps({"jsonrpc": "2.0", "id": None, "error": error}).encode()
