"""Fixtures for the export tests: the Platform tests' live server and SDK clients, and a way to run the queued
jobs in this process (procrastinate's worker, with its own psycopg connection, until the queue is empty)."""

from __future__ import annotations

import pytest
from procrastinate.contrib.django import app

from platform_api.tests.conftest import llm_on, sdk, sdk_key, server  # noqa: F401 (fixtures)


def jobs_run() -> None:
    """Run every job deferred (and committed) so far, then return."""
    with app.replace_connector(app.connector.get_worker_connector()):
        app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False)


@pytest.fixture
def run_jobs():
    return jobs_run


@pytest.fixture
def alice_account(make_user):
    return make_user("alice@example.com", name="Alice")


@pytest.fixture
def bob_account(make_user):
    return make_user("bob@example.com", name="Bob")
