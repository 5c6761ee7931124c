"""A webhook's or a fetch's request that ends by a deadline, whatever its host sends: httpx's timeouts bound each
read only. Imported by the first such request (delivery.open_checked), with httpx and httpcore, not at start."""

from __future__ import annotations

import ssl
import time
from typing import Any

import httpcore
import httpx


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write waits no later than the deadline (time.monotonic()), whatever
    timeout it is given: httpx's timeouts bound each read, so a host sending a byte at a time never met one."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self.stream = stream
        self.deadline = deadline

    def _left(self, timeout: float | None, error: type[Exception]) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise error("The time allowed for this request is over.")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> DeadlineStream:
        left = self._left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self.stream.start_tls(ssl_context, server_hostname, left), self.deadline)

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)


class DeadlineBackend(httpcore.SyncBackend):
    """Connections that end at the deadline (DeadlineStream)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None) -> DeadlineStream:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ConnectTimeout("The time allowed for this request is over.")
        timeout = left if timeout is None else min(timeout, left)
        stream = super().connect_tcp(host, port, timeout, local_address, socket_options)
        return DeadlineStream(stream, self.deadline)


def deadline_transport(tls: ssl.SSLContext, seconds: float) -> httpx.HTTPTransport:
    """An httpx transport whose request, from connecting to its last byte read, ends within `seconds` in all."""
    transport = httpx.HTTPTransport(verify=tls, trust_env=False)
    # httpx takes no network backend; its pool is rebuilt with one (and the same TLS context, no proxy).
    transport._pool = httpcore.ConnectionPool(  # noqa: SLF001
        ssl_context=tls, network_backend=DeadlineBackend(time.monotonic() + seconds)
    )
    return transport
