"""The account's webhooks (secrets masked) and their recent delivery attempts; changes go through the API."""

from __future__ import annotations

from django.shortcuts import render

from dashboard.access import account_required
from webhooks.selectors import deliveries_recent, webhooks_of
from webhooks.services import secret_mask

RECENT_DELIVERIES = 50


@account_required
def webhook_list(request):
    webhooks = [(webhook, secret_mask(webhook.secret)) for webhook in webhooks_of(principal=request.user)]
    deliveries = deliveries_recent(principal=request.user, limit=RECENT_DELIVERIES)
    return render(request, "dashboard/webhooks.html", {"webhooks": webhooks, "deliveries": deliveries})
