"""The webhook routes over HTTP (DRF's APIClient): bad bodies are 400s that say what is wrong, unknown or other
accounts' webhooks are 404s, the SSRF guard refuses non-public targets, and secrets stay masked."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from accounts.models import User
from platform_api.services import project_ids
from webhooks.models import EventType, Webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    return make_user("alice@example.com")


@pytest.fixture
def alice_api(key_client, alice):
    return key_client(alice)


def hooks_url(principal) -> str:
    return f"/api/v1/webhooks/projects/{project_ids(principal=principal)[1]}/"


def create(api, principal, **body):
    body = {"name": "hook", "url": "http://127.0.0.1:9/", "event_types": ["memory_add"], **body}
    return api.post(hooks_url(principal), body, format="json")


# --- validation --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"event_types": ["memory_explode"]}, "valid event types are memory_add, memory_update, memory_delete"),
        ({"event_types": []}, "event_types"),
        ({"event_types": "memory_add"}, "event_types"),
        ({"name": ""}, "name"),
        ({"name": 7}, "name: Must be a string"),
        # Shown on the dashboard, the admin and in the SDKs' answers: an escape sequence recoloured a terminal.
        ({"name": "ops\x1b[2J"}, "name holds a control character at position 4"),
        ({"name": "two\nlines"}, "name holds a control character at position 4"),
        ({"url": ["http://127.0.0.1/"]}, "url: Must be a string"),
        ({"url": "not a url"}, "http:// or https://"),
        ({"url": "ftp://127.0.0.1/file"}, "http:// or https://, not ftp:"),
        ({"url": "http://user:pw@127.0.0.1/"}, "user name or password"),
        ({"url": "http://127.0.0.1:99999/"}, "not a valid URL"),
        ({"url": "http://127.0.0.1:0/"}, "port 0"),
        ({"url": "http:///path-only"}, "url has no host"),
        # Saved as typed, sent elsewhere: the URL parser drops tabs and line breaks (to example.com).
        ({"url": "http://exa\nmple.com/"}, "url holds a space or a control character at position 11"),
        ({"url": "http://127.0.0.1/a b"}, "url holds a space or a control character at position 19"),
        ({"is_active": "yes"}, "is_active"),
    ],
)
def test_a_bad_create_body_is_a_400_naming_the_problem(alice_api, alice, settings, body, expected):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    answer = create(alice_api, alice, **body)
    assert answer.status_code == 400, answer.content
    assert expected in answer.json()["detail"]
    assert not Webhook.objects.exists()


def test_a_field_a_webhook_does_not_take_is_a_400_naming_it_and_nothing_is_created_or_changed(
    alice_api, alice, settings
):
    # {"enabled": false} (for is_active) made an active webhook that posted every change; a secret of one's own was
    # replaced by the server's without a word.
    settings.WEBHOOK_ALLOW_PRIVATE = True
    for body, name in [({"enabled": False}, "enabled"), ({"secret": "mine"}, "secret")]:
        response = create(alice_api, alice, **body)
        assert response.status_code == 400
        assert f"Unknown field(s): {name}." in response.json()["detail"]
    assert not Webhook.objects.exists()
    webhook_id = create(alice_api, alice).json()["webhook_id"]
    response = alice_api.put(f"/api/v1/webhooks/{webhook_id}/", {"enabled": False}, format="json")
    assert response.status_code == 400 and "Unknown field(s): enabled." in response.json()["detail"]
    assert Webhook.objects.get().is_active


@pytest.mark.parametrize("missing", ["name", "url", "event_types"])
def test_a_create_without_a_required_field_is_a_400(alice_api, alice, missing):
    body = {"name": "hook", "url": "http://127.0.0.1:9/", "event_types": ["memory_add"]}
    del body[missing]
    answer = alice_api.post(hooks_url(alice), body, format="json")
    assert answer.status_code == 400
    assert missing in answer.json()["detail"]


def test_a_body_that_is_not_an_object_is_a_400(alice_api, alice):
    answer = alice_api.post(hooks_url(alice), [1, 2], format="json")
    assert answer.status_code == 400


def test_every_platform_event_type_is_accepted(alice_api, alice, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    answer = create(alice_api, alice, event_types=EventType.values)
    assert answer.status_code == 201, answer.content
    assert answer.json()["event_types"] == EventType.values


@pytest.mark.parametrize("webhook_id", ["999999", "abc", "99999999999999999999999", "-1"])
def test_an_unknown_webhook_id_is_a_404(alice_api, webhook_id):
    assert alice_api.put(f"/api/v1/webhooks/{webhook_id}/", {"name": "x"}, format="json").status_code == 404
    assert alice_api.delete(f"/api/v1/webhooks/{webhook_id}/").status_code == 404


def test_a_bad_update_is_a_400_and_changes_nothing(alice_api, alice, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    webhook_id = create(alice_api, alice).json()["webhook_id"]
    answer = alice_api.put(f"/api/v1/webhooks/{webhook_id}/", {"name": "new", "event_types": ["nope"]}, format="json")
    assert answer.status_code == 400
    assert "valid event types are" in answer.json()["detail"]
    assert Webhook.objects.get().name == "hook"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({}, "Nothing to update: give at least one of name, url, event_types, is_active."),
        ({"project_id": "x", "secret": "not changeable"}, "Unknown field(s): project_id, secret. PUT"),
    ],
)
def test_an_update_naming_no_field_is_a_400_listing_the_fields(alice_api, alice, settings, body, says):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    webhook_id = create(alice_api, alice).json()["webhook_id"]
    answer = alice_api.put(f"/api/v1/webhooks/{webhook_id}/", body, format="json")
    assert answer.status_code == 400
    assert says in answer.json()["detail"]
    assert "name, url, event_types, is_active" in answer.json()["detail"]
    assert Webhook.objects.get().name == "hook"


def test_is_active_false_pauses_a_webhook(alice_api, alice, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    webhook_id = create(alice_api, alice).json()["webhook_id"]
    alice_api.put(f"/api/v1/webhooks/{webhook_id}/", {"is_active": False}, format="json")
    [listed] = alice_api.get(hooks_url(alice)).json()
    assert listed["is_active"] is False


def test_the_admin_principal_has_its_own_webhooks(api_client, alice_api, alice, settings):
    from conftest import ADMIN

    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert create(api_client, ADMIN).status_code == 201
    assert alice_api.get(hooks_url(alice)).json() == []
    [listed] = api_client.get(hooks_url(ADMIN)).json()
    assert listed["owner"] == "admin"
    assert Webhook.objects.get().account is None


# --- the SSRF guard -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1/hook", "loopback"),
        ("http://127.9.9.9:8080/hook", "loopback"),
        ("http://localhost:8000/hook", "loopback"),  # a name that resolves to loopback
        ("http://[::1]/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://[2002:7f00:1::]/hook", "loopback"),  # 6to4, with 127.0.0.1 inside
        ("http://[2002:a01:203::1]/hook", "private"),  # 6to4, with 10.1.2.3 inside
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.0.10/hook", "private"),
        ("http://172.16.5.5/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://[fec0::1]/hook", "site-local"),  # deprecated, but still routed inside a site
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://240.0.0.1/hook", "reserved"),
        ("http://100.64.0.1/hook", "not public"),
    ],
)
def test_non_public_targets_are_refused_unless_allowed(alice_api, alice, settings, url, kind):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    answer = create(alice_api, alice, url=url)
    assert answer.status_code == 400
    assert f"a {kind} address" in answer.json()["detail"]
    assert "WEBHOOK_ALLOW_PRIVATE" in answer.json()["detail"]
    assert not Webhook.objects.exists()

    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert create(alice_api, alice, url=url).status_code == 201


def test_an_update_to_a_non_public_target_is_refused(alice_api, alice, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    webhook_id = create(alice_api, alice, url="http://127.0.0.1:9/a").json()["webhook_id"]
    settings.WEBHOOK_ALLOW_PRIVATE = False
    answer = alice_api.put(f"/api/v1/webhooks/{webhook_id}/", {"url": "http://10.0.0.1/"}, format="json")
    assert answer.status_code == 400
    assert "a private address" in answer.json()["detail"]
    assert Webhook.objects.get().url == "http://127.0.0.1:9/a"


def test_a_host_that_does_not_resolve_is_refused(alice_api, alice, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    answer = create(alice_api, alice, url="https://no-such-host.invalid/hook")
    assert answer.status_code == 400
    assert "does not resolve" in answer.json()["detail"]


# --- secrets -------------------------------------------------------------------------------------------------


def test_the_secret_is_shown_once_then_masked_in_lists_and_the_admin(alice_api, alice, settings, client):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    secret = create(alice_api, alice).json()["secret"]
    assert secret not in alice_api.get(hooks_url(alice)).content.decode()
    staff = User.objects.create_superuser(email="root@example.com", password="an admin passphrase")
    client.force_login(staff)
    webhook = Webhook.objects.get()
    for path in (
        "/admin/webhooks/webhook/",
        f"/admin/webhooks/webhook/{webhook.pk}/change/",
        "/admin/webhooks/webhookdelivery/",
    ):
        page = client.get(path)
        assert page.status_code == 200
        assert secret not in page.content.decode()
    assert secret[-4:] in client.get(f"/admin/webhooks/webhook/{webhook.pk}/change/").content.decode()


def test_the_admin_shows_a_webhook_urls_token_and_password_masked(alice, client):
    # A receiver may take its token in the query string, or (a webhook stored before the API refused them) a
    # user:password@: the admin's list, change page and delivery log printed them whole to every superuser.
    tokened = Webhook.objects.create(
        account=alice, name="crm", url="https://hooks.example.com/in?token=tok-s3cr3t-q&v=2", event_types=["memory_add"]
    )
    Webhook.objects.create(
        account=alice, name="old", url="https://ops:pw-s3cr3t-u@hooks.example.com/old", event_types=["memory_add"]
    )
    tokened.deliveries.create(event_id=uuid.uuid4(), event_type="memory_add", payload={}, attempt=1, error="refused")
    staff = User.objects.create_superuser(email="root@example.com", password="an admin passphrase")
    client.force_login(staff)
    pages = {
        path: client.get(path)
        for path in (
            "/admin/webhooks/webhook/",
            *(f"/admin/webhooks/webhook/{pk}/change/" for pk in Webhook.objects.values_list("pk", flat=True)),
            "/admin/webhooks/webhookdelivery/",
        )
    }
    for path, page in pages.items():
        assert page.status_code == 200, path
        assert "s3cr3t" not in page.content.decode(), path
    listed = pages["/admin/webhooks/webhook/"].content.decode()
    assert "https://hooks.example.com/in?token=[redacted]&amp;v=[redacted]" in listed
    assert "https://ops:[redacted]@hooks.example.com/old" in listed
    # Nor found by searching for it, which would read the token back a character at a time.
    for path in ("/admin/webhooks/webhook/?q=tok-s3cr3t", "/admin/webhooks/webhookdelivery/?q=tok-s3cr3t"):
        assert "0 results" in client.get(path).content.decode(), path
    assert "crm" in pages[f"/admin/webhooks/webhook/{tokened.pk}/change/"].content.decode()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/webhooks/projects/proj_x/"),
        ("post", "/api/v1/webhooks/projects/proj_x/"),
        ("put", "/api/v1/webhooks/1/"),
        ("delete", "/api/v1/webhooks/1/"),
    ],
)
def test_the_webhook_routes_need_credentials(anon_client, method, path):
    answer = getattr(anon_client, method)(path, {}, format="json")
    assert answer.status_code == 401
    assert "WWW-Authenticate" in answer


def test_an_update_of_a_webhook_whose_secret_cannot_be_opened_keeps_the_sealed_secret(alice_api, alice, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    webhook_id = create(alice_api, alice).json()["webhook_id"]
    Webhook.objects.filter(pk=webhook_id).update(secret="sealed:v1:sealed-under-another-key")  # kept as it is
    answer = alice_api.put(f"/api/v1/webhooks/{webhook_id}/", {"is_active": False}, format="json")
    assert answer.status_code == 200, answer.content
    with connection.cursor() as cursor:  # the column as stored (the model field would try to open it)
        cursor.execute("SELECT is_active, secret FROM webhooks_webhook WHERE id = %s", [webhook_id])
        assert cursor.fetchone() == (False, "sealed:v1:sealed-under-another-key")


def test_an_account_has_at_most_the_limit_of_webhooks(alice_api, alice, key_client, make_user, settings):
    """Each memory change queues one delivery per webhook, in the change's own transaction: without a limit, a
    member with thousands of webhooks made every add of theirs queue thousands of jobs per memory."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_MAX_PER_ACCOUNT = 2
    first, _ = [create(alice_api, alice, name=f"hook {n}") for n in range(2)]
    answer = create(alice_api, alice, name="one too many")
    assert answer.status_code == 400
    assert "at most 2 webhooks" in answer.json()["detail"] and "WEBHOOK_MAX_PER_ACCOUNT" in answer.json()["detail"]
    assert Webhook.objects.filter(account=alice).count() == 2
    bob = make_user("bob@example.com")
    assert create(key_client(bob), bob).status_code == 201  # another account's count is its own
    assert alice_api.delete(f"/api/v1/webhooks/{first.json()['webhook_id']}/").status_code == 200
    assert create(alice_api, alice, name="in its place").status_code == 201
