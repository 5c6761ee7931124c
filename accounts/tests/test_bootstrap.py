"""`manage.py bootstrap`: migrates, creates the first admin from the environment once, says what it did."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User


def bootstrap(*args: str) -> str:
    out = io.StringIO()
    call_command("bootstrap", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def admin_env(settings):
    settings.ADMIN_EMAIL = "Root@Example.com"
    settings.ADMIN_PASSWORD = "correct horse battery"
    return settings


def test_creates_the_admin_from_the_environment_once(db, admin_env):
    first = bootstrap()
    second = bootstrap()
    [admin] = User.objects.all()
    assert admin.email == "root@example.com"
    assert (admin.role, admin.is_staff, admin.is_superuser) == ("admin", True, True)
    assert admin.check_password("correct horse battery")
    assert "root@example.com created" in first
    assert "Bootstrap done: created admin root@example.com." in first
    assert "root@example.com exists; left unchanged" in second
    assert "Nothing changed: already set up." in second


def test_with_api_key_prints_one_working_key_once(db, admin_env, embedder):
    from rest_framework.test import APIClient

    from apikeys.models import APIKey

    first = bootstrap("--with-api-key")
    [line] = [line for line in first.splitlines() if "API key:" in line]
    key = line.split()[2]
    assert key.startswith("m0sk_")
    assert "Bootstrap done: created admin root@example.com; created an API key." in first
    assert APIClient(HTTP_X_API_KEY=key).get("/memories").status_code == 200
    second = bootstrap("--with-api-key")
    assert key not in second
    assert f"{key[:12]}… exists" in second
    assert "Nothing changed" in second
    assert APIKey.objects.count() == 1


def test_with_api_key_needs_the_admin_email_and_keys_the_account_written_exactly(db, settings):
    settings.ADMIN_EMAIL, settings.ADMIN_PASSWORD = "", ""
    assert "--with-api-key needs the ADMIN_EMAIL admin" in bootstrap("--with-api-key")
    # Accounts stored as typed (the Django admin did, before emails were lower-cased): the one written exactly as
    # ADMIN_EMAIL (lower-cased) gets the key, not whichever of them came first; several only in other case stop.
    settings.ADMIN_EMAIL = "Root@Example.com"
    older = User.objects.create_user("older@example.com", role=User.Role.ADMIN)
    User.objects.filter(pk=older.pk).update(email="ROOT@example.com")
    exact = User.objects.create_user("placeholder@example.com", role=User.Role.ADMIN)
    User.objects.filter(pk=exact.pk).update(email="root@example.com")
    assert "<- for root@example.com" in bootstrap("--with-api-key")
    assert (older.api_keys.count(), exact.api_keys.count()) == (0, 1)
    User.objects.filter(pk=exact.pk).update(email="Root@example.COM")
    with pytest.raises(CommandError, match=r"^2 accounts have the email root@example.com, in other case"):
        bootstrap("--with-api-key")


def test_an_existing_admin_keeps_its_password_when_the_environment_changes(db, admin_env):
    bootstrap()
    admin_env.ADMIN_PASSWORD = "another long password"
    assert "Nothing changed" in bootstrap()
    assert User.objects.get().check_password("correct horse battery")


def test_a_member_with_the_admin_email_is_not_promoted(db, admin_env):
    User.objects.create_user("root@example.com", "member password", name="Member")
    output = bootstrap()
    member = User.objects.get()
    assert member.role == "member"
    assert not member.is_superuser
    assert "exists as a member; left unchanged" in output


def test_without_admin_variables_nobody_is_created_and_it_says_how(db, settings):
    settings.ADMIN_EMAIL, settings.ADMIN_PASSWORD = "", ""
    output = bootstrap()
    assert User.objects.count() == 0
    assert "none yet: open http://127.0.0.1:8000/dashboard/ to create one" in output
    assert "or set ADMIN_EMAIL and ADMIN_PASSWORD" in output


def test_an_email_without_a_password_warns_and_creates_nobody(db, settings):
    settings.ADMIN_EMAIL, settings.ADMIN_PASSWORD = "root@example.com", ""
    assert "ADMIN_PASSWORD is not set; no admin created" in bootstrap()
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("root@example.com", "short", "at least 8 characters"),
        ("not-an-email", "correct horse battery", "not an email address"),
    ],
)
def test_bad_admin_credentials_stop_with_a_clear_error(db, settings, email, password, message):
    settings.ADMIN_EMAIL, settings.ADMIN_PASSWORD = email, password
    with pytest.raises(CommandError, match=message):
        bootstrap()
    assert User.objects.count() == 0


def test_prints_database_pgvector_auth_and_docs_url(db, settings):
    settings.AUTH_DISABLED = False
    settings.ADMIN_API_KEY = ""
    output = bootstrap("--base-url", "http://localhost:8888/")
    assert "migrations:  up to date" in output
    assert "vector extension 0." in output
    assert "auth:        on" in output
    assert "dashboard:   http://localhost:8888/dashboard/" in output
    assert "API docs:    http://localhost:8888/docs" in output


def run_bootstrap(database_url: str, *, succeed: bool = True, **variables: str) -> str:
    """`manage.py bootstrap` in its own process, configured only by environment variables (as in Docker; more in
    `variables`): its output (then what it said on stderr), or with succeed=False its error output (it must fail)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ADMIN_EMAIL": "root@example.com",
        "ADMIN_PASSWORD": "correct horse battery",
        **variables,
    }
    result = subprocess.run(  # noqa: S603  (fixed argv: this interpreter and manage.py)
        [sys.executable, "manage.py", "bootstrap"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if not succeed:
        assert result.returncode != 0, result.stdout
        return result.stderr
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_a_database_it_cannot_reach_is_one_line_naming_it_and_why(db):
    error = run_bootstrap("postgres://nobody@127.0.0.1:9/nothing", succeed=False)
    assert "Traceback" not in error
    assert "Cannot use the database at postgresql://nobody@127.0.0.1:9/nothing: " in error
    assert "refused" in error  # the server's reason, not a pool's "couldn't get a connection after 5.00 sec"
    assert len(error.strip().splitlines()) == 1, error  # not after a warning from the pool for each retry


def test_on_an_empty_database_it_migrates_then_a_second_run_changes_nothing(fresh_database_url):
    # Three at once, as replicas of the server starting together: they take turns, each migration applied once
    # (before, the others failed on what the first had created: `django_migrations` … already exists).
    with ThreadPoolExecutor(3) as starting:
        firsts = list(starting.map(run_bootstrap, [fresh_database_url] * 3))
    second = run_bootstrap(fresh_database_url)
    for first in firsts:
        assert "(DATABASE_URL)" in first
        # One that found a migration done by another waits for that one to stop, then plans again once: it said
        # whom it waits for before each of the other's migrations (~40 lines), each plan costing ~65 ms of CPU. (The
        # one applying them waits once for each other's first turn; a busy machine may add a turn or two.)
        assert first.count("waits for another migrate") <= 6, first
    with psycopg.connect(fresh_database_url) as conn:
        migrations = "SELECT count(*), count(DISTINCT (app, name)) FROM django_migrations"
        recorded, distinct = conn.execute(migrations).fetchone()
    applied = [re.search(r"migrations:  (?:applied (\d+)|up to date)", first).group(1) for first in firsts]
    assert sum(int(count or 0) for count in applied) == recorded == distinct
    first = "".join(firsts)
    assert first.count("root@example.com created") == 1
    assert "migrations:  up to date" in second
    assert "root@example.com exists; left unchanged" in second
    assert "Nothing changed: already set up." in second
    with psycopg.connect(fresh_database_url) as conn:
        assert conn.execute("SELECT email, role FROM accounts_user").fetchall() == [("root@example.com", "admin")]
        assert conn.execute("SELECT extname FROM pg_extension WHERE extname = 'vector'").fetchone() == ("vector",)
    assert not User.objects.exists()  # the test database was not touched
