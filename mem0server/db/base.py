"""ENGINE "mem0server.db": Django's PostgreSQL backend, handing a request only a live pooled connection.

When PostgreSQL restarts, every idle connection in a worker's pool dies with it, and the pool does not
know until one is used: without a check, each of them fails one request with a 503 although the database
is back. psycopg_pool's own `check` (Django's CONN_HEALTH_CHECKS) finds them one at a time and sleeps
1, 2, 4 … s between them, so a pool of a few dead connections still ends in a timeout. Here the first dead
one found makes the pool test all its idle connections at once (`pool.check()`), and the request takes a
fresh one.
"""

from __future__ import annotations

from django.db.backends.postgresql import base
from psycopg import Error as PsycopgError


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        pool = self.pool
        if pool is None:
            return connection
        try:
            pool.check_connection(connection)  # one empty round trip
        except PsycopgError:
            pool.putconn(connection)  # discarded; the pool opens a replacement
            pool.check()  # after a restart every idle connection is dead too: drop them all now
            connection = super().get_new_connection(conn_params)
        return connection
