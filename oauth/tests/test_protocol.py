"""The OAuth endpoints as the RFCs (and MCP's authorization spec) describe them, through Django's test client: what a
client that gets something wrong is told, and what a stolen or replayed code or token can no longer do."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import user_set_active
from dashboard.tests.clients import logged_in
from oauth import services
from oauth.models import OAuthClient, OAuthGrant
from oauth.services import oauth_prune
from requestlog.models import RequestLog

pytestmark = pytest.mark.django_db

PASSWORD = "a long passphrase"
REDIRECT = "https://connector.example/callback"
MCP = "http://testserver/mcp"
# The metadata's issuer, also sent as `iss` with every authorization answer (RFC 9207). A root issuer ends in "/":
# the Python MCP SDK compares iss with the issuer as pydantic writes a root URL, the TypeScript SDK v2 as written.
ISSUER = "http://testserver/"
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def register(**body) -> dict:
    body = {"redirect_uris": [REDIRECT], "client_name": "Connector", **body}
    response = APIClient().post("/oauth/register", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def authorize_query(client_id: str, challenge: str, **extra) -> dict:
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "state": "s-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": MCP,
        "scope": "memories",
    } | extra


def approve(browser: Client, query: dict) -> dict:
    """Press Allow on the consent page; the redirect's query (code, state, and iss: RFC 9207)."""
    response = browser.post("/dashboard/oauth/authorize/", query | {"decision": "allow"})
    assert response.status_code == 302, response.content
    assert response["Location"].startswith(REDIRECT + "?")
    answer = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
    assert answer["iss"] == ISSUER
    return answer


def code_form(user, client_id: str) -> dict:
    """`user` allows the client on the consent page: the token request form that exchanges the code it got."""
    verifier, challenge = pkce()
    code = approve(logged_in(user), authorize_query(client_id, challenge))["code"]
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": client_id,
        "code_verifier": verifier,
    }


def form_post(path: str, **form):
    return APIClient().post(path, urlencode(form), content_type="application/x-www-form-urlencoded")


def token(**form):
    return form_post("/oauth/token", **form)


@pytest.fixture
def connected(member, admin_key, embedder):
    """A public client registered and allowed by `member`: (client_id, the token answer)."""
    client_id = register(token_endpoint_auth_method="none")["client_id"]
    answer = token(**code_form(member, client_id), resource=MCP)
    assert answer.status_code == 200, answer.content
    return client_id, answer.json()


def mcp_status(access_token: str) -> int:
    return APIClient().post("/mcp", PING, format="json", HTTP_AUTHORIZATION=f"Bearer {access_token}").status_code


def test_mcp_without_credentials_points_at_metadata_that_leads_to_every_endpoint(admin_key):
    client = APIClient()
    refused = client.post("/mcp", PING, format="json")
    assert refused.status_code == 401
    challenge = refused["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    url = re.search(r'resource_metadata="([^"]+)"', challenge).group(1)
    assert url == "http://testserver/.well-known/oauth-protected-resource/mcp"
    resource = client.get(urlsplit(url).path).json()
    assert resource["resource"] == MCP
    assert resource["authorization_servers"] == [ISSUER]
    assert client.get("/.well-known/oauth-protected-resource").json() == resource
    server = client.get("/.well-known/oauth-authorization-server")
    assert server["Cache-Control"] == "no-store"
    server = server.json()
    assert server["issuer"] == ISSUER
    assert server["authorization_response_iss_parameter_supported"] is True
    assert server["code_challenge_methods_supported"] == ["S256"]
    assert server["authorization_endpoint"] == "http://testserver/dashboard/oauth/authorize/"
    for name in ("token_endpoint", "registration_endpoint", "revocation_endpoint"):
        assert (
            client.post(urlsplit(server[name]).path, {}, format="json").status_code == 400
        )  # there, and says what is missing


def test_any_origin_may_read_the_metadata_and_register(admin_key):
    preflight = APIClient().options(
        "/oauth/register", HTTP_ORIGIN="https://inspector.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert preflight["Access-Control-Allow-Origin"] == "https://inspector.example"
    metadata = APIClient().get("/.well-known/oauth-authorization-server", HTTP_ORIGIN="https://inspector.example")
    assert metadata["Access-Control-Allow-Origin"] == "https://inspector.example"
    # The API and the dashboard stay closed to other origins (CORS_ALLOWED_ORIGINS is empty here).
    assert "Access-Control-Allow-Origin" not in APIClient().get("/healthz", HTTP_ORIGIN="https://inspector.example")


@pytest.mark.parametrize(
    ("body", "error", "says"),
    [
        ({"redirect_uris": ["http://evil.example/cb"]}, "invalid_redirect_uri", "plain http to another machine"),
        ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri", "javascript: scheme"),
        ({"redirect_uris": ["https://a.example/cb#x"]}, "invalid_redirect_uri", "fragment"),
        ({"redirect_uris": ["/relative"]}, "invalid_redirect_uri", "no scheme"),
        ({"redirect_uris": ["https://a.example/cb x"]}, "invalid_redirect_uri", "space"),
        ({"redirect_uris": ["https://me:pw@a.example/cb"]}, "invalid_redirect_uri", "user name or password"),
        # Its origin goes into the consent page's Content-Security-Policy: nothing but a host may.
        ({"redirect_uris": ["https://a.example;script-src/cb"]}, "invalid_redirect_uri", "not a DNS name"),
        ({"redirect_uris": []}, "invalid_client_metadata", "redirect_uris"),
        ({"client_name": "no uris"}, "invalid_client_metadata", "redirect_uris: This field is required"),
        (
            {"redirect_uris": [REDIRECT], "grant_types": ["client_credentials"]},
            "invalid_client_metadata",
            "grant_types",
        ),
        (
            {"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt"},
            "invalid_client_metadata",
            "token_endpoint_auth_method",
        ),
    ],
)
def test_a_registration_the_server_cannot_honour_is_a_400_saying_why(admin_key, body, error, says):
    response = APIClient().post("/oauth/register", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert says in response.json()["error_description"]
    assert not OAuthClient.objects.exists()


def test_registration_gives_a_secret_only_to_clients_that_asked_for_one(admin_key):
    public = register(token_endpoint_auth_method="none")
    assert "client_secret" not in public
    assert public["redirect_uris"] == [REDIRECT] and public["client_name"] == "Connector"
    confidential = register()  # RFC 7591's default: client_secret_basic
    assert confidential["client_secret"].startswith("m0cs_")
    assert confidential["token_endpoint_auth_method"] == "client_secret_basic"
    stored = OAuthClient.objects.get(client_id=confidential["client_id"])
    assert confidential["client_secret"] not in stored.secret_digest
    # Loopback and an app's own scheme are fine (native apps, IDEs).
    register(redirect_uris=["http://127.0.0.1:6274/oauth/callback", "cursor://anysphere.cursor-mcp/oauth/callback"])


def test_the_consent_page_needs_a_logged_in_account_and_names_the_app_and_where_it_sends(member, admin_key):
    client_id = register(token_endpoint_auth_method="none")["client_id"]
    query = authorize_query(client_id, pkce()[1])
    anonymous = Client().get("/dashboard/oauth/authorize/", query)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/dashboard/login/?next=")
    page = logged_in(member).get("/dashboard/oauth/authorize/", query)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Connector" in text and member.email in text and "https://connector.example" in text
    # The browser may follow the form's answer to the client's site, and nowhere else.
    assert "form-action 'self' https://connector.example;" in page["Content-Security-Policy"]
    # The answer needs the page's CSRF token: another site cannot press Allow for the account.
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(member)
    assert forged.post("/dashboard/oauth/authorize/", query | {"decision": "allow"}).status_code == 403
    assert not OAuthGrant.objects.exists()


def test_an_unknown_client_or_redirect_uri_is_told_to_the_person_never_sent_anywhere(member, admin_key):
    client_id = register(token_endpoint_auth_method="none")["client_id"]
    browser = logged_in(member)
    for query, says in [
        (authorize_query("m0ci_nobody", pkce()[1]), "Unknown client_id"),
        (authorize_query(client_id, pkce()[1], redirect_uri="https://attacker.example/cb"), "not one this client"),
        (authorize_query(client_id, pkce()[1], redirect_uri="https://connector.example/callback/x"), "not one"),
        (authorize_query(client_id + "\x00", pkce()[1]), "NUL character"),
    ]:
        page = browser.get("/dashboard/oauth/authorize/", query)
        assert page.status_code == 400
        assert says in page.content.decode()
        assert browser.post("/dashboard/oauth/authorize/", query | {"decision": "allow"}).status_code == 400
    assert not OAuthGrant.objects.exists()


@pytest.mark.parametrize(
    ("change", "error", "says"),
    [
        ({"response_type": "token"}, "unsupported_response_type", "response_type must be code"),
        ({"code_challenge": ""}, "invalid_request", "PKCE is required"),
        ({"code_challenge_method": "plain"}, "invalid_request", "S256"),
        ({"code_challenge": "short"}, "invalid_request", "43 to 128"),
        ({"resource": "https://other.example/mcp"}, "invalid_target", "http://testserver/mcp"),
        ({"resource": "http://[testserver/mcp"}, "invalid_target", "http://testserver/mcp"),  # no URL at all
    ],
)
def test_other_problems_are_shown_with_a_link_back_to_the_client_never_a_redirect(
    member, admin_key, change, error, says
):
    """Anyone may register a client: a refused request must not turn this page into an open redirector."""
    client_id = register(token_endpoint_auth_method="none")["client_id"]
    response = logged_in(member).get("/dashboard/oauth/authorize/", authorize_query(client_id, pkce()[1]) | change)
    assert response.status_code == 400
    assert says in html.unescape(response.content.decode())
    back = html.unescape(re.search(r'href="([^"]+)" id="back-to-app"', response.content.decode()).group(1))
    query = parse_qs(urlsplit(back).query)
    assert back.startswith(REDIRECT + "?")
    assert (query["error"], query["state"], query["iss"]) == ([error], ["s-123"], [ISSUER])
    assert says in query["error_description"][0]


def test_deny_tells_the_client_and_grants_nothing(member, admin_key):
    client_id = register(token_endpoint_auth_method="none")["client_id"]
    query = authorize_query(client_id, pkce()[1])
    response = logged_in(member).post("/dashboard/oauth/authorize/", query | {"decision": "deny"})
    answer = parse_qs(urlsplit(response["Location"]).query)
    assert (answer["error"], answer["state"], answer["iss"]) == (["access_denied"], ["s-123"], [ISSUER])
    assert not OAuthGrant.objects.exists()


def test_a_loopback_redirect_may_come_back_on_another_port(member, admin_key):
    """RFC 8252 §7.3: a native app registers http://127.0.0.1/… and listens on whatever port it got."""
    client_id = register(redirect_uris=["http://127.0.0.1/callback"], token_endpoint_auth_method="none")["client_id"]
    query = authorize_query(client_id, pkce()[1], redirect_uri="http://127.0.0.1:51234/callback")
    response = logged_in(member).post("/dashboard/oauth/authorize/", query | {"decision": "allow"})
    assert response["Location"].startswith("http://127.0.0.1:51234/callback?code=m0ac_")
    other_host = query | {"redirect_uri": "http://localhost:51234/callback"}
    assert logged_in(member).get("/dashboard/oauth/authorize/", other_host).status_code == 400


def test_a_loopback_redirect_on_another_port_is_checked_as_a_registered_one(member, admin_key):
    # Matched on any port, it was taken as given: a port padded with zeros made it longer than a grant keeps, and
    # Allow was a 500; a user name (which registration refuses) came through too.
    registered = ["http://127.0.0.1/cb/" + "p" * 1975, "http://127.0.0.1/callback"]
    client_id = register(redirect_uris=registered, token_endpoint_auth_method="none")["client_id"]
    browser = logged_in(member)
    for given, says in [
        ("http://127.0.0.1:" + "0" * 60 + "8080/cb/" + "p" * 1975, "is longer than 2000 characters"),
        ("http://someone@127.0.0.1:8080/callback", "holds a user name or password"),
    ]:
        query = authorize_query(client_id, pkce()[1], redirect_uri=given)
        page = browser.get("/dashboard/oauth/authorize/", query)
        assert page.status_code == 400 and says in page.content.decode()
        assert browser.post("/dashboard/oauth/authorize/", query | {"decision": "allow"}).status_code == 400
    assert not OAuthGrant.objects.exists()


def test_the_access_token_works_on_mcp_only(connected, member):
    _, tokens = connected
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600 and tokens["scope"] == "memories"
    assert mcp_status(tokens["access_token"]) == 200
    # The Requests page tells these calls apart.
    logged = RequestLog.objects.filter(path="/mcp").latest("id")
    assert (logged.auth_type, logged.account_id) == ("oauth", member.pk)
    page = logged_in(member).get("/dashboard/requests/", {"auth_type": "oauth"})
    assert page.status_code == 200 and "/mcp" in page.content.decode()
    # Issued for /mcp (its resource): the REST API refuses it.
    rest = APIClient().get("/v1/memories/", {"user_id": "alice"}, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert rest.status_code == 401


@pytest.mark.parametrize(
    ("change", "error", "says"),
    [
        ({"code_verifier": "x" * 43}, "invalid_grant", "PKCE"),
        ({"code_verifier": ""}, "invalid_request", "code_verifier is required"),
        ({"redirect_uri": "https://connector.example/other"}, "invalid_grant", "redirect_uri differs"),
        ({"resource": "https://other.example/mcp"}, "invalid_target", "resource must be"),
        ({"resource": "http://[testserver/mcp"}, "invalid_target", "resource must be"),
        ({"code": "m0ac_forged"}, "invalid_grant", "Unknown authorization code"),
        ({"grant_type": "password"}, "unsupported_grant_type", "grant_type must be one of"),
    ],
)
def test_a_wrong_token_request_is_refused_saying_why(member, admin_key, change, error, says):
    client_id = register(token_endpoint_auth_method="none")["client_id"]
    form = code_form(member, client_id)
    response = token(**(form | change))
    assert response.status_code == 400
    assert response.json()["error"] == error and says in response.json()["error_description"]
    assert token(**form).status_code == 200  # the code was not spent by the refused request


def test_a_code_is_used_once_and_replaying_it_revokes_what_it_gave(member, admin_key):
    client_id = register(token_endpoint_auth_method="none")["client_id"]
    form = code_form(member, client_id)
    first = token(**form).json()
    assert mcp_status(first["access_token"]) == 200
    again = token(**form)
    assert again.status_code == 400 and "already used" in again.json()["error_description"]
    assert mcp_status(first["access_token"]) == 401
    assert (
        token(grant_type="refresh_token", refresh_token=first["refresh_token"], client_id=client_id).status_code == 400
    )


def test_a_code_expires_and_belongs_to_its_client(member, admin_key):
    client_id = register(token_endpoint_auth_method="none")["client_id"]
    other_id = register(token_endpoint_auth_method="none")["client_id"]
    form = code_form(member, client_id)
    assert token(**(form | {"client_id": other_id})).json()["error"] == "invalid_grant"
    OAuthGrant.objects.update(code_expires_at=timezone.now() - timedelta(seconds=1))
    expired = token(**form)
    assert expired.status_code == 400 and "expired" in expired.json()["error_description"]


def test_a_refresh_token_is_spent_by_its_use_and_a_replay_ends_the_grant(connected, settings):
    client_id, first = connected
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": client_id}
    refreshed = token(**refresh)
    assert refreshed.status_code == 200
    second = refreshed.json()
    assert mcp_status(second["access_token"]) == 200 and mcp_status(first["access_token"]) == 401
    # Sent again at once (a client whose answer was lost, or two of its requests refreshing together): the same
    # answer, not a second pair and not the end of the grant.
    retried = token(**refresh)
    assert retried.status_code == 200
    assert {k: retried.json()[k] for k in ("access_token", "refresh_token")} == {
        k: second[k] for k in ("access_token", "refresh_token")
    }
    assert 0 < retried.json()["expires_in"] <= settings.OAUTH_ACCESS_TOKEN_SECONDS
    assert mcp_status(second["access_token"]) == 200
    # Later than OAUTH_REFRESH_REUSE_SECONDS (a thief's copy, or the client's): the grant ends for both.
    OAuthGrant.objects.update(previous_answer_until=timezone.now() - timedelta(seconds=1))
    replay = token(**refresh)
    assert replay.status_code == 400 and "already used" in replay.json()["error_description"]
    assert mcp_status(second["access_token"]) == 401
    assert (
        token(grant_type="refresh_token", refresh_token=second["refresh_token"], client_id=client_id).status_code == 400
    )


def test_a_refresh_token_spent_two_refreshes_ago_still_ends_the_grant(connected):
    # A thief refreshes a stolen token twice before its client does: the client's copy was answered "unknown" and
    # the thief's tokens went on working, unseen (the grant remembered only the last spent token).
    client_id, first = connected
    stolen = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": client_id}
    second = token(**stolen).json()
    third = token(grant_type="refresh_token", refresh_token=second["refresh_token"], client_id=client_id).json()
    assert mcp_status(third["access_token"]) == 200
    # A token that only looks like one naming the grant ends nothing.
    forged = f"m0rt_{OAuthGrant.objects.get().pk}.{secrets.token_urlsafe(32)}.{'0' * 32}"
    assert token(**(stolen | {"refresh_token": forged})).status_code == 400
    assert mcp_status(third["access_token"]) == 200
    replay = token(**stolen)
    assert replay.status_code == 400 and "already used" in replay.json()["error_description"]
    assert mcp_status(third["access_token"]) == 401
    assert (
        token(grant_type="refresh_token", refresh_token=third["refresh_token"], client_id=client_id).status_code == 400
    )


def test_without_a_reuse_window_a_spent_refresh_token_ends_the_grant_at_once(connected, settings):
    settings.OAUTH_REFRESH_REUSE_SECONDS = 0
    client_id, first = connected
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": client_id}
    second = token(**refresh).json()
    assert token(**refresh).status_code == 400
    assert mcp_status(second["access_token"]) == 401


def test_the_answer_kept_for_a_retry_opens_only_with_the_spent_refresh_token(connected):
    client_id, first = connected
    second = token(grant_type="refresh_token", refresh_token=first["refresh_token"], client_id=client_id).json()
    stored = " ".join(str(value) for value in OAuthGrant.objects.values_list().get())
    assert second["access_token"] not in stored and second["refresh_token"] not in stored
    assert first["refresh_token"] not in stored


def test_a_confidential_client_must_prove_its_secret(member, admin_key):
    registered = register()
    client_id, secret = registered["client_id"], registered["client_secret"]
    form = code_form(member, client_id)
    del form["client_id"]  # sent in the Basic header, or with the secret
    missing = token(**form, client_id=client_id)
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_client"
    assert missing["WWW-Authenticate"].startswith("Basic")

    def with_basic(client_id_and_secret: str):
        credentials = base64.b64encode(client_id_and_secret.encode()).decode()
        return APIClient().post(
            "/oauth/token",
            urlencode(form),
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=f"Basic {credentials}",
        )

    response = with_basic(f"{client_id}\x00:{secret}")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert with_basic(f"{client_id}:m0cs_wrong").status_code == 401
    assert with_basic(f"{client_id}:{secret}").status_code == 200
    assert token(**form, client_id=client_id, client_secret=secret).json()["error"] == "invalid_grant"  # spent


def test_revocation_and_the_dashboard_disconnect_stop_the_tokens_at_once(connected, member, make_user):
    client_id, tokens = connected
    assert form_post("/oauth/revoke", token=tokens["access_token"], client_id=client_id).status_code == 200
    assert mcp_status(tokens["access_token"]) == 401
    assert (
        token(grant_type="refresh_token", refresh_token=tokens["refresh_token"], client_id=client_id).status_code == 400
    )
    # An unknown token is not an error (RFC 7009 §2.2).
    assert form_post("/oauth/revoke", token="m0at_nothing", client_id=client_id).status_code == 200

    live = token(**code_form(member, client_id)).json()
    page = logged_in(member).get("/dashboard/connections/")
    assert page.status_code == 200 and "Connector" in page.content.decode()
    grant = OAuthGrant.objects.get(revoked_at__isnull=True)
    other = logged_in(make_user("eve@example.com"))
    assert "Connector" not in other.get("/dashboard/connections/").content.decode()
    assert other.post(f"/dashboard/connections/{grant.pk}/disconnect/").status_code == 404
    assert mcp_status(live["access_token"]) == 200
    response = logged_in(member).post(f"/dashboard/connections/{grant.pk}/disconnect/")
    assert response.status_code == 302
    assert mcp_status(live["access_token"]) == 401
    assert "No connected apps" in logged_in(member).get("/dashboard/connections/").content.decode()


def test_deactivating_an_account_ends_its_connected_apps_for_good(connected, member, make_user):
    client_id, tokens = connected
    admin = make_user("root@example.com", role=User.Role.ADMIN)
    user_set_active(actor=admin, user_id=member.pk, active=False)
    assert mcp_status(tokens["access_token"]) == 401
    # Reactivated, it logs in afresh: the apps it had allowed must be allowed again, as its login tokens.
    user_set_active(actor=admin, user_id=member.pk, active=True)
    assert mcp_status(tokens["access_token"]) == 401
    refresh = token(grant_type="refresh_token", refresh_token=tokens["refresh_token"], client_id=client_id)
    assert refresh.status_code == 400
    assert "No connected apps" in logged_in(member).get("/dashboard/connections/").content.decode()


def test_an_app_name_with_a_right_to_left_override_reverses_nothing_after_it_on_the_connections_page(
    member, admin_key, embedder
):
    # The consent page isolated the name a client registered; the Connected apps page did not, so a name ending in
    # U+202E showed the cells after it reversed ("read and write" as "etirw dna daer").
    client_id = register(client_name="Tool \u202e", token_endpoint_auth_method="none")["client_id"]
    assert token(**code_form(member, client_id)).status_code == 200
    page = logged_in(member).get("/dashboard/connections/").content.decode()
    assert "<td><bdi>Tool \u202e</bdi></td>" in page


def _own_change(member, admin) -> None:
    User.objects.filter(pk=member.pk).update(password=make_password(PASSWORD))  # no save: it has one already
    member.refresh_from_db()
    form = {"form": "password", "current_password": PASSWORD, "new_password": "a new passphrase"}
    response = logged_in(member).post("/dashboard/settings/", form)
    assert response.status_code == 302 and response["Location"] == "/dashboard/settings/"


def _admin_reset(member, admin) -> None:
    form = {"new_password": "a new passphrase"}
    response = logged_in(admin).post(f"/dashboard/users/{member.pk}/password/", form)
    assert response.status_code == 302 and "login" not in response["Location"]


def _changepassword_command(member, admin) -> None:
    # What `manage.py changepassword` and the Django admin's password form do.
    user = User.objects.get(pk=member.pk)
    user.set_password("a new passphrase")
    user.save()


@pytest.mark.parametrize("change", [_own_change, _admin_reset, _changepassword_command])
def test_a_new_password_disconnects_the_apps_however_it_is_set(connected, member, make_user, change):
    # A password is changed when someone else may know it: what they connected must stop with it.
    client_id, tokens = connected
    admin = make_user("root@example.com", role=User.Role.ADMIN, password=PASSWORD)
    change(member, admin)
    member.refresh_from_db()  # its new password, for its next dashboard session
    assert mcp_status(tokens["access_token"]) == 401
    refresh = token(grant_type="refresh_token", refresh_token=tokens["refresh_token"], client_id=client_id)
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    assert "No connected apps" in logged_in(member).get("/dashboard/connections/").content.decode()
    # The account allows an app afresh, and that one works.
    assert mcp_status(token(**code_form(member, client_id)).json()["access_token"]) == 200


def test_a_password_rehashed_at_login_disconnects_nothing(connected, member):
    client_id, tokens = connected
    User.objects.filter(pk=member.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    user = User.objects.get(pk=member.pk)
    assert user.check_password(PASSWORD)  # upgrades the stored hash to the default hasher, and saves it
    assert User.objects.get(pk=member.pk).password.startswith("argon2")
    assert mcp_status(tokens["access_token"]) == 200


def test_prune_drops_ended_grants_and_clients_nobody_authorized(connected, member):
    client_id, tokens = connected
    unused = register(token_endpoint_auth_method="none")["client_id"]
    oauth_prune()
    assert OAuthClient.objects.count() == 2  # a fresh registration gets a day
    day_ago = timezone.now() - timedelta(days=2)
    OAuthClient.objects.update(created_at=day_ago)
    oauth_prune()
    assert set(OAuthClient.objects.values_list("client_id", flat=True)) == {client_id}  # it has a live grant
    assert unused not in set(OAuthClient.objects.values_list("client_id", flat=True))
    OAuthGrant.objects.update(revoked_at=day_ago)
    oauth_prune()
    # The ended grant goes; the app, once allowed, keeps its registration: disconnected, it is connected again with
    # the client_id it keeps (the MCP SDKs register once and reuse it), which was an "Unknown client_id" page.
    assert not OAuthGrant.objects.exists()
    assert set(OAuthClient.objects.values_list("client_id", flat=True)) == {client_id}
    assert token(**code_form(member, client_id)).status_code == 200


def test_registration_is_bounded_per_address(admin_key):
    answers = [
        APIClient().post("/oauth/register", {"redirect_uris": [REDIRECT]}, format="json").status_code for _ in range(11)
    ]
    assert answers == [201] * 10 + [429]


def test_a_client_asking_only_to_read_gets_a_read_only_grant_that_a_refresh_cannot_widen(member, admin_key):
    client_id = register(token_endpoint_auth_method="none")["client_id"]
    verifier, challenge = pkce()
    query = authorize_query(client_id, challenge, scope="memories:read")
    page = logged_in(member).get("/dashboard/oauth/authorize/", query).content.decode()
    assert "asks to read the memories" in page and 'name="read_only"' not in page
    code = approve(logged_in(member), query)["code"]
    tokens = token(grant_type="authorization_code", code=code, client_id=client_id, code_verifier=verifier).json()
    assert tokens["scope"] == "memories:read"
    refreshed = token(
        grant_type="refresh_token", refresh_token=tokens["refresh_token"], client_id=client_id, scope="memories"
    ).json()
    assert refreshed["scope"] == "memories:read"
    add = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "add_memory", "arguments": {"text": "x", "user_id": "alice"}},
    }
    answer = APIClient().post("/mcp", add, format="json", HTTP_AUTHORIZATION=f"Bearer {refreshed['access_token']}")
    assert answer.json()["result"]["isError"] is True
    assert "read only" in logged_in(member).get("/dashboard/connections/").content.decode()


def test_registrations_nobody_authorized_are_bounded_from_any_number_of_addresses(connected, monkeypatch):
    # The per-address limit does not bound what many addresses (an IPv6 block has 2**64) register: each client
    # may keep 10 URIs of 2,000 characters, and nothing was dropped for a day. The oldest unauthorized go first.
    monkeypatch.setattr("oauth.services.MAX_PENDING_CLIENTS", 3)
    authorized, _ = connected
    body = {"redirect_uris": [f"https://connector.example/{n}/" + "x" * 1900 for n in range(10)]}
    registered = []
    for n in range(12):
        answer = APIClient().post("/oauth/register", body, format="json", REMOTE_ADDR=f"2001:db8::{n}")
        assert answer.status_code == 201, answer.content
        registered.append(answer.json()["client_id"])
    kept = set(OAuthClient.objects.values_list("client_id", flat=True))
    assert kept == {authorized, *registered[-3:]}


def test_a_client_dropped_while_its_consent_is_sent_is_a_page_saying_so(member, admin_key, monkeypatch):
    # A registration can drop an app nobody authorized yet (MAX_PENDING_CLIENTS) between the check of Allow's
    # request and its grant: that was a 500 (the grant's client was gone as it committed).
    client_id = register(token_endpoint_auth_method="none")["client_id"]
    check = services.authorization_check

    def checked_then_dropped(*args, **kwargs):
        checked = check(*args, **kwargs)
        OAuthClient.objects.filter(client_id=client_id).delete()
        return checked

    monkeypatch.setattr(services, "authorization_check", checked_then_dropped)
    query = authorize_query(client_id, pkce()[1]) | {"decision": "allow"}
    page = logged_in(member).post("/dashboard/oauth/authorize/", query)
    assert page.status_code == 400 and "connect it again" in page.content.decode()
    assert not OAuthGrant.objects.exists()
