"""A key revoked, or an account deactivated or demoted, in another process stops counting in this one as soon as
that commits, not API_KEY_CACHE_SECONDS later (apikeys/listener.py)."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from apikeys.services import apikey_create, key_cache
from apikeys.tests.test_apikeys import key_client
from mem0server.tests.sessions import other_session

pytestmark = pytest.mark.django_db(transaction=True)

# How long the listener may take to hear a commit: generous, as a busy machine delays the thread; well under the
# hour the cache keeps keys in these tests, so only the notification can explain a key forgotten.
WAIT_SECONDS = 60


@pytest.fixture(autouse=True)
def _keys_kept_for_an_hour(settings, embedder):
    settings.API_KEY_CACHE_SECONDS = 3600


def another_process_runs(sql: str, params: list) -> None:
    """`sql` committed by another database session, as a dashboard or worker process of its own would."""
    with other_session() as conn:
        conn.execute(sql, params)


def until(answer, expected: int) -> int:
    """The status `answer()` gives once it gives `expected`, or the last one after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while (status := answer()) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return status


def cached_key_client(user):
    """A client whose key this process has checked and keeps, with the listener running."""
    _, key = apikey_create(user=user, label="bot")
    client = key_client(key)
    assert client.get("/memories").status_code == 200
    assert key_cache.listener.listening.wait(WAIT_SECONDS)
    assert client.get("/memories").status_code == 200  # kept again after the listener's first clearing
    lookups = []
    with connection.execute_wrapper(lambda execute, sql, *rest: lookups.append(sql) or execute(sql, *rest)):
        assert client.get("/memories").status_code == 200
    assert not [sql for sql in lookups if "apikeys_apikey" in sql]  # answered from the cache
    return client


def test_a_key_revoked_by_another_process_stops_working_here_when_that_commits(member):
    client = cached_key_client(member)
    another_process_runs("UPDATE apikeys_apikey SET revoked_at = now() WHERE user_id = %s", [member.pk])
    assert until(lambda: client.get("/memories").status_code, 401) == 401


def test_an_account_deactivated_by_another_process_is_shut_out_here_when_that_commits(member):
    client = cached_key_client(member)
    another_process_runs("UPDATE accounts_user SET is_active = false WHERE id = %s", [member.pk])
    assert until(lambda: client.get("/memories").status_code, 401) == 401


def test_an_admin_demoted_by_another_process_loses_admin_routes_here_when_that_commits(make_user):
    admin = make_user("boss@example.com", role="admin")
    client = cached_key_client(admin)
    assert client.delete("/entities/user/nobody").status_code == 404  # an admin route: allowed, nothing there
    another_process_runs("UPDATE accounts_user SET role = 'member' WHERE id = %s", [admin.pk])
    assert until(lambda: client.delete("/entities/user/nobody").status_code, 403) == 403


def test_last_used_writes_and_renames_do_not_empty_every_cache(member):
    """Only changes of access notify: the minute-by-minute last_used_at write, or a new name, would otherwise make
    every worker look every key up again."""
    apikey_create(user=member, label="bot")
    with other_session(autocommit=True) as listener:
        listener.execute("LISTEN mem0_auth")
        another_process_runs("UPDATE apikeys_apikey SET last_used_at = now() WHERE user_id = %s", [member.pk])
        another_process_runs("UPDATE accounts_user SET name = 'Renamed', last_login = now() WHERE id = %s", [member.pk])
        another_process_runs("UPDATE accounts_user SET is_active = false WHERE id = %s", [member.pk])
        heard = [n.payload for n in listener.notifies(timeout=WAIT_SECONDS, stop_after=1)]
    assert heard == [""]  # the deactivation's, and nothing before it (notifications arrive in commit order)
