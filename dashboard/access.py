"""Who may open a dashboard page: a logged-in account (setup first while none exists); admin pages 403 members."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from accounts.services import setup_needed


def account_required(view):
    """Logged-in accounts only; the setup wizard while no account exists, the login page otherwise. Their
    pages (memories, a new key shown once) are never cached, by the browser or a proxy."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            if setup_needed():
                to = redirect("dashboard:setup")
            else:
                to = redirect_to_login(_page_shown(request))
                _say_logged_out(request)
            # htmx would follow a redirect and swap the login page into the part it updates: the browser goes.
            return HttpResponseClientRedirect(to.url) if request.htmx else to
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    return wrapper


def _say_logged_out(request) -> None:
    """A form sent, or a part of a page asked for, from a page opened while logged in: the login page says why it
    came and that nothing was sent (it said only "Log in", and what was typed was gone)."""
    if request.method == "POST":
        said = "what you sent was not saved. Log in, then send it again."
    elif request.htmx:
        said = "log in, then try again."
    else:  # a page opened (a bookmark, a link): the login page needs no word
        return
    messages.error(request, f"You are logged out (in another tab, or your session ended): {said}")


def _page_shown(request) -> str:
    """Where to come back after logging in: for an htmx request the page it was made from, for a form sent the page
    it was on (its Referer), same origin only; else the page asked for. A form's own address answers only its POST:
    after logging in, it was a 405 page."""
    try:
        return (request.htmx and request.htmx.current_url_abs_path) or form_page(request) or request.get_full_path()
    except ValueError:  # an HX-Current-URL that is no URL ("http://["): the page asked for
        return request.get_full_path()


def form_page(request) -> str | None:
    """The dashboard page (path and query) a form was sent from, by its Referer, same origin only; None for another
    request."""
    referer = request.headers.get("Referer", "")
    if request.method != "POST" or not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    page = urlsplit(referer)
    if not page.netloc or not page.path.startswith("/dashboard/"):
        return None
    return page.path + (f"?{page.query}" if page.query else "")


def admin_required(view):
    """As account_required, and a 403 page for members."""

    @wraps(view)
    @account_required
    def wrapper(request, *args, **kwargs):
        if not request.user.is_admin:
            return render(request, "dashboard/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def post_only(page: str, *path_args: str):
    """For the address a form of `page` (a URL name; `path_args` the view's arguments its URL takes) posts to:
    any other method (a reload of the address after a refused form, a bookmark) is a 405 page saying so with a
    link to that page, not an empty response."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method != "POST":
                back = reverse(page, kwargs={name: kwargs[name] for name in path_args})
                response = render(request, "dashboard/post_only.html", {"back": back}, status=405)
                response["Allow"] = "POST"
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
