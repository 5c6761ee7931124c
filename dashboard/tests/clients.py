"""A test client logged in as an account, for the dashboard page tests."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from django.test import Client


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def once_of(page: str) -> str:
    """The one-time token of the form on a page that creates something shown once (dashboard.once), or ""."""
    found = re.search(r'name="once" value="([^"]+)"', page)
    return found.group(1) if found else ""


class _Forms(HTMLParser):
    """Each form of a page as a browser would send it unchanged: its fields' values (a checkbox only when ticked, a
    select's chosen option, a textarea's text)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict[str, str]] = []
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({})
        elif not self.forms or "name" not in attrs:
            if tag == "option" and self.select and "selected" in attrs:
                self.forms[-1][self.select] = attrs.get("value") or ""
        elif tag == "input" and (attrs.get("type") != "checkbox" or "checked" in attrs):
            self.forms[-1][attrs["name"]] = attrs.get("value") or ("on" if attrs.get("type") == "checkbox" else "")
        elif tag == "select":
            self.select = attrs["name"]
        elif tag == "textarea":
            self.textarea = attrs["name"]
            self.forms[-1][self.textarea] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.forms[-1][self.textarea] += data


def form_as_shown(page: str, field: str) -> dict[str, str]:
    """What the form of `page` holding `field` sends, saved as the page shows it (without its CSRF token: the test
    client needs none)."""
    reader = _Forms()
    reader.feed(page)
    [form] = [form for form in reader.forms if field in form]
    form.pop("csrfmiddlewaretoken", None)
    return form
