"""Queued adds (the Platform API's adds, as Mem0's SDKs send them by default): what each held, how it ended."""

from __future__ import annotations

import math
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from dashboard.access import account_required, post_only
from dashboard.forms import EventFilterForm, PageForm
from events.selectors import events_counts, events_overview, parse_event_id
from events.services import event_add_again, events_add_again_failed
from mem0server.exceptions import InvalidInput, NotFound

PAGE_SIZE = 50


@account_required
def event_list(request):
    form = EventFilterForm(request.GET or None, admin=request.user.is_admin)
    paging = PageForm(request.GET)
    invalid = (form.is_bound and not form.is_valid()) or not paging.is_valid()
    status = form.cleaned_data.get("status") if form.is_bound and not invalid else ""
    scope = form.scope() if form.is_bound and not invalid else {}
    every = form.is_bound and not invalid and form.every_account()
    number = paging.cleaned_data.get("page") or 1 if not invalid else 1
    page = None
    if not invalid:
        page = events_overview(
            principal=request.user,
            page=number,
            page_size=PAGE_SIZE,
            status=status,
            scope=scope,
            every_account=every,
        )
    query = {"status": status, **scope} if status else scope
    query = {**query, "accounts": "all"} if every else query
    shown = {**query, "page": number} if number > 1 else query
    context = {
        "form": form,
        "paging": paging,
        "page": page,
        "page_number": number,
        "last_page": max(1, math.ceil(page.count / PAGE_SIZE)) if page else 1,
        "status": status,
        "every_account": every,
        "query": urlencode(query),
        # The list's filter and page, for its forms to come back to (they landed on page 1 of every add).
        "on_page": f"?{urlencode(shown)}" if shown else "",
        "retention": settings.EVENT_RETENTION_DAYS,
        "counts": events_counts(principal=request.user, every_account=every),
    }
    return render(request, "dashboard/events.html", context, status=400 if invalid else 200)


def _listed_every_account(request) -> bool:
    """Whether the form was on the list of every account's queued adds (an admin's), to go back to it."""
    return request.user.is_admin and request.POST.get("accounts") == "all"


def _back(request, every_account: bool):
    """The list (its filter and page) the form was on; the list checks them again."""
    query = request.GET.copy()
    if every_account:
        query["accounts"] = "all"
    return redirect(reverse("dashboard:events") + (f"?{query.urlencode()}" if query else ""))


@post_only("dashboard:events")
@account_required
def event_again(request, event_id: str):
    """Queue a failed add again: one of the account's, or an admin's of any account (as the account's own add)."""
    try:
        queued = event_add_again(
            principal=request.user, event_id=parse_event_id(event_id), every_account=request.user.is_admin
        )
    except NotFound:
        raise Http404("No such queued add.") from None
    except InvalidInput as exc:
        messages.info(request, exc.detail)
    else:
        messages.success(request, f"Queued again as event {queued.id}.")
    return _back(request, _listed_every_account(request))


@post_only("dashboard:events")
@account_required
def events_again(request):
    every = _listed_every_account(request)
    queued, left, refused = events_add_again_failed(principal=request.user, every_account=every)
    said = f"Queued {queued} failed add{'s' if queued != 1 else ''} again."
    if left:
        said += f" {left} more failed add{'s' if left != 1 else ''} not queued again: press the button again."
    messages.success(request, said)
    if refused:
        messages.info(request, f"{len(refused)} could not be queued again: {refused[0]}")
    return _back(request, every)
