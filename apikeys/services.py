"""Creating, finding and revoking API keys."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from apikeys.models import APIKey
from mem0server.exceptions import InvalidInput, NotFound

KEY_PREFIX = "m0sk_"
# last_used_at is a hint for operators, not an audit log: write it at most this often per key.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def key_digest(key: str) -> str:
    # The key carries 256 random bits, so a fast hash is as strong as a slow one and costs nothing per request.
    return hashlib.sha256(key.encode()).hexdigest()


def apikey_create(*, user: User, label: str) -> tuple[APIKey, str]:
    """A new key for `user`; returns the row and the key, which is never available again."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = APIKey.objects.create(user=user, label=label, key_prefix=key[:12], digest=key_digest(key))
    return api_key, key


def apikey_authenticate(*, key: str) -> APIKey | None:
    """The live key with this value (its user loaded), or None; touches last_used_at at most once a minute."""
    api_key = (
        APIKey.objects.select_related("user")
        .filter(digest=key_digest(key), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if api_key is None:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        # Conditional, so concurrent requests with one key write once.
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        APIKey.objects.filter(stale, pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def apikeys_list(*, user: User) -> list[APIKey]:
    """The user's live keys, newest first."""
    return list(APIKey.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at", "-id"))


def apikey_revoke(*, user: User, key_id: int) -> None:
    """Revoke one of the user's keys: NotFound for anyone else's, InvalidInput if already revoked."""
    revoked = APIKey.objects.filter(pk=key_id, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if revoked:
        return
    if APIKey.objects.filter(pk=key_id, user=user).exists():
        raise InvalidInput(f"API key {key_id} is already revoked.")
    raise NotFound(f"API key {key_id} not found.")
