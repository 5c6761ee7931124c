"""The dashboard's Webhooks page: the account's own webhooks (secret masked) and their recent deliveries."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from webhooks.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


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
