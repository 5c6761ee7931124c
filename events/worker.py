"""Set-up of a job worker process (`manage.py procrastinate worker`: accounts/management/commands/procrastinate.py)."""

from __future__ import annotations

import functools
import threading


def embedder_warm_up() -> None:
    """Load the local embedding model on a thread of its own, so the first job does not wait for it. Started once the
    worker has found its database set up: a worker leaving on a database it cannot use while that thread was loading
    the model was aborted by the C++ runtime ("terminate called without an active exception", exit status -6, not
    its one line and 1)."""
    from memories.configuration import server_config_snapshot
    from memories.embeddings import local_embedder

    if server_config_snapshot().embedder_provider == "local":
        warm_up = functools.partial(local_embedder().warm_up, job_worker=True)
        threading.Thread(target=warm_up, name="embedder-warm-up", daemon=True).start()
