"""Entities: the users, agents, apps and runs owning memories, with counts; cascade delete after confirmation."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html

from dashboard.access import account_required, admin_required
from dashboard.views.common import LIST_ROWS, deleted_said
from entities import selectors, services
from mem0server.exceptions import InvalidInput, NotFound
from memories.selectors import memories_count


@account_required
def entity_list(request):
    """By type, then id, a page at a time (by cursor), of one type or all."""
    # A type the page does not know is a 400 naming the types (it listed every type, as if none was asked for), and
    # a cursor no page gave a 400 saying so.
    try:
        entity_type = selectors.parse_entity_type(request.GET["type"]) if request.GET.get("type") else None
        page = selectors.entities_list(
            principal=request.user,
            entity_type=entity_type,
            limit=LIST_ROWS,
            cursor=request.GET.get("cursor") or None,
        )
    except InvalidInput as exc:
        context = {"entities": [], "next_cursor": None, "type": None, "error": exc.detail}
        return render(request, "dashboard/entities.html", context, status=400)
    context = {
        "entities": page.results,
        "next_cursor": page.next_cursor,
        "type": entity_type,
        "on_page": _list_query(entity_type, request.GET.get("cursor")),
        # A later page with nothing left (Back after deletes) is not an account without entities: it links to the first.
        "past_end": (_list_query(entity_type, None) or "?") if request.GET.get("cursor") and not page.results else "",
    }
    return render(request, "dashboard/entities.html", context)


def _list_query(entity_type: str | None, cursor: str | None) -> str:
    """The query of the Entities list of one type (or all) and page, for its Delete… links to come back to."""
    query = {name: value for name, value in (("type", entity_type), ("cursor", cursor)) if value}
    return f"?{urlencode(query)}" if query else ""


def _list_asked(request) -> tuple[str | None, str | None]:
    """The type and page of the list a delete was asked from (its link's query); a type it does not know is none."""
    try:
        entity_type = selectors.parse_entity_type(request.GET["type"]) if request.GET.get("type") else None
    except InvalidInput:
        entity_type = None
    return entity_type, request.GET.get("cursor") or None


def _back_to_list(request) -> str:
    """The list the delete was asked from; its first page (of that type) when the delete left its page empty."""
    entity_type, cursor = _list_asked(request)
    if cursor:
        try:
            left = selectors.entities_list(principal=request.user, entity_type=entity_type, limit=1, cursor=cursor)
        except InvalidInput:
            left = None
        if left is None or not left.results:
            cursor = None
    return reverse("dashboard:entities") + _list_query(entity_type, cursor)


@admin_required
def entity_delete(request, entity_type: str, entity_id: str):
    """GET: the confirmation step, with how many memories will go; POST: delete them (history keeps DELETEs)."""
    try:
        entity_type = selectors.parse_entity_type(entity_type)
        entity_id = selectors.parse_entity_id(entity_id)
    except InvalidInput:
        raise Http404("No such entity.") from None
    field = selectors.ENTITY_FIELDS[entity_type]
    if request.method == "POST":
        try:
            deleted = services.entity_delete(principal=request.user, entity_type=entity_type, entity_id=entity_id)
        except NotFound:  # deleted already: the same form sent again
            return _gone(request, entity_type, entity_id)
        said = deleted_said(deleted)
        messages.success(request, format_html("Deleted {} <bdi>{}</bdi> and its {}.", entity_type, entity_id, said))
        return redirect(_back_to_list(request))
    count = memories_count(principal=request.user, scope={field: entity_id})
    if not count:  # Back after deleting it, say
        return _gone(request, entity_type, entity_id)
    context = {"entity_type": entity_type, "entity_id": entity_id, "count": count, "back": _back_to_list(request)}
    return render(request, "dashboard/entity_confirm.html", context)


def _gone(request, entity_type: str, entity_id: str):
    """An entity with no memories (deleted, or never stored): a 404 that says so, with the way back to Entities."""
    context = {"entity_type": entity_type, "entity_id": entity_id, "back": _back_to_list(request)}
    return render(request, "dashboard/entity_gone.html", context, status=404)
