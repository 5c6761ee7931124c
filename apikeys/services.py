"""Creating, finding and revoking API keys."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from apikeys.listener import CHANNEL
from apikeys.models import APIKey
from apikeys.prefix import KEY_PREFIX
from mem0server.exceptions import InvalidInput, NotFound
from mem0server.listening import LISTENER
from mem0server.paging import KeysetPage, cursor_decode, keyset_page_or_last

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


class _KeyCache:
    """Recently seen live keys, per process, for API_KEY_CACHE_SECONDS: most requests then need no lookup.

    A key revoked here is dropped at once. A key revoked, or an account deactivated, deleted or given another role,
    by any other process empties the cache when that commits (apikeys/listener.py); should the listener have no
    connection, entries still expire. Only digests are held, never keys.
    """

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, APIKey]] = {}
        self._lock = threading.Lock()
        self.listener = LISTENER
        LISTENER.subscribe(CHANNEL, lambda _payload: self.clear())
        # Raised by each clear: a key looked up before a clear is not kept after it (it may be the revoked one).
        self.generation = 0

    def get(self, digest: str) -> APIKey | None:
        entry = self._entries.get(digest)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def put(self, digest: str, api_key: APIKey, *, generation: int) -> None:
        """Keep a key looked up when the cache was at `generation`, unless it has been cleared since."""
        ttl = settings.API_KEY_CACHE_SECONDS
        if ttl <= 0:
            return
        self.listener.ensure_started()
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[digest] = (time.monotonic() + ttl, api_key)

    def drop(self, digest: str) -> None:
        self._entries.pop(digest, None)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()


key_cache = _KeyCache()


def apikey_authenticate(*, key: str) -> APIKey | None:
    """The live key with this value (its user loaded), or None; touches last_used_at at most once a minute."""
    digest = key_digest(key)
    api_key = key_cache.get(digest)
    if api_key is None:
        generation = key_cache.generation
        api_key = (
            APIKey.objects.select_related("user")
            .filter(digest=digest, revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if api_key is None:
            return None
        key_cache.put(digest, api_key, generation=generation)
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        # Conditional, so concurrent requests (and workers) with one key write once.
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        APIKey.objects.filter(stale, pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def _live_keys(user: User):
    return APIKey.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at", "-id")


def apikeys_list(*, user: User) -> list[APIKey]:
    """The user's live keys, newest first."""
    return list(_live_keys(user))


def apikeys_count(*, user: User) -> int:
    """How many live keys the user has (the overview's count, which loaded every key to count them)."""
    return _live_keys(user).count()


def apikeys_page(*, user: User, limit: int, cursor: str | None = None) -> KeysetPage:
    """The user's live keys, newest first, `limit` at a time; `cursor` (a page's next_cursor) says where to go on (the
    last page when nothing is left there: keyset_page_or_last)."""
    after = None
    if cursor:
        created, key_id = _key_cursor_decode(cursor)
        after = Q(created_at__lt=created) | Q(created_at=created, id__lt=key_id)
    return keyset_page_or_last(
        _live_keys(user), limit=limit, key=lambda key: [key.created_at.isoformat(), key.id], after=after, cursor=cursor
    )


def _key_cursor_decode(cursor: str) -> tuple[datetime, int]:
    """[aware ISO time in UTC, key id], as apikeys_page wrote it; anything else (made by hand) is InvalidInput."""
    try:
        created, key_id = cursor_decode(cursor)
        created = datetime.fromisoformat(created)
        # Another zone, or an id past a bigint, is no cursor of ours, and PostgreSQL would refuse some (a 500).
        if created.utcoffset() != timedelta(0) or type(key_id) is not int or not 0 <= key_id < 2**63:
            raise ValueError(cursor)
    except (ValueError, TypeError):
        raise InvalidInput(
            "cursor is not valid; follow the Next page link of a page of keys.", field="cursor"
        ) from None
    return created, key_id


def apikey_revoke(*, user: User, key_id: int) -> None:
    """Revoke one of the user's keys: NotFound for anyone else's, InvalidInput if already revoked."""
    revoked = APIKey.objects.filter(pk=key_id, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if revoked:
        key_cache.drop(APIKey.objects.values_list("digest", flat=True).get(pk=key_id))
        return
    if APIKey.objects.filter(pk=key_id, user=user).exists():
        raise InvalidInput(f"API key {key_id} is already revoked.")
    raise NotFound(f"API key {key_id} not found.")
