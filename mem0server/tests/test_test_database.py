"""Tests that commit rows for a server thread of their own (the schema fuzzing) stay off the settings' database,
also when they run alone: pytest-django would set up no test database for them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_run_alone_a_committing_fixture_is_on_a_test_database_that_is_dropped_after(database_template_env):
    done = subprocess.run(  # noqa: S603  (this interpreter, the repository's own probe)
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "mem0server/tests/probe_test_database.py",
        ],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "XDIST"))} | database_template_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout and "error" not in done.stdout, done.stdout[-3000:]
