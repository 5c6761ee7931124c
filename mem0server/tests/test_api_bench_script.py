"""bench/api_bench.py's command line: the CPU-per-request options refuse what they cannot measure, before any load.

The benchmark itself needs a running server and is not run here.
"""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "api_bench.py"


def run_script(*args: str) -> subprocess.CompletedProcess:
    # A URL nothing listens on: the options are checked before the server is.
    command = [sys.executable, str(SCRIPT), "--url", "http://127.0.0.1:9", "--no-ceiling", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)  # noqa: S603


def test_help_offers_cpu_per_request():
    done = run_script("--help")
    assert done.returncode == 0, done.stderr
    assert "--server-pid" in done.stdout
    assert "--pg-data" in done.stdout


def test_a_data_folder_without_a_running_postgresql_is_refused(tmp_path):
    done = run_script("--pg-data", str(tmp_path))
    assert done.returncode == 2
    assert f"--pg-data: no running PostgreSQL's postmaster.pid in {tmp_path}" in done.stderr


def test_a_server_pid_that_is_not_running_is_refused():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    gone.wait()
    done = run_script("--server-pid", str(gone.pid))
    assert done.returncode == 2
    assert f"--server-pid: no process {gone.pid} to measure" in done.stderr


def test_ops_name_the_platform_and_list_routes_and_a_mix():
    assert all(op in run_script("--help").stdout for op in ("psearch", "plist", "mix"))
    done = run_script("--ops", "search,lists")
    assert done.returncode == 2
    assert "--ops takes search, psearch, add, get, list, plist, mix, comma-separated" in done.stderr
