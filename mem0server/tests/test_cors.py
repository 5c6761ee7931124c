"""CORS: browsers on the origins in CORS_ALLOWED_ORIGINS (Mem0's own dashboard) may call the API; no others."""

from __future__ import annotations

import pytest
from django.test import Client

ALLOWED = "http://localhost:3000"


@pytest.fixture
def cors(settings, admin_key):
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]


def preflight(origin: str, path: str = "/memories"):
    return Client().options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, x-api-key",
    )


@pytest.mark.parametrize("path", ["/memories", "/auth/login", "/search", "/api-keys"])
def test_a_preflight_from_an_allowed_origin_gets_the_cors_headers_without_credentials(cors, db, path):
    response = preflight(ALLOWED, path)
    assert response.status_code == 200  # was 401: auth ran before any CORS handling
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert "POST" in response["Access-Control-Allow-Methods"]
    allowed_headers = response["Access-Control-Allow-Headers"]
    assert "x-api-key" in allowed_headers
    assert "authorization" in allowed_headers


@pytest.mark.parametrize("origin", ["http://evil.example", "http://localhost:3001", "https://localhost:3000"])
def test_a_preflight_from_an_unlisted_origin_gets_no_cors_headers(cors, db, origin):
    response = preflight(origin)
    assert not any(header.lower().startswith("access-control-") for header in response.headers)


def test_an_allowed_origins_real_request_may_read_the_answer_and_its_request_id(cors, api_client):
    api_client.credentials(HTTP_X_API_KEY="test-admin-key-0123456789abcdef", HTTP_ORIGIN=ALLOWED)
    response = api_client.get("/memories?user_id=alice")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert "x-request-id" in response["Access-Control-Expose-Headers"].lower()


def test_no_origin_is_allowed_by_default(settings, db):
    assert settings.CORS_ALLOWED_ORIGINS == []
    assert "Access-Control-Allow-Origin" not in preflight(ALLOWED).headers
