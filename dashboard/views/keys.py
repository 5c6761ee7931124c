"""API keys of the logged-in account: create (the key shown once), list with last use, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from apikeys import services
from dashboard.access import account_required, post_only
from dashboard.forms import KeyForm
from dashboard.once import once_token, resent, sent_before
from dashboard.views.common import LIST_ROWS, cursor_query, form_status
from mem0server.exceptions import InvalidInput, NotFound


@account_required
def key_list(request):
    form = KeyForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        if sent_before(request):
            messages.info(request, f"{resent('key')} A key is shown only once: revoke it below if it was not copied.")
            return redirect("dashboard:keys")
        created = services.apikey_create(user=request.user, label=form.cleaned_data["label"])
        form = KeyForm()
    context = {"form": form, "created": created, "once": once_token()}
    # Newest first, a page at a time; a cursor no page gave is a 400 saying so (a key just made is still shown).
    try:
        page = services.apikeys_page(user=request.user, limit=LIST_ROWS, cursor=request.GET.get("cursor") or None)
    except InvalidInput as exc:
        context |= {"keys": [], "next_cursor": None, "error": exc.detail}
        return render(request, "dashboard/keys.html", context, status=400)
    context |= {"keys": page.results, "next_cursor": page.next_cursor, "on_page": cursor_query(page.cursor)}
    return render(request, "dashboard/keys.html", context, status=form_status(form))


@post_only("dashboard:keys")
@account_required
def key_revoke(request, key_id: int):
    try:
        services.apikey_revoke(user=request.user, key_id=key_id)
    except NotFound:
        raise Http404("No such key.") from None
    except InvalidInput as exc:
        messages.info(request, exc.detail)
    else:
        messages.success(request, "Key revoked: it stops working at once.")
    return redirect(reverse("dashboard:keys") + cursor_query(request.GET.get("cursor")))
