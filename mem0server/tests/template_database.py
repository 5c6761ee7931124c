"""One migrated database per `pytest -n` run, that each process's test database is copied from.

Each process of `pytest -n` made its test database by migrating an empty one: every migration of every app, about
4.5 s of CPU each time (4.1 of it in Python, rendering the historical models). Now the first process to set up its
test database migrates a template database, `test_<NAME>_template`, and every process's test database is created
from it (CREATE DATABASE ... TEMPLATE: a file copy in PostgreSQL, 0.1 s of its CPU); Django's migrate then finds
nothing to do on it (0.2 s). The processes take turns on a lock, so the template is migrated once, whole, before any
copy; the run's id, stored as the template's comment when it is complete, tells a later run's template from one left
by an earlier (killed) run, which is made again.

Nothing ever has to be ended on the template (PostgreSQL copies a database only while no session is connected to
it): the one process migrating it names it in the default alias only while it migrates, during the set-up of its
test database, when no test of the process has reached a database yet (pytest-django blocks them until then), so no
server thread or listener (apikeys/listener.py, started by a test's first API key) can have connected to it; its
connections and pool are closed before the lock is given up. Were a session left on it, the copy would fail, saying
so, rather than end anything.
"""

from __future__ import annotations

import contextlib

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from psycopg.sql import SQL, Identifier, Literal

# pg_advisory_lock's key for "a process sets up the template" (any fixed bigint; this one spells "m0tmplat").
TEMPLATE_LOCK_KEY = 0x6D30746D706C6174
# Names the run's template to a process a test starts that makes a test database of its own (a benchmark script, a
# pytest run), to copy too: conftest.py's `database_template_env`.
ENVIRONMENT_VARIABLE = "TEST_DATABASE_TEMPLATE"
# Named after the settings' database, read at import (conftest.py's), before a test database replaces it.
TEMPLATE_NAME = f"test_{settings.DATABASES['default']['NAME']}_template"


def maintenance_params() -> dict:
    """Connection parameters for the `postgres` database of the test server, in autocommit and without the
    requests' statement_timeout (DB_STATEMENT_TIMEOUT_MS): CREATE and DROP DATABASE wait for a checkpoint of the
    whole server, which on a busy machine took longer than those 30 s."""
    params = connections["default"].get_connection_params()
    options = f"{params.get('options', '')} -c statement_timeout=0".strip()  # the last -c of a setting wins
    return {**params, "dbname": "postgres", "autocommit": True, "options": options}


def template_use(*, run_id: str) -> None:
    """Have the test database created from this run's template (migrated here first, if no process of the run
    has yet): Django's test database creation copies settings' TEST TEMPLATE."""
    name = TEMPLATE_NAME
    with psycopg.connect(**maintenance_params()) as server:
        server.execute("SELECT pg_advisory_lock(%s)", [TEMPLATE_LOCK_KEY])  # given up when `server` closes
        comment = server.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if comment is None or comment[0] != run_id:
            server.execute(SQL("DROP DATABASE IF EXISTS {}").format(Identifier(name)))
            server.execute(SQL("CREATE DATABASE {}").format(Identifier(name)))
            _migrate(name)
            server.execute(SQL("COMMENT ON DATABASE {} IS {}").format(Identifier(name), Literal(run_id)))
    template_copy(name)


def template_copy(name: str) -> None:
    """Have Django's test database creation copy database `name` (settings' TEST TEMPLATE)."""
    settings.DATABASES["default"]["TEST"]["TEMPLATE"] = name
    connections["default"].settings_dict["TEST"]["TEMPLATE"] = name


def _migrate(name: str) -> None:
    """Migrate database `name` as Django migrates a test database: with the default alias naming it for the while
    (the data migrations write through the default alias), its connections and pool closed before and after."""
    default = connections["default"]
    before = default.settings_dict["NAME"]
    default.close()
    default.close_pool()  # a pool made earlier would still connect to `before`
    default.settings_dict["NAME"] = name
    try:
        with default.cursor() as cursor:
            cursor.execute("SELECT current_database()")
            assert cursor.fetchone()[0] == name  # noqa: S101 - never migrate anything else
        call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)
        call_command("createcachetable")
    finally:
        default.close()
        default.close_pool()
        default.settings_dict["NAME"] = before


def template_drop() -> None:
    """The end of a `pytest -n` run (its controlling process, once every other process has ended)."""
    with contextlib.suppress(psycopg.Error), psycopg.connect(**maintenance_params()) as server:
        server.execute(SQL("DROP DATABASE IF EXISTS {}").format(Identifier(TEMPLATE_NAME)))
