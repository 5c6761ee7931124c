"""The dashboard's Webhooks page: the account's own webhooks (secret masked) and their recent deliveries."""

from __future__ import annotations

import base64
import html
import json
import re
import uuid

import pytest
from django.test import Client

from dashboard.tests.clients import logged_in, once_of
from mem0server.tests.sessions import in_thread, other_session, wait_until_blocked
from webhooks.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db


def webhook_with_a_failed_delivery(account, name: str) -> Webhook:
    webhook = Webhook.objects.create(
        account=account,
        name=name,
        url=f"https://{name}.example/hook",
        event_types=["memory_add"],
        secret=f"whsec_{name}-full-secret-value",
    )
    WebhookDelivery.objects.create(
        webhook=webhook,
        event_id=uuid.uuid4(),
        event_type="memory_add",
        payload={},
        attempt=2,
        status_code=500,
        error=f"{name}-error Answered HTTP 500.",
        duration_ms=12,
    )
    return webhook


def test_a_member_sees_its_webhooks_masked_and_their_deliveries_but_not_another_accounts(make_user):
    alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
    webhook_with_a_failed_delivery(alice, "alicehook")
    webhook_with_a_failed_delivery(bob, "bobhook")
    page = logged_in(alice).get("/dashboard/webhooks/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "https://alicehook.example/hook" in body
    assert "alicehook-error Answered HTTP 500." in body
    assert "whsec_…alue" in body
    assert "alicehook-full-secret-value" not in body
    assert "bobhook" not in body


def test_the_webhooks_page_needs_a_login(make_user):
    make_user("alice@example.com")
    assert Client().get("/dashboard/webhooks/").status_code == 302


def create(client: Client, **fields) -> tuple[int, str]:
    data = {"name": "hook", "url": "https://hooks.example/in", "event_types": ["memory_add"]} | fields
    response = client.post("/dashboard/webhooks/", data)
    return response.status_code, response.content.decode()


def test_a_webhook_created_on_the_page_shows_its_full_secret_this_once(make_user, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True  # a loopback address: no name to resolve here
    alice = make_user("alice@example.com")
    client = logged_in(alice)
    status, body = create(client, name="crm", url="http://127.0.0.1:9/in", event_types=["memory_add", "memory_delete"])
    webhook = Webhook.objects.get(account=alice)
    assert (webhook.name, webhook.url, webhook.event_types) == (
        "crm",
        "http://127.0.0.1:9/in",
        ["memory_add", "memory_delete"],
    )
    assert status == 200 and webhook.secret in body
    later = client.get("/dashboard/webhooks/").content.decode()
    assert webhook.secret not in later and f"whsec_…{webhook.secret[-4:]}" in later


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"url": "http://127.0.0.1:9/in"}, "loopback"),
        ({"url": "ftp://hooks.example/in"}, "url must start with http:// or https://, not ftp:."),
        # It said "…, not nothing:." for an address with no scheme.
        ({"url": "hooks.example/in"}, "url must start with http:// or https://; it has none."),
        ({"event_types": []}, "Choose one or more events."),
        ({"event_types": ["memory_categorize"]}, "not one of the available choices"),
        ({"name": ""}, "This field is required."),
        ({"url": "https://hooks.example/" + "a" * 2048}, "at most 2048 characters"),
    ],
)
def test_a_webhook_the_page_refuses_is_a_400_saying_why_and_nothing_is_created(make_user, fields, says):
    alice = make_user("alice@example.com")
    status, body = create(logged_in(alice), **fields)
    assert status == 400
    assert says in body
    assert not Webhook.objects.exists()


def test_pause_resume_and_delete_reach_only_the_callers_webhooks(make_user):
    alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
    mine = webhook_with_a_failed_delivery(alice, "alicehook")
    theirs = webhook_with_a_failed_delivery(bob, "bobhook")
    client = logged_in(alice)
    assert client.post(f"/dashboard/webhooks/{mine.id}/active/", {"active": "no"}).status_code == 302
    mine.refresh_from_db()
    assert not mine.is_active
    assert "paused" in client.get("/dashboard/webhooks/").content.decode()
    refused = client.post(f"/dashboard/webhooks/{mine.id}/active/", {"active": "maybe"})
    assert refused.status_code == 400 and "active must be yes (resume) or no (pause)." in refused.content.decode()
    assert client.post(f"/dashboard/webhooks/{mine.id}/active/", {"active": "yes"}).status_code == 302
    mine.refresh_from_db()
    assert mine.is_active
    for action, data in (("active", {"active": "no"}), ("delete", {})):
        assert client.post(f"/dashboard/webhooks/{theirs.id}/{action}/", data).status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active
    assert client.get(f"/dashboard/webhooks/{mine.id}/delete/").status_code == 405
    assert client.post(f"/dashboard/webhooks/{mine.id}/delete/").status_code == 302
    assert list(Webhook.objects.values_list("name", flat=True)) == ["bobhook"]
    assert WebhookDelivery.objects.filter(webhook__account=alice).count() == 0


def test_editing_a_webhook_changes_its_name_url_and_events_and_keeps_its_secret(make_user, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True  # a loopback address: no name to resolve here
    alice = make_user("alice@example.com")
    webhook = webhook_with_a_failed_delivery(alice, "alicehook")
    webhook.event_types = ["memory_add", "memory_categorize"]  # the second set through the API: the form lacks it
    webhook.save()
    client = logged_in(alice)
    page = client.get(f"/dashboard/webhooks/{webhook.id}/edit/").content.decode()
    assert 'value="https://alicehook.example/hook"' in page and "memory_categorize" in page
    changed = client.post(
        f"/dashboard/webhooks/{webhook.id}/edit/",
        {"name": "moved", "url": "http://127.0.0.1:9/new", "event_types": ["memory_update", "memory_delete"]},
    )
    assert changed.status_code == 302
    webhook.refresh_from_db()
    assert (webhook.name, webhook.url) == ("moved", "http://127.0.0.1:9/new")
    assert webhook.event_types == ["memory_update", "memory_delete", "memory_categorize"]
    assert webhook.secret == "whsec_alicehook-full-secret-value"
    assert "Webhook “<bdi>moved</bdi>” saved" in client.get("/dashboard/webhooks/").content.decode()


def test_an_edit_the_page_refuses_is_a_400_saying_why_and_changes_nothing(make_user):
    alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
    mine = webhook_with_a_failed_delivery(alice, "alicehook")
    theirs = webhook_with_a_failed_delivery(bob, "bobhook")
    client = logged_in(alice)
    refused = client.post(
        f"/dashboard/webhooks/{mine.id}/edit/",
        {"name": "moved", "url": "http://127.0.0.1:9/new", "event_types": ["memory_add"]},
    )
    assert refused.status_code == 400 and "loopback" in refused.content.decode()
    mine.refresh_from_db()
    assert (mine.name, mine.url) == ("alicehook", "https://alicehook.example/hook")
    assert client.get(f"/dashboard/webhooks/{theirs.id}/edit/").status_code == 404
    data = {"name": "x", "url": "https://bobhook.example/hook", "event_types": ["memory_add"]}
    # A Save for it is answered as for a deleted webhook of one's own (test_a_form_sent_for_a_webhook_deleted_…).
    assert client.post(f"/dashboard/webhooks/{theirs.id}/edit/", data).status_code == 400
    theirs.refresh_from_db()
    assert theirs.name == "bobhook"


def test_the_create_form_sent_again_by_a_reload_makes_no_second_webhook(make_user, settings):
    # A reload of the page showing the secret sent its form again: a second webhook to the same URL, so every change
    # was POSTed there twice.
    settings.WEBHOOK_ALLOW_PRIVATE = True
    alice = make_user("alice@example.com")
    client = logged_in(alice)
    page = client.get("/dashboard/webhooks/").content.decode()
    once = once_of(page)
    data = {"name": "crm", "url": "http://127.0.0.1:9/in", "event_types": ["memory_add"], "once": once}
    assert client.post("/dashboard/webhooks/", data).status_code == 200
    again = client.post("/dashboard/webhooks/", data, follow=True)
    assert Webhook.objects.filter(account=alice).count() == 1
    assert "This form was sent before (a reload, or Back): no second webhook was created." in again.content.decode()
    assert Webhook.objects.get().secret not in again.content.decode()
    # The form as the page shows it next creates one more, as asked.
    fresh = once_of(again.content.decode())
    assert fresh != once
    assert client.post("/dashboard/webhooks/", data | {"once": fresh}).status_code == 200
    assert Webhook.objects.filter(account=alice).count() == 2


# U+202E (right-to-left override) in a name the account chose reversed the rest of the sentence quoting it
# ("Webhook “…” saved." read backwards after the name). Each such name is isolated: <bdi> in HTML, and U+2068 / U+2069
# (first-strong isolate / pop) in a confirmation prompt's text, which is not HTML; markup in the name stays escaped.
RLO_NAME = "\u202eevil<b>"
ISOLATED_NAME = "<bdi>\u202eevil&lt;b&gt;</bdi>"


def test_a_webhook_name_with_a_direction_override_is_isolated_in_every_sentence_quoting_it(make_user, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    alice = make_user("alice@example.com")
    client = logged_in(alice)
    status, body = create(client, name=RLO_NAME, url="http://127.0.0.1:9/in", event_types=["memory_add"])
    assert status == 200
    assert f"Copy the signing secret of “{ISOLATED_NAME}” now" in body
    webhook = Webhook.objects.get(account=alice)
    listed = client.get("/dashboard/webhooks/").content.decode()
    assert 'data-confirm="Delete “\u2068\u202eevil&lt;b&gt;\u2069” and its delivery log?' in listed
    assert f"Edit “{ISOLATED_NAME}”" in client.get(f"/dashboard/webhooks/{webhook.id}/edit/").content.decode()
    data = {"name": RLO_NAME, "url": "http://127.0.0.1:9/in", "event_types": ["memory_add"]}
    saved = client.post(f"/dashboard/webhooks/{webhook.id}/edit/", data, follow=True).content.decode()
    assert f"Webhook “{ISOLATED_NAME}” saved." in saved
    paused = client.post(f"/dashboard/webhooks/{webhook.id}/active/", {"active": "no"}, follow=True).content.decode()
    assert f"Webhook “{ISOLATED_NAME}” paused" in paused


def test_a_form_sent_for_a_webhook_deleted_in_another_tab_says_so_and_leads_back_to_the_webhooks(make_user):
    # Its answer was the 404 page of an address typed by hand ("There is nothing here, or it is not yours to see",
    # a link to the overview), under the other tab's "Webhook deleted": what was sent, and whether anything changed,
    # was not said.
    alice = make_user("alice@example.com")
    webhook = webhook_with_a_failed_delivery(alice, "alicehook")
    client = logged_in(alice)
    assert client.post(f"/dashboard/webhooks/{webhook.id}/delete/").status_code == 302  # the other tab
    edit = {"name": "moved", "url": "https://moved.example/hook", "event_types": ["memory_add"]}
    for action, data, page in (
        ("active", {"active": "no"}, "/dashboard/webhooks/"),
        ("delete", {}, "/dashboard/webhooks/"),
    ):
        answer = client.post(
            f"/dashboard/webhooks/{webhook.id}/{action}/", data, HTTP_REFERER=f"http://testserver{page}"
        )
        said = answer.content.decode()
        assert answer.status_code == 404, action
        assert "No such webhook." in said and "Nothing was changed." in said, action
        assert f'href="{page}"' in said, action
    # An edit's Save is a 400 saying the webhook was deleted, with what was typed shown to copy (the 404 page lost
    # it), as a memory's page does for a memory deleted meanwhile.
    saved = client.post(f"/dashboard/webhooks/{webhook.id}/edit/?cursor=abc", edit)
    said = html.unescape(saved.content.decode())
    assert saved.status_code == 400
    assert "This webhook was deleted (in another tab, or through the API): nothing was saved." in said
    assert re.search(r'<input[^>]*value="moved"[^>]*readonly', said)
    assert re.search(r'<input[^>]*value="https://moved.example/hook"[^>]*readonly', said)
    assert "memory_add" in said and 'href="/dashboard/webhooks/?cursor=abc"' in said
    assert not Webhook.objects.exists()
    # Another account's webhook is answered the same (a deleted one and one not yours are told apart by nobody).
    theirs = webhook_with_a_failed_delivery(make_user("bob@example.com"), "bobhook")
    other = client.post(f"/dashboard/webhooks/{theirs.id}/edit/", edit)
    assert other.status_code == 400 and "bobhook" not in other.content.decode()
    # An address typed by hand is the plain 404 page still.
    typed = client.get("/dashboard/webhooks/999/edit/").content.decode()
    assert "There is nothing here, or it is not yours to see." in typed and "Nothing was changed." not in typed


@pytest.mark.django_db(transaction=True)
def test_a_save_for_a_webhook_deleted_while_the_save_was_under_way_says_it_was_deleted(make_user, settings):
    """Deleted after the edit view read the webhook, before its update locked it: the answer was the edit form again
    (a 400, "Webhook N not found." over what was typed), offering a Save that could never work, not the page saying
    it was deleted."""
    settings.WEBHOOK_ALLOW_PRIVATE = True  # a loopback address: no name to resolve here
    alice = make_user("alice@example.com")
    webhook = webhook_with_a_failed_delivery(alice, "alicehook")
    holder, watcher = other_session(), other_session()
    watcher.autocommit = True
    holder.execute("SELECT 1 FROM webhooks_webhook WHERE id = %s FOR UPDATE", [webhook.id])  # another change, under way
    deleting, _ = in_thread(lambda: logged_in(alice).post(f"/dashboard/webhooks/{webhook.id}/delete/"))
    wait_until_blocked(watcher, "DELETE%")  # the other tab's Delete waits for it, first
    edit = {"name": "moved", "url": "http://127.0.0.1:9/new", "event_types": ["memory_add"]}
    saving, saved = in_thread(lambda: logged_in(alice).post(f"/dashboard/webhooks/{webhook.id}/edit/?cursor=abc", edit))
    wait_until_blocked(watcher, "%FOR UPDATE%")  # the Save read the webhook, then waits for it, after the Delete
    holder.rollback()
    deleting.join(timeout=120), saving.join(timeout=120)
    said = html.unescape(saved["response"].content.decode())
    assert saved["response"].status_code == 400
    assert "This webhook was deleted (in another tab, or through the API): nothing was saved." in said
    assert re.search(r'<input[^>]*value="moved"[^>]*readonly', said)
    assert 'href="/dashboard/webhooks/?cursor=abc"' in said
    assert not Webhook.objects.exists()
    holder.close(), watcher.close()


def test_the_webhooks_page_pages_through_every_webhook_oldest_first(make_user, monkeypatch, settings):
    """It listed every webhook of the account on one page: 200 webhooks (WEBHOOK_MAX_PER_ACCOUNT raised) made a page
    of 240 KB, and no bound."""
    from dashboard.views import webhooks

    monkeypatch.setattr(webhooks, "LIST_ROWS", 2, raising=False)  # the page had no bound before
    settings.WEBHOOK_ALLOW_PRIVATE = True
    alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
    for n in range(5):
        webhook_with_a_failed_delivery(alice, f"hook{n}")
    webhook_with_a_failed_delivery(bob, "bobhook")
    client = logged_in(alice)
    address, seen = "/dashboard/webhooks/", []
    while address:
        page = client.get(address)
        assert page.status_code == 200
        body = page.content.decode()
        seen.append(re.findall(r"<td>(hook\d)</td>", body.split('id="deliveries"')[0]))
        assert all(f'href="/dashboard/webhooks/{webhook.id}/edit/' in body for webhook, _ in page.context["webhooks"])
        more = re.search(r'<a href="(\?cursor=[^"]+)">Next page of webhooks', body)
        address = "/dashboard/webhooks/" + html.unescape(more.group(1)) if more else None
    assert seen == [["hook0", "hook1"], ["hook2", "hook3"], ["hook4"]]
    for cursor in ["not-a-cursor"] + [cursor_of(key) for key in ([2**63], ["1"], [1, 2], {"id": 1})]:
        refused = client.get("/dashboard/webhooks/", {"cursor": cursor})
        assert refused.status_code == 400 and "cursor is not valid" in refused.content.decode()
        assert "No webhooks yet." not in refused.content.decode()
    made_anyway = client.post(
        "/dashboard/webhooks/?cursor=not-a-cursor",
        {"name": "late", "url": "http://127.0.0.1:9/in", "event_types": ["memory_add"]},
    )
    assert made_anyway.status_code == 400
    assert Webhook.objects.get(account=alice, name="late").secret in made_anyway.content.decode()


def test_a_change_made_on_a_later_page_of_webhooks_comes_back_to_that_page_or_the_last_one_left(
    make_user, monkeypatch, settings
):
    """Pausing, editing or deleting a webhook listed on page 2 sent the browser to page 1: the list's place was lost.
    The page's forms now come back to the page they were on; when nothing is left on it, to the list's last page."""
    from dashboard.views import webhooks

    monkeypatch.setattr(webhooks, "LIST_ROWS", 2)
    alice = make_user("alice@example.com")
    made = {n: webhook_with_a_failed_delivery(alice, f"hook{n}") for n in range(5)}  # hook0 hook1 | hook2 hook3 | hook4
    client = logged_in(alice)

    def listed(page) -> list[str]:
        return re.findall(r"<td>(hook\d)</td>", page.content.decode().split('id="deliveries"')[0])

    def form_of(page, n: int, what: str) -> str:
        found = re.search(rf'(?:action|href)="(/dashboard/webhooks/{made[n].id}/{what}/[^"]*)"', page.content.decode())
        return html.unescape(found.group(1))

    first = client.get("/dashboard/webhooks/")
    more = re.search(r'<a href="(\?cursor=[^"]+)">Next page of webhooks', first.content.decode())
    second = client.get("/dashboard/webhooks/" + html.unescape(more.group(1)))
    assert listed(second) == ["hook2", "hook3"]
    back = client.post(form_of(second, 2, "active"), {"active": "no"}, follow=True)
    assert "paused" in back.content.decode() and listed(back) == ["hook2", "hook3"]
    edit = form_of(back, 3, "edit")
    settings.WEBHOOK_ALLOW_PRIVATE = True
    fields = {"name": "hook3", "url": "http://127.0.0.1:9/in", "event_types": ["memory_add"]}
    back = client.post(edit, fields, follow=True)
    assert "saved" in back.content.decode() and listed(back) == ["hook2", "hook3"]
    back = client.post(form_of(back, 2, "delete"), follow=True)
    assert "Webhook deleted" in back.content.decode() and listed(back) == ["hook3", "hook4"]
    back = client.post(form_of(back, 3, "delete"), follow=True)
    back = client.post(form_of(back, 4, "delete"), follow=True)  # page 2 is empty now: page 1 is the last left
    assert back.status_code == 200 and listed(back) == ["hook0", "hook1"]
    assert "No webhooks yet." not in back.content.decode()


def cursor_of(key) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()
