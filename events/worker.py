"""Set-up of worker processes (`manage.py procrastinate worker`), run by procrastinate when its app is ready."""

from __future__ import annotations

import functools
import sys
import threading


def on_app_ready(app) -> None:
    """In a worker process, load the local embedding model at once, so the first job does not wait for it."""
    if sys.argv[1:3] != ["procrastinate", "worker"]:
        return  # the web server warms its own up (mem0server/startup.py); other commands need none
    from memories.configuration import server_config_snapshot
    from memories.embeddings import local_embedder

    if server_config_snapshot().embedder_provider == "local":
        warm_up = functools.partial(local_embedder().warm_up, job_worker=True)
        threading.Thread(target=warm_up, name="embedder-warm-up", daemon=True).start()
