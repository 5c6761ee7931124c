"""Client ID Metadata Documents (MCP's authorization spec since 2025-11-25): a client whose client_id is an https URL
serves its metadata (name, redirect URIs) there instead of registering. This server reads it when an account is
asked to allow the client, through the webhooks' guard: public addresses only (unless WEBHOOK_ALLOW_PRIVATE), no
redirects, no proxy, at most 64 KiB within 5 seconds."""

from __future__ import annotations

import json
import threading
from urllib.parse import urlsplit

from oauth.models import OAuthClient
from webhooks.delivery import body_within, open_checked
from webhooks.targets import TargetRefused, url_resolve

MAX_DOCUMENT_BYTES = 64 * 1024
TIMEOUT_SECONDS = 5.0
USER_AGENT = "mem0server-oauth/1"
# The client is kept with its URL as client_id: a longer URL could not be stored.
MAX_URL_LENGTH = OAuthClient._meta.get_field("client_id").max_length
# Reads at once per process: each may hold a web thread up to TIMEOUT_SECONDS, so a burst of consent pages naming
# slow hosts cannot take every thread; one more is told to try again.
MAX_AT_ONCE = 2
reads_under_way = threading.BoundedSemaphore(MAX_AT_ONCE)


class MetadataUnusable(Exception):
    """The document cannot be read or is not a client's metadata; the message says why, for the consent page."""


def is_metadata_url(client_id: str) -> bool:
    return client_id.startswith("https://")


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a client_id of this kind (the spec: https, a path, no fragment, no dot segments)."""
    if len(url) > MAX_URL_LENGTH:
        return f"is longer than {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "is not a URL"
    if parts.path in ("", "/"):
        return "has no path (the document's URL names a file, as https://app.example/oauth/client.json)"
    if parts.fragment or parts.username is not None or parts.password is not None:
        return "has a fragment or a user name, which a client_id URL may not"
    if any(segment in (".", "..") for segment in parts.path.split("/")):
        return "has . or .. path segments"
    return None


def metadata_fetch(url: str) -> dict:
    """The JSON object served at `url`; MetadataUnusable saying why when there is none to read, or when MAX_AT_ONCE
    other reads are under way in this process."""
    if not reads_under_way.acquire(blocking=False):
        raise MetadataUnusable(
            f"could not be read now: {MAX_AT_ONCE} other apps' documents are being read; reload this page in a few "
            "seconds"
        )
    try:
        return _fetch(url)
    finally:
        reads_under_way.release()


def _fetch(url: str) -> dict:
    import httpx  # by the first read, not by every start (~0.1 s of CPU)

    try:
        target = url_resolve(url)
    except TargetRefused as exc:
        raise MetadataUnusable(str(exc)) from None
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    try:
        with open_checked(
            target, "GET", headers=headers, content=None, timeout=TIMEOUT_SECONDS, total=TIMEOUT_SECONDS
        ) as answer:
            if answer.status_code != 200:
                raise MetadataUnusable(f"it answered HTTP {answer.status_code} (redirects are not followed)")
            body = body_within(answer, MAX_DOCUMENT_BYTES)
            if body is None:
                raise MetadataUnusable(f"it is larger than {MAX_DOCUMENT_BYTES // 1024} KiB")
    except httpx.TimeoutException:
        raise MetadataUnusable(f"no answer within {TIMEOUT_SECONDS:g} s") from None
    except httpx.HTTPError as exc:
        raise MetadataUnusable(f"{type(exc).__name__}: {exc}"[:300]) from None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's json reads
        raise MetadataUnusable("it is not JSON") from None
    if not isinstance(document, dict):
        raise MetadataUnusable("it is not a JSON object")
    return document
