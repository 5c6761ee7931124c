"""ASGI entry point: gunicorn's `asgi` worker serves this (gunicorn.conf.py); runserver and tests use wsgi.py.

Why ASGI: a client that sends its request slowly (a bad link, or on purpose) must not hold a worker. Under a
threaded WSGI worker each such connection held a thread until its request was complete, so ten of them
stopped a 2 x 4-thread server for as long as they liked (bench/slow_clients.py). Here the worker's event loop
reads requests, and `BufferedApp` hands one to Django only once its whole body has arrived (at most
MAX_REQUEST_BYTES of it, else 413), and lets at most GUNICORN_THREADS requests per worker run in Django at
once: the same bound on concurrent views, database connections and embedder use as the threaded worker had,
while a slow client costs a waiting coroutine and a socket.
"""

from __future__ import annotations

import os
import warnings

from django.conf import settings
from django.core.asgi import get_asgi_application

from mem0server.buffering import BufferedApp, app_concurrency

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")


# WhiteNoise serves the admin and Swagger UI files as synchronous file iterators, which Django's ASGI handler
# reads in a thread: fine for those few files, and said once per process as a bare Warning on stderr.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")

django_application = get_asgi_application()

# Each request runs in a thread of its own (Django's ASGI handler), so a connection kept open after its
# request (DB_POOL=false with DB_CONN_MAX_AGE) would never be reused: close those at the end of each request.
# Before the first connection is made, so every connection of this process sees it.
for _database in settings.DATABASES.values():
    if "pool" not in _database.get("OPTIONS", {}):
        _database["CONN_MAX_AGE"] = 0

from mem0server.startup import announce  # noqa: E402  (needs Django set up)

announce()

application = BufferedApp(django_application, concurrency=app_concurrency())
