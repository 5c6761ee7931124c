"""The management commands that use the database (mem0server/commands.py), on a database not set up yet."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.core.management import call_command, get_commands, load_command_class
from django.db import ProgrammingError, connection, transaction

from mem0server.commands import DatabaseCommand

# Each command of the apps that reads or writes the database, with arguments it accepts; the first two are Django's
# (django.contrib.auth's), found in accounts first.
COMMANDS = [
    ["createsuperuser", "--noinput", "--email", "root@example.com"],
    ["changepassword", "root@example.com"],
    ["createadmin", "--email", "root@example.com", "--password", "a long passphrase"],
    ["createuser", "--email", "ann@example.com", "--password", "a long passphrase"],
    ["createapikey", "--email", "root@example.com", "--label", "ci"],
    ["export_memories"],
    ["import_memories", "--input", os.devnull],
    ["import_from_mem0", "--dump", os.devnull],
    ["prune_requestlog"],
    ["reembed_memories"],
    ["queue_failed_adds"],
]


def run_command(database_url: str, argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603  (fixed argv: this interpreter, manage.py and a command of ours)
        [sys.executable, "manage.py", *argv],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_command_that_uses_the_database_is_a_database_command():
    for name, *_ in COMMANDS:
        command = load_command_class(get_commands()[name], name)
        assert isinstance(command, DatabaseCommand), name


def test_a_command_run_before_bootstrap_says_in_one_line_to_run_bootstrap_first(fresh_database_url):
    # Each ended in Django's traceback: django.db.utils.ProgrammingError: relation "accounts_user" does not exist.
    # Two of them, run as an operator runs them (each a Django start): one of Django's and one of ours; the others
    # share their base class (above).
    tried = [COMMANDS[0], COMMANDS[5]]
    with ThreadPoolExecutor(2) as running:
        results = list(running.map(run_command, [fresh_database_url] * len(tried), tried))
    name = fresh_database_url.split("@/", 1)[1].split("?", 1)[0]
    for argv, result in zip(tried, results, strict=True):
        assert result.returncode == 1, (argv, result.stdout)
        assert "Traceback" not in result.stderr, argv
        [line] = (result.stdout + result.stderr).strip().splitlines()
        assert line.startswith("CommandError: The database at postgresql://"), argv
        assert line.endswith(
            f"/{name} has no tables yet: run `python manage.py bootstrap` (or `make serve`, which runs it) first."
        ), argv


class FailingQuery(DatabaseCommand):
    def handle(self, *args, **options):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")


def test_a_missing_table_on_a_set_up_database_is_not_blamed_on_bootstrap(db):
    # Every migration applied: the error is the command's own, and stays as it was.
    with pytest.raises(ProgrammingError, match="no_such_table"):
        call_command(FailingQuery())


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_command_on_a_database_it_cannot_reach_says_so_in_one_line():
    # Each ended, after DB_POOL_TIMEOUT, in a traceback: django.db.utils.OperationalError: couldn't get a connection
    # after 5.00 sec, naming neither the server nor why. One of Django's commands and one of ours, at once.
    port = closed_port()
    url = f"postgres://mem0:secret@127.0.0.1:{port}/mem0"
    tried = [COMMANDS[0], COMMANDS[4]]
    with ThreadPoolExecutor(2) as running:
        results = list(running.map(run_command, [url] * len(tried), tried))
    for argv, result in zip(tried, results, strict=True):
        assert result.returncode == 1, (argv, result.stdout)
        assert "Traceback" not in result.stderr, argv
        [line] = (result.stdout + result.stderr).strip().splitlines()
        where = f"postgresql://mem0@127.0.0.1:{port}/mem0"
        assert line.startswith(f"CommandError: Cannot use the database at {where}: "), argv
        assert "Connection refused" in line and "secret" not in line, argv


def test_a_job_worker_on_a_database_not_set_up_or_not_reached_says_so_in_one_line(fresh_database_url):
    # On a database bootstrap had not set up (a worker of a new version started before the upgrade's bootstrap) it
    # printed procrastinate's "function procrastinate_prune_stalled_workers_v1(double precision) does not exist …
    # Database error."; on one it could not reach, 30 s of the pool's warnings, then "pool initialization incomplete
    # after 30.0 sec".
    port = closed_port()
    urls = [fresh_database_url, f"postgres://mem0:secret@127.0.0.1:{port}/mem0"]
    with ThreadPoolExecutor(2) as running:
        fresh, unreached = running.map(run_command, urls, [["procrastinate", "worker"]] * 2)
    name = fresh_database_url.split("@/", 1)[1].split("?", 1)[0]
    for result in (fresh, unreached):
        assert result.returncode == 1, result.stdout
        assert "Traceback" not in result.stderr
    fresh_line, unreached_line = (result.stderr.strip().splitlines()[-1] for result in (fresh, unreached))
    assert fresh_line.startswith("CommandError: The database at postgresql://")
    assert fresh_line.endswith(
        f"/{name} has no tables yet: run `python manage.py bootstrap` (or `make serve`, which runs it) first."
    )
    assert unreached_line.startswith(
        f"CommandError: Cannot use the database at postgresql://mem0@127.0.0.1:{port}/mem0: "
    )
    assert "Connection refused" in unreached_line and "psycopg.pool" not in unreached.stderr
