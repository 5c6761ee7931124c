"""The MCP tools: Mem0's hosted MCP tool names and arguments, each a thin adapter over our services and selectors.

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
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema
from django.core.serializers.json import DjangoJSONEncoder
from mcp_types import Tool, ToolAnnotations
from rest_framework import serializers

from apikeys.permissions import IsAdmin
from entities import selectors as entity_selectors
from entities import services as entity_services
from entities.serializers import EntityListQuerySerializer, EntitySerializer
from mem0server.exceptions import NotFound, exception_handler
from mem0server.middleware import request_id_var
from memories import selectors, services
from memories.models import SCOPE_FIELDS
from memories.serializers import (
    MAX_TOP_K,
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

logger = logging.getLogger("mem0server.mcp")


class ToolError(Exception):
    """A tool call that failed for a reason the model can act on: its message becomes the isError result."""


@dataclass(frozen=True)
class ToolContext:
    principal: Any
    default_scope: dict[str, str]


@dataclass(frozen=True)
class ToolSpec:
    tool: Tool
    handler: Callable[[ToolContext, dict[str, Any]], dict[str, Any]]


# --- argument schemas -------------------------------------------------------------------------------------------

_ID = {"type": "string", "minLength": 1, "maxLength": 255}
SCOPE_PROPERTIES = {
    "user_id": {**_ID, "description": "The user the memories belong to. Defaults to the user pinned in the URL."},
    "agent_id": {**_ID, "description": "The agent (assistant) the memories belong to."},
    "app_id": {**_ID, "description": "The application the memories belong to."},
    "run_id": {**_ID, "description": "The run or session the memories belong to."},
}
MEMORY_ID = {"type": "string", "description": "The memory's id (a UUID), as returned by the other tools."}
FILTERS = {
    "type": "object",
    "description": (
        "Mem0 filters. {\"key\": value} means equality; operators: "
        '{"key": {"in"|"nin"|"gt"|"gte"|"lt"|"lte"|"ne"|"contains"|"icontains": value}}; '
        '"AND"/"OR"/"NOT" take lists of filters. Keys user_id, agent_id, app_id, run_id, actor_id, role are '
        'columns, any other key is a metadata key. Example: {"AND": [{"user_id": "alice"}, {"topic": "food"}]}.'
    ),
}
ENABLE_GRAPH = {"type": "boolean", "description": "Accepted for Mem0 compatibility; this server has no graph memory."}


def _schema(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False, **extra}
    if required:
        schema["required"] = required
    return schema


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


def _hoist_scope(filters: dict[str, Any]) -> dict[str, Any]:
    """Mem0 writes `{"AND": [{"user_id": "alice"}, …]}`; the search's scope check reads top-level ids.

    A plain scope id inside a top-level AND is copied to the top level (AND of the same condition: same rows).
    """
    hoisted = dict(filters)
    for item in filters.get("AND") or []:
        if isinstance(item, dict) and len(item) == 1:
            (key, value), *_ = item.items()
            if key in SCOPE_FIELDS and isinstance(value, str) and key not in hoisted:
                hoisted[key] = value
    return hoisted


def _require_admin(ctx: ToolContext) -> None:
    # The same rule as the REST routes (DELETE /memories, DELETE /entities/…): IsAdmin.
    if not getattr(ctx.principal, "is_admin", False):
        raise ToolError(IsAdmin.message + " Ask an administrator, or delete memories one by one with delete_memory.")


# --- the tools --------------------------------------------------------------------------------------------------


def add_memory(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
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
    filters = _hoist_scope(arguments.get("filters") or {})
    data = {
        "query": arguments["query"],
        "filters": filters,
        **_scope_for_filters(ctx, arguments, filters),
    }
    for name in ("limit", "threshold"):
        if name in arguments:
            data[name] = arguments[name]
    valid = _validated(SearchRequestSerializer, data).validated_data
    hits = selectors.memories_search(
        principal=ctx.principal,
        query=valid["query"],
        filters=valid["filters"],
        top_k=valid["top_k"],
        threshold=valid["threshold"],
        show_expired=valid["show_expired"],
    )
    return SearchResponseSerializer({"results": hits}).data


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
    memory = selectors.memory_get(
        principal=ctx.principal, memory_id=selectors.parse_memory_id(arguments["memory_id"])
    )
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
    return {"message": "All relevant memories deleted", "scope": params.scope(), "deleted": deleted}


def delete_entities(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    _require_admin(ctx)
    # Explicit ids only: a pinned default user must never be deleted by a call that did not name it.
    params = _validated(ScopeMixin, _explicit_scope(arguments))
    named = params.scope()
    if not named:
        raise ToolError("Name the entities to delete: give at least one of user_id, agent_id, app_id, run_id.")
    deleted: dict[str, int] = {}
    for entity_type, field in entity_selectors.ENTITY_FIELDS.items():
        if field in named:
            try:
                deleted[entity_type] = entity_services.entity_delete(
                    principal=ctx.principal, entity_type=entity_type, entity_id=named[field]
                )
            except NotFound:
                deleted[entity_type] = 0
    if not any(deleted.values()):
        raise ToolError(f"No memories for {', '.join(f'{f}={v!r}' for f, v in named.items())}: nothing was deleted.")
    return {"message": "Entities deleted", "deleted": deleted}


def list_entities(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    valid = _validated(EntityListQuerySerializer, arguments).validated_data
    page = entity_selectors.entities_list(
        principal=ctx.principal, entity_type=valid.get("type"), limit=valid["limit"], cursor=valid.get("cursor")
    )
    return {"results": EntitySerializer(page.results, many=True).data, "next_cursor": page.next_cursor}


NO_EVENTS = (
    "This server adds memories synchronously: add_memory's answer already holds the stored memories, so no "
    "add creates an event to wait for."
)


def list_events(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"results": [], "message": NO_EVENTS}


def get_event_status(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    raise ToolError(f"unknown event id {str(arguments['event_id'])[:100]!r}. {NO_EVENTS}")


def _tool(name: str, title: str, description: str, schema: dict[str, Any], **hints: bool) -> Tool:
    annotations = ToolAnnotations(title=title, open_world_hint=False, **hints)
    return Tool(name=name, title=title, description=description, input_schema=schema, annotations=annotations)


READ_ONLY = {"read_only_hint": True}
DESTRUCTIVE = {"read_only_hint": False, "destructive_hint": True}

_SPECS = [
    ToolSpec(
        _tool(
            "add_memory",
            "Add memory",
            "Store something worth remembering across conversations: a preference, a fact about the user, a "
            "decision. Give `text` (one plain sentence) or `messages` (a conversation as {role, content} items). "
            "With an LLM configured the server extracts the facts and merges them with what it already knows; "
            "otherwise each message is stored as it is and near-duplicates are skipped. Scope the memory with "
            "user_id / agent_id / app_id / run_id (at least one; the user pinned in the URL is used when none is "
            "given). Returns the stored memories with their ids and an event (ADD, UPDATE, DELETE, NONE).",
            _schema(
                {
                    "text": {"type": "string", "minLength": 1, "description": "A plain sentence to remember."},
                    "messages": {
                        "type": "array",
                        "minItems": 1,
                        "description": "A conversation to learn from, instead of text.",
                        "items": {
                            "type": "object",
                            "properties": {
                                "role": {"type": "string", "enum": ["user", "assistant", "system", "tool"]},
                                "content": {"type": "string"},
                                "name": {"type": "string"},
                            },
                            "required": ["role", "content"],
                        },
                    },
                    **SCOPE_PROPERTIES,
                    "metadata": {"type": "object", "description": "Any JSON object to store with the memory."},
                    "infer": {
                        "type": "boolean",
                        "description": "false stores the text verbatim, without LLM fact extraction. Default true.",
                    },
                    "enable_graph": ENABLE_GRAPH,
                },
                anyOf=[{"required": ["text"]}, {"required": ["messages"]}],
            ),
            read_only_hint=False,
            destructive_hint=False,
        ),
        add_memory,
    ),
    ToolSpec(
        _tool(
            "search_memories",
            "Search memories",
            "Find the memories most relevant to a question, by meaning and keywords, best first, each with a "
            "score. Use it before answering anything that depends on what you know about the user. The search "
            "runs inside one scope: the pinned user, or user_id / agent_id / app_id / run_id given here or in "
            "`filters`.",
            _schema(
                {
                    "query": {"type": "string", "minLength": 1, "description": "What to look for, in plain words."},
                    "filters": FILTERS,
                    "limit": {"type": "integer", "minimum": 0, "maximum": MAX_TOP_K, "description": "At most this "
                              "many results (default 20)."},
                    "threshold": {"type": "number", "minimum": 0, "maximum": 1, "description": "Minimum score "
                                  "(default 0.1)."},
                    **SCOPE_PROPERTIES,
                    "enable_graph": ENABLE_GRAPH,
                },
                ["query"],
            ),
            **READ_ONLY,
        ),
        search_memories,
    ),
    ToolSpec(
        _tool(
            "get_memories",
            "List memories",
            "List stored memories, newest first, page by page. Narrow them with `filters` or the scope ids; "
            "without any, it lists the pinned user's memories (or every memory you may see when nothing is "
            "pinned). The answer has next_page when more remain.",
            _schema(
                {
                    "filters": FILTERS,
                    "page": {"type": "integer", "minimum": 1, "description": "Page number, from 1."},
                    "page_size": {"type": "integer", "minimum": 1, "maximum": MAX_TOP_K, "description": "Memories "
                                  "per page (default 100)."},
                    **SCOPE_PROPERTIES,
                    "enable_graph": ENABLE_GRAPH,
                }
            ),
            **READ_ONLY,
        ),
        get_memories,
    ),
    ToolSpec(
        _tool(
            "get_memory",
            "Get a memory",
            "Read one memory by its id: its text, scope ids, metadata and timestamps.",
            _schema({"memory_id": MEMORY_ID}, ["memory_id"]),
            **READ_ONLY,
        ),
        get_memory,
    ),
    ToolSpec(
        _tool(
            "update_memory",
            "Update a memory",
            "Replace the text of one memory (it is re-embedded; its history keeps the old text). Use the id from "
            "search_memories or get_memories, and only once the user has confirmed the change. `metadata` is "
            "merged into the memory's metadata.",
            _schema(
                {
                    "memory_id": MEMORY_ID,
                    "text": {"type": "string", "minLength": 1, "description": "The new text of the memory."},
                    "metadata": {"type": "object", "description": "Keys to add or change in the metadata."},
                },
                ["memory_id", "text"],
            ),
            read_only_hint=False,
            destructive_hint=True,
            idempotent_hint=True,
        ),
        update_memory,
    ),
    ToolSpec(
        _tool(
            "delete_memory",
            "Delete a memory",
            "Delete one memory by its id. Its history stays readable. Use it when the user asks to forget "
            "something specific.",
            _schema({"memory_id": MEMORY_ID}, ["memory_id"]),
            **DESTRUCTIVE,
            idempotent_hint=True,
        ),
        delete_memory,
    ),
    ToolSpec(
        _tool(
            "delete_all_memories",
            "Delete all memories of a scope",
            "Delete every memory of a scope: the memories that match all the given user_id / agent_id / app_id / "
            "run_id (the pinned user fills in when user_id is left out). Needs admin credentials. Irreversible: "
            "confirm with the user first.",
            _schema(dict(SCOPE_PROPERTIES)),
            **DESTRUCTIVE,
            idempotent_hint=True,
        ),
        delete_all_memories,
    ),
    ToolSpec(
        _tool(
            "delete_entities",
            "Delete entities",
            "Delete users, agents, apps or runs with all their memories: each id given is deleted on its own "
            "(user_id='alice' deletes every memory of alice). Only the ids named here are deleted; the pinned "
            "default scope is never used. Needs admin credentials. Irreversible: confirm with the user first.",
            _schema(dict(SCOPE_PROPERTIES), anyOf=[{"required": [field]} for field in SCOPE_FIELDS]),
            **DESTRUCTIVE,
            idempotent_hint=True,
        ),
        delete_entities,
    ),
    ToolSpec(
        _tool(
            "list_entities",
            "List entities",
            "List the users, agents, apps and runs that have memories, with how many each has and when they "
            "changed last. Pass next_cursor back as `cursor` for the next page.",
            _schema(
                {
                    "type": {"type": "string", "enum": ["user", "agent", "app", "run"], "description": "Only this "
                             "type of entity."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": entity_selectors.MAX_ENTITIES_LIMIT},
                    "cursor": {"type": "string", "description": "next_cursor of the previous page."},
                }
            ),
            **READ_ONLY,
        ),
        list_entities,
    ),
    ToolSpec(
        _tool(
            "list_events",
            "List events",
            "List pending memory-processing events. On this server add_memory finishes before it answers, so "
            "there are never any: the list is always empty.",
            _schema({}),
            **READ_ONLY,
        ),
        list_events,
    ),
    ToolSpec(
        _tool(
            "get_event_status",
            "Get an event's status",
            "The status of an asynchronous add event. This server adds memories synchronously and has no events, "
            "so every event id is answered with an 'unknown event id' error.",
            _schema({"event_id": {"type": "string", "description": "The event id to look up."}}, ["event_id"]),
            **READ_ONLY,
        ),
        get_event_status,
    ),
]

TOOLS: dict[str, ToolSpec] = {spec.tool.name: spec for spec in _SPECS}


def _argument_problems(schema: dict[str, Any], arguments: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(arguments), key=lambda e: list(e.path)):
        where = ".".join(str(part) for part in error.path)
        if error.validator == "additionalProperties":
            known = ", ".join(schema["properties"]) or "no arguments"
            message = f"{error.message}; this tool takes {known}"
        elif error.validator == "anyOf" and not where:
            message = "give one of " + " or ".join(sorted({r for s in error.validator_value for r in s["required"]}))
        else:
            message = error.message
        problems.append(f"{where}: {message}" if where else message)
    return problems


def tool_call(spec: ToolSpec, ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    """Run one tool: its result as a JSON object, or ToolError with a sentence for the model."""
    problems = _argument_problems(spec.tool.input_schema, arguments)
    if problems:
        raise ToolError("Invalid arguments: " + "; ".join(problems) + ".")
    try:
        result = spec.handler(ctx, arguments)
    except ToolError:
        raise
    except Exception as exc:
        # The REST routes' own mapping: the same sentence a REST caller would read in `detail`.
        response = exception_handler(exc, {})
        if response is None:
            logger.exception("MCP tool %s failed", spec.tool.name)
            raise ToolError(f"Internal error while running {spec.tool.name} (request id {request_id_var.get()}).")
        raise ToolError(str(response.data.get("detail"))) from exc
    return json.loads(json.dumps(result, cls=DjangoJSONEncoder))
