"""What the server fetches itself: an http(s) URL on a host the operator named in FETCH_HOSTS, and no other (with
"*" there, any host at a public address).

An add's images on those hosts are handed to the model as the picture (memories/vision.py), its documents there are
read (memories/documents.py). No redirect is followed (it could lead anywhere), an answer is read up to a bound, and
a host that does not answer in FETCH_TIMEOUT seconds is a 504 (the worker tries a queued add again).
"""

from __future__ import annotations

import contextlib
import functools
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from django.conf import settings

from mem0server.exceptions import InvalidInput, UpstreamError
from mem0server.text import mask_urls
from webhooks.delivery import body_within, open_checked
from webhooks.targets import TargetRefused, TargetUnresolved, url_resolve

if TYPE_CHECKING:
    import ssl

# In FETCH_HOSTS: any host at a public address is fetched (hosts at others only when named).
ANY_HOST = "*"
PRIVATE_ADVICE = (
    "with FETCH_HOSTS=* only public addresses are fetched: name a private host in FETCH_HOSTS to fetch from it."
)


def http_host(url: str) -> str | None:
    """The host of an http(s) URL; None for another URL, or one that names no host or cannot be read ("http://[")."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return parts.hostname if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def fetchable(url: str) -> bool:
    """Whether `url` is an http(s) URL on a host of FETCH_HOSTS (any host, with "*" there: a public one is fetched)."""
    host = http_host(url)
    return host is not None and (host in settings.FETCH_HOSTS or ANY_HOST in settings.FETCH_HOSTS)


@functools.cache
def named_host_tls() -> ssl.SSLContext:
    """The TLS context httpx builds by default (certifi's CA bundle, or SSL_CERT_FILE or SSL_CERT_DIR), built once:
    loading the bundle costs ~70 ms of CPU, more than fetching a small document, and httpx.stream built one per fetch
    (also of an http:// URL). A context is shared by threads, as webhooks.delivery.tls_context's."""
    import httpx

    return httpx.create_ssl_context()


@contextlib.contextmanager
def _opened(url: str, what: str):
    """The streamed answer to GET `url`: a host named in FETCH_HOSTS as the operator named it (FETCH_TIMEOUT for each
    wait); any other (FETCH_HOSTS has "*") only at a public address, checked and then dialled (webhooks.targets: a
    name that resolves elsewhere later gains nothing), within FETCH_TIMEOUT in all."""
    import httpx  # by the first fetch, not by every start (~0.1 s of CPU)

    if http_host(url) in settings.FETCH_HOSTS:
        with httpx.stream(
            "GET", url, timeout=settings.FETCH_TIMEOUT, follow_redirects=False, verify=named_host_tls()
        ) as answer:
            yield answer
        return
    try:  # a #fragment is the reader's ("#page=2"), never sent: the URL is checked and dialled without it
        without_fragment = urlsplit(url)._replace(fragment="").geturl()
        target = url_resolve(without_fragment, allow_private=False, advice=PRIVATE_ADVICE, subject="its host")
    except TargetUnresolved as exc:
        message = f"The {what} {shown(url)} could not be fetched: {exc}"
        raise UpstreamError(message, code="provider_unavailable") from None
    except TargetRefused as exc:
        raise InvalidInput(f"The {what} {shown(url)} is not fetched: {exc}") from None
    # From a host nobody named, the whole fetch ends within FETCH_TIMEOUT: one sending a byte at a time held the
    # add's worker for as long as it liked.
    timeout = settings.FETCH_TIMEOUT
    with open_checked(target, "GET", headers={}, content=None, timeout=timeout, total=timeout) as answer:
        yield answer


class Fetched(NamedTuple):
    content: bytes
    kind: str  # its media type, lower case, without parameters
    charset: str | None  # the character set its host names, if any


def fetched(url: str, *, what: str, max_bytes: int, expect: str = "") -> Fetched:
    """The body a host of FETCH_HOSTS answers for `url` (200 only), its media type and character set. A 400 naming
    `what` ("image", "document") when the host answers otherwise, sends a type not starting with `expect` ("image/":
    read no further), or sends more than `max_bytes`; a 502 when it answers 5xx, a 504 when it does not answer in
    time."""
    import httpx

    try:
        with _opened(url, what) as response:
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            charset = response.charset_encoding
            status = response.status_code
            if status >= 500:  # the host's own trouble, maybe passing: a 502 (a queued add is tried again)
                raise UpstreamError(
                    f"The {what} {shown(url)} could not be fetched: its host answered {status}.",
                    code="provider_unavailable",
                )
            if status != 200 or not kind.startswith(expect):
                said = f"answered {status}" if status != 200 else f"sent {kind or 'no type'}"
                raise InvalidInput(f"The {what} {shown(url)} could not be read: its host {said}, not {_a(what)}.")
            body = body_within(response, max_bytes)
            if body is None:
                raise InvalidInput(f"The {what} {shown(url)} is larger than {max_bytes} bytes, the most fetched.")
    except httpx.TimeoutException as exc:
        raise UpstreamError(
            f"The {what} {shown(url)} did not arrive within {settings.FETCH_TIMEOUT:g} s (FETCH_TIMEOUT).",
            code="provider_timeout",
            status_code=504,
        ) from exc
    except httpx.HTTPError as exc:
        raise UpstreamError(
            f"The {what} {shown(url)} could not be fetched ({type(exc).__name__}).", code="provider_unavailable"
        ) from exc
    return Fetched(body, kind, charset)


def _a(what: str) -> str:
    return f"an {what}" if what[0] in "aeiou" else f"a {what}"


def shown(url: str) -> str:
    """A URL as a message shows it: its credentials masked, cut after 200 characters (a data URL is long)."""
    return mask_urls(url if len(url) <= 200 else url[:200] + "…")
