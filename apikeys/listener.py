"""Keys revoked, and accounts deactivated, deleted or given another role, by any process: every process that
remembers checked keys forgets them at once.

Triggers (apikeys migration 0002) NOTIFY the `mem0_auth` channel when a key's revoked_at changes, a key is
deleted, or an account's is_active, role or Django admin flags change or it is deleted; PostgreSQL delivers it
when that transaction commits. A thread of each process that keeps a key cache LISTENs on a connection of its
own (one more database connection per server worker) and clears the cache on each notification, and also each
time it (re)connects, since it may have missed some meanwhile. While it has no connection (the database
restarting, or a pooler in transaction mode, which does not pass notifications on, unless DATABASE_LISTEN_URL
names PostgreSQL itself) cached keys still expire after API_KEY_CACHE_SECONDS.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import psycopg
from django.conf import settings
from django.db import connection

from mem0server.database import connection_params

logger = logging.getLogger(__name__)

CHANNEL = "mem0_auth"
RECONNECT_MAX_SECONDS = 30.0
# The listening connection only reads, so a TCP connection dropped without a word (a NAT or firewall forgetting an
# idle flow, a database host lost) would leave it waiting for notifications that can no longer come, the
# process believing it listens. TCP keepalives probe it after 30 s of silence and give up after 3 unanswered
# probes 10 s apart, and unacknowledged data is given up after 60 s, so the thread reconnects within about a
# minute. (A unix socket, the embedded database's, needs none: libpq ignores these there.)
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60_000,
}


class AuthListener:
    def __init__(self, on_change: Callable[[], None]) -> None:
        self._on_change = on_change
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._stop = threading.Event()
        self.listening = threading.Event()  # set while a connection LISTENs

    def ensure_started(self) -> None:
        """Start this process's listening thread unless it runs (after a fork, the parent's is not ours)."""
        if self._running():
            return
        with self._lock:
            if self._running():
                return
            if settings.LISTEN_DATABASE is not None:  # past a pooler in transaction mode, on PostgreSQL itself
                params = connection_params(settings.LISTEN_DATABASE)
            else:
                params = connection.get_connection_params()  # the database Django uses here (tests: the test one)
            self._pid, self._stop = os.getpid(), threading.Event()
            self.listening = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(params,), name="mem0-auth-listener", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """End the thread and its connection (tests, before their database is dropped)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _running(self) -> bool:
        thread = self._thread
        return thread is not None and self._pid == os.getpid() and thread.is_alive()

    def _run(self, params: dict) -> None:
        stop, listening, delay = self._stop, self.listening, 1.0
        while not stop.is_set():
            try:
                with psycopg.connect(**(KEEPALIVES | params), autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._on_change()  # whatever changed while nobody listened
                    listening.set()
                    delay = 1.0
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self._on_change()
            except Exception as exc:  # noqa: BLE001 - any failure: keep trying, never end the thread (one per put)
                logger.warning(
                    "API key cache: not listening for revocations (%s); cached keys expire after "
                    "API_KEY_CACHE_SECONDS. Retrying in %.0f s.",
                    exc,
                    delay,
                )
            finally:
                listening.clear()
            stop.wait(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)
