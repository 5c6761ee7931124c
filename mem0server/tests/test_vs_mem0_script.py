"""bench/vs_mem0.py's command line: it explains itself and refuses bad input before starting anything.

The comparison itself (it installs Mem0's dependencies and starts both servers) is not run here.
"""

import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--ops", "add,delete", "--ops takes add and search"),
        ("--keys", "root", "--keys takes user and admin"),
        ("--rounds", "0", "--rounds must be at least 1"),
    ],
)
def test_a_bad_option_value_is_refused(option, value, says):
    done = run_script("--mem0-repo", ".", option, value)
    assert done.returncode == 2
    assert says in done.stderr


def test_a_folder_that_is_not_a_mem0_clone_is_named_in_the_error(tmp_path):
    done = run_script("--mem0-repo", str(tmp_path))
    assert done.returncode == 1
    assert f"{tmp_path} is not a clone of https://github.com/mem0ai/mem0" in done.stderr
