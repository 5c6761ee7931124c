"""A test client logged in as an account, for the dashboard page tests."""

from __future__ import annotations

from django.test import Client


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
