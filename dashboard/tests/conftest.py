"""Fixtures of other apps' tests that the dashboard's tests use as they are."""

from webhooks.tests.conftest import private_targets, receiver  # noqa: F401  (a local webhook receiver)
