"""Whose turn a request waits in (mem0server/buffering.py's FairTurns): its account's, once its credential has
authenticated in this worker; else its address's.

The event loop cannot check a credential without the database, and each credential had a turn of its own: a client
sending each request with another made-up key had as many turns as it liked, while an account had one. Here a
credential earns a place in its account's turn by authenticating (TurnsMiddleware notes it after the response, with
the account it authenticated as); until then, and a bad one always, it waits in the turn of the address it comes
from, with the requests that carry none. Every credential of one account (its keys, its tokens, its dashboard session)
waits in that account's one turn: an account creating keys gains no turns over another.
"""

from __future__ import annotations

import collections
import hashlib
import threading
from collections.abc import Mapping

from django.conf import settings
from django.db import DatabaseError

from apikeys.authentication import API_KEY_HEADER, auth_type_of

# Credentials remembered per worker, the least recently seen forgotten first: only ones that authenticated come in,
# so a flood of made-up ones cannot push an account's out.
REMEMBERED = 10_000


class KnownCredentials:
    """The credentials that have authenticated, each with the account it authenticated as, kept as digests (no key sits
    in memory longer than its request)."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self.size = size
        self._seen: collections.OrderedDict[bytes, bytes] = collections.OrderedDict()
        self._lock = threading.Lock()  # noted on Django's threads, read on the event loop

    def add(self, credential: bytes, account: bytes) -> None:
        digest = hashlib.sha256(credential).digest()
        with self._lock:
            self._seen[digest] = account
            self._seen.move_to_end(digest)
            if len(self._seen) > self.size:
                self._seen.popitem(last=False)

    def account_of(self, credential: bytes) -> bytes | None:
        """The account this credential authenticated as, or None if it has not here."""
        digest = hashlib.sha256(credential).digest()
        with self._lock:
            return self._seen.get(digest)

    def __contains__(self, credential: bytes) -> bool:
        return self.account_of(credential) is not None

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


known_credentials = KnownCredentials()


def _session_turn(value: str | bytes) -> bytes:
    value = value.encode("latin-1", "replace") if isinstance(value, str) else value  # as WSGI decoded it
    return settings.SESSION_COOKIE_NAME.encode() + b"=" + value


def caller_turn(headers: Mapping[bytes, bytes], address: bytes) -> bytes:
    """The turn of a request with these headers (lower-case names, repeated ones joined with ",", as Django sees
    them): the account of the first of its credentials (X-API-Key, Authorization, the dashboard's session cookie)
    that has authenticated here, else its address."""
    credentials = [name + b" " + headers[name] for name in (b"x-api-key", b"authorization") if headers.get(name)]
    session = settings.SESSION_COOKIE_NAME.encode() + b"="
    values = [cookie.strip() for cookie in headers.get(b"cookie", b"").split(b";")]
    sessions = [value[len(session) :] for value in values if value.startswith(session)]
    if sessions:
        credentials.append(_session_turn(sessions[-1]))  # Django reads the last one
    for credential in credentials:
        if (account := known_credentials.account_of(credential)) is not None:
            return b"account " + account
    return address


def authenticated_turn(request) -> bytes | None:
    """The credential this answered request authenticated with, as caller_turn reads it, or None: none, a bad one, or
    AUTH_DISABLED (which checks none)."""
    meta, session = request.META, request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not (meta.get(API_KEY_HEADER) or meta.get("HTTP_AUTHORIZATION") or session):
        return None  # nothing to note: the user (perhaps a lazy one) is not read
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return None
    if hasattr(request, "auth"):  # Django REST framework's authentication set it
        kind = auth_type_of(user, request.auth)
        if kind in ("api_key", "admin_api_key") and API_KEY_HEADER in meta:
            return b"x-api-key " + meta[API_KEY_HEADER].encode("latin-1", "replace")
        if kind in ("api_key", "admin_api_key", "bearer", "oauth"):
            return b"authorization " + meta["HTTP_AUTHORIZATION"].encode("latin-1", "replace")
        return None
    if session and request.session.session_key == session:  # the dashboard's, not one replaced by a login
        return _session_turn(session)
    return None


def account_turned(request) -> bytes:
    """The account an authenticated request acts as, as turns name it; the admin key's (no account) is its own."""
    account = getattr(request.user, "pk", None)
    return b"admin" if account is None else str(account).encode()


class TurnsMiddleware:
    """Notes the credential an answered request authenticated with, so its next requests wait in its account's turn."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        try:
            turn = authenticated_turn(request)
        except DatabaseError:  # a session that cannot be read now: noted another time
            turn = None
        if turn is not None:
            known_credentials.add(turn, account_turned(request))
        return response
