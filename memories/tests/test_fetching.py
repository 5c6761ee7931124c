"""What the server fetches from a host the operator named (FETCH_HOSTS): memories/fetching.py."""

from __future__ import annotations

import ssl

from memories.fetching import fetched
from memories.tests.files import FileHost


def test_fetches_from_a_named_host_load_the_certificate_bundle_once(settings, monkeypatch):
    # Loading the CA bundle into a TLS context costs ~70 ms of CPU, more than fetching a small document; each fetch
    # built one (httpx.stream's own client), also for http:// URLs.
    settings.FETCH_HOSTS = ["127.0.0.1"]
    loads = []
    load = ssl.SSLContext.load_verify_locations

    def counted(context, *args, **kwargs):
        loads.append(args or kwargs)
        return load(context, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    with FileHost({"/notes.txt": (200, "text/plain; charset=utf-8", b"Rent is due on the 1st")}) as host:
        for _ in range(3):
            answer = fetched(f"{host}/notes.txt", what="document", max_bytes=1000)
            assert (answer.content, answer.kind, answer.charset) == (b"Rent is due on the 1st", "text/plain", "utf-8")
    assert len(loads) <= 1
