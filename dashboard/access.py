"""Who may open a dashboard page: a logged-in account (setup first while none exists); admin pages 403 members."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers

from accounts.services import setup_needed


def account_required(view):
    """Logged-in accounts only; the setup wizard while no account exists, the login page otherwise. Their
    pages (memories, a new key shown once) are never cached, by the browser or a proxy."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            if setup_needed():
                return redirect("dashboard:setup")
            return redirect_to_login(request.get_full_path())
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    return wrapper


def admin_required(view):
    """As account_required, and a 403 page for members."""

    @wraps(view)
    @account_required
    def wrapper(request, *args, **kwargs):
        if not request.user.is_admin:
            return render(request, "dashboard/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper
