"""The server around the endpoints: docs, schema, request ids, auth answers, unknown paths."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from rest_framework.test import APIClient

from apikeys.services import apikey_create
from memories.models import Memory
from requestlog.models import RequestLog


def test_root_redirects_to_the_docs(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/docs"


def test_docs_serve_swagger_ui_from_local_static_files(client):
    response = client.get("/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html


def test_openapi_schema_lists_every_memory_endpoint(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths["/memories"]) >= {"get", "post", "delete"}
    assert set(paths["/memories/{memory_id}"]) >= {"get", "put", "delete"}
    assert "get" in paths["/memories/{memory_id}/history"]
    assert "post" in paths["/search"]
    assert "post" in paths["/reset"]
    assert "ApiKeyAuth" in response.json()["components"]["securitySchemes"]


# The schema is built anew for every GET /openapi.json (a tenth of a second of CPU or more); the tests below
# that only read it share one answer.
_SERVED: dict = {}


def served_schema(client) -> dict:
    """What GET /openapi.json answered, fetched once for this module."""
    if not _SERVED:
        response = client.get("/openapi.json")
        assert response.status_code == 200
        _SERVED.update(response.json())
    return _SERVED


@pytest.mark.parametrize(
    ("path", "method"), [("/memories", "post"), ("/search", "post"), ("/memories/{memory_id}", "put")]
)
def test_a_body_that_refuses_other_fields_says_so_in_the_schema(client, path, method):
    # A client generated from the schema could send any other field, which the route answers with a 400.
    document = served_schema(client)
    body = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    name = body["$ref"].rsplit("/", 1)[1]
    assert document["components"]["schemas"][name]["additionalProperties"] is False


def test_every_schema_reference_resolves(client):
    document = served_schema(client)
    references = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(document)))
    assert references
    assert references <= set(document["components"]["schemas"])


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def test_every_error_is_documented_with_the_error_body(client):
    document = served_schema(client)
    assert document["components"]["schemas"]["Error"]["required"] == ["detail"]
    for label, operation in _operations(document):
        errors = {code: response for code, response in operation["responses"].items() if int(code) >= 400}
        assert "503" in errors, label  # every operation reads the database (if only to authenticate)
        for code, response in errors.items():
            if label == "GET /healthz":
                continue  # its 503 is the health report itself
            schema = response["content"]["application/json"]["schema"]
            if schema != {"$ref": "#/components/schemas/Error"}:  # a richer error body: still {"detail": str}
                body = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
                assert "detail" in body["required"] and body["properties"]["detail"]["type"] == "string", label
            assert response["description"], (label, code)


# Every operation can answer these: 400 (at least for a query string of over 1000 parameters), 406 for an
# Accept header without JSON, 503 when the database is away.
EVERYWHERE = {400, 406, 503}


@pytest.mark.parametrize(
    ("label", "codes"),
    [
        ("POST /memories", {401, 409, 413, 415, 502, 504}),
        ("GET /memories", {401}),
        ("DELETE /memories", {401, 403}),
        ("GET /memories/{memory_id}", {401, 404}),
        ("PUT /memories/{memory_id}", {401, 404, 409, 413, 415, 502, 504}),
        ("POST /search", {401, 409, 413, 415, 502, 504}),
        ("POST /reset", {401, 403}),
        ("POST /configure", {401, 403, 409, 413, 415}),
        ("GET /configure", {401}),
        ("GET /auth/setup-status", set()),
        ("GET /healthz", set()),
        ("POST /auth/register", {403, 413, 415, 429}),
        ("POST /auth/login", {401, 413, 415, 429}),
        ("POST /auth/refresh", {401, 413, 415, 429}),
        ("GET /auth/me", {401, 403}),
        ("PATCH /auth/me", {401, 403, 409, 413, 415}),
        ("POST /auth/change-password", {401, 403, 413, 415, 429}),
        ("GET /api-keys", {401, 403}),
        ("DELETE /api-keys/{key_id}", {401, 403, 404}),
        ("DELETE /entities/{entity_type}/{entity_id}", {401, 403, 404}),
        ("GET /requests", {401}),
    ],
)
def test_each_operation_documents_the_errors_it_answers(client, label, codes):
    operations = dict(_operations(served_schema(client)))
    assert {int(code) for code in operations[label]["responses"] if int(code) >= 400} == EVERYWHERE | codes


def test_an_accept_header_without_json_is_a_406(api_client):
    response = api_client.get("/memories", HTTP_ACCEPT="text/html")
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_too_many_query_parameters_is_a_400_that_says_so(api_client):
    # Any operation, whether it takes parameters or not: DRF reads the query string while negotiating.
    query = "&".join(f"p{i}=1" for i in range(1001))
    for path in ("/memories", "/auth/setup-status"):
        response = api_client.get(f"{path}?{query}")
        assert response.status_code == 400
        assert response.json() == {"detail": "Too many query parameters: at most 1000."}


def test_a_host_the_server_does_not_answer_to_is_a_400_naming_the_setting(client):
    response = client.get("/healthz", HTTP_HOST="mem0.example.com")  # e.g. HOST=0.0.0.0, reached by its name
    assert response.status_code == 400
    assert "ALLOWED_HOSTS" in response.json()["detail"]


def test_error_headers_are_documented(client):
    operations = dict(_operations(served_schema(client)))
    for label in ("POST /auth/register", "POST /auth/login", "POST /auth/refresh"):
        assert operations[label]["responses"]["429"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    for label in ("GET /memories", "POST /auth/login", "POST /auth/refresh"):
        assert "WWW-Authenticate" in operations[label]["responses"]["401"]["headers"], label


def test_every_response_carries_a_request_id(api_client):
    response = api_client.get("/memories")
    assert len(response["X-Request-ID"]) == 32


def test_a_callers_request_id_is_echoed_when_harmless(api_client):
    assert api_client.get("/memories", HTTP_X_REQUEST_ID="trace-123")["X-Request-ID"] == "trace-123"
    evil = api_client.get("/memories", HTTP_X_REQUEST_ID="x\r\nSet-Cookie: a=b")["X-Request-ID"]
    assert "\n" not in evil
    assert evil != "x\r\nSet-Cookie: a=b"


def test_a_request_id_ending_in_a_newline_is_replaced_like_any_unsafe_id(api_client):
    # "$" also matched before a final newline, so "trace-123\n" was taken as safe: echoed into the log and the
    # request log with its newline, and Django refused to write it as a header (a 500 instead of the answer).
    response = api_client.get("/memories", HTTP_X_REQUEST_ID="trace-123\n")
    assert response.status_code != 500
    assert "\n" not in response["X-Request-ID"]
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.parametrize("which", ["admin key", "own key", "server key", "provider key"])
def test_a_secret_sent_as_the_request_id_is_neither_echoed_nor_logged(admin_key, embedder, member, which):
    # The id a caller sends is written into every log line of its request, gunicorn's access line and the request
    # log (shown on the Requests page): a key sent there (a client's header settings mixed up) was kept as the id.
    _, member_key = apikey_create(user=member, label="k")
    secret = {
        "admin key": admin_key,
        "own key": member_key,
        "server key": "m0sk_" + "A1" * 21,
        "provider key": "sk-proj-" + "B2" * 20,
    }[which]
    client = APIClient(HTTP_X_API_KEY=member_key if which == "own key" else admin_key)
    response = client.get("/memories", {"user_id": "x"}, HTTP_X_REQUEST_ID=secret)
    assert response.status_code == 200
    assert len(response["X-Request-ID"]) == 32  # one of the server's own, as for an id unsafe in a header
    assert list(RequestLog.objects.values_list("request_id", flat=True)) == [response["X-Request-ID"]]


def test_a_key_in_a_refused_path_is_not_written_to_the_log(admin_key, embedder, member):
    # Django logs every 4xx with its path ("Not Found: /mcp/m0sk_…"): a key put in a URL (a server URL pasted with the
    # key in it, the admin key where an id goes) reached the server's log as sent.
    _, member_key = apikey_create(user=member, label="k")
    [console] = [handler for handler in logging.getLogger().handlers if handler.name == "console"]
    stream = io.StringIO()
    earlier = console.setStream(stream)  # the server's own log handler, its filters and format
    try:
        assert APIClient().post(f"/mcp/{member_key}", {}, format="json").status_code == 404
        assert APIClient(HTTP_X_API_KEY=admin_key).get(f"/memories/{admin_key}").status_code in (400, 404)
    finally:
        console.setStream(earlier)
    log = stream.getvalue()
    assert "Not Found: /mcp/m0sk_…" in log
    assert member_key not in log and admin_key not in log


def test_djangos_line_for_a_refused_request_carries_the_requests_id(admin_key, db):
    # Django writes "Not Found: …" / "Bad Request: …" after the middleware has answered: those lines showed "[-]"
    # where every other line of the request shows its id, so grepping an X-Request-ID missed why it was refused.
    [console] = [handler for handler in logging.getLogger().handlers if handler.name == "console"]
    stream = io.StringIO()
    earlier = console.setStream(stream)
    try:
        client = APIClient(HTTP_X_API_KEY=admin_key)
        missing = client.get("/memories/00000000-0000-0000-0000-000000000000", HTTP_X_REQUEST_ID="trace-404")
        refused = client.get("/memories", {"user": "alice"}, HTTP_X_REQUEST_ID="trace-400")
    finally:
        console.setStream(earlier)
    assert (missing.status_code, refused.status_code) == (404, 400)
    lines = stream.getvalue().splitlines()
    assert [line for line in lines if "Not Found: /memories/" in line][0].endswith(
        "WARNING django.request [trace-404] Not Found: /memories/00000000-0000-0000-0000-000000000000"
    )
    assert any("[trace-400] Bad Request: /memories" in line for line in lines)


def test_unknown_path_is_a_json_404(api_client):
    response = api_client.get("/nowhere")
    assert response.status_code == 404
    assert "/nowhere" in response.json()["detail"]


@pytest.mark.parametrize("value", ["csv", "api", "json"])
def test_a_format_query_parameter_is_not_drfs_renderer_override(api_client, value):
    # DRF's ?format= override answered every value but json with a 404 "Not found." on every endpoint. Now a route
    # reading query parameters refuses it as any unknown one, naming it; the others ignore it.
    response = api_client.get("/memories", {"format": value})
    assert response.status_code == 400 and "Unknown query parameter(s): format" in response.json()["detail"]
    assert api_client.get("/configure/providers", {"format": value}).status_code == 200


def test_wrong_method_is_a_405(api_client):
    response = api_client.patch("/search", {}, format="json")
    assert response.status_code == 405
    assert "PATCH" in response.json()["detail"]


PROTECTED = [
    ("get", "/memories"),
    ("post", "/memories"),
    ("delete", "/memories?user_id=alice"),
    ("get", "/memories/8d9f7a2e-0000-4000-8000-000000000000"),
    ("put", "/memories/8d9f7a2e-0000-4000-8000-000000000000"),
    ("delete", "/memories/8d9f7a2e-0000-4000-8000-000000000000"),
    ("get", "/memories/8d9f7a2e-0000-4000-8000-000000000000/history"),
    ("post", "/search"),
    ("post", "/reset"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_protected_routes_answer_401_without_credentials(anon_client, db, method, path):
    response = getattr(anon_client, method)(path, {}, format="json")
    assert response.status_code == 401
    assert "WWW-Authenticate" in response
    assert response.json()["detail"]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_protected_routes_answer_401_for_a_wrong_key(anon_client, db, method, path):
    anon_client.credentials(HTTP_X_API_KEY="wrong-key-wrong-key-wrong")
    response = getattr(anon_client, method)(path, {}, format="json")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid API key."


def test_no_admin_key_configured_means_every_call_is_refused(settings, db):
    from rest_framework.test import APIClient

    settings.ADMIN_API_KEY = ""
    settings.AUTH_DISABLED = False
    client = APIClient()
    client.credentials(HTTP_X_API_KEY="")
    assert client.get("/memories").status_code == 401


def test_auth_disabled_serves_without_credentials(settings, embedder, db):
    from rest_framework.test import APIClient

    settings.AUTH_DISABLED = True
    response = APIClient().post("/memories", {"messages": "Likes tea", "user_id": "alice"}, format="json")
    assert response.status_code == 200
    assert Memory.objects.count() == 1
