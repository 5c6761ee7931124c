"""The account's webhooks: create one (its signing secret shown once), edit, pause or resume, delete; their recent
delivery attempts. The same services as /api/v1/webhooks/…"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html

from dashboard.access import account_required, post_only
from dashboard.forms import WebhookForm
from dashboard.once import once_token, resent, sent_before
from dashboard.views.common import LIST_ROWS, attempt, cursor_query, form_status, posted_yes_no
from mem0server.exceptions import InvalidInput, NotFound
from webhooks import services
from webhooks.selectors import deliveries_recent, webhook_get, webhooks_page

RECENT_DELIVERIES = 50


@account_required
def webhook_list(request):
    form = WebhookForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        if sent_before(request):
            messages.info(request, resent("webhook"))
            return redirect("dashboard:webhooks")
        created = attempt(form, lambda: services.webhook_create(principal=request.user, **form.cleaned_data))
        if created is not None:
            form = WebhookForm()
    return _page(request, form, created=created)


def _page(request, form: WebhookForm, *, created=None, refused: str = ""):
    """The webhooks page; `refused` says why a change asked of it was not made (a 400, as a refused form is)."""
    if refused:
        messages.error(request, refused)
    # Oldest first, a page at a time; a cursor no page gave is a 400 saying so (a secret just made is still shown).
    try:
        page = webhooks_page(principal=request.user, limit=LIST_ROWS, cursor=request.GET.get("cursor") or None)
        rows, next_cursor, on_page, error = page.results, page.next_cursor, cursor_query(page.cursor), ""
    except InvalidInput as exc:
        rows, next_cursor, on_page, error = [], None, "", exc.detail
    context = {
        "form": form,
        "created": created,
        "webhooks": [(webhook, services.secret_mask(webhook.secret)) for webhook in rows],
        "next_cursor": next_cursor,
        "on_page": on_page,
        "error": error,
        "deliveries": deliveries_recent(principal=request.user, limit=RECENT_DELIVERIES),
        "once": once_token(),
    }
    return render(request, "dashboard/webhooks.html", context, status=400 if refused or error else form_status(form))


@account_required
def webhook_edit(request, webhook_id: int):
    """GET: the webhook's name, URL and events in a form; POST: change them (the secret stays). Event types this
    server never sends, set through the API, are not in the form and are kept."""
    try:
        webhook = webhook_get(principal=request.user, webhook_id=webhook_id)
    except NotFound:
        if request.method == "POST":  # deleted in another tab (or through the API) since the page was opened
            return _deleted(request)
        raise Http404("No such webhook.") from None
    kept = [event for event in webhook.event_types if event not in services.SENT_EVENT_TYPES]
    initial = {"name": webhook.name, "url": webhook.url, "event_types": webhook.event_types}
    form = WebhookForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = form.cleaned_data | {"event_types": form.cleaned_data["event_types"] + kept}
        try:
            changed = attempt(
                form,
                lambda: services.webhook_update(principal=request.user, webhook_id=webhook_id, **changes),
                passing=(NotFound,),
            )
        except NotFound:  # deleted since it was read above, before the update locked it
            return _deleted(request)
        if changed is not None:
            messages.success(request, format_html("Webhook “<bdi>{}</bdi>” saved.", changed.name))
            return _back_to_list(request)
    context = {"form": form, "webhook": webhook, "kept": kept, "on_page": cursor_query(request.GET.get("cursor"))}
    return render(request, "dashboard/webhook_edit.html", context, status=form_status(form))


def _deleted(request):
    """A 400 for an edit of a webhook that is gone, showing what was typed, to copy into a new one (a 404 page lost
    it). A webhook deleted leaves nothing behind, so one that was never the account's is answered the same."""
    messages.error(request, "This webhook was deleted (in another tab, or through the API): nothing was saved.")
    unsaved = {
        "name": request.POST.get("name", ""),
        "url": request.POST.get("url", ""),
        "event_types": request.POST.getlist("event_types"),
    }
    context = {"unsaved": unsaved, "on_page": cursor_query(request.GET.get("cursor"))}
    return render(request, "dashboard/webhook_deleted.html", context, status=400)


@post_only("dashboard:webhooks")
@account_required
def webhook_active(request, webhook_id: int):
    active = posted_yes_no(request, "active")
    if active is None:
        return _page(request, WebhookForm(), refused="active must be yes (resume) or no (pause).")
    try:
        webhook = services.webhook_update(principal=request.user, webhook_id=webhook_id, is_active=active)
    except NotFound:
        raise Http404("No such webhook.") from None
    done = "resumed" if active else "paused: it is sent nothing"
    messages.success(request, format_html("Webhook “<bdi>{}</bdi>” {}.", webhook.name, done))
    return _back_to_list(request)


@post_only("dashboard:webhooks")
@account_required
def webhook_delete(request, webhook_id: int):
    try:
        services.webhook_delete(principal=request.user, webhook_id=webhook_id)
    except NotFound:
        raise Http404("No such webhook.") from None
    messages.success(request, "Webhook deleted, with its delivery log; nothing more is sent to it.")
    return _back_to_list(request)


def _back_to_list(request):
    """The page of the list a change was asked from (or the last one left: webhooks_page)."""
    return redirect(reverse("dashboard:webhooks") + cursor_query(request.GET.get("cursor")))
