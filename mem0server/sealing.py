"""Secrets the server must use again (provider keys set through POST /configure, base URLs written with
credentials or query values, webhook signing secrets) are stored sealed: encrypted and authenticated (Fernet)
with a key derived from SECRET_KEY, so a database dump or a read-only look at the database does not carry them
in clear. SECRET_KEY_FALLBACKS still open what older keys sealed.

A sealed value is "sealed:v1:<token>". A value without that prefix (stored by an earlier version) is used as
it is and sealed at its next write.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models
from django.utils.crypto import salted_hmac

from mem0server.text import REDACTED, holds_secret, mask_url_value

logger = logging.getLogger("mem0server")

PREFIX = "sealed:v1:"


class Unsealable(Exception):
    """Sealed under a SECRET_KEY that is neither the current one nor a fallback."""


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(salted_hmac("mem0server.sealing", "", secret=key, algorithm="sha256").digest())
            )
            for key in keys
        ]
    )


def seal(text: str) -> str:
    return PREFIX + _fernet().encrypt(text.encode()).decode()


def unseal(text: str) -> str:
    """The clear text of a sealed value (a value not sealed is returned as it is); Unsealable if no key opens it."""
    if not text.startswith(PREFIX):
        return text
    try:
        return _fernet().decrypt(text.removeprefix(PREFIX).encode()).decode()
    except InvalidToken:
        raise Unsealable from None


def _unseal_or_none(text: str, where: str) -> str | None:
    try:
        return unseal(text)
    except Unsealable:
        logger.warning(
            "%s was sealed with another SECRET_KEY and cannot be read; add the old key to SECRET_KEY_FALLBACKS, "
            "or set it again",
            where,
        )
        return None


def _walk(value: Any, change, select, path: str = "") -> Any:
    """A copy of a JSON value with change(path, text) applied to each non-empty string that select(key, text)
    picks; a None from change leaves the key out."""
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if isinstance(item, str) and item and select(key, item):
                item = change(where, item)
                if item is None:
                    continue
            else:
                item = _walk(item, change, select, where)
            result[key] = item
        return result
    if isinstance(value, list):
        return [_walk(item, change, select, path) for item in value]
    return value


def _holds_secret(key: str, text: str) -> bool:
    """A secret-named value (or a keyword connection string with a password), or a URL with credentials or query
    values (what mask_urls hides when shown)."""
    return holds_secret(key, text) or mask_url_value(text) != text


def seal_secrets(value: Any) -> Any:
    """A copy of a JSON value with its secrets sealed: secret-named strings, and URLs with credentials or query
    values ("[redacted]" and sealed values kept as they are)."""
    return _walk(
        value, lambda _, text: text if text == REDACTED or text.startswith(PREFIX) else seal(text), _holds_secret
    )


def unseal_secrets(value: Any) -> Any:
    """A copy of a JSON value with its sealed strings opened; one that cannot be opened is left out, with a
    warning naming it, so it reads as never set (and nothing wrong is sent to a provider)."""
    return _walk(
        value,
        lambda where, text: _unseal_or_none(text, f"stored configuration: {where}"),
        lambda _, text: text.startswith(PREFIX),
    )


class SecretsSealedJSONField(models.JSONField):
    """A JSONField whose secrets (secret-named strings, see mem0server.text.is_secret, and URLs with
    credentials) are sealed in the database and open in Python."""

    def get_prep_value(self, value):
        return super().get_prep_value(seal_secrets(value))

    def from_db_value(self, value, expression, connection):
        return unseal_secrets(super().from_db_value(value, expression, connection))


class SealedTextField(models.TextField):
    """Text sealed in the database and open in Python; None in Python when no key opens it (logged)."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value is None or value.startswith(PREFIX) else seal(value)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return _unseal_or_none(value, f"{self.model._meta.label}.{self.name}")
