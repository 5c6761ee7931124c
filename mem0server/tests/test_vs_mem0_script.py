"""bench/vs_mem0.py's command line: it explains itself and refuses bad input before starting anything.

The comparison itself (it installs Mem0's dependencies and starts both servers) is not run here.
"""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "vs_mem0.py"


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)  # noqa: S603


def test_help_tells_how_to_point_it_at_a_mem0_clone():
    done = run_script("--help")
    assert done.returncode == 0, done.stderr
    assert "--mem0-repo" in done.stdout
    assert "--rounds" in done.stdout
    assert "--workers" in done.stdout


def test_running_without_a_mem0_clone_says_it_is_needed():
    done = run_script()
    assert done.returncode == 2
    assert "--mem0-repo" in done.stderr


def test_an_unknown_operation_is_refused():
    done = run_script("--mem0-repo", ".", "--ops", "add,delete")
    assert done.returncode == 2
    assert "--ops takes add and search" in done.stderr


def test_an_unknown_key_kind_is_refused():
    done = run_script("--mem0-repo", ".", "--keys", "root")
    assert done.returncode == 2
    assert "--keys takes user and admin" in done.stderr


def test_zero_rounds_is_refused():
    done = run_script("--mem0-repo", ".", "--rounds", "0")
    assert done.returncode == 2
    assert "--rounds must be at least 1" in done.stderr


def test_a_folder_that_is_not_a_mem0_clone_is_named_in_the_error(tmp_path):
    done = run_script("--mem0-repo", str(tmp_path))
    assert done.returncode == 1
    assert f"{tmp_path} is not a clone of https://github.com/mem0ai/mem0" in done.stderr
