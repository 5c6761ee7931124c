"""Forms that create something shown once (an API key, a webhook's signing secret). The page showing it answers their
POST, so a reload of it (or Back, then Forward) sent the form again and created a second one. Each such form carries
a one-time token; the first request to send it claims it with the cache's add() (one INSERT on a unique key in the
database cache, SET NX in Redis), so of two sent at the same instant only one passes, and a token sent again creates
nothing. The session keeps the last tokens too: the cache may cull old entries, the session does not."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.cache import cache

SESSION_KEY = "dashboard_forms_sent"
REMEMBERED = 20  # tokens kept per session: pages with such a form a person has open at once


def once_token() -> str:
    """A new token for a form's hidden "once" field."""
    return secrets.token_urlsafe(16)


def sent_before(request) -> bool:
    """Whether this POST's form was sent before (a reload, Back, a second send at the same instant); claims its token
    otherwise. A form without a token (a script's) is taken as new."""
    token = request.POST.get("once", "")
    if not token:
        return False
    sent = request.session.get(SESSION_KEY, [])
    if token in sent:
        return True
    digest = hashlib.sha256(token.encode()).hexdigest()
    if not cache.add(f"dashboard-once:{digest}", True, timeout=settings.SESSION_COOKIE_AGE):
        return True
    request.session[SESSION_KEY] = [*sent[-(REMEMBERED - 1) :], token]
    return False


def resent(what: str) -> str:
    """What the page says when such a form came again."""
    return f"This form was sent before (a reload, or Back): no second {what} was created."
