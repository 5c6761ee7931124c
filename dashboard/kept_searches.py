"""Searches too long for an address, kept in the session for the address the tab is left at.

A search from the page is POSTed; the tab's address is its GET address when that is short enough to reload or paste
(dashboard.views.memories.MAX_ADDRESS_CHARS). A longer one was the search page's alone: Back from a memory it found,
or a reload, showed an empty search page, the results and the query typed gone. Its fields are now kept in the
session (the last KEPT of them) under a short id, and the address is the search page's with that id (?kept=…), which
searches again as the first did, in that session; elsewhere, or once forgotten, the page says to search again."""

from __future__ import annotations

import secrets

SESSION_KEY = "dashboard_kept_searches"
KEPT = 3  # searches of up to MAX_QUERY_CHARS each: the session is read at every request


def keep_search(request, fields: dict[str, str]) -> str:
    """Keep a search's fields in the session; the id its address names."""
    kept = [entry for entry in request.session.get(SESSION_KEY, []) if entry["fields"] != fields]
    kept_id = secrets.token_urlsafe(9)
    request.session[SESSION_KEY] = [*kept[-(KEPT - 1) :], {"id": kept_id, "fields": fields}]
    return kept_id


def kept_search(request, kept_id: str) -> dict[str, str] | None:
    """The fields of the search kept under `kept_id`, or None when this session keeps none by that id."""
    return next((entry["fields"] for entry in request.session.get(SESSION_KEY, []) if entry["id"] == kept_id), None)
