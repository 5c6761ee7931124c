"""scripts/job_worker_loop.sh, the loop `make serve` runs its job worker in (Makefile WITH_WORKER), with a stand-in
worker command, and stand-ins for `sleep` (returns at once) and `date` (the clock the stand-in worker keeps): the
delays it says are checked, none is waited out."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from mem0server.tests.server_process import wait_for

LOOP = Path(__file__).resolve().parents[2] / "scripts" / "job_worker_loop.sh"
SH = shutil.which("sh") or "/bin/sh"
SAID = "make serve: the job worker ended with exit status {}; starting it again in {} s"


def loop_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a loop whose `sleep` returns at once and whose `date +%s` reads tmp_path/now."""
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir()
    for name, body in {"sleep": "exit 0", "date": f"cat '{tmp_path}/now'"}.items():
        (stand_ins / name).write_text(f"#!/bin/sh\n{body}\n")
        (stand_ins / name).chmod(0o755)
    (tmp_path / "now").write_text("1000\n")
    return {**os.environ, "PATH": f"{stand_ins}:{os.environ['PATH']}"}


def test_a_worker_failing_at_start_again_and_again_waits_longer_each_time_and_5_s_after_a_long_run(tmp_path):
    """A job worker that could not start (a database it cannot use) was started again every 5 s for ever, with a
    line each time. The wait doubles, up to 60 s, and is 5 s again after a run of a minute or more."""
    # Each run fails at once, but the 7th lasts a minute; the 9th ends as asked (exit 0), which ends the loop.
    worker = """
        n=$(( $(cat runs 2>/dev/null || echo 0) + 1 )); echo $n > runs
        [ $n -eq 7 ] && echo $(( $(cat now) + 60 )) > now
        [ $n -ge 9 ] && exit 0
        exit 1
    """
    done = subprocess.run(  # noqa: S603  (our own script)
        [SH, str(LOOP), SH, "-c", worker],
        cwd=tmp_path,
        env=loop_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [SAID.format(1, delay) for delay in (5, 10, 20, 40, 60, 60, 5, 10)]
    assert (tmp_path / "runs").read_text() == "9\n"


def test_a_signal_to_the_loop_stops_its_worker_and_the_loop_without_starting_it_again(tmp_path):
    """What `make serve` sends its loop when gunicorn stops (Ctrl-C): the worker hears it, and the loop ends with it."""
    worker = """
        trap 'echo stopped >> signals; exit 0' TERM
        echo started >> starts
        while :; do /bin/sleep 0.1; done
    """
    loop = subprocess.Popen(  # noqa: S603  (our own script)
        [SH, str(LOOP), SH, "-c", worker], cwd=tmp_path, env=loop_env(tmp_path), stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: (tmp_path / "starts").exists(), timeout=30, what="the stand-in worker started")
        loop.send_signal(signal.SIGTERM)
        assert loop.wait(30) == 0
    finally:
        loop.kill()
        loop.wait()
    assert (tmp_path / "signals").read_text() == "stopped\n"
    assert (tmp_path / "starts").read_text() == "started\n"
    assert loop.stderr.read() == ""
