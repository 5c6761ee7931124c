"""Secrets a client repeats where it names itself (its User-Agent, X-Mem0-Client, a Referer) or in a path: taken out
of what the request log stores (requestlog/middleware.py) and what gunicorn's access log prints
(mem0server/access_log.py)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from django.conf import settings

from apikeys.prefix import KEY_PREFIX
from mem0server.text import REDACTED, redact_secret_echoes

# A key of this server's, should a caller put one where it names itself: never stored or printed.
_KEY_IN_TEXT = re.compile(re.escape(KEY_PREFIX) + r"[A-Za-z0-9_-]+")


def keys_masked(text: str) -> str:
    """The text with each of this server's keys cut to its prefix."""
    return _KEY_IN_TEXT.sub(f"{KEY_PREFIX}…", text)


def presented_credentials(meta: Mapping[str, str]) -> list[str]:
    """The credentials a request carried (its key, its bearer token: WSGI environ names) and the admin key; short ones
    are left out (an "a" would be taken out of every name)."""
    bearer = meta.get("HTTP_AUTHORIZATION", "").partition(" ")[2].strip()
    found = (meta.get("HTTP_X_API_KEY", "").strip(), bearer, settings.ADMIN_API_KEY or "")
    return [credential for credential in found if len(credential) >= 8]


def without_secrets(text: str, meta: Mapping[str, str]) -> str:
    """The text without this server's keys (their prefix kept), the request's own credentials, the admin key, a URL's
    credentials and query values, and any provider-key-looking word."""
    return redact_secret_echoes(keys_masked(text), *presented_credentials(meta))


def without_credentials(path: str, meta: Mapping[str, str]) -> str:
    """A path without this server's keys (their prefix kept), the request's own credentials and the admin key; the
    rest as sent (an id such as "key_customer_42" is no provider's key)."""
    path = keys_masked(path)
    for credential in sorted(presented_credentials(meta), key=len, reverse=True):
        path = path.replace(credential, REDACTED)
    return path


class KeysLogFilter(logging.Filter):
    """Log lines without this server's keys and the admin key: Django logs each refused request with its path ("Not
    Found: /mcp/m0sk_…"), and a caller may put a key there."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = without_credentials(message, {})
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
