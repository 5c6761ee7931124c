"""Small helpers shared by the dashboard's views."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode

from django import forms

from mem0server.exceptions import DomainError
from mem0server.text import counted
from memories.services import ScopeDeleted

T = TypeVar("T")

LIST_ROWS = 1000  # a page of the Entities, API keys and Webhooks lists


def form_status(*forms: forms.Form) -> int:
    """400 when a form was refused (its errors say why on the page), 200 otherwise: a browser shows the page
    either way, and a script or check reading the status sees the refusal."""
    return 400 if any(form.is_bound and form.errors for form in forms) else 200


def cursor_query(cursor: str | None) -> str:
    """The query of a list's page opened by `cursor` ("?cursor=…"; "" for the first), for the page's forms to come
    back to: a change made on page 2 landed on page 1."""
    return f"?{urlencode({'cursor': cursor})}" if cursor else ""


def carried_query(raw: str | None, names: Collection[str]) -> str:
    """The query of a list (its filters and page) carried through a page opened from it, for its links back: only
    the list's own parameters `names`, each once, as "?…" ("" for none). Anything else is dropped, so what is carried
    only ever reopens that list, never another address."""
    kept: dict[str, str] = {}
    for name, value in parse_qsl(raw or ""):
        if name in names and name not in kept:
            kept[name] = value
    return f"?{urlencode(kept)}" if kept else ""


def attempt(form: forms.Form, call: Callable[[], T], *, passing: tuple[type[DomainError], ...] = ()) -> T | None:
    """Run a service; a domain error becomes a form error (on its field when it names one), and None. Those of
    `passing` are raised on, for the view to answer itself (a NotFound for what was deleted meanwhile, say)."""
    try:
        return call()
    except passing:
        raise
    except DomainError as exc:
        field = exc.field if exc.field in form.fields else None
        form.add_error(field, exc.detail)
        return None


def posted_yes_no(request, name: str) -> bool | None:
    """A posted yes/no field (a pause or deactivate button's value) as True or False; None for anything else, which
    the view refuses rather than read as one of them."""
    return {"yes": True, "no": False}.get(request.POST.get(name))


def deleted_said(deleted: ScopeDeleted) -> str:
    """What a delete of a scope removed, for its message: "3 memories", "1 memory and 2 unfinished adds"."""
    said = counted(deleted.memories, "memory", "memories")
    if deleted.adds_dropped:
        said += f" and {counted(deleted.adds_dropped, 'unfinished add', 'unfinished adds')}"
    return said
