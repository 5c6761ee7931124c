"""Real worker processes (`manage.py procrastinate worker`) on the test database, for tests that need jobs run
beside a live server, killed, or run by two workers at once.

The test database (pytest-django's test_mem0, or test_mem0_gw<N> under xdist) is handed to the worker as
DATABASE_URL, built from this process's connection settings, so the worker never touches another database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from mem0server.tests.server_process import wait_for

REPO = Path(__file__).resolve().parents[2]
# Small timings for tests (the worker reads them from its environment): a dead worker is noticed within
# STALLED + HEARTBEAT + CHECK seconds, and retries wait BACKOFF seconds, doubling. STALLED is ten heartbeats:
# a live worker starved of CPU on a loaded machine must not miss so many that its running jobs are taken for
# a dead worker's and run again (the exactly-once tests would fail, rightly, for a reason of the test's own).
TEST_WORKER_ENV = {
    "WORKER_HEARTBEAT_SECONDS": "0.5",
    "WORKER_STALLED_SECONDS": "5",
    "WORKER_STALLED_CHECK_SECONDS": "1",
    "WORKER_RETRY_BACKOFF_SECONDS": "0.1",
    "WORKER_MAX_ATTEMPTS": "4",
    "WORKER_CONCURRENCY": "4",
}


# The session's shared worker (conftest.py `worker`) is never killed, so it beats and checks for stalled jobs as
# deployed (this process's settings: a heartbeat every 10 s, a check every 15 s): each check is a job of its own, and
# at the timings above its idle beats and checks took about 2% of a core in the worker and 0.7% in PostgreSQL, for as
# long as it runs (minutes of a run).
SHARED_WORKER_ENV = {
    name: str(getattr(settings, name))
    for name in ("WORKER_HEARTBEAT_SECONDS", "WORKER_STALLED_SECONDS", "WORKER_STALLED_CHECK_SECONDS")
}


def stalled_bound(env: dict[str, str]) -> float:
    """Seconds within which a killed worker's job is queued again, from the settings the workers run with."""
    return (
        float(env["WORKER_STALLED_SECONDS"])
        + float(env["WORKER_HEARTBEAT_SECONDS"])
        + float(env["WORKER_STALLED_CHECK_SECONDS"])
    )


def database_url_for_workers() -> str:
    """postgresql:// URL of the database this test process uses (the test database once it exists)."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host, port = db["HOST"] or "", db.get("PORT") or ""
    if host.startswith("/"):  # a Unix socket directory: in the query, as libpq allows
        return f"postgresql://{auth}/{quote(db['NAME'])}?host={quote(host, safe='/')}" + (
            f"&port={port}" if port else ""
        )
    return f"postgresql://{auth}{host}{f':{port}' if port else ''}/{quote(db['NAME'])}"


# The session's shared worker (conftest.py `worker`): tests that start workers of their own stop it first, so
# that theirs are the only ones taking jobs, and so do other files' committing tests (conftest.py `_no_stray_worker`);
# the next test asking for `worker` starts it again.
SHARED: list[WorkerProcess] = []


def stop_shared_workers() -> None:
    for process in SHARED:
        process.stop()


class WorkerProcess:
    """`manage.py procrastinate worker` on the test database; stop() or kill() it, whatever happened."""

    def __init__(
        self, log_dir: Path, *, env: dict[str, str] | None = None, name: str = "worker", args: tuple[str, ...] = ()
    ) -> None:
        self.env = {**TEST_WORKER_ENV, **(env or {})}
        self.args = args  # the worker command's own, e.g. --queues=webhooks
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> WorkerProcess:
        env = {
            **os.environ,
            **self.env,
            "DATABASE_URL": database_url_for_workers(),
            "MEM0_TELEMETRY": "False",
            "PYTHONUNBUFFERED": "1",
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 (this interpreter, our manage.py)
                [sys.executable, "manage.py", "procrastinate", "worker", *self.args],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no clean-up, no goodbye to the database (as a crash or the OOM killer)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def wait_ready(self, *, timeout: float) -> None:
        """Until the worker has loaded its embedding model (it warms it up once it has found its database set up,
        events/worker.py), so a job it takes next runs at once; fails with its log if it exits."""

        def ready() -> bool:
            assert self.running(), f"the worker exited:\n{self.log()}"
            return "job worker: embedder ready (" in self.log(tail=None)  # its lines say what it is

        wait_for(ready, timeout=timeout, what=f"worker {self.log_path.stem} ready", every=0.2)

    def log(self, tail: int | None = 4000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-tail:] if tail else text
