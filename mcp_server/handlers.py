"""What each MCP tool does: a thin adapter over the REST routes' services and selectors.

A tool validates its arguments twice: against its JSON schema (types, unknown names), then through the same DRF
serializers as the REST routes (scope ids, message shapes, limits). It calls the same service or selector as the
REST route, with the caller as principal, so tenancy, history and limits live in one place. Whatever goes wrong
comes back as a ToolError sentence, never as an exception the transport has to know about.

Default scope: a client config may pin ids (`/mcp?user_id=alice`, or the X-Mem0-User-ID header; see views.py).
They fill every scope id a call leaves out; an id the call gives explicitly wins for that field. Filters that
mention a scope id anywhere (also inside AND/OR/NOT) keep theirs. delete_entities never uses the default scope:
it deletes only the entities it names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

from apikeys.permissions import IsAdmin
from entities import selectors as entity_selectors
from entities import services as entity_services
from entities.serializers import EntityListQuerySerializer, EntitySerializer
from events import selectors as event_selectors
from events.serializers import EventListQuerySerializer, EventSerializer
from memories import selectors, services
from memories.models import SCOPE_FIELDS
from memories.serializers import (
    AddMemoryRequestSerializer,
    AddResponseSerializer,
    DeleteScopeQuerySerializer,
    ListMemoriesQuerySerializer,
    MemoryListResponseSerializer,
    MemorySerializer,
    ScopeMixin,
    SearchRequestSerializer,
    SearchResponseSerializer,
    UpdateMemoryRequestSerializer,
)
from profiles import services as profile_services
from profiles.serializers import ProfileSerializer


class ToolError(Exception):
    """A tool call that failed for a reason the model can act on: its message becomes the isError result."""


@dataclass(frozen=True)
class ToolContext:
    principal: Any
    default_scope: dict[str, str]
    # An OAuth grant the account allowed to read only: the tools that change something are not offered.
    read_only: bool = False
    # Which tools the connection offers: "mem0" (tools.py) or "openmemory" (openmemory.py, OpenMemory's URLs), and
    # the client an OpenMemory URL names.
    toolset: str = "mem0"
    client_name: str = ""
    # The most bytes one answer may take on this connection (an SSE event's limit), or None: no limit.
    answer_max_bytes: int | None = None


# --- helpers ----------------------------------------------------------------------------------------------------


def _validated(serializer_class: type[serializers.Serializer], data: dict[str, Any]) -> serializers.Serializer:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer


def _explicit_scope(arguments: dict[str, Any]) -> dict[str, Any]:
    return {field: arguments[field] for field in SCOPE_FIELDS if arguments.get(field) is not None}


def _with_default_scope(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    """The call's scope ids, each left-out one filled from the pinned default scope."""
    return {**ctx.default_scope, **_explicit_scope(arguments)}


def _mentions(filters: Any, field: str) -> bool:
    """Whether a filter object names `field` anywhere, including inside AND / OR / NOT."""
    if isinstance(filters, dict):
        return any(key == field or _mentions(value, field) for key, value in filters.items())
    if isinstance(filters, list):
        return any(_mentions(item, field) for item in filters)
    return False


def _scope_for_filters(ctx: ToolContext, arguments: dict[str, Any], filters: dict | None) -> dict[str, Any]:
    """Explicit scope ids, plus the default ones the filters do not already decide."""
    defaults = {f: v for f, v in ctx.default_scope.items() if not _mentions(filters or {}, f)}
    return {**defaults, **_explicit_scope(arguments)}


def _require_admin(ctx: ToolContext) -> None:
    # The same rule as the REST routes (DELETE /memories, DELETE /entities/…): IsAdmin.
    if not getattr(ctx.principal, "is_admin", False):
        raise ToolError(IsAdmin.message + " Ask an administrator, or delete memories one by one with delete_memory.")


# --- the tools --------------------------------------------------------------------------------------------------


def add_memory(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    if "text" in arguments and "messages" in arguments:
        raise ToolError("Give text or messages, not both: messages is a conversation, text one sentence.")
    messages = arguments.get("messages") or arguments.get("text")
    if not messages:
        raise ToolError("Give text (a sentence to remember) or messages (a list of {role, content}).")
    data = {"messages": messages, **_with_default_scope(ctx, arguments), "infer": arguments.get("infer", True)}
    if "metadata" in arguments:
        data["metadata"] = arguments["metadata"]
    params = _validated(AddMemoryRequestSerializer, data)
    valid = params.validated_data
    results = services.memories_add(
        principal=ctx.principal,
        messages=[services.Message(**m) for m in valid["messages"]],
        scope=params.scope(),
        metadata=valid.get("metadata"),
        infer=valid["infer"],
    )
    return AddResponseSerializer({"results": results}).data


def search_memories(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    filters = arguments.get("filters") or {}
    data = {
        "query": arguments["query"],
        "filters": filters,
        **_scope_for_filters(ctx, arguments, filters),
    }
    for name in ("limit", "threshold", "reference_date"):
        if name in arguments:
            data[name] = arguments[name]
    valid = _validated(SearchRequestSerializer, data).validated_data
    # As the REST search: the configured default reranker applies (SEARCH_RERANK_DEFAULT).
    outcome = selectors.memories_search_reranked(
        rerank=None,
        principal=ctx.principal,
        query=valid["query"],
        filters=valid["filters"],
        top_k=valid["top_k"],
        threshold=valid["threshold"],
        show_expired=valid["show_expired"],
        reference_date=valid.get("reference_date"),
    )
    return SearchResponseSerializer({"results": outcome.results, "rerank": outcome.rerank}).data


def get_memories(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    filters = arguments.get("filters")
    data: dict[str, Any] = {**_scope_for_filters(ctx, arguments, filters), "top_k": arguments.get("page_size", 100)}
    if filters:
        # The REST route's serializer reads filters from a query string, as JSON text.
        data["filters"] = json.dumps(filters)
    if "page" in arguments:
        data["page"] = arguments["page"]
    params = _validated(ListMemoriesQuerySerializer, data)
    valid = params.validated_data
    page = selectors.memories_list(
        principal=ctx.principal,
        scope=params.scope(),
        filters=valid.get("filters"),
        top_k=valid["top_k"],
        page=valid.get("page"),
        show_expired=valid["show_expired"],
    )
    return MemoryListResponseSerializer(page).data


def get_memory(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    memory = selectors.memory_get(principal=ctx.principal, memory_id=selectors.parse_memory_id(arguments["memory_id"]))
    return MemorySerializer(memory).data


def update_memory(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    memory_id = selectors.parse_memory_id(arguments["memory_id"])
    data = {key: arguments[key] for key in ("text", "metadata") if key in arguments}
    valid = _validated(UpdateMemoryRequestSerializer, data).validated_data
    memory = services.memory_update(principal=ctx.principal, memory_id=memory_id, **valid)
    return {"message": "Memory updated successfully!", "memory": MemorySerializer(memory).data}


def delete_memory(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    memory_id = selectors.parse_memory_id(arguments["memory_id"])
    services.memory_delete(principal=ctx.principal, memory_id=memory_id)
    return {"message": "Memory deleted successfully", "id": str(memory_id)}


def delete_all_memories(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    _require_admin(ctx)
    params = _validated(DeleteScopeQuerySerializer, _with_default_scope(ctx, arguments))
    deleted = services.memories_delete_scope(principal=ctx.principal, scope=params.scope())
    return {"message": "All relevant memories deleted", "scope": params.scope(), "deleted": deleted.memories}


def delete_entities(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    _require_admin(ctx)
    # Explicit ids only: a pinned default user must never be deleted by a call that did not name it.
    params = _validated(ScopeMixin, _explicit_scope(arguments))
    named = params.scope()
    if not named:
        raise ToolError("Name the entities to delete: give at least one of user_id, agent_id, app_id, run_id.")
    entities = {kind: named[field] for kind, field in entity_selectors.ENTITY_FIELDS.items() if field in named}
    deleted = entity_services.entities_delete(principal=ctx.principal, entities=entities)
    if not any(each.memories or each.adds_dropped for each in deleted.values()):
        raise ToolError(f"No memories for {', '.join(f'{f}={v!r}' for f, v in named.items())}: nothing was deleted.")
    return {"message": "Entities deleted", "deleted": {kind: each.memories for kind, each in deleted.items()}}


def list_entities(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    valid = _validated(EntityListQuerySerializer, arguments).validated_data
    try:
        page = entity_selectors.entities_list(
            principal=ctx.principal, entity_type=valid.get("type"), limit=valid["limit"], cursor=valid.get("cursor")
        )
    except entity_selectors.InvalidCursor:
        # The REST message names the X-Next-Cursor header, which a tool caller never sees.
        raise ToolError("cursor is not valid; pass the next_cursor of a previous list_entities result.") from None
    return {"results": EntitySerializer(page.results, many=True).data, "next_cursor": page.next_cursor}


def list_events(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    valid = _validated(EventListQuerySerializer, arguments).validated_data
    page = event_selectors.events_list(
        principal=ctx.principal, page=valid["page"], page_size=valid["page_size"], status=valid.get("status")
    )
    return {"count": page.count, "results": EventSerializer(page.results, many=True).data, "next_page": page.next_page}


def get_event_status(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    event_id = event_selectors.parse_event_id(arguments["event_id"])
    return EventSerializer(event_selectors.event_get(principal=ctx.principal, event_id=event_id)).data


def get_user_profile(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    user_id = arguments.get("user_id") or ctx.default_scope.get("user_id")
    if not user_id:
        raise ToolError("Give user_id: whose profile (no user is pinned in this connection's URL).")
    state = profile_services.profile_get(principal=ctx.principal, entity_id=entity_selectors.parse_entity_id(user_id))
    return ProfileSerializer(state).data
