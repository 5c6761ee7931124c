"""A test client logged in as an account, for the dashboard page tests."""

from __future__ import annotations

import re

from django.test import Client


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def once_of(page: str) -> str:
    """The one-time token of the form on a page that creates something shown once (dashboard.once), or ""."""
    found = re.search(r'name="once" value="([^"]+)"', page)
    return found.group(1) if found else ""
