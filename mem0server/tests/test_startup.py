"""Starting fails clearly, at once: a port in use, a data folder that cannot be written, a bad setting."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603  (this interpreter and the repository's own scripts)
        [sys.executable, *args], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


def test_a_port_in_use_is_named_with_the_variable_to_change_it():
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        done = run(["mem0server/portcheck.py", "127.0.0.1", str(port)])
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert f"Port {port}" in line and "already in use" in line and "PORT=" in line


def test_a_free_port_passes_the_check():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    done = run(["mem0server/portcheck.py", "127.0.0.1", str(port)])
    assert (done.returncode, done.stderr) == (0, "")


def test_a_port_that_is_not_a_number_is_refused():
    done = run(["mem0server/portcheck.py", "127.0.0.1", "http"])
    assert done.returncode == 1
    assert "PORT must be a port number" in done.stderr


def test_a_data_folder_that_cannot_be_written_is_one_line_naming_it_and_the_variable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    data_dir = blocker / "data"  # even root cannot create a folder inside a file
    done = run(["manage.py", "check"], MEM0_DATA_DIR=str(data_dir))
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert str(data_dir) in line and "MEM0_DATA_DIR" in line
    assert "Traceback" not in done.stderr


def test_a_bad_setting_is_one_line_not_a_traceback():
    done = run(["manage.py", "check"], HEALTHZ_TIMEOUT_MS="soon")
    assert done.returncode == 1
    assert done.stderr.strip() == "mem0server: HEALTHZ_TIMEOUT_MS must be an integer, not 'soon'."
