"""How large a request body may be. MAX_REQUEST_BYTES for every request, except a file sent to the dashboard's
Import page by a logged-in account: up to IMPORT_MAX_BYTES, so a backup downloaded from the Exports page comes
back in a browser. Whoever is not logged in gets the usual 413 before more than MAX_REQUEST_BYTES of it is read.

Asked by every layer that reads a body before Django does (mem0server.buffering under gunicorn, wsgi_body for
chunked bodies under WSGI) and by BodySizeLimitMiddleware, from the request line and the Cookie header alone.
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.urls import reverse


def takes_large_uploads(method: str, path: str) -> bool:
    """Whether this request line may carry a body over MAX_REQUEST_BYTES (for a logged-in account)."""
    return method == "POST" and path == reverse("dashboard:imports")


def import_limit() -> int:
    return max(settings.IMPORT_MAX_BYTES, settings.MAX_REQUEST_BYTES)


def body_limit(method: str, path: str, cookie_header: str) -> int:
    """The most bytes this request's body may have. Reads the session (one query, two for a logged-in account)
    only for the Import page's POST."""
    if not takes_large_uploads(method, path) or settings.IMPORT_MAX_BYTES <= settings.MAX_REQUEST_BYTES:
        return settings.MAX_REQUEST_BYTES
    return import_limit() if _logged_in(cookie_header) else settings.MAX_REQUEST_BYTES


def _logged_in(cookie_header: str) -> bool:
    """Whether the Cookie header names the session of an active account, as the dashboard will see it (a session
    from before a password change, or of a deactivated account, does not count)."""
    session_key = parse_cookie(cookie_header).get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return False
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(request)
    return user.is_authenticated and user.is_active
