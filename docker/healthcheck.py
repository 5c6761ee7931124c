"""Docker HEALTHCHECK: exit 0 if GET /healthz answers 200, else 1 (python:slim has no curl).

Django refuses Host headers outside ALLOWED_HOSTS, so the probe presents the first concrete name from
ALLOWED_HOSTS rather than "127.0.0.1": a server configured for mem0.example.com stays healthy.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def probe_host(allowed_hosts: str) -> str:
    """The first usable entry of ALLOWED_HOSTS ('.example.com' -> 'example.com'), or 'localhost'."""
    for entry in allowed_hosts.split(","):
        host = entry.strip().removeprefix(".")
        if host and "*" not in host:
            return host
    return "localhost"


def main() -> int:
    port = os.environ.get("PORT", "").strip() or "8000"
    host = probe_host(os.environ.get("ALLOWED_HOSTS", ""))
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": host})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310  (fixed http URL)
            body = response.read().decode(errors="replace")
            ok = response.status == 200
    except urllib.error.HTTPError as exc:
        body, ok = exc.read().decode(errors="replace"), False
    except OSError as exc:
        body, ok = str(exc), False
    print(body.strip()[:300])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
