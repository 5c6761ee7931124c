"""ASGI entry point: gunicorn's `asgi` worker serves this (gunicorn.conf.py); runserver and tests use wsgi.py.

Why ASGI: a client that sends its request slowly (a bad link, or on purpose) must not hold a worker. Under a
threaded WSGI worker each such connection held a thread until its request was complete, so ten of them
stopped a 2 x 4-thread server for as long as they liked (bench/slow_clients.py). Here the worker's event loop
reads requests, and `BufferedApp` hands one on only once its whole body has arrived (at most
MAX_REQUEST_BYTES of it, else 413), and lets at most GUNICORN_THREADS requests per worker run at once: the same
bound on concurrent views, database connections and embedder use as the threaded worker had, while a slow
client costs a waiting coroutine and a socket.

Why Django's WSGI application behind it, not its ASGI one: every view is synchronous, and Django's ASGI handler
moves each request between the event loop and a fresh thread several times (signals, the view, the response),
about 5 ms per request on a busy 2-core machine (a GET took 8 ms in-process against 3 ms this way). WSGIBridge
(mem0server/wsgi_bridge.py) runs the WSGI application on a fixed pool of GUNICORN_THREADS threads, one hand-off
there and one back per request.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from mem0server.buffering import BufferedApp, app_concurrency
from mem0server.wsgi_bridge import WSGIBridge

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")

django_application = get_wsgi_application()

from mem0server.startup import announce  # noqa: E402  (needs Django set up)

# The first worker logs the configuration; the others check it and log only what is wrong (gunicorn.conf.py).
announce(quiet=os.environ.get("MEM0_GUNICORN_FIRST_WORKER", "1") != "1")

bridge = WSGIBridge(django_application, workers=app_concurrency())
application = BufferedApp(bridge, concurrency=app_concurrency(), run_blocking=bridge.run_blocking)
