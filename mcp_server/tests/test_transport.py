"""POST /mcp at the HTTP level: the transport's answers to odd requests, auth, the default scope, the schema.

These send raw HTTP (DRF's APIClient) because the official client never sends malformed messages;
test_client.py drives the server with the official `mcp` client.
"""

from __future__ import annotations

import itertools
import json

import pytest
from mcp_types import (
    CLIENT_CAPABILITIES_META_KEY,
    CLIENT_INFO_META_KEY,
    HEADER_MISMATCH,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    PROTOCOL_VERSION_META_KEY,
    SERVER_INFO_META_KEY,
    UNSUPPORTED_PROTOCOL_VERSION,
)
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION, MODERN_PROTOCOL_VERSIONS
from rest_framework.test import APIClient

from apikeys.services import apikey_create

ACCEPT = "application/json, text/event-stream"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


def post(client: APIClient, body, *, path="/mcp", content_type="application/json", accept=ACCEPT, **headers):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    if accept is not None:
        headers["HTTP_ACCEPT"] = accept
    return client.generic("POST", path, data, content_type=content_type, **headers)


def call(client: APIClient, method: str, params=None, **kwargs):
    return post(client, {"jsonrpc": "2.0", "id": 7, "method": method, "params": params or {}}, **kwargs)


@pytest.fixture
def client(api_client) -> APIClient:
    return api_client


def test_initialize_negotiates_the_clients_version_and_names_the_server(client):
    response = post(client, INITIALIZE)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == 1 and body["jsonrpc"] == "2.0"
    result = body["result"]
    assert result["protocolVersion"] == "2025-06-18"
    assert result["serverInfo"]["name"] == "mem0server"
    assert result["capabilities"]["tools"] == {"listChanged": False}
    assert "search_memories" in result["instructions"]
    assert "Mcp-Session-Id" not in response.headers  # stateless: no session to keep


def test_an_unknown_protocol_version_is_answered_with_the_newest_we_speak(client):
    params = {**INITIALIZE["params"], "protocolVersion": "1999-01-01"}
    result = post(client, {**INITIALIZE, "params": params}).json()["result"]
    assert result["protocolVersion"] == LATEST_HANDSHAKE_VERSION


def test_ping_answers_an_empty_result_and_notifications_get_202(client):
    assert call(client, "ping").json() == {"jsonrpc": "2.0", "id": 7, "result": {}}
    response = post(client, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert response.status_code == 202
    assert response.content == b""


def test_the_default_scope_is_named_in_the_instructions(client):
    result = post(client, INITIALIZE, path="/mcp?user_id=alice").json()["result"]
    assert "user_id=alice" in result["instructions"]


def test_get_opens_no_stream_405(client):
    response = client.get("/mcp", HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 405
    assert "POST" in response["Allow"] and "GET" not in response["Allow"]
    assert response.json()["error"]["code"] == INVALID_REQUEST
    assert "POST JSON-RPC messages" in response.json()["error"]["message"]
    assert client.delete("/mcp").status_code == 405


@pytest.mark.parametrize(
    ("kwargs", "status", "code", "words"),
    [
        ({"accept": "text/html"}, 406, INVALID_REQUEST, "application/json"),
        ({"accept": "text/event-stream"}, 406, INVALID_REQUEST, "does not stream SSE"),
        ({"content_type": "text/plain"}, 415, INVALID_REQUEST, "Content-Type: application/json"),
        ({"HTTP_MCP_PROTOCOL_VERSION": "2099-01-01"}, 400, UNSUPPORTED_PROTOCOL_VERSION, "2025-11-25"),
    ],
)
def test_wrong_headers_get_the_transports_errors(client, kwargs, status, code, words):
    response = call(client, "ping", **kwargs)
    assert response.status_code == status
    body = response.json()
    assert body["id"] is None
    assert body["error"]["code"] == code
    assert words in body["error"]["message"]


def test_an_unsupported_version_header_lists_the_supported_ones(client):
    response = call(client, "ping", HTTP_MCP_PROTOCOL_VERSION="1999-01-01")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == UNSUPPORTED_PROTOCOL_VERSION
    supported = [*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS]
    assert error["data"] == {"supported": supported, "requested": "1999-01-01"}


# --- 2026-07-28: no handshake; each request carries its envelope in params._meta and mirrors it in headers. ----------
MODERN = "2026-07-28"
ENVELOPE = {
    PROTOCOL_VERSION_META_KEY: MODERN,
    CLIENT_CAPABILITIES_META_KEY: {},
    CLIENT_INFO_META_KEY: {"name": "t", "version": "1"},
}


def modern(client: APIClient, method: str, params=None, *, meta=ENVELOPE, **headers):
    headers = {"HTTP_MCP_PROTOCOL_VERSION": MODERN, "HTTP_MCP_METHOD": method, **headers}
    if method == "tools/call" and params:
        headers.setdefault("HTTP_MCP_NAME", params["name"])
    return call(client, method, {**(params or {}), **({"_meta": meta} if meta is not None else {})}, **headers)


def test_discover_names_the_2026_protocol_the_tools_and_the_server(client):
    response = modern(client, "server/discover", path="/mcp?user_id=alice")
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["supportedVersions"] == list(MODERN_PROTOCOL_VERSIONS)
    assert result["capabilities"]["tools"] == {"listChanged": False}
    assert "user_id=alice" in result["instructions"]
    assert result["resultType"] == "complete"
    assert result["_meta"][SERVER_INFO_META_KEY]["name"] == "mem0server"


def test_2026_tools_are_listed_for_this_caller_only_and_called_without_initialize(client):
    listed = modern(client, "tools/list").json()["result"]
    assert (listed["resultType"], listed["cacheScope"], listed["ttlMs"]) == ("complete", "private", 0)
    assert "add_memory" in {tool["name"] for tool in listed["tools"]}
    arguments = {"text": "Sent at 2026-07-28", "user_id": "alice", "infer": False}
    result = modern(client, "tools/call", {"name": "add_memory", "arguments": arguments}).json()["result"]
    assert result["resultType"] == "complete" and result["isError"] is False
    assert result["structuredContent"]["results"][0]["memory"] == "Sent at 2026-07-28"
    assert SERVER_INFO_META_KEY in result["_meta"]


@pytest.mark.parametrize(
    ("method", "params", "meta", "headers", "status", "code", "words"),
    [
        ("tools/list", None, None, {}, 400, INVALID_PARAMS, "params._meta must be an object"),
        ("tools/list", None, {PROTOCOL_VERSION_META_KEY: MODERN}, {}, 400, INVALID_PARAMS, "clientCapabilities"),
        ("tools/list", None, ENVELOPE, {"HTTP_MCP_METHOD": "tools/call"}, 400, HEADER_MISMATCH, "mcp-method"),
        (
            "tools/call",
            {"name": "list_events", "arguments": {}},
            ENVELOPE,
            {"HTTP_MCP_NAME": "add_memory"},
            400,
            HEADER_MISMATCH,
            "mcp-name",
        ),
        (
            "tools/list",
            None,
            {**ENVELOPE, PROTOCOL_VERSION_META_KEY: "2025-11-25"},
            {},
            400,
            HEADER_MISMATCH,
            "mcp-protocol-version",
        ),
        ("initialize", INITIALIZE["params"], ENVELOPE, {}, 404, METHOD_NOT_FOUND, "server/discover"),
        ("ping", None, ENVELOPE, {}, 404, METHOD_NOT_FOUND, "server/discover"),
        ("tools/call", {"name": "nope", "arguments": {}}, ENVELOPE, {}, 400, INVALID_PARAMS, "Unknown tool"),
    ],
)
def test_a_2026_request_the_transport_refuses_says_why(client, method, params, meta, headers, status, code, words):
    response = modern(client, method, params, meta=meta, **headers)
    assert response.status_code == status, response.content
    body = response.json()
    assert body["id"] == 7 and body["error"]["code"] == code
    assert words in body["error"]["message"]


def test_a_2026_notification_gets_202(client):
    body = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}
    assert post(client, body, HTTP_MCP_PROTOCOL_VERSION=MODERN).status_code == 202


def test_a_missing_accept_header_is_accepted(client):
    assert call(client, "ping", accept=None).status_code == 200


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ("{not json", PARSE_ERROR, "JSON parse error"),
        ('{"a":' * 40 + "1" + "}" * 40, PARSE_ERROR, "nest deeper"),
        ([{"jsonrpc": "2.0", "id": 1, "method": "ping"}], INVALID_REQUEST, "batches are not supported"),
        ({"hello": "world"}, INVALID_REQUEST, "Invalid JSON-RPC message"),
        ({"jsonrpc": "1.0", "id": 1, "method": "ping"}, INVALID_REQUEST, "Invalid JSON-RPC message"),
        ({"jsonrpc": "2.0", "id": None, "method": "ping"}, INVALID_REQUEST, "id must be a string or an integer"),
        ({"jsonrpc": "2.0", "id": True, "method": "ping"}, INVALID_REQUEST, "id must be a string or an integer"),
        ("", INVALID_REQUEST, "Invalid JSON-RPC message"),
        # An id that is half a surrogate pair, echoed back, was a 500 (UTF-8 cannot encode it).
        ({"jsonrpc": "2.0", "id": "\ud800", "method": "ping"}, PARSE_ERROR, "id holds an unpaired surrogate"),
    ],
)
def test_malformed_messages_get_400_with_the_json_rpc_code(client, body, code, words):
    response = post(client, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert words in error["message"]


def test_a_body_over_the_size_limit_is_413(client, settings):
    settings.MAX_REQUEST_BYTES = 100
    response = call(client, "tools/call", {"name": "add_memory", "arguments": {"text": "x" * 200}})
    # Refused by the server's body-size guard before the MCP layer reads it, as a JSON-RPC error the SDKs show.
    assert response.status_code == 413
    body = response.json()
    assert (body["id"], body["error"]["code"]) == (None, INVALID_REQUEST)
    assert "larger than this server takes in one request: 100 bytes (MAX_REQUEST_BYTES)" in body["error"]["message"]


def test_an_unknown_method_is_method_not_found(client):
    body = call(client, "resources/list").json()
    assert body["id"] == 7
    assert body["error"]["code"] == METHOD_NOT_FOUND
    assert "tools/call" in body["error"]["message"]


def test_bad_initialize_params_are_invalid_params(client):
    error = call(client, "initialize", {"protocolVersion": 5}).json()["error"]
    assert error["code"] == INVALID_PARAMS
    assert "capabilities" in error["message"] and "clientInfo" in error["message"]


def test_an_unknown_tool_is_a_protocol_error_naming_the_tools(client):
    error = call(client, "tools/call", {"name": "remember_everything", "arguments": {}}).json()["error"]
    assert error["code"] == INVALID_PARAMS
    assert "remember_everything" in error["message"] and "add_memory" in error["message"]


def test_no_credentials_is_401_with_a_challenge(anon_client, db):
    response = call(anon_client, "ping")
    assert response.status_code == 401
    assert "Bearer" in response["WWW-Authenticate"]
    response = call(anon_client, "ping", HTTP_AUTHORIZATION="Bearer m0sk_not-a-real-key")
    assert response.status_code == 401
    assert response["WWW-Authenticate"]
    # A JSON-RPC error, whose message MCP clients show (any other body only as "Server returned an error response").
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": INVALID_REQUEST, "message": "Invalid API key."},
    }


@pytest.mark.parametrize("scheme", ["Bearer", "Token", "X-API-Key"])
def test_a_users_key_works_in_every_header_mcp_clients_use(anon_client, member, scheme):
    _, key = apikey_create(user=member, label="mcp")
    headers = {"HTTP_X_API_KEY": key} if scheme == "X-API-Key" else {"HTTP_AUTHORIZATION": f"{scheme} {key}"}
    response = call(anon_client, "ping", **headers)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("path", "headers", "words"),
    [
        ("/mcp?user_id=al%20ice", {}, "user_id: Must not contain whitespace"),
        ("/mcp", {"HTTP_X_MEM0_AGENT_ID": ""}, "agent_id"),
        ("/mcp?user_id=alice", {"HTTP_X_MEM0_USER_ID": "bob"}, "differ"),
        # WSGI gives header bytes as Latin-1 text: b"\xff" is not UTF-8.
        ("/mcp", {"HTTP_X_MEM0_USER_ID": "\xff"}, "X-Mem0-User-ID header is not valid UTF-8"),
    ],
)
def test_a_bad_default_scope_is_refused_before_any_tool_runs(client, path, headers, words):
    response = call(client, "tools/list", path=path, **headers)
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]


def test_a_utf8_scope_header_agrees_with_the_same_id_in_the_query(client):
    latin1 = "jürgen".encode().decode("latin-1")  # how WSGI hands over the header's UTF-8 bytes
    response = call(client, "tools/list", path="/mcp?user_id=j%C3%BCrgen", HTTP_X_MEM0_USER_ID=latin1)
    assert response.status_code == 200, response.content


def test_mcp_is_not_in_the_openapi_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/mcp" not in paths and "/mcp/" not in paths


def test_no_2026_request_however_malformed_is_a_server_error(client):
    """Every pairing of odd envelopes, methods, params and headers: each answer is a JSON-RPC one, never a 5xx."""
    metas = [
        None,
        "x",
        {},
        {PROTOCOL_VERSION_META_KEY: None, CLIENT_CAPABILITIES_META_KEY: {}},
        {PROTOCOL_VERSION_META_KEY: 5, CLIENT_CAPABILITIES_META_KEY: {}},
        {PROTOCOL_VERSION_META_KEY: MODERN, CLIENT_CAPABILITIES_META_KEY: None, CLIENT_INFO_META_KEY: 5},
        {PROTOCOL_VERSION_META_KEY: "\x00", CLIENT_CAPABILITIES_META_KEY: {}},
        ENVELOPE,
    ]
    methods = ["server/discover", "tools/list", "tools/call", "initialize", "resources/list", "\x00"]
    params = [None, [], {"name": 5}, {"name": "add_memory", "arguments": 5}, {"name": "list_events", "arguments": {}}]
    headers = [{}, {"HTTP_MCP_NAME": "=?base64?!!?="}, {"HTTP_MCP_NAME": "=?base64?bGlzdF9ldmVudHM=?="}]
    answers = set()
    for meta, method, param, header in itertools.product(metas, methods, params, headers):
        body = {"jsonrpc": "2.0", "id": 7, "method": method}
        if param is not None:
            body["params"] = {**param, "_meta": meta} if isinstance(param, dict) else param
        response = post(client, body, HTTP_MCP_PROTOCOL_VERSION=MODERN, HTTP_MCP_METHOD=method, **header)
        assert response.status_code < 500, (body, header, response.content)
        answers.add((response.status_code, "result" in response.json()))
    assert {(200, True), (400, False), (404, False)} <= answers
