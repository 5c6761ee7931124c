"""A thread per process that LISTENs on one PostgreSQL channel and calls back for each notification.

Used by the API key cache (apikeys/listener.py: revocations) and by the MCP SSE streams (mcp_server/streams.py:
a message for a stream this process holds). PostgreSQL delivers a NOTIFY when its transaction commits. The thread
keeps a connection of its own (one more database connection per server worker and channel) and calls back with
None each time it (re)connects, since it may have missed notifications meanwhile. While it has no connection (the
database restarting, or a pooler in transaction mode, which does not pass notifications on, unless
DATABASE_LISTEN_URL names PostgreSQL itself) nothing is called; `listening` says whether it listens.
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


class Listener:
    """LISTEN on every subscribed channel over one connection; a channel's callback gets each notification's
    payload, and None each time the connection is (re)made or the channel first listened on."""

    def __init__(self) -> None:
        self._subscribers: dict[str, Callable[[str | None], None]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._stop = threading.Event()
        self.listening = threading.Event()  # set while a connection LISTENs

    def subscribe(self, channel: str, on_notify: Callable[[str | None], None]) -> None:
        """Call `on_notify` for `channel` (an identifier); a running thread listens on it within a second."""
        self._subscribers[channel] = on_notify

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
            self._thread = threading.Thread(target=self._run, args=(params,), name="mem0-listener", daemon=True)
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

    def _listen_new(self, conn: psycopg.Connection, heard: set[str]) -> None:
        for channel, on_notify in list(self._subscribers.items()):
            if channel not in heard:
                conn.execute(f"LISTEN {channel}")
                heard.add(channel)
                on_notify(None)  # whatever happened while nobody listened

    def _run(self, params: dict) -> None:
        stop, listening, delay = self._stop, self.listening, 1.0
        while not stop.is_set():
            try:
                with psycopg.connect(**(KEEPALIVES | params), autocommit=True) as conn:
                    heard: set[str] = set()
                    self._listen_new(conn, heard)
                    listening.set()
                    delay = 1.0
                    while not stop.is_set():
                        for notify in conn.notifies(timeout=1.0):
                            on_notify = self._subscribers.get(notify.channel)
                            if on_notify is not None:
                                on_notify(notify.payload)
                        self._listen_new(conn, heard)
            except Exception as exc:  # noqa: BLE001 - any failure: keep trying, never end the thread (one per put)
                logger.warning(
                    "Not listening for database notifications (%s): a revoked API key is forgotten by this process's "
                    "cache only as it expires (API_KEY_CACHE_SECONDS), and an MCP SSE stream polls for its answers "
                    "each second. Retrying in %.0f s.",
                    exc,
                    delay,
                )
            finally:
                listening.clear()
            stop.wait(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)


# The one listener of this process (one database connection: mem0server/connection_budget.py counts it).
LISTENER = Listener()
