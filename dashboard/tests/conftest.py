"""Fixtures of other apps' tests that the dashboard's tests use as they are, and two members (no password: tests log
them in with dashboard.tests.clients.logged_in)."""

import pytest

from webhooks.tests.conftest import private_targets, receiver  # noqa: F401  (a local webhook receiver)


@pytest.fixture
def alice(make_user):
    return make_user("alice@example.com")


@pytest.fixture
def bob(make_user):
    return make_user("bob@example.com")
