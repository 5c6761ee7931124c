"""Fixtures of other apps' tests that the dashboard's tests use as they are, and two members (no password: tests log
them in with dashboard.tests.clients.logged_in)."""

import pytest

from webhooks.tests.conftest import private_targets, receiver  # noqa: F401  (a local webhook receiver)

FAILED = pytest.StashKey[bool]()  # set on a test whose body failed: the browser tests then keep its pages' screenshots


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture
def alice(make_user):
    return make_user("alice@example.com")


@pytest.fixture
def bob(make_user):
    return make_user("bob@example.com")
