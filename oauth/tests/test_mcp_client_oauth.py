"""The official `mcp` client's own OAuth (OAuthClientProvider) against a live server, as claude.ai's or an IDE's
connector does it: no key configured, only the URL. The client finds the metadata from /mcp's 401, registers itself,
sends the person to the dashboard's consent page (here: an HTTP client logged in as the account, which reads the page
and presses Allow), exchanges the code with PKCE, and calls tools as that account."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2
import pytest
from django.test import Client
from django.utils import timezone
from mcp.client import Client as McpClient
from mcp.client.auth import OAuthClientProvider
from mcp.client.auth import oauth2 as sdk_oauth2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from mcp_server.tests.test_client import mcp_session
from memories.models import Memory
from oauth.models import OAuthGrant

pytestmark = pytest.mark.django_db(transaction=True)

REDIRECT_URI = "http://127.0.0.1:33418/callback"  # the client's own listener: never reached, the test reads the code


class MemoryStorage:
    """The client's token store (the SDK's TokenStorage protocol), kept in memory."""

    def __init__(self):
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info):
        self.client_info = client_info


def _innermost(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


class Person:
    """The account's owner at the browser: logged in to the dashboard, reads the consent page, presses a button."""

    def __init__(self, base_url: str, user, decision: str = "allow", read_only: bool = False):
        django_client = Client()
        django_client.force_login(user)
        self.cookies = {"sessionid": django_client.cookies["sessionid"].value}
        self.base_url = base_url
        self.decision = decision
        self.read_only = read_only
        self.pages: list[str] = []
        self.redirected_to: str | None = None

    async def redirect_handler(self, authorization_url: str) -> None:
        async with httpx2.AsyncClient(cookies=self.cookies, timeout=60) as http:
            page = await http.get(authorization_url)
            assert page.status_code == 200, page.text
            self.pages.append(page.text)
            fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
            form = {name: unescape(value) for name, value in fields.items()} | {"decision": self.decision}
            if self.read_only:
                form["read_only"] = "yes"  # the box "Let it only read" ticked
            answer = await http.post(authorization_url.split("?")[0], data=form)
            assert answer.status_code == 302, answer.text
            self.redirected_to = answer.headers["location"]

    async def callback_handler(self) -> AuthorizationCodeResult:
        query = parse_qs(urlsplit(self.redirected_to).query)
        if "error" in query:
            raise RuntimeError(query["error_description"][0])
        # What the client's own listener reads off the redirect, the issuer included (RFC 9207).
        iss = query.get("iss", [None])[0]
        return AuthorizationCodeResult(code=query["code"][0], state=query["state"][0], iss=iss)


def provider_for(mcp_url: str, person: Person, storage: MemoryStorage) -> OAuthClientProvider:
    metadata = OAuthClientMetadata(
        client_name="Test connector",
        redirect_uris=[REDIRECT_URI],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )
    return OAuthClientProvider(mcp_url, metadata, storage, person.redirect_handler, person.callback_handler)


def session_with(url: str, auth: OAuthClientProvider):
    return mcp_session(url, {}, auth=auth)


async def tool(session: ClientSession, name: str, **arguments):
    result = await session.call_tool(name, arguments)
    assert not result.is_error, result.content[0].text
    return json.loads(result.content[0].text)


@pytest.fixture
def mcp_url(live_server) -> str:
    return live_server.url + "/mcp"


def test_the_mcp_client_logs_in_with_oauth_and_acts_as_the_account_that_allowed_it(
    live_server, mcp_url, member, admin_key, embedder
):
    person = Person(live_server.url, member)
    storage = MemoryStorage()
    provider = provider_for(mcp_url, person, storage)

    async def first_session():
        async with session_with(mcp_url, provider) as session:
            added = await tool(session, "add_memory", text="I take my tea without sugar", infer=False, user_id="alice")
            listed = await tool(session, "get_memories", filters={"user_id": "alice"})
            return added, listed

    added, listed = anyio.run(first_session)

    # One consent page, naming the client and the account, and the tools worked as that account.
    assert len(person.pages) == 1
    assert "Test connector" in person.pages[0] and member.email in person.pages[0]
    memory_id = added["results"][0]["id"]
    assert [m["id"] for m in listed["results"]] == [memory_id]
    assert Memory.objects.get(pk=memory_id).account_id == member.account.pk
    assert storage.client_info.client_id.startswith("m0ci_") and storage.client_info.client_secret is None
    assert storage.tokens.access_token.startswith("m0at_") and storage.tokens.refresh_token.startswith("m0rt_")
    grant = OAuthGrant.objects.get()
    assert (grant.user, grant.client.client_name) == (member, "Test connector")
    assert grant.resource == mcp_url
    # Only digests are stored.
    assert storage.tokens.access_token not in {grant.access_digest, grant.refresh_digest}


def test_the_sdks_client_logs_in_with_oauth_and_speaks_the_2026_protocol(
    live_server, mcp_url, member, admin_key, embedder
):
    # The high-level Client (its default mode) asks server/discover first: that request gets the 401 that starts
    # the login, and the rest goes at 2026-07-28, no initialize.
    person = Person(live_server.url, member)
    provider = provider_for(mcp_url, person, MemoryStorage())

    async def main():
        async with (
            httpx2.AsyncClient(auth=provider, timeout=120) as http,
            McpClient(streamable_http_client(mcp_url, http_client=http)) as client,
        ):
            added = await tool(client, "add_memory", text="Logged in at 2026-07-28", infer=False, user_id="alice")
            return client.protocol_version, added

    version, added = anyio.run(main)
    assert version == "2026-07-28" and len(person.pages) == 1
    assert Memory.objects.get(pk=added["results"][0]["id"]).account_id == member.account.pk


def test_when_the_access_token_expires_the_client_refreshes_it_without_asking_the_person_again(
    live_server, mcp_url, member, admin_key, embedder, monkeypatch
):
    person = Person(live_server.url, member)
    storage = MemoryStorage()
    pinned = mcp_url + "?user_id=alice"  # a connector's URL may pin the scope
    provider = provider_for(pinned, person, storage)

    async def list_memories():
        async with session_with(pinned, provider) as session:
            return await tool(session, "get_memories")

    anyio.run(list_memories)
    first = storage.tokens
    # Two hours later for both sides: the server's access token has expired, and the client's clock says so too.
    OAuthGrant.objects.update(access_expires_at=timezone.now() - timedelta(hours=1))
    later = sdk_oauth2.time.time() + 7200
    monkeypatch.setattr(sdk_oauth2.time, "time", lambda: later)

    assert anyio.run(list_memories)["results"] == []
    assert len(person.pages) == 1  # no second consent: the refresh token did it
    assert storage.tokens.access_token != first.access_token
    assert storage.tokens.refresh_token != first.refresh_token
    monkeypatch.undo()
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    with httpx2.Client(timeout=60) as http:
        old = http.post(mcp_url, json=ping, headers=headers | {"Authorization": "Bearer " + first.access_token})
        new = http.post(
            mcp_url, json=ping, headers=headers | {"Authorization": "Bearer " + storage.tokens.access_token}
        )
    assert old.status_code == 401 and new.status_code == 200


def test_a_person_who_denies_leaves_the_client_without_tokens(live_server, mcp_url, member, admin_key, embedder):
    person = Person(live_server.url, member, decision="deny")
    storage = MemoryStorage()

    async def connect():
        async with session_with(mcp_url, provider_for(mcp_url, person, storage)):
            pass

    with pytest.raises(BaseException) as raised:  # noqa: B017, PT011 - wrapped in the client's task groups
        anyio.run(connect)
    assert "The account owner did not allow access." in str(_innermost(raised.value))
    assert storage.tokens is None
    assert not OAuthGrant.objects.exists()
    assert "access_denied" in person.redirected_to


def test_an_app_allowed_to_read_only_is_offered_and_runs_only_the_tools_that_change_nothing(
    live_server, mcp_url, member, admin_key, embedder, make_memory
):
    make_memory("I like jasmine tea", user_id="alice", principal=member)
    person = Person(live_server.url, member, read_only=True)
    storage = MemoryStorage()

    async def use():
        async with session_with(mcp_url, provider_for(mcp_url, person, storage)) as session:
            tools = {t.name for t in (await session.list_tools()).tools}
            found = await tool(session, "search_memories", query="tea", user_id="alice")
            refused = await session.call_tool("add_memory", {"text": "I like coffee", "user_id": "alice"})
            return tools, found, refused

    tools, found, refused = anyio.run(use)
    # Not get_user_profile either: a user's first read starts writing their profile.
    assert tools == {
        "search_memories",
        "get_memories",
        "get_memory",
        "list_entities",
        "list_events",
        "get_event_status",
    }
    assert found["results"][0]["memory"] == "I like jasmine tea"
    assert refused.is_error and "may only read" in refused.content[0].text
    assert Memory.objects.count() == 1
    assert storage.tokens.scope.split() == ["memories:read", "offline_access"]
