"""The management commands that use the database (mem0server/commands.py), on a database not set up yet."""

from __future__ import annotations

import os
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
