"""Tests that commit rows for a server thread of their own (the schema fuzzing) stay off the settings' database,
also when they run alone: pytest-django would set up no test database for them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_under_pytest_n_the_test_database_is_a_complete_copy_of_the_runs_template_which_no_session_holds(db, request):
    """mem0server/tests/template_database.py: PostgreSQL copies a database only while no session is on it, so a
    session left there (a pool, a listener) would fail the next process's copy."""
    import psycopg
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from mem0server.tests import template_database

    if getattr(request.config, "workerinput", None) is None:
        pytest.skip("run alone, a test process migrates its own test database")
    name = template_database.TEMPLATE_NAME
    assert connection.settings_dict["TEST"]["TEMPLATE"] == name
    with psycopg.connect(**template_database.maintenance_params()) as server:
        comment = "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s"
        assert server.execute(comment, [name]).fetchone() == (request.config.workerinput["testrunuid"],)
        sessions = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
        assert server.execute(sessions, [name]).fetchone() == (0,)
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
