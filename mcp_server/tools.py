"""The MCP tool catalogue: each tool's name, description and input schema (Mem0's hosted MCP tool names and
arguments), and the call path that checks arguments against the schema before handlers.py runs the tool."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from mcp_types import Tool, ToolAnnotations

from entities.selectors import MAX_ENTITIES_LIMIT
from entities.serializers import EntityListQuerySerializer
from mcp_server import handlers
from mcp_server.handlers import ToolContext, ToolError
from mem0server.exceptions import exception_handler
from mem0server.middleware import request_id_var
from mem0server.paging import MAX_PAGE
from memories.models import SCOPE_FIELDS
from memories.serializers import (
    MAX_MESSAGE_LENGTH,
    MAX_TOP_K,
    MERGED_METADATA_HELP,
    METADATA_HELP,
    MessageSerializer,
)

logger = logging.getLogger("mem0server.mcp")


@dataclass(frozen=True)
class ToolSpec:
    tool: Tool
    handler: Callable[[ToolContext, dict[str, Any]], Any]


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
        'Mem0 filters. {"key": value} means equality; operators: '
        '{"key": {"in"|"nin"|"gt"|"gte"|"lt"|"lte"|"ne"|"contains"|"icontains": value}}; '
        '"AND"/"OR"/"NOT" take lists of filters (NOT also one filter object). '
        "Keys user_id, agent_id, app_id, run_id, actor_id, role are "
        'columns, any other key is a metadata key. Example: {"AND": [{"user_id": "alice"}, {"topic": "food"}]}.'
    ),
}
ENABLE_GRAPH = {"type": "boolean", "description": "Accepted for Mem0 compatibility; this server has no graph memory."}
# The serializers' own bounds, so a model that keeps to a schema is not refused for what it did not say.
TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_MESSAGE_LENGTH}
QUERY = {"type": "string", "minLength": 1, "maxLength": settings.MAX_QUERY_CHARS}
ROLES = list(MessageSerializer().fields["role"].choices)
CURSOR_MAX_LENGTH = EntityListQuerySerializer().fields["cursor"].max_length


def object_schema(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False, **extra}
    if required:
        schema["required"] = required
    return schema


def tool_definition(name: str, title: str, description: str, schema: dict[str, Any], **hints: bool) -> Tool:
    annotations = ToolAnnotations(title=title, open_world_hint=False, **hints)
    return Tool(name=name, title=title, description=description, input_schema=schema, annotations=annotations)


READ_ONLY = {"read_only_hint": True}
DESTRUCTIVE = {"read_only_hint": False, "destructive_hint": True}

_SPECS = [
    ToolSpec(
        tool_definition(
            "add_memory",
            "Add memory",
            "Store something worth remembering across conversations: a preference, a fact about the user, a "
            "decision. Give `text` (one plain sentence) or `messages` (a conversation as {role, content} items), "
            "not both. "
            "With an LLM configured the server extracts the facts and merges them with what it already knows; "
            "otherwise each message is stored as it is and near-duplicates are skipped. Scope the memory with "
            "user_id / agent_id / app_id / run_id (at least one; the user pinned in the URL is used when none is "
            "given). Returns the stored memories with their ids and an event (ADD, UPDATE, DELETE, NONE).",
            object_schema(
                {
                    "text": {**TEXT, "description": "A plain sentence to remember."},
                    "messages": {
                        "type": "array",
                        "minItems": 1,
                        "description": "A conversation to learn from, instead of text.",
                        "items": {
                            "type": "object",
                            "properties": {
                                "role": {"type": "string", "enum": ROLES},
                                "content": {"type": "string", "maxLength": MAX_MESSAGE_LENGTH},
                                "name": {"type": "string", "maxLength": 255},
                            },
                            "required": ["role", "content"],
                        },
                    },
                    **SCOPE_PROPERTIES,
                    "metadata": {"type": "object", "description": METADATA_HELP},
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
        handlers.add_memory,
    ),
    ToolSpec(
        tool_definition(
            "search_memories",
            "Search memories",
            "Find the memories most relevant to a question, by meaning and keywords, best first, each with a "
            "score. Use it before answering anything that depends on what you know about the user. The search "
            "runs inside the scope given: the pinned user, or user_id / agent_id / app_id / run_id given here or in "
            "`filters` (an `in` list, or an OR that names one in every branch, searches several).",
            object_schema(
                {
                    "query": {**QUERY, "description": "What to look for, in plain words."},
                    "filters": FILTERS,
                    "limit": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": MAX_TOP_K,
                        "description": "At most this many results (default 20).",
                    },
                    "threshold": {
                        "type": "number",
                        "minimum": 0,
                        "maximum": 1,
                        "description": "Minimum score (default 0.1).",
                    },
                    "reference_date": {
                        "type": ["string", "number"],
                        "description": "Read the query's time words ('last week', 'yesterday') from this time "
                        "instead of now: unix seconds, YYYY-MM-DD or ISO 8601.",
                    },
                    **SCOPE_PROPERTIES,
                    "enable_graph": ENABLE_GRAPH,
                },
                ["query"],
            ),
            **READ_ONLY,
        ),
        handlers.search_memories,
    ),
    ToolSpec(
        tool_definition(
            "get_memories",
            "List memories",
            "List stored memories, newest first, page by page. Narrow them with `filters` or the scope ids; "
            "without any, it lists the pinned user's memories (or every memory you may see when nothing is "
            "pinned). The answer has next_page when more remain.",
            object_schema(
                {
                    "filters": FILTERS,
                    "page": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_PAGE,
                        "description": "Page number, from 1.",
                    },
                    "page_size": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_TOP_K,
                        "description": "Memories per page (default 100).",
                    },
                    **SCOPE_PROPERTIES,
                    "enable_graph": ENABLE_GRAPH,
                }
            ),
            **READ_ONLY,
        ),
        handlers.get_memories,
    ),
    ToolSpec(
        tool_definition(
            "get_memory",
            "Get a memory",
            "Read one memory by its id: its text, scope ids, metadata and timestamps.",
            object_schema({"memory_id": MEMORY_ID}, ["memory_id"]),
            **READ_ONLY,
        ),
        handlers.get_memory,
    ),
    ToolSpec(
        tool_definition(
            "update_memory",
            "Update a memory",
            "Replace the text of one memory (it is re-embedded; its history keeps the old text). Use the id from "
            "search_memories or get_memories, and only once the user has confirmed the change. `metadata` is "
            "merged into the memory's metadata.",
            object_schema(
                {
                    "memory_id": MEMORY_ID,
                    "text": {**TEXT, "description": "The new text of the memory."},
                    "metadata": {"type": "object", "description": MERGED_METADATA_HELP},
                },
                ["memory_id", "text"],
            ),
            read_only_hint=False,
            destructive_hint=True,
            idempotent_hint=True,
        ),
        handlers.update_memory,
    ),
    ToolSpec(
        tool_definition(
            "delete_memory",
            "Delete a memory",
            "Delete one memory by its id. Its history stays readable. Use it when the user asks to forget "
            "something specific.",
            object_schema({"memory_id": MEMORY_ID}, ["memory_id"]),
            **DESTRUCTIVE,
            idempotent_hint=True,
        ),
        handlers.delete_memory,
    ),
    ToolSpec(
        tool_definition(
            "delete_all_memories",
            "Delete all memories of a scope",
            "Delete every memory of a scope: the memories that match all the given user_id / agent_id / app_id / "
            "run_id (the pinned user fills in when user_id is left out). Needs admin credentials. Irreversible: "
            "confirm with the user first.",
            object_schema(dict(SCOPE_PROPERTIES)),
            **DESTRUCTIVE,
            idempotent_hint=True,
        ),
        handlers.delete_all_memories,
    ),
    ToolSpec(
        tool_definition(
            "delete_entities",
            "Delete entities",
            "Delete users, agents, apps or runs with all their memories: each id given is deleted on its own "
            "(user_id='alice' deletes every memory of alice). Only the ids named here are deleted; the pinned "
            "default scope is never used. Needs admin credentials. Irreversible: confirm with the user first.",
            object_schema(dict(SCOPE_PROPERTIES), anyOf=[{"required": [field]} for field in SCOPE_FIELDS]),
            **DESTRUCTIVE,
            idempotent_hint=True,
        ),
        handlers.delete_entities,
    ),
    ToolSpec(
        tool_definition(
            "list_entities",
            "List entities",
            "List the users, agents, apps and runs that have memories, with how many each has and when they "
            "changed last. Pass next_cursor back as `cursor` for the next page.",
            object_schema(
                {
                    "type": {
                        "type": "string",
                        "enum": ["user", "agent", "app", "run"],
                        "description": "Only this type of entity.",
                    },
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_ENTITIES_LIMIT},
                    "cursor": {
                        "type": "string",
                        "maxLength": CURSOR_MAX_LENGTH,
                        "description": "next_cursor of the previous page.",
                    },
                }
            ),
            **READ_ONLY,
        ),
        handlers.list_entities,
    ),
    ToolSpec(
        tool_definition(
            "list_events",
            "List events",
            "List the caller's asynchronous add events (POST /v3/memories/add/ through the REST API), newest first: "
            "PENDING, RUNNING, SUCCEEDED with the ADD/UPDATE/DELETE/NONE results, or FAILED with the error. "
            "add_memory here finishes before it answers and creates no event.",
            object_schema(
                {
                    "page": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_PAGE,
                        "description": "Page number (default 1).",
                    },
                    "page_size": {"type": "integer", "minimum": 1, "maximum": 100, "description": "Default 50."},
                    "status": {
                        "type": "string",
                        "enum": ["PENDING", "RUNNING", "SUCCEEDED", "FAILED"],
                        "description": "Only events in this status.",
                    },
                }
            ),
            **READ_ONLY,
        ),
        handlers.list_events,
    ),
    ToolSpec(
        tool_definition(
            "get_event_status",
            "Get an event's status",
            "The status of one of the caller's asynchronous add events, with its results when SUCCEEDED or its "
            "error code and message when FAILED.",
            object_schema(
                {"event_id": {"type": "string", "description": "The event id an async add answered."}}, ["event_id"]
            ),
            **READ_ONLY,
        ),
        handlers.get_event_status,
    ),
    ToolSpec(
        tool_definition(
            "get_user_profile",
            "Get a user's profile",
            "The user's profile: one JSON object the server keeps about a user (their city, preferences, … as "
            "the project's profile schema says), written by the LLM from the user's memories. Read `status`: "
            "succeeded (use `profile`), pending (being written; the first read of a user starts it), failed "
            "(`error` says why), not_enabled (profiles are off or not configured), insufficient_data.",
            object_schema({"user_id": SCOPE_PROPERTIES["user_id"]}),
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=True,
        ),
        handlers.get_user_profile,
    ),
]

TOOLS: dict[str, ToolSpec] = {spec.tool.name: spec for spec in _SPECS}


MAX_QUOTED_VALUE = 60


def _argument_problems(schema: dict[str, Any], arguments: dict[str, Any]) -> list[str]:
    import jsonschema  # by the first tool call, not by every start (~0.08 s of CPU)

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
        # jsonschema quotes the offending value, which may be a whole (long) text: quote its start only.
        shown = repr(error.instance)
        if len(shown) > MAX_QUOTED_VALUE:
            message = message.replace(shown, shown[:MAX_QUOTED_VALUE] + "…")
        problems.append(f"{where}: {message}" if where else message)
    return problems


def tool_call(spec: ToolSpec, ctx: ToolContext, arguments: dict[str, Any]) -> Any:
    """Run one tool: its result as a JSON object (an OpenMemory tool's: a sentence or a list), or ToolError with a
    sentence for the model."""
    # Models often send null for an argument they mean to leave out (Mem0's own server accepted that).
    arguments = {name: value for name, value in arguments.items() if value is not None}
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
            message = f"Internal error while running {spec.tool.name} (request id {request_id_var.get()})."
            raise ToolError(message) from exc
        raise ToolError(str(response.data.get("detail"))) from exc
    return json.loads(json.dumps(result, cls=DjangoJSONEncoder))
