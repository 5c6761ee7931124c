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
there and one back per request. In front of it all, OpenMemory's MCP SSE streams are held by the event loop
(mem0server/asgi_stack.py, mcp_server/streams.py).
"""

from __future__ import annotations

import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")
# gunicorn's exit status for a worker that cannot boot: its master stops, saying so, instead of starting it again.
WORKER_BOOT_ERROR = 3

try:
    django_application = get_wsgi_application()

    from mem0server.asgi_stack import asgi_application
    from mem0server.startup import announce

    # The first worker logs the configuration; the others check it and log only what is wrong (gunicorn.conf.py).
    announce(quiet=os.environ.get("MEM0_GUNICORN_FIRST_WORKER", "1") != "1")
except ImproperlyConfigured as exc:  # a wrong setting, a database or data folder it cannot use: one line, as manage.py
    print(f"mem0server: {exc}", file=sys.stderr, flush=True)
    sys.exit(WORKER_BOOT_ERROR)

application = asgi_application(django_application)
