"""Clients identified by the https URL of their metadata document (MCP's Client ID Metadata Documents) instead of a
registration: the official `mcp` client with `client_metadata_url`, and what a document this server cannot use
makes the consent page say. The documents are served over HTTPS by a local server that app.example resolves to,
its CA trusted through WEBHOOK_CA_FILE and loopback allowed by WEBHOOK_ALLOW_PRIVATE, as for webhooks."""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from http.server import BaseHTTPRequestHandler

import anyio
import pytest
from django.utils import timezone
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import OAuthClientMetadata

from dashboard.tests.clients import logged_in
from oauth import client_metadata
from oauth.models import OAuthClient, OAuthGrant
from oauth.tests.test_mcp_client_oauth import REDIRECT_URI, MemoryStorage, Person, session_with, tool
from oauth.tests.test_protocol import authorize_query, form_post, pkce, token
from webhooks.tests.test_tls import REAL_GETADDRINFO, self_signed, serve_https

HOST = "app.example"


@pytest.fixture
def metadata_host(tmp_path, monkeypatch, settings):
    """An HTTPS server for app.example: `documents[path]` is served as JSON (a str as it is); `hits` counts GETs."""
    cert_file, key_file = self_signed(tmp_path, HOST)
    settings.WEBHOOK_CA_FILE = cert_file
    settings.WEBHOOK_ALLOW_PRIVATE = True
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *a, **k: REAL_GETADDRINFO("127.0.0.1" if host == HOST else host, *a, **k),
    )
    documents: dict[str, object] = {}
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            document = documents.get(self.path)
            body = (document if isinstance(document, str) else json.dumps(document)).encode()
            self.send_response(200 if document is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = serve_https(Handler, cert_file, key_file)
    base = f"https://{HOST}:{httpd.server_address[1]}"
    yield base, documents, hits
    httpd.shutdown()


def document(url: str, **fields) -> dict:
    return {"client_id": url, "client_name": "Editor", "redirect_uris": [REDIRECT_URI], **fields}


@pytest.mark.django_db(transaction=True)
def test_the_mcp_client_identified_by_its_metadata_url_needs_no_registration(
    live_server, metadata_host, member, admin_key, embedder
):
    base, documents, hits = metadata_host
    url = f"{base}/oauth/client.json"
    documents["/oauth/client.json"] = document(url)
    mcp_url = live_server.url + "/mcp"
    person, storage = Person(live_server.url, member), MemoryStorage()
    metadata = OAuthClientMetadata(redirect_uris=[REDIRECT_URI], token_endpoint_auth_method="none")
    provider = OAuthClientProvider(
        mcp_url, metadata, storage, person.redirect_handler, person.callback_handler, client_metadata_url=url
    )

    async def use():
        async with session_with(mcp_url, provider) as session:
            await tool(session, "add_memory", text="I write Rust at work", infer=False, user_id="alice")
            return await tool(session, "get_memories", filters={"user_id": "alice"})

    listed = anyio.run(use)
    assert [m["memory"] for m in listed["results"]] == ["I write Rust at work"]
    assert storage.client_info.client_id == url  # the SDK used the URL: nothing was registered
    assert "Editor" in person.pages[0]  # the name read from the document
    assert OAuthGrant.objects.get().client.client_id == url
    assert hits == ["/oauth/client.json"]  # read once (the consent's answer used the copy just read)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("served", "says"),
    [
        (None, "answered HTTP 404"),
        ("not json", "is not JSON"),
        ("[" * 5000 + "]" * 5000, "is not JSON"),  # deeper than Python's json decodes: RecursionError, a 500
        ({"client_id": "https://other.example/c.json", "redirect_uris": [REDIRECT_URI]}, "client_id is not that URL"),
        ({"redirect_uris": []}, "serves no redirect_uris"),
        ({"redirect_uris": ["http://evil.example/cb"]}, "plain http to another machine"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "other than none"),
        ("x" * (70 * 1024), "larger than 64 KiB"),
    ],
)
def test_a_document_this_server_cannot_use_is_said_on_the_page_and_nothing_is_sent(
    metadata_host, member, admin_key, served, says
):
    base, documents, _ = metadata_host
    url = f"{base}/c.json"
    if isinstance(served, dict):
        served = {**document(url), **served}
    documents["/c.json"] = served
    page = logged_in(member).get(
        "/dashboard/oauth/authorize/", authorize_query(url, pkce()[1], redirect_uri=REDIRECT_URI)
    )
    assert page.status_code == 400
    assert says in page.content.decode()
    assert not OAuthClient.objects.exists()


@pytest.mark.django_db
def test_a_client_id_url_on_a_private_address_or_without_a_path_is_never_fetched(member, admin_key, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    browser = logged_in(member)
    for url, says in [
        ("https://127.0.0.1:9/c.json", "loopback address"),
        ("https://app.example/", "has no path"),
        ("https://app.example/a/../c.json", ". or .. path segments"),
    ]:
        page = browser.get("/dashboard/oauth/authorize/", authorize_query(url, pkce()[1], redirect_uri=REDIRECT_URI))
        assert page.status_code == 400 and says in page.content.decode(), url


@pytest.mark.django_db
def test_a_client_id_url_longer_than_a_client_id_is_kept_is_refused_on_the_page_and_never_fetched(
    metadata_host, member, admin_key
):
    # Read, then kept in a 2000-character column: a longer URL serving its document was a 500 on the consent page.
    base, documents, hits = metadata_host
    path = "/" + "c" * 2000 + ".json"
    url = f"{base}{path}"
    documents[path] = document(url)
    page = logged_in(member).get(
        "/dashboard/oauth/authorize/", authorize_query(url, pkce()[1], redirect_uri=REDIRECT_URI)
    )
    assert page.status_code == 400
    assert "is longer than 2000 characters" in page.content.decode()
    assert hits == [] and not OAuthClient.objects.exists()


@pytest.mark.django_db
def test_the_document_is_read_again_once_the_copy_is_ten_minutes_old_and_the_code_exchanged_by_url(
    metadata_host, member, admin_key
):
    base, documents, hits = metadata_host
    url = f"{base}/c.json"
    documents["/c.json"] = document(url)
    browser = logged_in(member)
    verifier, challenge = pkce()
    query = authorize_query(url, challenge, redirect_uri=REDIRECT_URI)
    assert browser.get("/dashboard/oauth/authorize/", query).status_code == 200
    assert browser.get("/dashboard/oauth/authorize/", query).status_code == 200
    assert len(hits) == 1
    documents["/c.json"] = document(url, client_name="Editor 2")
    OAuthClient.objects.update(metadata_fetched_at=timezone.now() - timedelta(minutes=11))
    assert "Editor 2" in browser.get("/dashboard/oauth/authorize/", query).content.decode()
    assert len(hits) == 2
    answer = browser.post("/dashboard/oauth/authorize/", query | {"decision": "allow"})
    code = answer["Location"].split("code=")[1].split("&")[0]
    tokens = token(grant_type="authorization_code", code=code, client_id=url, code_verifier=verifier)
    assert tokens.status_code == 200 and tokens.json()["access_token"].startswith("m0at_")


@pytest.mark.django_db
def test_a_client_id_url_longer_than_200_characters_exchanges_and_revokes_its_tokens(metadata_host, member, admin_key):
    # The consent page takes a client_id URL of up to 2000 characters; the token and revocation requests took 200,
    # so such a client was allowed and then refused its tokens (400, "client_id: Ensure this field has no more…").
    base, documents, _ = metadata_host
    path = "/" + "c" * 300 + ".json"
    url = f"{base}{path}"
    documents[path] = document(url)
    verifier, challenge = pkce()
    query = authorize_query(url, challenge, redirect_uri=REDIRECT_URI)
    answer = logged_in(member).post("/dashboard/oauth/authorize/", query | {"decision": "allow"})
    code = answer["Location"].split("code=")[1].split("&")[0]
    tokens = token(grant_type="authorization_code", code=code, client_id=url, code_verifier=verifier)
    assert tokens.status_code == 200, tokens.content
    revoked = form_post("/oauth/revoke", token=tokens.json()["refresh_token"], client_id=url)
    assert revoked.status_code == 200, revoked.content
    assert OAuthGrant.objects.get().revoked_at is not None


@pytest.mark.django_db
def test_reads_at_once_are_bounded_so_slow_hosts_cannot_take_every_thread(metadata_host, member, admin_key):
    base, documents, hits = metadata_host
    url = f"{base}/c.json"
    documents["/c.json"] = document(url)
    query = authorize_query(url, pkce()[1], redirect_uri=REDIRECT_URI)
    held = [client_metadata.reads_under_way.acquire(blocking=False) for _ in range(client_metadata.MAX_AT_ONCE)]
    try:
        assert all(held)  # as if two reads of slow hosts were under way
        page = logged_in(member).get("/dashboard/oauth/authorize/", query)
        assert page.status_code == 400 and "reload this page in a few seconds" in page.content.decode()
        assert hits == []
    finally:
        for _ in held:
            client_metadata.reads_under_way.release()
    assert logged_in(member).get("/dashboard/oauth/authorize/", query).status_code == 200


def test_a_host_that_trickles_its_document_is_cut_off_at_the_timeout(monkeypatch, settings):
    # "At most 64 KiB within 5 s": the 5 s bounded each read only, so a host sending its document a byte at a time
    # held the consent page's thread (and one of the MAX_AT_ONCE reads every app shares) for up to 91 hours.
    from webhooks.tests.test_delivery import Trickler

    settings.WEBHOOK_ALLOW_PRIVATE = True
    monkeypatch.setattr(client_metadata, "TIMEOUT_SECONDS", 0.5)
    trickler = Trickler(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
    with pytest.raises(client_metadata.MetadataUnusable, match=r"no answer within 0\.5 s"):
        client_metadata.metadata_fetch(f"{trickler.url}client.json")
    assert trickler.join() < 20  # cut off within its 0.5 s, not after the host's 80 bytes (8 s)
