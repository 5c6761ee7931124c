"""Sending one webhook request: the JSON body, its signature and the HTTP POST (no redirects, no proxies).

Signature: X-Mem0-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed by the secret>.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import certifi
from django.conf import settings

from webhooks.targets import Target, TargetRefused, TargetUnresolved, url_resolve

if TYPE_CHECKING:
    import httpx

SIGNATURE_HEADER = "X-Mem0-Signature"
EVENT_ID_HEADER = "X-Mem0-Event-Id"
EVENT_TYPE_HEADER = "X-Mem0-Event-Type"
ATTEMPT_HEADER = "X-Mem0-Delivery-Attempt"
USER_AGENT = "mem0server-webhooks/1"


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    duration_ms: int
    # False: retrying cannot help (the URL is refused), so the delivery is given up at once.
    retryable: bool

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@functools.cache
def tls_context(cafile: str | None) -> ssl.SSLContext:
    """Certificate checks against certifi's CA bundle, or the given file (WEBHOOK_CA_FILE: a private CA).
    Built once per file: loading a bundle costs ~70 ms, more than a delivery."""
    return ssl.create_default_context(cafile=cafile or certifi.where())


def body_encode(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


@contextlib.contextmanager
def open_checked(
    target: Target,
    method: str,
    *,
    headers: dict[str, str],
    content: bytes | None,
    timeout: float,
    total: float | None = None,
):
    """One request to a checked target (targets.url_resolve): dialled at its checked address, with the host's name
    in Host and TLS; no redirects followed, no proxy from the environment (it would resolve the name again,
    unchecked); certificates against certifi's bundle or WEBHOOK_CA_FILE. Yields the streamed response.
    `timeout` bounds each wait; `total`, if given, the whole request, as long as the response is open."""
    # httpx is imported by the first request, not by every start of the server or of a command (~0.1 s of CPU).
    import httpx

    from webhooks.deadlines import deadline_transport

    # The TLS name to send and to verify the certificate against is the host's, though we dial its address.
    extensions = {"sni_hostname": target.host} if target.parts.scheme == "https" else {}
    tls = tls_context(settings.WEBHOOK_CA_FILE or None)
    transport = deadline_transport(tls, total) if total is not None else None
    # A new client per request: a pooled connection is keyed by address and could carry another host's TLS name.
    with (
        httpx.Client(
            timeout=timeout, follow_redirects=False, trust_env=False, verify=tls, transport=transport
        ) as client,
        client.stream(
            method,
            target.connect_url,
            content=content,
            headers={"Host": target.host_header, **headers},
            extensions=extensions,
        ) as answer,
    ):
        yield answer


def body_within(answer: httpx.Response, most: int) -> bytes | None:
    """A streamed answer's body, read no further than `most` bytes: None when it is longer (a host may send a body
    without end)."""
    body = bytearray()
    for chunk in answer.iter_bytes():
        body += chunk
        if len(body) > most:
            return None
    return bytes(body)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Mem0-Signature value for this body sent at this time."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def send(*, url: str, secret: str, event_id: str, event_type: str, attempt: int, body: bytes) -> Outcome:
    """POST the body to the URL's checked address; never raises for the receiver's or the network's failures."""
    import httpx

    started = time.monotonic()

    def outcome(status_code: int | None, error: str, *, retryable: bool = True) -> Outcome:
        elapsed = round((time.monotonic() - started) * 1000)
        return Outcome(status_code=status_code, error=error, duration_ms=elapsed, retryable=retryable)

    try:
        target = url_resolve(url)
    except TargetRefused as exc:
        return outcome(None, str(exc), retryable=isinstance(exc, TargetUnresolved))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: event_id,
        EVENT_TYPE_HEADER: event_type,
        ATTEMPT_HEADER: str(attempt),
        SIGNATURE_HEADER: signature(secret, int(time.time()), body),
    }
    try:
        with open_checked(
            target,
            "POST",
            headers=headers,
            content=body,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            total=settings.WEBHOOK_TIMEOUT_SECONDS,
        ) as answer:
            status_code = answer.status_code  # the body is never read: only the status matters
    except httpx.TimeoutException:
        return outcome(None, f"No answer within {settings.WEBHOOK_TIMEOUT_SECONDS:g} s.")
    except httpx.HTTPError as exc:
        return outcome(None, f"{type(exc).__name__}: {exc}"[:1000])
    if 300 <= status_code < 400:
        return outcome(status_code, "Answered with a redirect; redirects are not followed.")
    if not 200 <= status_code < 300:
        return outcome(status_code, f"Answered HTTP {status_code}.")
    return outcome(status_code, "")
