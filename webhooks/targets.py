"""Where a webhook may point (the SSRF guard): http(s) only, and a host whose addresses are all public, unless
WEBHOOK_ALLOW_PRIVATE=true. Checked when a webhook is saved and again before every delivery, against the
address the delivery then connects to, so a name that re-resolves elsewhere (DNS rebinding) gains nothing."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
WEBHOOK_ADVICE = "webhooks go to public addresses only (set WEBHOOK_ALLOW_PRIVATE=true to allow private ones)."
# In the order they are named in a refusal: the most telling first.
_REFUSED_KINDS = (
    ("is_unspecified", "unspecified"),
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_site_local", "site-local"),  # IPv6 fec0::/10: deprecated, yet routed inside a site, and "global" to Python
    ("is_multicast", "multicast"),
    ("is_reserved", "reserved"),
    ("is_private", "private"),
)


class TargetRefused(Exception):
    """The URL is malformed, not http(s), does not resolve, or resolves to an address that is not public."""


class TargetUnresolved(TargetRefused):
    """The host does not resolve (now): unlike the other refusals, this may pass by itself."""


@dataclass(frozen=True)
class Target:
    """A checked URL and the one address to connect to."""

    parts: SplitResult
    host: str
    port: int
    address: str

    @property
    def connect_url(self) -> str:
        """The URL with its host replaced by the checked address (the Host header and TLS name stay the host's)."""
        literal = f"[{self.address}]" if ":" in self.address else self.address
        path = self.parts.path or "/"
        query = f"?{self.parts.query}" if self.parts.query else ""
        return f"{self.parts.scheme}://{literal}:{self.port}{path}{query}"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.parts.scheme] else f"{host}:{self.port}"


def address_refusal(address: str) -> str | None:
    """Why a webhook may not be sent to this IP address (e.g. "loopback"), or None if it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:  # ::ffff:127.0.0.1 is 127.0.0.1
        ip = ip.ipv4_mapped
    elif ip.version == 6 and ip.sixtofour is not None:  # 2002:7f00:1:: tunnels to 127.0.0.1 where 6to4 routes
        ip = ip.sixtofour
    for attribute, kind in _REFUSED_KINDS:
        if getattr(ip, attribute, False):  # is_site_local is IPv6 only
            return kind
    if not ip.is_global:  # e.g. 100.64.0.0/10, shared address space
        return "not public"
    return None


def url_parts(url: str) -> tuple[SplitResult, str, int]:
    """The URL split, its host (lower case, no brackets) and port; TargetRefused when it is not a usable one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"url is not a valid URL ({exc}).") from None
    if port == 0:  # what urlsplit reads from "host:0": no server listens there, every delivery would fail
        raise TargetRefused("url port 0 is not a port a server can listen on; give 1 to 65535, or none.")
    if parts.scheme.lower() not in SCHEMES:
        given = f", not {parts.scheme}:." if parts.scheme else "; it has none."
        raise TargetRefused(f"url must start with http:// or https://{given}")
    if not parts.hostname:
        raise TargetRefused("url has no host.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("url must not contain a user name or password; put credentials in its path or query.")
    if parts.fragment:
        raise TargetRefused("url must not have a #fragment (it is never sent to the server).")
    host = parts.hostname
    if not host.isascii():  # bücher.example: resolved, and sent in Host and TLS, as its ASCII name (xn--…)
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise TargetRefused(f"url host {host!r} is not a valid host name ({exc}).") from None
    return parts._replace(scheme=parts.scheme.lower()), host, port or DEFAULT_PORTS[parts.scheme.lower()]


def url_resolve(
    url: str, *, allow_private: bool | None = None, advice: str = WEBHOOK_ADVICE, subject: str = "url host"
) -> Target:
    """The URL checked and resolved to the address a delivery connects to; TargetRefused otherwise.

    Every address the host resolves to must be allowed (not just the first), so a name that mixes a public and
    a private address is refused rather than reached by chance. `allow_private`: WEBHOOK_ALLOW_PRIVATE unless given;
    `advice`: what a refusal of a private address tells to do; `subject`: how a refusal names the host.
    """
    parts, host, port = url_parts(url)
    named = f"{subject} {host!r}"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise TargetUnresolved(f"{named} does not resolve ({exc}).") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise TargetUnresolved(f"{named} does not resolve.")
    if not (settings.WEBHOOK_ALLOW_PRIVATE if allow_private is None else allow_private):
        for address in addresses:
            if kind := address_refusal(address):
                raise TargetRefused(f"{named} resolves to {address}, a {kind} address; {advice}")
    return Target(parts=parts, host=host, port=port, address=addresses[0])


def url_check(url: str) -> None:
    """TargetRefused unless a webhook may be saved with this URL. With WEBHOOK_ALLOW_PRIVATE on, the host
    need not resolve yet (nothing is guarded); otherwise it must, to public addresses only. No spaces or control
    characters: the URL parser drops tabs and line breaks, so the URL saved would not be the one posted to."""
    url_parts(url)
    bad = next((n for n, char in enumerate(url) if char.isspace() or not char.isprintable()), None)
    if bad is not None:
        raise TargetRefused(
            f"url holds a space or a control character at position {bad + 1}; percent-encode it (a space is %20)."
        )
    if not settings.WEBHOOK_ALLOW_PRIVATE:
        url_resolve(url)
