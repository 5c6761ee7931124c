"""Dashboard pages through Django's test client: tenancy on every page, admin pages refused to members."""

from __future__ import annotations

import base64
import html
import json
import re
import shlex
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import load_command_class
from django.db import connection
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from rest_framework.test import APIClient

from accounts.models import User
from apikeys.models import APIKey
from apikeys.services import apikey_create, apikey_revoke
from conftest import ADMIN
from dashboard.tests.clients import once_of
from events.models import Event
from exports.models import MemoryExport
from mem0server.tests.sessions import in_thread, other_session, wait_until_blocked
from memories import selectors, services
from memories.models import MAX_TEXT_CHARS, Memory, MemoryHistory
from memories.selectors import parse_memory_id
from memories.tests.fake_openai import as_json, llm_configured, text
from memories.tests.fake_openai import error as failure
from memories.tests.files import PRESENTATION_TRIP_TEXT, WORD_LEASE_TEXT, pdf_of, presentation_trip, word_lease
from oauth.models import OAuthGrant
from oauth.services import authorization_approve, authorization_check, client_register
from requestlog.models import RequestLog

PASSWORD = "a long passphrase"


@pytest.fixture
def admin_user(make_user) -> User:
    return make_user("admin@example.com", role=User.Role.ADMIN, password=PASSWORD, is_staff=True)


@pytest.fixture
def alice(make_user) -> User:
    return make_user("alice@example.com", password=PASSWORD)


@pytest.fixture
def bob(make_user) -> User:
    return make_user("bob@example.com", password=PASSWORD)


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def two_accounts(alice, bob, make_memory):
    """Alice and Bob each own one memory, one key and one logged request, with secrets in their texts."""
    mine = make_memory("alice likes oolong tea", user_id="alice-user", principal=alice)
    theirs = make_memory("bob secret-marker likes espresso", user_id="bob-secret-user", principal=bob)
    apikey_create(user=alice, label="alice-key")
    apikey_create(user=bob, label="bob-secret-key")
    connector, _ = client_register(
        redirect_uris=["https://bob-secret-key.example/cb"], client_name="bob-secret-key app"
    )
    authorization_approve(
        user=bob,
        request=authorization_check(
            {
                "client_id": connector.client_id,
                "response_type": "code",
                "code_challenge": "c" * 43,
                "code_challenge_method": "S256",
            },
            resource="http://testserver/mcp",
            issuer="http://testserver/",
        ),
    )
    OAuthGrant.objects.update(refresh_expires_at=timezone.now() + timedelta(days=1))  # as if its code was used
    for user, scope in ((alice, "alice-user"), (bob, "bob-secret-user")):  # a queued add each, failed
        messages = [{"role": "user", "content": f"{scope} secret-marker"}]
        Event.objects.create(
            account=user, payload={"scope": {"user_id": scope}, "messages": messages, "infer": False}, status="FAILED"
        )
    for user, path in ((alice, "/memories/alice-path"), (bob, "/memories/bob-secret-path")):
        RequestLog.objects.create(
            method="GET",
            path=path,
            status_code=200,
            latency_ms=3.0,
            auth_type="api_key",
            account=user,
            request_id=f"{user.email}-rid",
            created_at=MemoryHistory.objects.first().created_at,
        )
    return mine, theirs


PAGES = [
    "/dashboard/",
    "/dashboard/memories/",
    "/dashboard/memories/?user_id=bob-secret-user",
    "/dashboard/memories/search/?query=espresso+secret-marker&user_id=bob-secret-user",
    "/dashboard/entities/",
    "/dashboard/exports/",
    "/dashboard/imports/",
    "/dashboard/requests/",
    "/dashboard/requests/?path=bob-secret",
    "/dashboard/events/",
    "/dashboard/keys/",
    "/dashboard/connections/",
]


@pytest.mark.parametrize("page", PAGES)
def test_a_member_never_sees_another_accounts_data_on_any_page(two_accounts, alice, page):
    response = logged_in(alice).get(page)
    assert response.status_code == 200
    body = response.content.decode()
    # What Bob owns, except what the page's own query string echoes back into its form.
    secrets = ("secret-marker", "bob-secret-user", "bob-secret-key", "/memories/bob-secret-path", "bob@example.com")
    for secret in secrets:
        if secret not in page:
            assert secret not in body


@pytest.mark.parametrize("page", PAGES)
def test_no_page_with_an_accounts_data_may_be_cached(two_accounts, alice, page):
    cache_control = logged_in(alice).get(page)["Cache-Control"]
    assert "no-store" in cache_control and "private" in cache_control


@pytest.mark.parametrize("page", [*PAGES, "/dashboard/login/"])
def test_no_page_shows_its_templates_source(two_accounts, alice, client, page):
    # A template comment written over two lines ({# … #} is one line's) was shown at the top of every page.
    body = (client if page == "/dashboard/login/" else logged_in(alice)).get(page).content.decode()
    assert not [mark for mark in ("{#", "#}", "{%", "%}", "{{ ", " }}") if mark in body]


def test_dashboard_pages_load_only_their_own_scripts_and_styles(alice, client):
    for response in (client.get("/dashboard/login/"), logged_in(alice).get("/dashboard/memories/")):
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy and "object-src 'none'" in policy


def test_a_new_key_shown_once_may_not_be_cached(alice):
    response = logged_in(alice).post("/dashboard/keys/", {"label": "laptop"})
    [key] = APIKey.objects.filter(user=alice, label="laptop")
    assert key.key_prefix in response.content.decode()  # the page that shows the whole key, this once
    assert "no-store" in response["Cache-Control"]


def test_a_member_sees_its_own_memories_entities_keys_and_requests(two_accounts, alice):
    client = logged_in(alice)
    assert "alice likes oolong tea" in client.get("/dashboard/memories/").content.decode()
    assert "alice-user" in client.get("/dashboard/entities/").content.decode()
    assert "alice-key" in client.get("/dashboard/keys/").content.decode()
    assert "/memories/alice-path" in client.get("/dashboard/requests/").content.decode()
    found = client.get("/dashboard/memories/search/?query=tea&user_id=alice-user").content.decode()
    assert "alice likes oolong tea" in found


def test_the_requests_page_says_what_a_refused_call_was_refused_for(alice, key_client):
    # The operator saw a 400 and nothing more: the reason went only to the client.
    key_client(alice).post(
        "/memories", {"messages": [{"role": "user", "content": 5}], "user_id": "alice"}, format="json"
    )
    page = logged_in(alice).get("/dashboard/requests/").content.decode()
    assert "refused: messages.0.content" in page


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"errors_only": "on", "status_class": "6xx"}, "Select a valid choice. 6xx is not one of the available"),
        ({"errors_only": "on", "auth_type": "cookie"}, "Select a valid choice. cookie is not one of the available"),
        ({"path": "x" * 501}, "Ensure this value has at most 500 characters (it has 501)."),
        ({"client": "x" * 129}, "Ensure this value has at most 128 characters (it has 129)."),
        ({"path": "a\x00b"}, "Null characters are not allowed."),  # Django's CharField refuses them
        ({"errors_only": "on", "window": "7d"}, "Select a valid choice. 7d is not one of the available choices."),
        ({"errors_only": "on", "within": "30d"}, "Select a valid choice. 30d is not one of the available choices."),
    ],
)
def test_a_request_filter_the_form_refuses_is_a_400_naming_it_and_lists_no_request_as_matching(
    two_accounts, alice, query, error
):
    response = logged_in(alice).get("/dashboard/requests/", query)
    assert response.status_code == 400
    body = response.content.decode()
    assert escape(error) in body
    # Alice's one logged request answered 200: listing it under "errors only" would show it as matching. (The
    # traffic charts above the log, which no filter narrows, still name its route.)
    assert '<td class="mono">/memories/alice-path</td>' not in body
    assert "Correct the filter above to see the log." in body


def log_long_paths(account: User, count: int, *, ago: timedelta) -> None:
    """`count` logged calls of `account`, each with a 500-character path of `a`s, `ago` before now."""
    path = "/v1/memories/" + "a" * 487
    when = timezone.now() - ago
    RequestLog.objects.bulk_create(
        RequestLog(
            method="GET",
            path=path,
            route=path,
            status_code=200,
            latency_ms=1.0,
            auth_type="api_key",
            account=account,
            created_at=when - timedelta(milliseconds=n),
        )
        for n in range(count)
    )


# Half a path's length of `a`s then a `b`: matched against each of its 500 `a`s in turn (the crafted search that
# took up to 20 s over a member's own log).
CRAFTED_PATH = "a" * 243 + "b"


def test_a_path_search_that_reads_the_log_too_long_is_a_400_saying_how_to_narrow_it(alice, settings):
    settings.REQUEST_LOG_SEARCH_TIMEOUT_MS = 1
    log_long_paths(alice, 2000, ago=timedelta(days=2))
    response = logged_in(alice).get("/dashboard/requests/", {"path": CRAFTED_PATH})
    assert response.status_code == 400
    body = response.content.decode()
    assert (
        "This search read the log for longer than 1 ms (REQUEST_LOG_SEARCH_TIMEOUT_MS) and was stopped. Narrow it: "
        "a shorter time (Within), errors only, a status, an auth type or a client."
    ) in body
    assert "No requests match." not in body  # stopped, not an empty answer


def test_a_path_search_within_a_time_lists_only_that_times_calls(alice):
    log_long_paths(alice, 3, ago=timedelta(days=2))
    log_long_paths(alice, 1, ago=timedelta(minutes=5))
    client = logged_in(alice)
    assert (
        client.get("/dashboard/requests/", {"path": "aaaa"}).content.decode().count('<td class="mono">/v1/memories/aaa')
        == 4
    )
    response = client.get("/dashboard/requests/", {"path": "aaaa", "within": "1h"})
    assert response.status_code == 200
    assert response.content.decode().count('<td class="mono">/v1/memories/aaa') == 1  # the call of 5 minutes ago


def test_the_request_log_says_when_it_shows_only_the_newest_calls_that_match(alice):
    # It listed the newest 200 and said nothing: a reader took them for every call there was.
    log_long_paths(alice, 201, ago=timedelta(minutes=5))
    page = logged_in(alice).get("/dashboard/requests/").content.decode()
    assert page.count('<td class="mono">/v1/memories/aaa') == 200
    assert "The newest 200 calls that match" in page
    page = logged_in(alice).get("/dashboard/requests/", {"within": "1h", "status_class": "2xx"}).content.decode()
    assert "The newest 200 calls that match" in page
    RequestLog.objects.filter(account=alice).order_by("created_at").first().delete()
    page = logged_in(alice).get("/dashboard/requests/").content.decode()
    assert page.count('<td class="mono">/v1/memories/aaa') == 200
    assert "The newest 200" not in page


def test_search_results_show_a_dash_for_words_when_late_interaction_is_off(two_accounts, alice, settings):
    settings.SEARCH_LATE_INTERACTION = False
    found = logged_in(alice).get("/dashboard/memories/search/?query=tea&user_id=alice-user").content.decode()
    assert "alice likes oolong tea" in found
    assert '<td class="num">—</td>' in found
    assert "1 result; score = vector similarity and keyword share fused</p>" in found  # and no words


def test_search_results_say_how_the_words_count_when_late_interaction_is_on(two_accounts, alice):
    found = logged_in(alice).get("/dashboard/memories/search/?query=tea&user_id=alice-user").content.decode()
    assert "fused, then averaged with how closely the memory's words match the query's (words)</p>" in found


def test_a_long_history_shows_its_newest_events_and_says_how_many_it_has(two_accounts, alice, monkeypatch):
    # The whole history was loaded into the page: each event keeps up to two 100,000-character texts.
    monkeypatch.setattr(selectors, "HISTORY_SHOWN", 3)
    mine, _ = two_accounts
    for version in range(1, 6):
        services.memory_update(principal=ADMIN, memory_id=parse_memory_id(mine), text=f"Version {version}")
    page = logged_in(alice).get(f"/dashboard/memories/{mine}/").content.decode()
    timeline = page[page.index("<h2>History</h2>") :]
    assert "The newest 3 of its 6 events" in timeline
    # The three newest: 4 → 5, 3 → 4, 2 → 3.
    assert [f"Version {n}" in timeline for n in (5, 4, 3, 2, 1)] == [True, True, True, True, False]
    assert "alice likes oolong tea" not in timeline


def test_a_history_of_long_texts_shows_the_start_of_each_and_the_memorys_text_whole(two_accounts, alice):
    # Each event showed its two texts whole: a 100,000-character memory changed 50 times made a 10 MB page that took
    # Chromium 4.3 s to load.
    mine, _ = two_accounts
    for version in range(1, 6):
        text = f"Version {version} begins. " + "long text " * 1_500 + f"Version {version} ends."
        services.memory_update(principal=alice, memory_id=parse_memory_id(mine), text=text)
    page = logged_in(alice).get(f"/dashboard/memories/{mine}/").content.decode()
    form, timeline = page[: page.index("<h2>History</h2>")], page[page.index("<h2>History</h2>") :]
    assert "Version 5 ends." in form  # the edit form holds the text whole
    assert all(f"Version {n} begins." in timeline for n in range(1, 6))
    assert not any(f"Version {n} ends." in timeline for n in range(1, 6))
    assert "GET /memories/" in timeline and "/history" in timeline  # where the whole texts are read
    assert len(timeline) < 50_000


def test_the_memories_list_shows_the_start_of_large_metadata_and_the_memorys_page_all_of_it(alice, embedder):
    # Each row showed its metadata whole: 50 memories of one add carrying 60 KB of metadata made a 3.3 MB page.
    metadata = {f"note{n:03d}": "v" * 500 + f" end of note {n}" for n in range(110)}
    added = services.memories_add(
        principal=alice,
        messages=[services.Message(role="user", content=f"fact {n}") for n in range(50)],
        scope={"user_id": "alice-user"},
        metadata=metadata,
        infer=False,
    )
    client = logged_in(alice)
    listed = client.get("/dashboard/memories/", {"user_id": "alice-user"}).content.decode()
    assert listed.count("fact ") == 50
    assert listed.count("note000") == 50 and "end of note 109" not in listed
    assert len(listed) < 100_000
    shown = client.get(f"/dashboard/memories/{added[0]['id']}/").content.decode()
    assert "end of note 109" in shown


def test_a_scope_id_holding_a_right_to_left_override_is_shown_isolated_from_the_ids_beside_it(alice, make_memory):
    # Unisolated, the override (U+202E) ran on to the end of the line: the agent id's tag after it read backwards.
    memory_id = make_memory("Likes tea", user_id="eve\u202e", principal=alice, scope={"agent_id": "helper"})
    client = logged_in(alice)
    tags = '<span class="tag">user <bdi>eve\u202e</bdi></span><span class="tag">agent <bdi>helper</bdi></span>'
    for page in (client.get("/dashboard/memories/"), client.get(f"/dashboard/memories/{memory_id}/")):
        assert tags in page.content.decode()


def test_a_member_gets_404_for_another_accounts_memory_detail_and_history(two_accounts, alice):
    _, theirs = two_accounts
    client = logged_in(alice)
    assert client.get(f"/dashboard/memories/{theirs}/").status_code == 404
    assert client.post(f"/dashboard/memories/{theirs}/edit/", {"text": "hijacked"}).status_code == 404
    assert client.post(f"/dashboard/memories/{theirs}/delete/").status_code == 404
    assert MemoryHistory.objects.filter(memory_id=theirs).count() == 1


def test_a_deleted_memorys_page_shows_its_history_as_the_delete_said_it_would(two_accounts, alice, bob):
    """The delete said "Memory deleted; its history stays readable", then Back (or the memory's link) showed "Not
    found: there is nothing here, or it is not yours to see", and a second tab's Delete or Save the same 404."""
    mine, _ = two_accounts
    client = logged_in(alice)
    response = client.post(f"/dashboard/memories/{mine}/delete/", follow=True)
    assert "Memory deleted; its history stays readable." in response.content.decode()
    response = client.get(f"/dashboard/memories/{mine}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "This memory was deleted" in page
    timeline = page[page.index("<h2>History</h2>") :]
    assert '<span class="tag">DELETE</span>' in timeline and '<span class="tag">ADD</span>' in timeline
    assert "alice likes oolong tea" in timeline
    assert "Delete memory" not in page and "Save" not in page  # nothing left to change
    # The same memory deleted again from another tab, or saved there: the page says it is gone, nothing changes.
    response = client.post(f"/dashboard/memories/{mine}/delete/", follow=True)
    assert response.redirect_chain[-1][0] == f"/dashboard/memories/{mine}/"
    assert "This memory was already deleted." in response.content.decode()
    response = client.post(f"/dashboard/memories/{mine}/edit/", {"text": "back again"})
    assert response.status_code == 400
    assert "This memory was deleted: nothing was saved." in response.content.decode()
    assert not Memory.objects.filter(id=mine).exists()
    assert MemoryHistory.objects.filter(memory_id=mine).count() == 2
    # Another account's deleted memory stays not found.
    assert logged_in(bob).get(f"/dashboard/memories/{mine}/").status_code == 404
    assert logged_in(bob).post(f"/dashboard/memories/{mine}/delete/").status_code == 404


def test_a_save_refused_because_the_memory_was_deleted_shows_the_text_and_metadata_typed(alice, make_memory):
    """Saved from a page opened before the memory was deleted (in another tab, through the API), the answer said
    "nothing was saved" and showed the deleted memory's history only: the text typed was gone with the form."""
    memory = make_memory("Lives in Berlin", user_id="alice-user", principal=alice)
    client = logged_in(alice)
    services.memory_delete(principal=alice, memory_id=uuid.UUID(str(memory)))
    typed = {"text": "Moved to Lisbon <in May>", "metadata": '{"city": "Lisbon"}'}
    refused = client.post(f"/dashboard/memories/{memory}/edit/", typed)
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "This memory was deleted: nothing was saved." in page
    for name, value in typed.items():
        field = re.search(rf'<textarea id="unsaved-{name}"[^>]*readonly[^>]*>\n?([^<]*)</textarea>', page)
        assert field and html.unescape(field[1]) == value
    assert 'data-copy="#unsaved-text"' in page
    assert "unsaved-" not in client.get(f"/dashboard/memories/{memory}/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_save_for_a_memory_deleted_while_the_save_was_under_way_says_it_was_deleted(alice, make_memory):
    """Deleted after the edit view read the memory, before its update locked it: the answer was the memory's page
    again (a 400, "Memory … not found." over what was typed), offering a Save that could never work, not the page
    saying it was deleted with what was typed to copy."""
    memory = make_memory("Lives in Berlin", user_id="alice-user", principal=alice)
    holder, watcher = other_session(), other_session()
    watcher.autocommit = True
    holder.execute("SELECT 1 FROM memories_memory WHERE id = %s FOR UPDATE", [memory])  # another write, under way
    deleting, _ = in_thread(lambda: logged_in(alice).post(f"/dashboard/memories/{memory}/delete/"))
    wait_until_blocked(watcher, "%FOR UPDATE%")  # the other tab's Delete waits for it, first
    typed = {"text": "Moved to Lisbon", "metadata": '{"city": "Lisbon"}'}
    saving, saved = in_thread(lambda: logged_in(alice).post(f"/dashboard/memories/{memory}/edit/", typed))
    wait_until_blocked(watcher, "%FOR UPDATE%", count=2)  # the Save read the memory, then waits, after the Delete
    holder.rollback()
    deleting.join(timeout=120), saving.join(timeout=120)
    page = saved["response"].content.decode()
    assert saved["response"].status_code == 400
    assert "This memory was deleted: nothing was saved." in page
    field = re.search(r'<textarea id="unsaved-text"[^>]*readonly[^>]*>\n?([^<]*)</textarea>', page)
    assert field and html.unescape(field[1]) == "Moved to Lisbon"
    assert not Memory.objects.filter(id=memory).exists()
    holder.close(), watcher.close()


@pytest.mark.parametrize("path", ["/dashboard/keys/", "/dashboard/setup/key/"])
def test_a_key_form_sent_again_by_a_reload_makes_no_second_key(alice, path):
    # A reload of the page showing the new key sent its form again: a second live key nobody had copied.
    client = logged_in(alice)
    once = once_of(client.get(path).content.decode())
    first = client.post(path, {"label": "laptop", "once": once})
    assert first.status_code == 200 and "m0sk_" in first.content.decode()
    again = client.post(path, {"label": "laptop", "once": once}, follow=True)
    assert APIKey.objects.filter(user=alice).count() == 1
    assert "This form was sent before (a reload, or Back): no second key was created." in again.content.decode()
    assert "m0sk_" not in again.content.decode().replace(f"{APIKey.objects.get().key_prefix}", "")


@pytest.mark.django_db(transaction=True)
def test_a_key_form_sent_twice_at_the_same_instant_makes_one_key(alice):
    # The session remembered the form's token, saved at each request's end: two sends at once (a double click, a
    # reload while the first was running) both found it unsent, and made two live keys.
    client = logged_in(alice)
    once = once_of(client.get("/dashboard/keys/").content.decode())
    together = threading.Barrier(2)

    def send(_) -> str:
        same_session = Client()
        same_session.cookies = client.cookies
        together.wait(timeout=60)
        try:
            return same_session.post("/dashboard/keys/", {"label": "laptop", "once": once}).content.decode()
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as sends:
        pages = list(sends.map(send, range(2)))
    assert APIKey.objects.filter(user=alice).count() == 1
    assert sum("m0sk_" in page and "Copy" in page for page in pages) == 1


def test_the_keys_page_pages_through_every_live_key_newest_first(alice, bob, monkeypatch):
    """It listed every live key of the account on one page: 300 keys made a page of 210 KB, and no bound."""
    from dashboard.views import keys

    monkeypatch.setattr(keys, "LIST_ROWS", 2, raising=False)  # the page had no bound before
    made = [apikey_create(user=alice, label=f"key-{n}")[0] for n in range(5)]
    apikey_create(user=bob, label="bob-key")
    same_instant = timezone.now() - timedelta(days=1)  # two keys made at one instant are paged by id
    APIKey.objects.filter(pk__in=[made[1].pk, made[2].pk]).update(created_at=same_instant)
    APIKey.objects.filter(pk=made[0].pk).update(created_at=same_instant - timedelta(days=1))
    client = logged_in(alice)
    address, seen = "/dashboard/keys/", []
    while address:
        page = client.get(address)
        assert page.status_code == 200
        seen.append(re.findall(r"<td>(key-\d)</td>", page.content.decode()))
        more = re.search(r'<a href="(\?cursor=[^"]+)">Next page of keys', page.content.decode())
        address = "/dashboard/keys/" + html.unescape(more.group(1)) if more else None
    assert seen == [["key-4", "key-3"], ["key-2", "key-1"], ["key-0"]]
    forged = [["2026-01-01T00:00:00+02:00", 1], ["2026-01-01T00:00:00+00:00", 2**63], "not a list"]
    for cursor in ["not-a-cursor"] + [base64.urlsafe_b64encode(json.dumps(key).encode()).decode() for key in forged]:
        refused = client.get("/dashboard/keys/", {"cursor": cursor})
        assert refused.status_code == 400 and "cursor is not valid" in refused.content.decode()
        assert "No live keys." not in refused.content.decode()
    made_anyway = client.post("/dashboard/keys/?cursor=not-a-cursor", {"label": "made-anyway"})
    assert made_anyway.status_code == 400 and "m0sk_" in made_anyway.content.decode()


def test_a_key_revoked_on_a_later_page_comes_back_to_that_page_or_the_last_one_left(alice, monkeypatch):
    """Revoking a key listed on page 2 of the keys sent the browser to page 1: the list's place was lost. The page's
    Revoke forms now come back to the page they were on; when nothing is left on it, to the list's last page."""
    from dashboard.views import keys

    monkeypatch.setattr(keys, "LIST_ROWS", 2)
    for n in range(5):  # newest first: key-4 key-3 | key-2 key-1 | key-0
        apikey_create(user=alice, label=f"key-{n}")
    client = logged_in(alice)

    def listed(page) -> list[str]:
        return re.findall(r"<td>(key-\d)</td>", page.content.decode())

    def next_page(page) -> str:
        more = re.search(r'<a href="(\?cursor=[^"]+)">Next page of keys', page.content.decode())
        return "/dashboard/keys/" + html.unescape(more.group(1))

    def revoke(page, label: str):
        key = APIKey.objects.get(user=alice, label=label)
        action = re.search(rf'action="(/dashboard/keys/{key.pk}/revoke/[^"]*)"', page.content.decode())
        return client.post(html.unescape(action.group(1)), follow=True)

    second = client.get(next_page(client.get("/dashboard/keys/")))
    assert listed(second) == ["key-2", "key-1"]
    back = revoke(second, "key-2")
    assert back.status_code == 200 and "Key revoked" in back.content.decode()
    assert listed(back) == ["key-1", "key-0"]  # page 2 still: key-3 closes page 1
    back = revoke(back, "key-1")
    assert listed(back) == ["key-0"]
    back = revoke(back, "key-0")  # page 2 is empty now: the last page left is page 1
    assert back.status_code == 200 and listed(back) == ["key-4", "key-3"]
    assert "No live keys." not in back.content.decode()


def test_a_search_posted_from_the_page_leaves_its_address_unless_too_long_for_one(two_accounts, alice):
    """The page's search was a GET: gunicorn (make serve) answered a request line over 4094 bytes itself with 414, so
    a search of 3,900 Latin letters or 700 Hebrew ones (MAX_QUERY_CHARS is 4,000) could not be sent."""
    client = logged_in(alice)
    short = client.post(
        "/dashboard/memories/search/", {"query": "tea", "user_id": "alice-user"}, HTTP_HX_REQUEST="true"
    )
    assert short.status_code == 200 and "alice likes oolong tea" in short.content.decode()
    assert short["HX-Push-Url"] == "/dashboard/memories/search/?query=tea&user_id=alice-user"
    pasted = client.get(short["HX-Push-Url"])
    assert pasted.status_code == 200 and "alice likes oolong tea" in pasted.content.decode()
    query = "תה " * 1300  # 3,900 characters, an address of 17,000
    long = client.post("/dashboard/memories/search/", {"query": query, "user_id": "alice-user"}, HTTP_HX_REQUEST="true")
    assert long.status_code == 200 and "search-results" not in long.content.decode()  # the results, not the page
    # Its address names it as kept in this session: it searches again there; elsewhere, the page says to search again.
    assert re.fullmatch(r"/dashboard/memories/search/\?kept=[\w-]+", long["HX-Push-Url"])
    again = client.get(long["HX-Push-Url"]).content.decode()
    assert "Nothing found above the threshold." in again and html.escape(query.strip()) in again
    elsewhere = logged_in(alice).get(long["HX-Push-Url"])
    assert elsewhere.status_code == 200 and "no longer kept: search again" in elsewhere.content.decode()
    # Without htmx (no script), the form's POST answers the whole search page.
    whole = client.post("/dashboard/memories/search/", {"query": "tea", "user_id": "alice-user"})
    assert whole.status_code == 200 and "alice likes oolong tea" in whole.content.decode()
    assert "search-results" in whole.content.decode() and "HX-Push-Url" not in whole


def test_a_member_cannot_revoke_another_accounts_key(two_accounts, alice, bob):
    bob_key = bob.api_keys.get()
    assert logged_in(alice).post(f"/dashboard/keys/{bob_key.pk}/revoke/").status_code == 404
    bob_key.refresh_from_db()
    assert bob_key.revoked_at is None


def test_an_empty_overview_gives_the_commands_that_bring_memories_over_from_mem0(make_user, make_memory):
    user = make_user("o'brien@example.com", password=PASSWORD)
    page = logged_in(user).get("/dashboard/").content.decode()
    assert "Coming from Mem0?" in page
    commands = []
    for snippet in (
        "from-mem0-library",
        "from-mem0-typescript",
        "from-mem0-server",
        "from-mem0-platform",
        "from-mem0-dump",
    ):
        text = html.unescape(re.search(rf'<pre id="{snippet}"><code>(.*?)</code></pre>', page, re.S)[1])
        commands += [shlex.split(line) for line in text.replace("\\\n", " ").splitlines()]
    # Each of this server's commands is one its management command takes as typed, the account being this one (the
    # dump's first command runs where Mem0 does).
    accounts = []
    for words in commands:
        if "manage.py" not in words:
            assert words[:2] == ["python", "mem0_dump.py"]
            continue
        name, arguments = words[words.index("manage.py") + 1], words[words.index("manage.py") + 2 :]
        parsed = load_command_class("exports", name).create_parser("manage.py", name).parse_args(arguments)
        accounts.append(getattr(parsed, "account", user.email))
    assert len(commands) == 7
    assert accounts == [user.email] * 6

    make_memory("likes oolong tea", user_id="u", principal=user)
    assert "Coming from Mem0?" not in logged_in(user).get("/dashboard/").content.decode()


@pytest.mark.parametrize(
    "page",
    [
        "/dashboard/configuration/",
        "/dashboard/users/",
        "/dashboard/memories/delete-scope/?user_id=bob-secret-user",
        "/dashboard/entities/user/bob-secret-user/delete/",
    ],
)
def test_admin_pages_answer_403_to_members(two_accounts, alice, page):
    response = logged_in(alice).get(page)
    assert response.status_code == 403
    assert "for admins" in response.content.decode()


def test_admin_sees_every_accounts_data(two_accounts, admin_user):
    client = logged_in(admin_user)
    assert "bob secret-marker" in client.get("/dashboard/memories/").content.decode()
    assert "bob-secret-user" in client.get("/dashboard/entities/").content.decode()


def test_pages_need_a_login_and_send_to_setup_while_no_account_exists(db):
    assert Client().get("/dashboard/memories/").url == "/dashboard/setup/"
    User.objects.create_user("someone@example.com", password=PASSWORD)
    response = Client().get("/dashboard/memories/")
    assert response.status_code == 302
    assert response.url.startswith("/dashboard/login/?next=")


def test_a_form_sent_once_logged_out_comes_back_to_its_page_after_the_login(db):
    """The session ended while a page was open, then its form was sent: after logging in, the browser went to the
    form's own address, a 405 page. It now goes back to the page the form was on (same origin only)."""
    User.objects.create_user("someone@example.com", password=PASSWORD)
    page = "http://testserver/dashboard/memories/?user_id=alice"
    response = Client().post("/dashboard/memories/add/", {"text": "tea"}, HTTP_REFERER=page)
    assert response.url == "/dashboard/login/?next=" + quote("/dashboard/memories/?user_id=alice", safe="/")
    for elsewhere in ("https://evil.example/dashboard/memories/", "http://testserver/admin/", "not a url"):
        response = Client().post("/dashboard/memories/add/", {"text": "tea"}, HTTP_REFERER=elsewhere)
        assert response.url == "/dashboard/login/?next=/dashboard/memories/add/"


def test_a_form_sent_once_logged_out_says_on_the_login_page_that_it_was_not_sent(alice):
    """Logged out in another tab, a member typed a memory and pressed Add: the login page said only "Log in", and
    after it the memory was not there. The login page now says what happened to the form."""
    page = "http://testserver/dashboard/memories/"
    client = Client()
    response = client.post("/dashboard/memories/add/", {"text": "tea", "user_id": "me"}, HTTP_REFERER=page, follow=True)
    assert response.redirect_chain == [("/dashboard/login/?next=/dashboard/memories/", 302)]
    assert "You are logged out" in response.content.decode()
    assert "what you sent was not saved" in response.content.decode()
    assert not Memory.objects.exists()
    # Said once: the login page opened again, or a bookmark opened while logged out, says nothing of a form.
    assert "You are logged out" not in client.get("/dashboard/login/").content.decode()
    assert "You are logged out" not in Client().get("/dashboard/keys/", follow=True).content.decode()
    # A search from the memories page (htmx): the browser goes to the login page, which says why.
    client = Client()
    response = client.get("/dashboard/memories/search/?query=tea&user_id=me", HTTP_HX_REQUEST="true")
    assert "log in, then try again" in client.get(response["HX-Redirect"]).content.decode()


@pytest.mark.parametrize(
    "session_key",
    [
        '"abcdefgh\\000ijklmnop"',  # a quoted cookie's octal escape: a NUL, which PostgreSQL cannot compare
        '"abcdefgh\\377ijklmnop"',
        "not-a-key-but-long-enough",
        "abc",
    ],
)
def test_a_session_cookie_the_server_never_made_is_a_login_page_not_an_error(admin_user, key_client, session_key):
    browser = Client(HTTP_COOKIE=f"sessionid={session_key}")
    for path in ("/dashboard/", "/dashboard/memories/", "/admin/"):
        response = browser.get(path)
        assert response.status_code == 302 and "login" in response["Location"], path
    response = browser.post("/dashboard/imports/", {"file": ""})
    assert response.status_code == 302 and "login" in response["Location"]
    api = key_client(admin_user)
    assert api.get("/memories", {"user_id": "alice"}, HTTP_COOKIE=f"sessionid={session_key}").status_code == 200


def test_setup_is_refused_once_an_account_exists(admin_user):
    response = Client().post(
        "/dashboard/setup/", {"name": "Eve", "email": "eve@example.com", "password": "another passphrase"}
    )
    assert response.status_code == 302
    assert not User.objects.filter(email="eve@example.com").exists()


def test_login_needs_a_csrf_token(admin_user):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/dashboard/login/", {"username": "admin@example.com", "password": PASSWORD})
    assert response.status_code == 403
    # Django's own page said only "CSRF verification failed. Request aborted."
    assert "without the dashboard's cookie" in response.content.decode()


def form_token(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()).group(1)


def test_a_form_from_a_page_opened_before_the_last_login_says_to_open_it_again_and_changes_nothing(alice):
    browser = Client(enforce_csrf_checks=True)
    older_tab = form_token(browser.get("/dashboard/login/"))
    login = {"username": "alice@example.com", "password": PASSWORD}
    other_tab = form_token(browser.get("/dashboard/login/"))
    assert browser.post("/dashboard/login/", login | {"csrfmiddlewaretoken": other_tab}).status_code == 302
    # The login changed the browser's CSRF cookie: the older tab's form, sent now, is refused.
    response = browser.post(
        "/dashboard/login/",
        login | {"csrfmiddlewaretoken": older_tab},
        HTTP_REFERER="http://testserver/dashboard/login/",
    )
    page = response.content.decode()
    assert response.status_code == 403
    assert "is out of date: you logged in since it was opened" in page
    assert 'href="http://testserver/dashboard/login/"' in page
    keys = browser.get("/dashboard/keys/")
    response = browser.post("/dashboard/keys/", {"label": "k", "csrfmiddlewaretoken": older_tab})
    assert response.status_code == 403 and "is out of date" in response.content.decode()
    assert not APIKey.objects.filter(user=alice).exists()
    assert browser.post("/dashboard/keys/", {"label": "k", "csrfmiddlewaretoken": form_token(keys)}).status_code == 200


def test_a_form_sent_from_an_address_the_server_does_not_trust_names_csrf_trusted_origins(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    token = form_token(browser.get("/dashboard/keys/"))
    response = browser.post(
        "/dashboard/keys/", {"label": "k", "csrfmiddlewaretoken": token}, HTTP_ORIGIN="https://mem0.example.com"
    )
    page = response.content.decode()
    assert response.status_code == 403
    assert "opened at, https://mem0.example.com." in page and "CSRF_TRUSTED_ORIGINS" in page
    assert not APIKey.objects.filter(user=alice).exists()


def test_the_django_admin_keeps_djangos_csrf_page(admin_user):
    response = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403 and "CSRF verification failed" in response.content.decode()


def test_the_users_page_is_paged_as_the_other_lists(admin_user, make_user, monkeypatch):
    # Every account was listed on one page, however many there were.
    for i in range(4):
        make_user(f"user{i}@example.com")
    admins = logged_in(admin_user)
    for page in ("0", "first"):
        refused = admins.get("/dashboard/users/", {"page": page})
        assert refused.status_code == 400 and "Page: " in refused.content.decode()
    monkeypatch.setattr("dashboard.views.admin.PAGE_SIZE", 2)  # fifty to a page: two here

    def emails(response) -> list[str]:
        return re.findall(r"<td>([^<]+@example\.com)</td>", response.content.decode())

    first = admins.get("/dashboard/users/")
    assert emails(first) == ["admin@example.com", "user0@example.com"]
    assert "5 accounts." in first.content.decode() and 'href="?page=2">Next →' in first.content.decode()
    last = admins.get("/dashboard/users/", {"page": 3})
    assert emails(last) == ["user3@example.com"]
    assert 'href="?page=2">← Previous' in last.content.decode() and "Next →" not in last.content.decode()


def test_a_change_made_on_a_later_users_page_comes_back_to_that_page(admin_user, make_user, monkeypatch):
    # Deactivating, reactivating or setting a password on page 3 sent the admin back to page 1.
    for i in range(4):
        make_user(f"user{i}@example.com")
    monkeypatch.setattr("dashboard.views.admin.PAGE_SIZE", 2)
    admins = logged_in(admin_user)
    page = admins.get("/dashboard/users/", {"page": 3}).content.decode()
    user3 = User.objects.get(email="user3@example.com")
    active, password = f"/dashboard/users/{user3.pk}/active/?page=3", f"/dashboard/users/{user3.pk}/password/?page=3"
    assert f'action="{active}"' in page and f'action="{password}"' in page
    done = admins.post(active, {"active": "no"})
    assert (done.status_code, done["Location"]) == (302, "/dashboard/users/?page=3")
    done = admins.post(password, {"new_password": "another long passphrase"})
    assert (done.status_code, done["Location"]) == (302, "/dashboard/users/?page=3")
    refused = admins.post(active, {"active": "maybe"})  # refused: the same page again, saying why
    assert refused.status_code == 400 and "user3@example.com" in refused.content.decode()
    first = admins.get("/dashboard/users/").content.decode()  # on the first page the addresses stay plain
    assert f'action="/dashboard/users/{User.objects.get(email="user0@example.com").pk}/active/"' in first


def test_an_admin_deactivates_an_account_which_can_no_longer_log_in(admin_user, alice):
    response = logged_in(admin_user).post(f"/dashboard/users/{alice.pk}/active/", {"active": "no"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert not alice.is_active
    login = Client().post("/dashboard/login/", {"username": "alice@example.com", "password": PASSWORD})
    assert login.status_code == 400  # the form again, with an error
    assert "_auth_user_id" not in login.client.session


def test_a_deactivated_accounts_sessions_end_and_do_not_come_back_when_it_is_reactivated(admin_user, alice):
    alices, admins = logged_in(alice), logged_in(admin_user)
    assert alices.get("/dashboard/memories/").status_code == 200
    admins.post(f"/dashboard/users/{alice.pk}/active/", {"active": "no"})
    admins.post(f"/dashboard/users/{alice.pk}/active/", {"active": "yes"})
    response = alices.get("/dashboard/memories/")
    assert response.status_code == 302 and "/dashboard/login/" in response["Location"]
    assert admins.get("/dashboard/memories/").status_code == 200  # other accounts' sessions stay


def test_an_access_token_from_before_a_deactivation_stays_refused_when_the_account_is_reactivated(admin_user, alice):
    tokens = APIClient().post("/auth/login", {"email": alice.email, "password": PASSWORD}, format="json").json()
    alices = APIClient()
    alices.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert alices.get("/auth/me").status_code == 200
    admins = logged_in(admin_user)
    admins.post(f"/dashboard/users/{alice.pk}/active/", {"active": "no"})
    admins.post(f"/dashboard/users/{alice.pk}/active/", {"active": "yes"})
    response = alices.get("/auth/me")
    assert response.status_code == 401 and response.json()["detail"] == "Invalid or expired access token."
    again = APIClient().post("/auth/login", {"email": alice.email, "password": PASSWORD}, format="json").json()
    alices.credentials(HTTP_AUTHORIZATION=f"Bearer {again['access_token']}")
    assert alices.get("/auth/me").status_code == 200  # a login after the reactivation works


def test_an_admin_resets_a_password_and_the_old_one_stops_working(admin_user, alice):
    logged_in(admin_user).post(f"/dashboard/users/{alice.pk}/password/", {"new_password": "a brand new passphrase"})
    alice.refresh_from_db()
    assert alice.check_password("a brand new passphrase")
    assert not alice.check_password(PASSWORD)


def test_an_admin_cannot_deactivate_itself_from_the_users_page(admin_user):
    logged_in(admin_user).post(f"/dashboard/users/{admin_user.pk}/active/", {"active": "no"})
    admin_user.refresh_from_db()
    assert admin_user.is_active


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("action", "form"), [("active", {"active": "no"}), ("password", {"new_password": "a brand new passphrase"})]
)
def test_an_account_deleted_while_an_admin_changes_it_is_not_found(admin_user, alice, action, form):
    """Deleted (the Django admin, another admin) after the users page's action read the account, before its update
    wrote: the update changed no row, and Django's save raised it, a 500."""
    admins = logged_in(admin_user)
    holder, watcher = other_session(), other_session()
    watcher.autocommit = True
    holder.execute(f"DELETE FROM {User._meta.db_table} WHERE id = %s", [alice.pk])  # noqa: S608  # under way, uncommitted
    changing, changed = in_thread(lambda: admins.post(f"/dashboard/users/{alice.pk}/{action}/", form))
    wait_until_blocked(watcher, f"%{User._meta.db_table}%")  # the action waits for the deleted row
    holder.commit()
    changing.join(timeout=120)
    assert changed["response"].status_code == 404
    assert not User.objects.filter(pk=alice.pk).exists()
    holder.close(), watcher.close()


def test_creating_an_account_with_a_taken_email_says_so(admin_user, alice):
    response = logged_in(admin_user).post(
        "/dashboard/users/", {"email": "ALICE@example.com", "password": PASSWORD, "role": "member"}
    )
    assert response.status_code == 400
    assert "already in use" in response.content.decode()


def test_settings_change_the_profile_and_the_password_keeping_the_session(alice):
    client = logged_in(alice)
    client.post("/dashboard/settings/", {"form": "profile", "name": "Alice A.", "email": "alice@example.com"})
    response = client.post(
        "/dashboard/settings/",
        {"form": "password", "current_password": PASSWORD, "new_password": "another long passphrase"},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.name == "Alice A."
    assert alice.check_password("another long passphrase")
    assert client.get("/dashboard/settings/").status_code == 200  # still logged in


def test_a_wrong_current_password_is_refused_in_settings(alice):
    response = logged_in(alice).post(
        "/dashboard/settings/", {"form": "password", "current_password": "wrong", "new_password": "x" * 12}
    )
    assert "Current password is incorrect." in response.content.decode()


def test_password_guesses_in_settings_are_limited_as_through_the_api(alice):
    client = logged_in(alice)
    for _ in range(5):  # the "change_password" rate: 5 a minute per account
        guess = {"form": "password", "current_password": "wrong", "new_password": "x" * 12}
        assert client.post("/dashboard/settings/", guess).status_code == 400
    right = {"form": "password", "current_password": PASSWORD, "new_password": "another long passphrase"}
    response = client.post("/dashboard/settings/", right)
    assert response.status_code == 429
    assert "Too many password attempts" in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_an_admin_deletes_an_entity_after_the_confirmation_step(two_accounts, admin_user):
    client = logged_in(admin_user)
    confirm = client.get("/dashboard/entities/user/bob-secret-user/delete/")
    assert "all <strong>1</strong> memory" in confirm.content.decode()
    assert client.post("/dashboard/entities/user/bob-secret-user/delete/").status_code == 302
    assert "bob-secret-user" not in [entity.id for entity in client.get("/dashboard/entities/").context["entities"]]


def test_an_entity_deleted_from_a_list_of_one_type_comes_back_to_that_list_and_page(admin_user, embedder, monkeypatch):
    """Deleting an agent from the Entities page filtered to agents came back to the list of every type, page 1: the
    filter and the page were lost, and so was the confirmation's Cancel. The Delete… link carries the list's type and
    page through the confirmation; a page left empty by the delete gives way to the type's first page."""
    from dashboard.views import entities

    monkeypatch.setattr(entities, "LIST_ROWS", 2)
    vector = embedder.embed(["a memory"])[0]
    Memory.objects.bulk_create(
        Memory(account=admin_user, text="a memory", hash="0" * 32, embedding=vector, **scope)
        for scope in [{"user_id": "user-0"}] + [{"agent_id": f"agent-{n}"} for n in range(5)]
    )
    client = logged_in(admin_user)

    def listed(page) -> list[str]:
        return [entity.id for entity in page.context["entities"]]

    def delete(page, entity_id: str):
        link = re.search(rf'href="(/dashboard/entities/agent/{entity_id}/delete/[^"]*)"', page.content.decode())
        confirm = client.get(html.unescape(link.group(1)))
        cancel = re.search(r'href="([^"]*)">Cancel</a>', confirm.content.decode())
        assert listed(client.get(html.unescape(cancel.group(1)))) == listed(page)
        # The confirmation's form posts to the page's own address, as a browser sends it.
        return client.post(html.unescape(link.group(1)), follow=True)

    first = client.get("/dashboard/entities/?type=agent")
    assert listed(first) == ["agent-0", "agent-1"]
    back = delete(first, "agent-0")
    assert "Deleted agent" in back.content.decode() and listed(back) == ["agent-1", "agent-2"]
    assert back.context["type"] == "agent"
    more = re.search(r'<a href="(\?[^"]+)">Next \d+ entities', back.content.decode())
    second = client.get("/dashboard/entities/" + html.unescape(more.group(1)))
    assert listed(second) == ["agent-3", "agent-4"]
    back = delete(second, "agent-3")
    assert listed(back) == ["agent-4"] and back.context["type"] == "agent"
    back = delete(back, "agent-4")  # nothing left on page 2: the agents' first page
    assert listed(back) == ["agent-1", "agent-2"] and back.context["type"] == "agent"


def test_an_id_with_a_direction_override_is_isolated_in_the_delete_confirmations(admin_user, alice, make_memory):
    # U+202E in a user_id reversed the rest of "Delete user “…”?" and "… memories of user_id “…”." in the browser.
    evil = "\u202eevil<b>"
    make_memory("likes tea", user_id=evil, principal=alice)
    client = logged_in(admin_user)
    entity = client.get(f"/dashboard/entities/user/{quote(evil)}/delete/").content.decode()
    assert "<h1>Delete user “<bdi>\u202eevil&lt;b&gt;</bdi>”?</h1>" in entity
    done = client.post(f"/dashboard/entities/user/{quote(evil)}/delete/", follow=True).content.decode()
    assert "Deleted user <bdi>\u202eevil&lt;b&gt;</bdi> and its 1 memory." in done
    make_memory("likes tea", user_id=evil, principal=alice)
    scope = client.post("/dashboard/memories/delete-scope/", {"user_id": evil}).content.decode()
    assert "memory of user_id “<bdi>\u202eevil&lt;b&gt;</bdi>”." in scope
    apikey_create(user=admin_user, label=evil)
    keys = client.get("/dashboard/keys/").content.decode()
    assert 'data-confirm="Revoke “\u2068\u202eevil&lt;b&gt;\u2069”?' in keys


def test_back_to_a_deleted_entitys_confirmation_says_it_has_no_memories_left_with_a_link_to_entities(
    two_accounts, admin_user
):
    # Back after deleting (or the same POST sent again) showed the plain "Not found" page.
    client = logged_in(admin_user)
    url = "/dashboard/entities/user/bob-secret-user/delete/"
    assert client.post(url).status_code == 302
    for again in (client.get(url), client.post(url)):
        assert again.status_code == 404
        page = again.content.decode()
        assert "User “<bdi>bob-secret-user</bdi>” has no memories left" in page
        assert '<a href="/dashboard/entities/">' in page and "Not found" not in page
    # A type the page does not know is still the plain 404.
    assert "Not found" in client.get("/dashboard/entities/planet/x/delete/").content.decode()


def test_an_admin_deletes_a_scope_only_after_confirming(two_accounts, admin_user):
    client = logged_in(admin_user)
    asked = client.post("/dashboard/memories/delete-scope/", {"user_id": "alice-user"})
    assert "This deletes <strong>1</strong> memory" in asked.content.decode()
    assert "alice likes oolong tea" in client.get("/dashboard/memories/").content.decode()
    done = client.post("/dashboard/memories/delete-scope/", {"user_id": "alice-user", "confirm": "yes"}, follow=True)
    # Its account's add for alice, failed (no LLM) and waiting to be queued again, is dropped with them.
    assert "Deleted 1 memory and 1 unfinished add." in done.content.decode()
    assert "alice likes oolong tea" not in client.get("/dashboard/memories/").content.decode()


def test_deleting_a_scope_from_a_filtered_list_says_the_filters_do_not_apply(admin_user, make_memory):
    """The list filtered by metadata said "No memories match."; its "Delete this scope…" then asked "This deletes 3
    memories of user_id “<bdi>u</bdi>” ." without a word that the filters it was opened with were dropped."""
    for n in range(3):
        make_memory(f"fact {n}", user_id="u", metadata={"n": n})
    client = logged_in(admin_user)
    listed = client.get("/dashboard/memories/", {"user_id": "u", "filters": '{"n": 7}'}).content.decode()
    assert "No memories match." in listed
    link = html.unescape(re.search(r'href="(/dashboard/memories/delete-scope/\?[^"]*)"', listed).group(1))
    asked = " ".join(client.get(link).content.decode().split())
    assert "This deletes <strong>3</strong> memories of user_id “<bdi>u</bdi>”. Their history stays readable." in asked
    assert "The list's metadata filters do not apply here: every memory of this scope is deleted" in asked
    asked = " ".join(client.get(link.replace("filters=", "x=")).content.decode().split())
    assert "This deletes <strong>3</strong> memories of user_id “<bdi>u</bdi>”." in asked
    assert "metadata filters" not in asked
    assert Memory.objects.count() == 3


def test_bad_filters_and_a_search_without_scope_are_explained_not_500(alice):
    client = logged_in(alice)
    assert "not valid JSON" in client.get("/dashboard/memories/?filters={oops").content.decode()
    assert "Search needs a scope" in client.get("/dashboard/memories/search/?query=tea").content.decode()
    assert client.get("/dashboard/memories/not-a-uuid/").status_code == 404
    assert client.get("/dashboard/memories/?cursor=garbage").status_code == 400
    # A zone PostgreSQL cannot read (Python can): it was a DataError, and the page a 500.
    forged = base64.urlsafe_b64encode(json.dumps(["2024-01-01T00:00:00+23:00", str(uuid.uuid4())]).encode())
    page = client.get("/dashboard/memories/", {"cursor": forged.decode()})
    assert page.status_code == 400 and "cursor is not valid" in page.content.decode()


def test_login_attempts_share_the_api_logins_rate_limit(admin_user):
    client = Client()
    answers = [
        client.post("/dashboard/login/", {"username": "admin@example.com", "password": "wrong"}).status_code
        for _ in range(11)
    ]
    assert answers[:10] == [400] * 10  # the form again, with an error
    assert answers[10] == 429
    api_login = client.post(
        "/auth/login", {"email": "admin@example.com", "password": PASSWORD}, content_type="application/json"
    )
    assert api_login.status_code == 429


def test_a_login_refused_for_too_many_attempts_keeps_the_email_and_the_page_asked_for(admin_user):
    """The 429 answer showed the form empty, and without the page to go to after logging in: the email had to be typed
    again, and the login that then went through landed on the overview, not the page asked for."""
    client = Client()
    sent = {"username": "Admin@Example.com", "password": "wrong", "next": "/dashboard/keys/"}
    for _ in range(10):
        assert client.post("/dashboard/login/", sent).status_code == 400
    throttled = client.post("/dashboard/login/", sent)
    assert throttled.status_code == 429 and "Too many login attempts" in throttled.content.decode()
    page = throttled.content.decode()
    assert re.search(r'<input type="text" name="username" [^>]*value="Admin@Example.com"', page)
    assert '<input type="hidden" name="next" value="/dashboard/keys/">' in page
    assert 'value="wrong"' not in page  # a password is never shown back


def test_an_admin_switches_the_llm_from_the_configuration_page(admin_user):
    from memories.configuration import server_config_get

    response = logged_in(admin_user).post(
        "/dashboard/configuration/",
        {
            "llm_provider": "ollama",
            "llm_model": "llama3.1",
            "llm_base_url": "http://127.0.0.1:11434/v1",
            "embedder_provider": "local",
            "embedder_model": "all-MiniLM-L6-v2",
            "embedder_dims": "384",
        },
    )
    assert response.status_code == 302, response.content.decode()
    config = server_config_get()
    assert (config["llm"]["provider"], config["llm"]["config"]["model"]) == ("ollama", "llama3.1")
    assert config["status"]["inference_enabled"]


def test_an_admin_turns_image_descriptions_on_and_off_from_the_configuration_page(admin_user):
    from memories.configuration import server_config_get

    client = logged_in(admin_user)
    form = {
        "llm_provider": "ollama",
        "llm_model": "llava",
        "llm_base_url": "http://127.0.0.1:11434/v1",
        "embedder_provider": "local",
    }
    assert client.post("/dashboard/configuration/", {**form, "llm_vision": "on"}).status_code == 302
    assert server_config_get()["llm"]["config"]["enable_vision"] is True
    page = client.get("/dashboard/configuration/").content.decode()
    assert re.search(r'<input type="checkbox" name="llm_vision"[^>]* checked', page), page
    assert client.post("/dashboard/configuration/", form).status_code == 302  # the box unticked
    assert server_config_get()["llm"]["config"]["enable_vision"] is False


def test_the_describe_images_box_shows_llm_vision_in_force_for_an_llm_set_without_it(admin_user, settings):
    from memories.configuration import server_config_set

    settings.LLM_VISION = True
    section = {"model": "llava", "openai_base_url": "http://127.0.0.1:11434/v1"}
    server_config_set(changes={"llm": {"provider": "ollama", "config": section}})  # a new provider starts afresh
    page = logged_in(admin_user).get("/dashboard/configuration/").content.decode()
    assert re.search(r'<input type="checkbox" name="llm_vision"[^>]* checked', page), page


@pytest.mark.parametrize(
    "base_url",
    [
        "https://llm.example/openai/deployments/chat?api-version=2024-02-01",  # was stored with "[redacted]" in it
        "https://proxy-user:proxy-pass@llm.example/v1",  # was refused: "Enter a valid URL"
    ],
)
def test_saving_the_configuration_page_as_shown_keeps_the_masked_base_url_and_the_key(admin_user, base_url):
    from memories.configuration import server_config_get, server_config_set
    from memories.models import ServerConfig

    server_config_set(
        changes={"llm": {"provider": "openai", "config": {"openai_base_url": base_url, "api_key": "sk-stored-key"}}}
    )
    client = logged_in(admin_user)
    shown = server_config_get()["llm"]["config"]["openai_base_url"]
    assert "[redacted]" in shown and escape(shown) in client.get("/dashboard/configuration/").content.decode()
    response = client.post(
        "/dashboard/configuration/",
        # The form as the page fills it in, with only the model changed and the key left blank.
        {"llm_provider": "openai", "llm_model": "gpt-4.1-mini", "llm_base_url": shown, "embedder_provider": "local"},
    )
    assert response.status_code == 302, response.content.decode()
    llm = ServerConfig.objects.get(pk=1).config["llm"]["config"]
    assert llm == {"model": "gpt-4.1-mini", "openai_base_url": base_url, "api_key": "sk-stored-key"}


def test_a_configuration_page_opened_before_its_base_url_was_changed_does_not_store_the_masked_url(admin_user):
    """Opened, then the base URL changed (another admin, POST /configure), then saved as shown: the masked URL stood
    for none in force any more, and was stored as shown, "[redacted]" and all, to be sent to the provider."""
    from memories.configuration import server_config_get, server_config_set
    from memories.models import ServerConfig

    base_url = "https://llm.example/openai/deployments/chat?api-version=2024-02-01"
    server_config_set(
        changes={"llm": {"provider": "openai", "config": {"openai_base_url": base_url, "api_key": "sk-a"}}}
    )
    client = logged_in(admin_user)
    shown = server_config_get()["llm"]["config"]["openai_base_url"]
    assert escape(shown) in client.get("/dashboard/configuration/").content.decode()
    moved = {"openai_base_url": "https://other.example/v1?api-version=2025-01-01", "api_key": "sk-b"}
    server_config_set(changes={"llm": {"provider": "openai", "config": moved}})  # meanwhile
    form = {"llm_provider": "openai", "llm_model": "gpt-4.1-mini", "llm_base_url": shown, "embedder_provider": "local"}
    refused = client.post("/dashboard/configuration/", form)
    assert refused.status_code == 400
    assert "no longer stands for the URL in force" in html.unescape(refused.content.decode())
    assert ServerConfig.objects.get(pk=1).config["llm"]["config"] == moved  # nothing saved
    typed = form | {"llm_base_url": "https://llm.example/v1?api-version=2024-02-01"}  # given in full, it is saved
    assert client.post("/dashboard/configuration/", typed).status_code == 302


@pytest.mark.parametrize("page", ["/dashboard/configuration/", "/dashboard/setup/models/"])
def test_a_configuration_refused_shows_the_api_key_typed_so_saving_it_mended_saves_that_key(admin_user, page):
    """A new LLM key typed with a value refused (dimensions over 2,000, say) came back blank, and blank keeps the
    key in force: the Save of the mended form, as the page showed it, silently kept the old key (or was refused for
    having none). The refused form now shows the key typed, as it shows every other value."""
    from memories.configuration import server_config_set
    from memories.models import ServerConfig

    server_config_set(changes={"llm": {"provider": "openai", "config": {"api_key": "sk-old-key"}}})
    client = logged_in(admin_user)
    typed = {
        "llm_provider": "openai",
        "llm_model": "gpt-4.1-mini",
        "llm_api_key": "sk-new-key",
        "embedder_provider": "local",
        "embedder_dims": "2001",
    }
    refused = client.post(page, typed)
    assert refused.status_code == 400
    key_field = re.search(r'<input type="password" name="llm_api_key"[^>]*>', refused.content.decode())[0]
    shown = re.search(r'value="([^"]*)"', key_field)
    assert shown and html.unescape(shown[1]) == "sk-new-key"
    mended = {**typed, "llm_api_key": html.unescape(shown[1]), "embedder_dims": ""}
    assert client.post(page, mended).status_code == 302
    assert ServerConfig.objects.get(pk=1).config["llm"]["config"]["api_key"] == "sk-new-key"
    assert 'name="llm_api_key"' in client.get(page).content.decode()
    assert "sk-new-key" not in client.get(page).content.decode()  # a page opened shows no key, as before


def test_the_setup_wizard_sets_the_llm_in_its_models_step(admin_user):
    from memories.configuration import server_config_get

    client = logged_in(admin_user)
    step = client.get("/dashboard/setup/models/").content.decode()
    assert 'name="llm_api_key"' in step and "Test the saved configuration" in step  # the Configuration page's form
    response = client.post(
        "/dashboard/setup/models/",
        {
            "llm_provider": "openai",
            "llm_model": "gpt-4.1-mini",
            "llm_api_key": "sk-typed-in-the-wizard",
            "embedder_provider": "local",
            "embedder_model": "all-MiniLM-L6-v2",
        },
    )
    assert (response.status_code, response.url) == (302, "/dashboard/setup/models/")
    config = server_config_get()
    assert config["status"]["inference_enabled"], config["status"]
    page = client.get("/dashboard/setup/models/").content.decode()
    assert "Configuration saved" in page
    assert "sk-typed-in-the-wizard" not in page


def test_the_setup_models_step_does_not_say_the_environment_sets_a_configuration_changed_since(admin_user, alice):
    """Saved in the wizard (or on the Configuration page), the model configuration in force is no longer the
    environment's, though the step's first sentence said it was, to the admin and to a member."""
    from memories.configuration import server_config_set

    server_config_set(changes={"llm": {"provider": "ollama", "config": {"model": "llama3.1"}}})
    for user in (admin_user, alice):
        page = html.unescape(logged_in(user).get("/dashboard/setup/models/").content.decode())
        assert "ollama · llama3.1" in page and "changed 1 time from the environment's" in page
        assert "in force, from the environment" not in page and "The environment sets it" not in page


def test_a_member_sees_the_setup_models_step_but_cannot_change_it(alice):
    from memories.configuration import server_config_get

    client = logged_in(alice)
    step = client.get("/dashboard/setup/models/")
    assert step.status_code == 200 and 'name="llm_api_key"' not in step.content.decode()
    before = server_config_get()
    refused = client.post("/dashboard/setup/models/", {"llm_provider": "ollama", "embedder_provider": "local"})
    assert refused.status_code == 403
    assert server_config_get() == before


def test_the_connection_test_shows_the_embedders_base_url_masked(admin_user):
    from memories.configuration import server_config_set
    from memories.tests.fake_openai import FakeOpenAI

    with FakeOpenAI() as fake:
        url = fake.url.replace("http://", "http://proxy-user:pw-SECRET-1@")
        section = {"model": "fake-embed", "embedding_dims": fake.dims, "openai_base_url": url, "api_key": "sk-x"}
        server_config_set(changes={"embedder": {"provider": "openai", "config": section}})
        page = logged_in(admin_user).post("/dashboard/configuration/test/").content.decode()
    assert "answered (64 dims)" in page
    assert "pw-SECRET-1" not in page
    assert "proxy-user:[redacted]@" in page


def test_the_connection_test_tries_the_forms_settings_before_they_are_saved(admin_user):
    from memories.configuration import server_config_get, server_config_set
    from memories.tests.fake_openai import FakeOpenAI

    client = logged_in(admin_user)
    with FakeOpenAI() as stored, FakeOpenAI() as typed:
        section = {"model": "stored-model", "openai_base_url": stored.url, "api_key": "sk-stored-key"}
        server_config_set(changes={"llm": {"provider": "openai", "config": section}})
        before = server_config_get()
        form = {
            "llm_provider": "openai",
            "llm_model": "typed-model",
            "llm_base_url": typed.url,
            "embedder_provider": "local",
        }
        page = html.unescape(client.post("/dashboard/configuration/test/", form).content.decode())
        assert "These settings, not saved:" in page
        assert f"<strong>llm</strong>: OK — openai: model typed-model at {typed.url}" in page, page
        assert "<strong>embedder</strong>: OK" in page
        assert server_config_get() == before  # nothing saved
        assert stored.chat_calls() == []
        # The stored key stays with the stored address: a base URL typed without a key does not get it.
        [call] = typed.chat_calls()
        assert "sk-stored-key" not in call.headers.get("authorization", "")
        # A model that does not answer fails its line; settings that could not be saved are a 400 saying why.
        gone = {**form, "llm_base_url": "http://127.0.0.1:9/v1"}
        failed = html.unescape(client.post("/dashboard/configuration/test/", gone).content.decode())
        assert "<strong>llm</strong>: failed — The LLM provider" in failed and "could not be reached. Check" in failed
        assert "nothing was stored" not in failed  # the add's wording: a test stores nothing either way
        refused = client.post("/dashboard/configuration/test/", {**form, "llm_api_key": "sk-\u2026"})
        assert refused.status_code == 400
        assert "llm.config.api_key: Must be printable ASCII" in html.unescape(refused.content.decode())
        odd = client.post("/dashboard/configuration/test/", {**form, "llm_provider": "skynet"})
        assert odd.status_code == 400 and "LLM provider: Select a valid choice." in html.unescape(odd.content.decode())
        assert server_config_get() == before


def test_trying_an_embedder_of_another_size_says_the_stored_memories_keep_it_from_being_saved(admin_user, make_memory):
    from memories.tests.fake_openai import FakeOpenAI

    make_memory("Likes green tea")
    with FakeOpenAI(dims=64) as embedder:
        form = {
            "llm_provider": "ollama",
            "llm_model": "llama3.1",
            "llm_base_url": "http://127.0.0.1:9/v1",
            "embedder_provider": "openai",
            "embedder_model": "fake-embed",
            "embedder_base_url": embedder.url,
            "embedder_dims": "64",
        }
        page = html.unescape(logged_in(admin_user).post("/dashboard/configuration/test/", form).content.decode())
    assert (
        "<strong>embedder</strong>: failed — The embedder makes 64-dimensional vectors, but the stored memories "
        in page
    )
    assert embedder.embed_calls() == []


def test_with_image_descriptions_on_the_connection_test_asks_the_model_to_describe_an_image(admin_user):
    with llm_configured(vision=True) as llm:
        llm.describe = lambda url: "A single red pixel"
        page = html.unescape(logged_in(admin_user).post("/dashboard/configuration/test/").content.decode())
        [asked] = llm.described()
        llm.chat_queue.extend(
            [text("OK"), failure(400, "Invalid content type. image_url is only supported by certain models")]
        )
        refused = html.unescape(logged_in(admin_user).post("/dashboard/configuration/test/").content.decode())
    assert "<strong>images</strong>: OK — described a one-pixel image: 'A single red pixel'." in page
    assert asked.startswith("data:image/png;base64,")
    assert "<strong>llm</strong>: OK" in refused
    assert "<strong>images</strong>: failed" in refused and "the model may not read images" in refused


@pytest.mark.parametrize("page", ["/dashboard/configuration/", "/dashboard/setup/models/"])
def test_a_configuration_the_server_cannot_use_is_explained(admin_user, page):
    response = logged_in(admin_user).post(
        page,
        {"llm_provider": "openai", "embedder_provider": "local", "embedder_model": "other-model"},
    )
    assert response.status_code == 400
    assert "embedder" in response.content.decode()


def test_a_value_post_configure_refuses_is_named_on_the_configuration_page_as_its_400_names_it(admin_user):
    form = {"llm_provider": "openai", "llm_api_key": "sk-…", "embedder_provider": "local"}  # a pasted placeholder
    response = logged_in(admin_user).post("/dashboard/configuration/", form)
    assert response.status_code == 400
    assert "llm.config.api_key: Must be printable ASCII without spaces" in html.unescape(response.content.decode())


def field_errors(page: str, label: str) -> str:
    """The text of what a form's field labelled `label` says is wrong with it ("" for nothing)."""
    field = re.search(
        rf'<div class="field[^"]*">\s*<label for="[^"]+">{re.escape(label)}</label>(.*?)</div>', page, re.S
    )
    return " ".join(re.findall(r'<p class="error"[^>]*>(.*?)</p>', field.group(1))) if field else ""


@pytest.mark.parametrize("page", ["/dashboard/configuration/", "/dashboard/setup/models/"])
def test_a_setting_the_configuration_refuses_is_said_beside_its_field(admin_user, page):
    # They were said above the form, naming the setting by its place in POST /configure's body only
    # ("llm.config.api_key"), the keyboard's focus on the form's first field (LLM provider).
    client = logged_in(admin_user)
    no_key = client.post(page, {"llm_provider": "openai", "llm_model": "gpt-4.1-mini", "embedder_provider": "local"})
    assert no_key.status_code == 400
    shown = html.unescape(no_key.content.decode())
    assert "llm.config.api_key: required for provider openai" in field_errors(shown, "LLM API key")
    assert field_errors(shown, "LLM provider") == ""
    too_large = client.post(page, {"llm_provider": "openai", "embedder_provider": "local", "embedder_dims": "2001"})
    assert too_large.status_code == 400
    shown = html.unescape(too_large.content.decode())
    assert "less than or equal to 2000" in field_errors(shown, "Embedding dimensions")


def test_a_memorys_page_shows_its_categories(two_accounts, alice):
    mine, _ = two_accounts
    Memory.objects.filter(id=mine).update(categories=["food", "user_preferences"])
    page = logged_in(alice).get(f"/dashboard/memories/{mine}/").content.decode()
    assert "<dt>Categories</dt><dd>food, user_preferences</dd>" in page


DEEP = "[" * 100_000 + "]" * 100_000
# JSON the REST API refuses: not-a-number constants, text PostgreSQL cannot hold, nesting past the limit.
BAD_JSON = [
    ('{"rating": NaN}', "is not valid JSON: NaN is not a JSON number"),
    ('{"rating": {"gt": Infinity}}', "is not valid JSON: Infinity is not a JSON number"),
    ('{"rating": 1e999}', "is not valid JSON: 1e999 is out of range"),
    ('{"ra\\u0000t": 1}', "must not contain the NUL character"),
    ('{"r": "\\ud800"}', "must not contain an unpaired surrogate"),
    ('{"deep": ' + DEEP + "}", "must not nest so deep: arrays and objects nest deeper than 32 levels"),
]


@pytest.mark.parametrize(("raw", "message"), BAD_JSON)
def test_json_the_api_refuses_is_a_field_error_on_every_dashboard_form(two_accounts, alice, raw, message):
    mine, _ = two_accounts
    client = logged_in(alice)
    answers = {
        "list": client.get("/dashboard/memories/", {"user_id": "alice-user", "filters": raw}),
        "search": client.get("/dashboard/memories/search/", {"query": "tea", "user_id": "alice-user", "filters": raw}),
        "add": client.post("/dashboard/memories/add/", {"text": "new", "user_id": "alice-user", "metadata": raw}),
        "edit": client.post(f"/dashboard/memories/{mine}/edit/", {"text": "changed", "metadata": raw}),
    }
    for page, response in answers.items():
        assert response.status_code in (200, 400), page
        assert message in response.content.decode(), page
    assert list(Memory.objects.filter(account=alice).values_list("text", flat=True)) == ["alice likes oolong tea"]


def test_metadata_larger_than_a_memory_keeps_is_refused_by_the_add_and_edit_forms(two_accounts, alice, settings):
    settings.METADATA_MAX_BYTES = 30
    mine, _ = two_accounts
    client = logged_in(alice)
    raw = json.dumps({"note": "x" * 30})
    answers = {
        "add": client.post("/dashboard/memories/add/", {"text": "new", "user_id": "alice-user", "metadata": raw}),
        "edit": client.post(f"/dashboard/memories/{mine}/edit/", {"text": "changed", "metadata": raw}),
    }
    for page, response in answers.items():
        assert response.status_code == 400, page
        assert "metadata holds" in response.content.decode() and "METADATA_MAX_BYTES" in response.content.decode()
    assert list(Memory.objects.filter(account=alice).values_list("text", flat=True)) == ["alice likes oolong tea"]


def test_a_memory_as_long_as_the_api_stores_is_edited_and_added_on_its_pages(alice, make_memory):
    # The forms took 20,000 characters: a longer memory the API stored came back as a 400 from its own page, its
    # metadata not merged.
    long = "Notes of the trip: " + "x" * 30_000
    memory = make_memory(long, user_id="alice-user", principal=alice)
    client = logged_in(alice)
    page = client.get(f"/dashboard/memories/{memory}/").content.decode()
    assert f'maxlength="{MAX_TEXT_CHARS}"' in page
    response = client.post(f"/dashboard/memories/{memory}/edit/", {"text": long, "metadata": '{"trip": "Lisbon"}'})
    assert response.status_code == 302
    stored = Memory.objects.get(id=memory)
    assert (stored.text, stored.metadata) == (long, {"trip": "Lisbon"})
    response = client.post("/dashboard/memories/add/", {"text": long + " again", "user_id": "alice-user"})
    assert response.status_code == 302
    assert Memory.objects.filter(account=alice, text=long + " again").exists()
    too_long = client.post(f"/dashboard/memories/{memory}/edit/", {"text": "x" * (MAX_TEXT_CHARS + 1)})
    assert too_long.status_code == 400 and f"at most {MAX_TEXT_CHARS} characters" in too_long.content.decode()


def test_a_memory_opened_from_a_filtered_page_of_the_list_leads_back_to_that_page(alice, make_memory, monkeypatch):
    """The memory's "← Memories" link, and its Delete, landed on the whole list's first page: the filter and the page
    the user came from were gone."""
    monkeypatch.setattr("dashboard.views.memories.PAGE_SIZE", 2)
    for n in range(3):
        make_memory(f"alice fact {n}", user_id="alice-user", principal=alice)
    make_memory("someone else's fact", user_id="other-user", principal=alice)
    client = logged_in(alice)
    first = client.get("/dashboard/memories/", {"user_id": "alice-user"}).content.decode()
    cursor = html.unescape(re.search(r'cursor=([^"&]+)">Older memories', first)[1])
    listed = f"/dashboard/memories/?{urlencode({'user_id': 'alice-user', 'cursor': cursor})}"
    second = client.get(listed).content.decode()
    opened = html.unescape(re.search(r'href="(/dashboard/memories/[0-9a-f-]{36}/[^"]*)"', second)[1])
    memory_id = urlsplit(opened).path.split("/")[3]
    page = html.unescape(client.get(opened).content.decode())
    assert f'<a href="{listed}">← Memories</a>' in page
    carried = urlsplit(opened).query
    assert f'action="/dashboard/memories/{memory_id}/edit/?{carried}"' in page
    assert f'action="/dashboard/memories/{memory_id}/delete/?{carried}"' in page
    saved = client.post(f"/dashboard/memories/{memory_id}/edit/?{carried}", {"text": "alice fact changed"})
    assert saved.status_code == 302 and saved["Location"] == opened
    deleted = client.post(f"/dashboard/memories/{memory_id}/delete/?{carried}")
    assert deleted.status_code == 302 and deleted["Location"] == listed
    gone = html.unescape(client.get(opened).content.decode())
    assert f'<a href="{listed}">← Memories</a>' in gone
    # Only the list's own query is carried: nothing else, and never another address.
    other = make_memory("alice fact 4", user_id="alice-user", principal=alice)
    for sent, back in (
        (
            {"list": "user_id=alice-user&next=https://evil.example/&cursor=abc"},
            "/dashboard/memories/?user_id=alice-user&cursor=abc",
        ),
        ({"list": "https://evil.example/"}, "/dashboard/memories/"),
        ({"list": "//evil.example/?user_id=x"}, "/dashboard/memories/"),
        ({}, "/dashboard/memories/"),
    ):
        page = html.unescape(client.get(f"/dashboard/memories/{other}/", sent).content.decode())
        assert f'<a href="{back}">← Memories</a>' in page, sent
        assert "evil.example" not in page, sent
    deleted = client.post(f"/dashboard/memories/{other}/delete/?{urlencode({'list': 'https://evil.example/'})}")
    assert deleted["Location"] == "/dashboard/memories/"


def test_a_save_pressed_twice_or_of_metadata_the_memory_holds_writes_no_second_update(alice, make_memory):
    """A double-click on Save, or metadata sent again that the memory already holds, wrote another UPDATE, and the
    timeline showed "X → X". The API's update still writes one every time (Mem0's contract)."""
    memory = make_memory("Lives in Berlin", user_id="alice-user", principal=alice, metadata={"city": "Berlin"})
    client = logged_in(alice)
    page = client.get(f"/dashboard/memories/{memory}/").content.decode()
    text_was = re.search(r'name="text_was" value="([^"]*)"', page)[1]

    def updates() -> int:
        return MemoryHistory.objects.filter(memory_id=memory, event=MemoryHistory.Event.UPDATE).count()

    typed = {"text": "Lives in Lisbon", "metadata": "", "text_was": text_was}
    for _ in range(2):  # the same form, sent twice
        saved = client.post(f"/dashboard/memories/{memory}/edit/", typed, follow=True)
        assert saved.status_code == 200
    assert updates() == 1
    held = {
        "text": "Lives in Lisbon",
        "metadata": '{"city": "Berlin"}',
        "text_was": services.text_hash("Lives in Lisbon"),
    }
    saved = client.post(f"/dashboard/memories/{memory}/edit/", held, follow=True)
    assert updates() == 1
    assert saved.status_code == 200 and "Nothing changed" in saved.content.decode()
    assert "Lives in Lisbon → Lives in Lisbon" not in html.unescape(saved.content.decode())
    # A change of metadata alone is still saved.
    changed = held | {"metadata": '{"city": "Lisbon"}'}
    assert client.post(f"/dashboard/memories/{memory}/edit/", changed).status_code == 302
    assert updates() == 2
    assert Memory.objects.get(id=memory).metadata == {"city": "Lisbon"}


def test_deleting_the_last_memory_of_a_later_page_says_that_page_is_empty_and_links_to_the_first(
    alice, make_memory, monkeypatch
):
    """Its Delete came back to its page of the list (test_a_memory_opened_from_a_filtered_page_…), which then said "No
    memories match." though the filter matches others."""
    monkeypatch.setattr("dashboard.views.memories.PAGE_SIZE", 2)
    for n in range(3):
        make_memory(f"alice fact {n}", user_id="alice-user", principal=alice)
    client = logged_in(alice)
    first = client.get("/dashboard/memories/", {"user_id": "alice-user"}).content.decode()
    cursor = html.unescape(re.search(r'cursor=([^"&]+)">Older memories', first)[1])
    second = client.get("/dashboard/memories/", {"user_id": "alice-user", "cursor": cursor}).content.decode()
    opened = html.unescape(re.search(r'href="(/dashboard/memories/[0-9a-f-]{36}/[^"]*)"', second)[1])
    memory_id, carried = urlsplit(opened).path.split("/")[3], urlsplit(opened).query
    left = client.post(f"/dashboard/memories/{memory_id}/delete/?{carried}", follow=True).content.decode()
    assert "No memories match." not in left
    assert "Nothing is left on this page (its memories were deleted since it was opened)." in left
    assert '<a href="/dashboard/memories/?user_id=alice-user">First page</a>' in left
    assert "No memories match." in client.get("/dashboard/memories/", {"user_id": "nobody"}).content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "typed",
    [
        {"text": "Lives in Berlin", "metadata": '{"city": "Berlin"}'},  # metadata only
        {"text": "Lives in Lisbon", "metadata": ""},  # a new text
    ],
    ids=["metadata", "text"],
)
def test_a_save_sent_twice_at_the_same_instant_writes_one_update(alice, make_memory, typed):
    """A Save double-clicked, or sent from two tabs at once: both requests were past the "Nothing changed" check,
    made before the update's lock, when either wrote. Metadata alone wrote two identical UPDATEs ("X → X"); a new
    text was saved by one and refused by the other as changed since it was read (a 400)."""
    memory = make_memory("Lives in Berlin", user_id="alice-user", principal=alice)
    tabs = [logged_in(alice), logged_in(alice)]
    page = tabs[0].get(f"/dashboard/memories/{memory}/").content.decode()
    typed = typed | {"text_was": re.search(r'name="text_was" value="([^"]*)"', page)[1]}
    holder, watcher = other_session(), other_session()
    watcher.autocommit = True
    holder.execute("SELECT 1 FROM memories_memory WHERE id = %s FOR UPDATE", [memory])  # another write, under way
    sends = [
        in_thread(lambda tab=tab: tab.post(f"/dashboard/memories/{memory}/edit/", typed, follow=True)) for tab in tabs
    ]
    wait_until_blocked(watcher, "%FOR UPDATE%", count=2)  # both past the view's reads, waiting for the memory's lock
    holder.rollback()
    said = []
    for thread, outcome in sends:
        thread.join(timeout=120)
        assert outcome["response"].status_code == 200
        said.append(re.findall(r"Memory updated\.|Nothing changed", outcome["response"].content.decode()))
    assert sorted(said) == [["Memory updated."], ["Nothing changed"]]
    assert MemoryHistory.objects.filter(memory_id=memory, event=MemoryHistory.Event.UPDATE).count() == 1
    holder.close(), watcher.close()


def test_saving_a_memorys_page_opened_before_another_change_does_not_undo_that_change(alice, make_memory):
    """A memory's page sends its text back with every Save. Opened, then the memory was rewritten (an add's UPDATE,
    the API), then Save with only metadata added: the page's old text was written over the new one, which was lost
    (history: Berlin -> Munich -> Berlin). Now the text the page showed is not written back, the metadata is merged,
    a new text typed over a changed one is refused saying so, and a Save of nothing changed writes nothing."""
    memory = make_memory("Lives in Berlin", user_id="alice-user", principal=alice)
    client = logged_in(alice)
    page = client.get(f"/dashboard/memories/{memory}/").content.decode()
    form = page[
        page.index('action="/dashboard/memories/') : page.index("</form>", page.index('action="/dashboard/memories/'))
    ]
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form)
    }
    fields.pop("csrfmiddlewaretoken", None)
    fields["text"] = html.unescape(re.search(r'<textarea name="text"[^>]*>\n?([^<]*)</textarea>', form)[1])
    assert fields["text"] == "Lives in Berlin"
    services.memory_update(principal=alice, memory_id=memory, text="Lives in Munich")  # meanwhile
    edit = f"/dashboard/memories/{memory}/edit/"
    assert client.post(edit, {**fields, "metadata": '{"checked": true}'}).status_code == 302
    stored = Memory.objects.get(id=memory)
    assert (stored.text, stored.metadata) == ("Lives in Munich", {"checked": True})
    refused = client.post(edit, {**fields, "text": "Lives in Paris"})
    assert refused.status_code == 400 and "was changed since it was read" in refused.content.decode()
    assert Memory.objects.get(id=memory).text == "Lives in Munich"
    rows = MemoryHistory.objects.filter(memory_id=memory).count()
    assert client.post(edit, fields).status_code == 302  # nothing changed: nothing written
    assert MemoryHistory.objects.filter(memory_id=memory).count() == rows


def test_a_save_refused_for_a_change_made_since_goes_through_when_sent_again_from_the_page_saying_so(
    alice, make_memory
):
    """Refused ("changed since it was read (its text is now: …)"), the page showed the text as it now is and the typed
    one in the form, whose Save was refused again, and again: only a reload, losing what was typed, let it through."""
    memory = make_memory("Lives in Berlin", user_id="alice-user", principal=alice)
    client = logged_in(alice)
    hidden = r'<input type="hidden" name="text_was" value="([^"]*)"'
    read = re.search(hidden, client.get(f"/dashboard/memories/{memory}/").content.decode())[1]
    services.memory_update(principal=alice, memory_id=memory, text="Lives in Munich")  # meanwhile, elsewhere
    edit = f"/dashboard/memories/{memory}/edit/"
    refused = client.post(edit, {"text": "Lives in Paris", "text_was": read}).content.decode()
    assert "was changed since it was read (its text is now: Lives in Munich)" in refused
    assert "Save again to replace it with yours." in refused
    assert Memory.objects.get(id=memory).text == "Lives in Munich"
    shown = re.search(hidden, refused)[1]
    assert client.post(edit, {"text": "Lives in Paris", "text_was": shown}).status_code == 302
    assert Memory.objects.get(id=memory).text == "Lives in Paris"


@pytest.mark.parametrize("user_id", ["dash u", "tab\tid"])
def test_a_scope_id_the_api_refuses_is_refused_by_every_dashboard_form(alice, make_memory, user_id):
    make_memory("alice likes oolong tea", user_id="alice-user", principal=alice)
    client = logged_in(alice)
    answers = {
        "add": client.post("/dashboard/memories/add/", {"text": "new", "user_id": user_id}),
        "list": client.get("/dashboard/memories/", {"user_id": user_id}),
        "search": client.get("/dashboard/memories/search/", {"query": "tea", "user_id": user_id}),
        "export": client.post("/dashboard/exports/", {"user_id": user_id}),
    }
    for page, response in answers.items():
        assert response.status_code in (200, 400), page
        assert "Must not contain whitespace." in response.content.decode(), page
    assert list(Memory.objects.values_list("user_id", flat=True)) == ["alice-user"]
    assert not MemoryExport.objects.exists()


def test_the_add_form_refuses_star_as_a_scope_id(alice):
    response = logged_in(alice).post("/dashboard/memories/add/", {"text": "Plays chess", "user_id": "*"})
    assert response.status_code == 400
    assert "&quot;*&quot;" in response.content.decode() or '"*"' in response.content.decode()
    assert not Memory.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("post", "/dashboard/memories/add/", "user_id"),
        ("get", "/dashboard/memories/", "agent_id"),
        ("get", "/dashboard/memories/search/", "run_id"),
        ("post", "/dashboard/profiles/", "user_id"),
    ],
)
def test_a_scope_id_refused_on_a_dashboard_form_is_named_in_the_reason(alice, method, path, field):
    # The reason read 'it cannot name one the id. To match any the id, use filters {"the id": "*"}'.
    client = logged_in(alice)
    for value, said in (("*", f'To match any {field}, use filters {{"{field}": "*"}}'), ("..", f"this {field} could")):
        data = {"text": "Plays chess", "query": "chess", "form": "generate", field: value}
        page = html.unescape(getattr(client, method)(path, data).content.decode())
        assert said in page
        assert "the id" not in page and "this id" not in page


# A valid address of 308 characters: Django's form EmailField takes up to 320, the accounts' column 254.
LONG_EMAIL = "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".com"


@pytest.mark.parametrize("form", ["setup", "users", "settings"])
def test_an_email_longer_than_an_account_can_store_is_a_field_error_on_every_form(make_user, form):
    if form == "setup":
        response = Client().post("/dashboard/setup/", {"email": LONG_EMAIL, "password": PASSWORD})
    else:
        admin = make_user("admin@example.com", role=User.Role.ADMIN, password=PASSWORD, is_staff=True)
        data = {"email": LONG_EMAIL, "password": PASSWORD, "role": "member", "form": "profile"}
        response = logged_in(admin).post(f"/dashboard/{form}/", data)
    assert response.status_code == 400
    assert "at most 254 characters" in response.content.decode()
    assert not User.objects.filter(email__startswith="aaaa").exists()


def test_the_overview_says_there_are_more_entities_than_it_counted(alice, embedder):
    vector = embedder.embed(["a memory"])[0]
    Memory.objects.bulk_create(
        Memory(account=alice, text="a memory", hash="0" * 32, user_id=f"user-{n:04}", embedding=vector)
        for n in range(1001)
    )
    body = logged_in(alice).get("/dashboard/").content.decode()
    assert "<strong>1001</strong> memories" in body
    assert "<strong>1000+</strong> entities" in body  # it said 1000


def test_the_entities_page_pages_through_every_entity_keeping_its_type(alice, embedder, monkeypatch):
    """It showed the first 1,000 and said the rest were listed by GET /v1/entities/: an account's other entities (641
    of 1,641 at 20,000 memories) could not be reached on the page."""
    from dashboard.views import entities

    monkeypatch.setattr(entities, "LIST_ROWS", 2)
    vector = embedder.embed(["a memory"])[0]
    Memory.objects.bulk_create(
        Memory(account=alice, text="a memory", hash="0" * 32, user_id=f"user-{n}", agent_id="agent-0", embedding=vector)
        for n in range(5)
    )
    client = logged_in(alice)
    for query, pages in (
        ("", [["agent-0", "user-0"], ["user-1", "user-2"], ["user-3", "user-4"]]),
        ("?type=user", [["user-0", "user-1"], ["user-2", "user-3"], ["user-4"]]),
    ):
        address, seen = f"/dashboard/entities/{query}", []
        while address:
            page = client.get(address)
            seen.append([entity.id for entity in page.context["entities"]])
            more = re.search(r'<a href="(\?[^"]+)">Next \d+ entities', page.content.decode())
            address = "/dashboard/entities/" + html.unescape(more.group(1)) if more else None
            if address and query:
                assert "type=user" in address
        assert seen == pages
        assert "by type, then id" in page.content.decode()
    refused = client.get("/dashboard/entities/", {"cursor": "not-a-cursor"})
    assert refused.status_code == 400 and "cursor is not valid" in refused.content.decode()


def test_an_entities_page_past_the_end_says_so_and_links_to_the_first_page(alice, embedder, monkeypatch):
    """Opened again after its entities were deleted (Back), a later page said "No entities yet." though the account
    has some."""
    from dashboard.views import entities

    monkeypatch.setattr(entities, "LIST_ROWS", 2)
    vector = embedder.embed(["a memory"])[0]
    Memory.objects.bulk_create(
        Memory(account=alice, text="a memory", hash="0" * 32, user_id=f"user-{n}", embedding=vector) for n in range(3)
    )
    client = logged_in(alice)
    first = client.get("/dashboard/entities/?type=user").content.decode()
    later = "/dashboard/entities/" + html.unescape(re.search(r'<a href="(\?[^"]+)">Next \d+ entities', first)[1])
    Memory.objects.filter(account=alice, user_id="user-2").delete()
    page = client.get(later)
    said = page.content.decode()
    assert page.status_code == 200 and "No entities yet." not in said
    assert "Nothing is left on this page (its entities were deleted since it was opened)." in said
    assert '<a href="?type=user">First page</a>' in said
    # An account with no entities at all still says so.
    Memory.objects.filter(account=alice).delete()
    assert "No entities yet." in client.get("/dashboard/entities/").content.decode()


def test_the_overview_counts_the_live_keys_of_the_account(alice, bob):
    for label in ("one", "two", "three"):
        apikey_create(user=alice, label=label)
    apikey_create(user=bob, label="theirs")
    revoked = apikey_create(user=alice, label="revoked")
    apikey_revoke(user=alice, key_id=revoked[0].pk)
    assert "<strong>3</strong> live API keys" in logged_in(alice).get("/dashboard/").content.decode()


def test_the_overview_says_which_embedder_and_whether_the_configuration_was_changed(alice, api_client):
    page = logged_in(alice).get("/dashboard/").content.decode()
    assert "local: all-MiniLM-L6-v2, 384 dims, CPU" in page  # it said "local: local (all-MiniLM-L6-v2"
    assert "0: as the environment sets it" in page  # it said "0" alone
    changed = api_client.post("/configure", {"custom_fact_extraction_prompt": "Only food."}, format="json")
    assert changed.status_code == 200
    page = logged_in(alice).get("/dashboard/").content.decode()
    assert "1: changed 1 time from the environment" in page


def test_the_overview_sends_an_admin_to_the_configuration_page_and_not_a_member(admin_user, alice):
    link = '<a href="/dashboard/configuration/">Change the LLM or the embedder</a>'
    assert link in logged_in(admin_user).get("/dashboard/").content.decode()
    assert link not in logged_in(alice).get("/dashboard/").content.decode()


def test_saving_a_memory_with_its_text_untouched_keeps_its_line_breaks(alice, make_memory):
    memory_id = make_memory("Likes:\ntea\ncoffee", user_id="alice-user", principal=alice)
    before = Memory.objects.get(id=memory_id)
    # A browser sends a textarea's line breaks as CRLF (HTML's form submission), edited or not.
    response = logged_in(alice).post(
        f"/dashboard/memories/{memory_id}/edit/", {"text": "Likes:\r\ntea\r\ncoffee", "metadata": '{"topic": "food"}'}
    )
    assert response.status_code == 302
    after = Memory.objects.get(id=memory_id)
    assert (after.text, after.hash, after.metadata) == ("Likes:\ntea\ncoffee", before.hash, {"topic": "food"})
    added = logged_in(alice).post("/dashboard/memories/add/", {"text": "Plays:\r\nchess", "user_id": "alice-user"})
    assert added.status_code == 302
    assert Memory.objects.filter(text="Plays:\nchess").exists()


def test_a_document_too_large_for_the_add_form_is_a_413_page_saying_how_to_add_it_and_linking_back(alice, settings):
    # The page told someone adding a PDF to run manage.py import_memories (which takes no documents).
    settings.MAX_REQUEST_BYTES = 2_000
    lease = SimpleUploadedFile("lease.pdf", pdf_of("Lease of the flat on Rua Augusta " * 100))
    response = logged_in(alice).post("/dashboard/memories/add/", {"document": lease, "user_id": "alice-user"})
    page = response.content.decode()
    assert response.status_code == 413 and "larger than this server takes in one request: 2,000 bytes" in page
    assert "import_memories" not in page
    assert "<code>pdf_url</code>" in page and "<code>FETCH_HOSTS</code>" in page
    assert '<a href="/dashboard/memories/">Back to the page</a>' in page
    assert not Memory.objects.exists()


def test_a_document_uploaded_on_the_add_form_is_stored_in_passages_and_one_that_cannot_be_read_says_why(alice):
    client = logged_in(alice)
    lease = SimpleUploadedFile("lease.pdf", pdf_of("Lease of the flat on Rua Augusta", "The rent is 950 euros a month"))
    added = client.post("/dashboard/memories/add/", {"text": "My lease", "document": lease, "user_id": "alice-user"})
    assert added.status_code == 302 and added["Location"] == "/dashboard/memories/?user_id=alice-user"
    page = client.get(added["Location"]).content.decode()
    assert "2 memories added." in page and "Lease of the flat on Rua Augusta" in page
    assert sorted(Memory.objects.filter(user_id="alice-user").values_list("text", flat=True)) == [
        "Lease of the flat on Rua Augusta\n\nThe rent is 950 euros a month",
        "My lease",
    ]
    notes = SimpleUploadedFile("garden.md", b"# Garden\n\nTomatoes in the south bed.")
    added = client.post("/dashboard/memories/add/", {"document": notes, "user_id": "bob-user"})
    assert added.status_code == 302 and added["Location"].startswith("/dashboard/memories/")  # one memory: its page
    assert Memory.objects.get(user_id="bob-user").text == "# Garden\n\nTomatoes in the south bed."
    word = SimpleUploadedFile("lease.docx", word_lease())
    added = client.post("/dashboard/memories/add/", {"document": word, "user_id": "dave-user"})
    assert added.status_code == 302
    assert Memory.objects.get(user_id="dave-user").text == WORD_LEASE_TEXT
    slides = SimpleUploadedFile("trip.pptx", presentation_trip())
    added = client.post("/dashboard/memories/add/", {"document": slides, "user_id": "erin-user"})
    assert added.status_code == 302
    assert Memory.objects.get(user_id="erin-user").text == PRESENTATION_TRIP_TEXT

    photo = SimpleUploadedFile("photo.jpg", b"\xff\xd8\xff\xe0 not text")
    refused = client.post("/dashboard/memories/add/", {"document": photo, "user_id": "carol-user"})
    assert refused.status_code == 400
    assert (
        "The document photo.jpg is neither UTF-8 text, a PDF nor a Word, PowerPoint, Excel or OpenDocument file."
        in html.unescape(refused.content.decode())
    )
    neither = client.post("/dashboard/memories/add/", {"text": " ", "user_id": "carol-user"})
    assert neither.status_code == 400 and "Write a memory, or choose a document." in neither.content.decode()
    assert not Memory.objects.filter(user_id="carol-user").exists()


def test_an_add_refused_for_its_scope_says_to_choose_its_document_again(alice):
    # The page shown again has no file chosen (a browser never fills a file field in) and said nothing of it: the add
    # sent again once its scope was mended was refused for having "neither text nor document".
    client = logged_in(alice)
    for fields in ({"user_id": ""}, {"text": "My garden", "user_id": "*"}):
        notes = SimpleUploadedFile("garden.md", b"# Garden\n\nTomatoes in the south bed.")
        refused = client.post("/dashboard/memories/add/", {**fields, "document": notes})
        assert refused.status_code == 400
        page = html.unescape(refused.content.decode())
        assert "Choose garden.md again: a page shown again cannot keep the file chosen." in field_errors(
            page, "Or a document"
        )
    refused = client.post("/dashboard/memories/add/", {"user_id": ""})  # no document: nothing to choose again
    assert "cannot keep the file chosen" not in refused.content.decode()
    assert not Memory.objects.exists()


@pytest.mark.parametrize("runner", ["alice", "admin_user"])
def test_the_setup_wizards_test_deletes_only_the_memory_it_added(runner, alice, bob, admin_user, make_memory, request):
    # It deleted every memory the key's holder sees under its user_id: the account's own earlier ones and, run by an
    # admin (who sees every account), every account's.
    user = request.getfixturevalue(runner)
    kept = {
        make_memory("alice keeps this one", user_id="dashboard-setup-test", principal=alice),
        make_memory("bob keeps this one", user_id="dashboard-setup-test", principal=bob),
    }
    _, key = apikey_create(user=user, label="setup")
    response = logged_in(user).post("/dashboard/setup/test/", {"key": key})
    assert "Likes green tea in the morning" in response.content.decode()
    assert {str(memory_id) for memory_id in Memory.objects.values_list("id", flat=True)} == kept


def test_search_reranks_when_the_server_reranks_by_default(alice, make_memory, settings):
    # The API reranked by default (SEARCH_RERANK_DEFAULT) and the dashboard did not: another order for one question.
    make_memory("Maya: Tell me more about it!", user_id="maya", principal=alice)
    make_memory("Maya: We adopted a rescue dog and named him Juniper.", user_id="maya", principal=alice)
    client = logged_in(alice)
    page = "/dashboard/memories/search/?" + urlencode({"query": "What is the name of Maya's dog?", "user_id": "maya"})

    def order(body: str) -> list[str]:
        return sorted(("Tell me more", "rescue dog"), key=body.index)

    fused = order(client.get(page).content.decode())
    settings.SEARCH_RERANKER = "llm"
    settings.SEARCH_RERANK_DEFAULT = True
    with llm_configured() as llm:
        llm.chat_queue.append(as_json({"ranking": [1, 0]}))
        body = client.get(page).content.decode()
    assert order(body) == fused[::-1]
    assert "then reordered by the llm reranker" in body


def test_an_htmx_request_after_the_session_ended_sends_the_browser_to_the_login_page(alice):
    # It answered a redirect that htmx followed, so the login page was swapped into the search results.
    response = Client().get(
        "/dashboard/memories/search/?query=tea&user_id=alice-user",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/dashboard/memories/?user_id=alice-user",
    )
    assert response.status_code == 200 and not response.content
    login = urlsplit(response["HX-Redirect"])
    assert (login.path, parse_qs(login.query)) == (
        "/dashboard/login/",
        {"next": ["/dashboard/memories/?user_id=alice-user"]},
    )


def test_an_htmx_request_naming_a_page_that_is_no_url_sends_the_browser_to_the_login_page(alice):
    # HX-Current-URL is whatever the client sent: one urlsplit refuses ("http://[") was a 500.
    response = Client().get("/dashboard/memories/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://[/")
    assert response.status_code == 200 and not response.content
    login = urlsplit(response["HX-Redirect"])
    assert (login.path, parse_qs(login.query)) == ("/dashboard/login/", {"next": ["/dashboard/memories/"]})


@pytest.mark.parametrize(
    "page",
    [
        "/dashboard/memories/?filters={oops",
        "/dashboard/memories/?user_id=alice smith",
        "/dashboard/memories/?cursor=garbage",
        "/dashboard/memories/search/?query=tea",
        "/dashboard/memories/search/?query=tea&user_id=alice-user&filters=[1]",
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_a_list_or_search_the_form_refuses_is_a_400_saying_why(alice, page, htmx):
    # Each answered 200 with its error on the page: a script or a check on the status saw a success.
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = logged_in(alice).get(page, **headers)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_a_search_query_is_held_to_the_apis_max_query_chars(alice, make_memory, settings):
    # The form took 2,000 characters whatever MAX_QUERY_CHARS said: a longer query the API takes was refused, and an
    # operator's lower limit was not held here.
    make_memory("alice likes oolong tea", user_id="alice-user", principal=alice)
    client = logged_in(alice)
    query = "what does she drink? " * 150  # 3,150 characters
    response = client.get("/dashboard/memories/search/", {"query": query, "user_id": "alice-user"})
    assert response.status_code == 200 and "alice likes oolong tea" in response.content.decode()
    settings.MAX_QUERY_CHARS = 50
    response = client.get("/dashboard/memories/search/", {"query": "tea " * 13, "user_id": "alice-user"})
    page = response.content.decode()
    assert response.status_code == 400 and "Must be at most 50 characters (MAX_QUERY_CHARS)." in page
    assert "alice likes oolong tea" not in page


def test_a_search_scope_and_filters_naming_another_user_both_apply(alice, make_memory):
    # The scope field replaced the filters' user_id silently: a search "for bob" listed alice's memories.
    make_memory("alice drinks oolong tea", user_id="alice-user", principal=alice)
    make_memory("bob drinks green tea", user_id="bob-user", principal=alice)
    client = logged_in(alice)
    both = {"query": "tea", "user_id": "alice-user", "filters": json.dumps({"user_id": "bob-user"})}
    body = client.get("/dashboard/memories/search/?" + urlencode(both)).content.decode()
    assert "alice drinks oolong tea" not in body and "bob drinks green tea" not in body
    narrowed = {"query": "tea", "user_id": "alice-user", "filters": json.dumps({"user_id": "alice-user"})}
    body = client.get("/dashboard/memories/search/?" + urlencode(narrowed)).content.decode()
    assert "alice drinks oolong tea" in body


REFUSED_POSTS = {
    "a key without a label": ("/dashboard/keys/", {"label": ""}, "This field is required."),
    "a key label of 101 characters": ("/dashboard/keys/", {"label": "k" * 101}, "at most 100 characters"),
    "a profile with no email": ("/dashboard/settings/", {"form": "profile", "email": ""}, "This field is required."),
    "a new password of 3 characters": (
        "/dashboard/settings/",
        {"form": "password", "current_password": PASSWORD, "new_password": "abc"},
        "at least 8 characters",
    ),
    "a wrong current password": (
        "/dashboard/settings/",
        {"form": "password", "current_password": "not it at all", "new_password": "another passphrase"},
        "password",
    ),
    "a user of no email": ("/dashboard/users/", {"email": "nope", "password": PASSWORD, "role": "member"}, "email"),
    "a user of an unknown role": (
        "/dashboard/users/",
        {"email": "eve@example.com", "password": PASSWORD, "role": "owner"},
        "Select a valid choice",
    ),
    "a model configuration of an unknown provider": (
        "/dashboard/configuration/",
        {"llm_provider": "nope", "embedder_provider": "nope"},
        "Select a valid choice",
    ),
    "a scope delete with no scope": ("/dashboard/memories/delete-scope/", {"confirm": "yes"}, "At least one of user"),
    "the first key's test with a key not of this account": (
        "/dashboard/setup/test/",
        {"key": "m0-nope"},
        "not one of yours",
    ),
}


@pytest.mark.parametrize("case", REFUSED_POSTS)
def test_a_form_the_dashboard_refuses_is_a_400_saying_why(admin_user, case):
    # Each answered 200 with its error on the page: a script or a check on the status saw a success.
    page, data, error = REFUSED_POSTS[case]
    before = (User.objects.count(), APIKey.objects.count())
    response = logged_in(admin_user).post(page, data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert (User.objects.count(), APIKey.objects.count()) == before
    assert admin_user.check_password(PASSWORD)


def test_the_first_admin_form_refused_is_a_400_saying_why(db):
    response = Client().post("/dashboard/setup/", {"email": "nope", "password": PASSWORD})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert not User.objects.exists()


def test_an_entity_type_the_overview_does_not_know_is_a_400_naming_the_types(alice):
    # ?type=bogus was ignored: the page listed every type as if no type had been asked for.
    response = logged_in(alice).get("/dashboard/entities/?type=bogus")
    assert response.status_code == 400
    assert "user, agent, app, run" in response.content.decode()


def test_a_change_the_users_page_refuses_is_a_400_saying_why_and_changes_nothing(admin_user, alice):
    # Each was a redirect to the users page (a 302, a success to a script), "maybe" deactivating the account.
    admins = logged_in(admin_user)
    refused = {
        f"/dashboard/users/{alice.pk}/active/": ({"active": "maybe"}, "active must be yes (reactivate) or no"),
        f"/dashboard/users/{admin_user.pk}/active/": ({"active": "no"}, "cannot do this to its own account"),
        f"/dashboard/users/{alice.pk}/password/": ({"new_password": "short"}, "at least 8 characters"),
        f"/dashboard/users/{admin_user.pk}/password/": ({"new_password": "x" * 12}, "cannot do this to its own"),
    }
    for page, (data, error) in refused.items():
        response = admins.post(page, data)
        assert (response.status_code, error in response.content.decode()) == (400, True), page
    alice.refresh_from_db()
    admin_user.refresh_from_db()
    assert alice.is_active and admin_user.is_active
    assert alice.check_password(PASSWORD) and admin_user.check_password(PASSWORD)


def test_a_refused_login_is_a_400_with_the_form_saying_why(admin_user):
    response = Client().post("/dashboard/login/", {"username": "admin@example.com", "password": "not it"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Wrong email or password. The password is case-sensitive; the email is not." in page
    # Django's own sentence said both fields may be case-sensitive: the email is not ("ADMIN@Example.com" logs in).
    assert "both fields" not in page
    response = Client().post("/dashboard/login/", {"username": " ADMIN@Example.com", "password": PASSWORD})
    assert response.status_code == 302


def test_a_login_page_naming_itself_as_next_sends_a_logged_in_account_to_the_overview(alice):
    # Django's LoginView raised "Redirection loop for authenticated user detected": a 500 for a link anyone can write.
    response = logged_in(alice).get("/dashboard/login/?next=/dashboard/login/")
    assert (response.status_code, response["Location"]) == (302, "/dashboard/")
    # Logging in from such a link goes to the overview too, not to the login page once more.
    response = Client().post(
        "/dashboard/login/?next=/dashboard/login/", {"username": alice.email, "password": PASSWORD}
    )
    assert (response.status_code, response["Location"]) == (302, "/dashboard/")


def test_memories_of_an_app_are_listed_searched_added_and_shown_by_their_app_id(alice, make_memory):
    # The page had no app id field: ?app_id=shop (the Entities page's own link) listed every memory, and a memory
    # of an app alone could not be added or searched.
    make_memory("the shop sells oolong tea", user_id=None, scope={"app_id": "shop"}, principal=alice)
    make_memory("alice drinks green tea", user_id="alice-user", principal=alice)
    client = logged_in(alice)
    listed = client.get("/dashboard/memories/?app_id=shop").content.decode()
    assert "the shop sells oolong tea" in listed and "alice drinks green tea" not in listed
    assert "app <bdi>shop</bdi>" in listed  # the memory's scope tags
    found = client.get("/dashboard/memories/search/?query=tea&app_id=shop").content.decode()
    assert "the shop sells oolong tea" in found and "alice drinks green tea" not in found
    added = client.post("/dashboard/memories/add/", {"text": "the shop closes on Sundays", "app_id": "shop"})
    assert added.status_code == 302
    assert Memory.objects.get(text="the shop closes on Sundays").app_id == "shop"
    entities = client.get("/dashboard/entities/?type=app").content.decode()
    assert "/dashboard/memories/?app_id=shop" in entities and "alice-user" not in entities


@pytest.mark.parametrize("page", ["/dashboard/settings/", "/dashboard/profiles/"])
def test_a_post_naming_none_of_the_pages_forms_is_a_400_saying_which_it_takes(alice, page):
    # It answered the page as a GET does (200), as if something had been saved.
    response = logged_in(alice).post(page, {"form": "nope", "email": "new@example.com", "enabled": "on"})
    assert response.status_code == 400
    assert "form must be" in response.content.decode()
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"


@pytest.mark.parametrize(
    ("address", "back"),
    [
        ("/dashboard/memories/add/", "/dashboard/memories/"),
        ("/dashboard/memories/{memory}/edit/", "/dashboard/memories/{memory}/"),
        ("/dashboard/memories/{memory}/delete/", "/dashboard/memories/{memory}/"),
        ("/dashboard/keys/1/revoke/", "/dashboard/keys/"),
        ("/dashboard/webhooks/1/active/", "/dashboard/webhooks/"),
        ("/dashboard/webhooks/1/delete/", "/dashboard/webhooks/"),
        ("/dashboard/connections/1/disconnect/", "/dashboard/connections/"),
        ("/dashboard/configuration/test/", "/dashboard/configuration/"),
        ("/dashboard/users/1/active/", "/dashboard/users/"),
        ("/dashboard/users/1/password/", "/dashboard/users/"),
        ("/dashboard/setup/test/", "/dashboard/setup/key/"),
        ("/dashboard/logout/", "/dashboard/"),
    ],
)
def test_opening_a_forms_address_is_a_405_page_linking_to_the_form_and_changes_nothing(
    admin_user, make_memory, address, back
):
    # A reload after a refused form, or a bookmark of that address, showed an empty page.
    memory = make_memory("I drink green tea", principal=admin_user)
    response = logged_in(admin_user).get(address.format(memory=memory))
    page = response.content.decode()
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert "takes a form sent from its page" in page
    assert f'href="{back.format(memory=memory)}"' in page
    assert Memory.objects.filter(id=memory).exists()


def test_the_dashboard_names_its_icon_so_browsers_do_not_ask_for_a_missing_one(alice):
    # Every first visit asked for /favicon.ico, a 404 logged as a warning.
    page = logged_in(alice).get("/dashboard/").content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page)
    assert icon, "no icon named"
    response = Client().get(icon.group(1))
    assert response.status_code == 200 and response["Content-Type"].startswith("image/svg+xml")


def test_the_entities_page_reverses_its_memories_link_once_a_page_not_once_a_row(alice, embedder, monkeypatch):
    # It reversed dashboard:memories for every row: with 1,000 rows the page rendered in 230-246 ms, 132-143 ms so.
    import django.urls

    reversed_urls = []

    def reverse(viewname, *args, **kwargs):
        reversed_urls.append(viewname)
        return django_reverse(viewname, *args, **kwargs)

    django_reverse = django.urls.reverse
    monkeypatch.setattr(django.urls, "reverse", reverse)  # what the {% url %} tag imports each time it renders
    vector = embedder.embed(["a memory"])[0]
    client = logged_in(alice)
    counted = []
    for users in (2, 40):
        Memory.objects.bulk_create(
            Memory(account=alice, text="a memory", hash="0" * 32, user_id=f"user-{n:04}", embedding=vector)
            for n in range(len(counted) * 2, users)
        )
        reversed_urls.clear()
        page = client.get("/dashboard/entities/").content.decode()
        assert page.count('href="/dashboard/memories/?user_id=user-') == users
        counted.append(reversed_urls.count("dashboard:memories"))
    assert counted[0] == counted[1]  # the menu's link and the table's, however many rows (it was 3, then 41)
