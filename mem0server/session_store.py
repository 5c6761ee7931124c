"""Django's database sessions (SESSION_ENGINE), refusing a session key Django could not have made before it is
looked up.

A cookie may carry anything: a quoted value's octal escape (`sessionid="abcdefgh\\000…"`) reaches Django as a NUL,
which PostgreSQL cannot compare, and every page (the dashboard's, the Django admin's) answered 500. Django makes
keys of 32 lower-case letters and digits; anything else is no session, as an unknown key is.
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key) -> bool:
        return super()._validate_session_key(key) and key.isascii() and key.isalnum()
