"""WSGI entry point (gunicorn, runserver): logs what the server runs on, and warms the embedder up."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")

from mem0server.wsgi_body import read_chunked_bodies  # noqa: E402

application = read_chunked_bodies(get_wsgi_application())

from mem0server.startup import announce  # noqa: E402  (needs Django set up)

announce()
