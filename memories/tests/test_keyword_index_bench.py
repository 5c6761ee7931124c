"""bench/keyword_index.py: on its own throw-away PostgreSQL, both keyword paths rank alike and it says so."""

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "keyword_index.py"


def run_script(*args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "MEM0_DATA_DIR")}
    return subprocess.run(  # noqa: S603  (this interpreter, the repository's script)
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300, env=env
    )


def test_a_small_run_times_both_ways_and_finds_the_same_rankings():
    done = run_script("--users", "2", "--memories", "300", "--repeat", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "scope kw-bench-0: 300 memories" in done.stdout
    assert "same ranking for 16 of 16 queries" in done.stdout
    assert "tsvectors / index: " in done.stdout


def test_bad_sizes_are_refused_before_anything_starts():
    done = run_script("--memories", "0")
    assert done.returncode == 2
    assert "--memories and --repeat must be at least 1" in done.stderr
