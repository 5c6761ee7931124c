"""The tools of Mem0's OpenMemory MCP server, for the clients set up for it (`npx @openmemory/install local
http://host/mcp/<client>/sse/<user_id>`): its five tool names, arguments and answers, run by the same handlers
as the Mem0 tools (handlers.py) in the scope of the URL's user.

OpenMemory kept every memory under its user only, noting the client that wrote it in the metadata (`source_app`
"openmemory", `mcp_client` the URL's client name), so a memory one client adds another one finds. Its answers
are text: JSON for the adds, searches and lists, a sentence for the deletes.
"""

from __future__ import annotations

from typing import Any

from mcp_server import handlers
from mcp_server.handlers import ToolContext, ToolError
from mcp_server.tools import DESTRUCTIVE, READ_ONLY, ToolSpec, object_schema, tool_definition
from mem0server.exceptions import NotFound
from memories import selectors, services
from memories.serializers import MAX_TOP_K

SEARCH_LIMIT = 10  # as OpenMemory's search_memory
SEARCH_FIELDS = ("id", "memory", "hash", "created_at", "updated_at", "score")
MAX_IDS = 1000


def add_memories(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    metadata = {"source_app": "openmemory", "mcp_client": ctx.client_name}
    return handlers.add_memory(
        ctx, {"text": arguments["text"], "infer": arguments.get("infer", True), "metadata": metadata}
    )


def search_memory(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    found = handlers.search_memories(ctx, {"query": arguments["query"], "limit": SEARCH_LIMIT})
    return {"results": [{key: hit.get(key) for key in SEARCH_FIELDS} for hit in found["results"]]}


def list_memories(ctx: ToolContext, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    return handlers.get_memories(ctx, {"page_size": MAX_TOP_K})["results"]


def delete_memories(ctx: ToolContext, arguments: dict[str, Any]) -> str:
    user_id = ctx.default_scope["user_id"]
    ids = dict.fromkeys(selectors.parse_memory_id(raw) for raw in arguments["memory_ids"])
    deleted = 0
    for memory_id in ids:
        try:
            memory = selectors.memory_get(principal=ctx.principal, memory_id=memory_id)
        except NotFound:
            continue
        if memory.user_id == user_id:  # another user's memory is as good as unknown here
            try:
                services.memory_delete(principal=ctx.principal, memory_id=memory_id)
            except NotFound:  # deleted meanwhile
                continue
            deleted += 1
    if not deleted:
        raise ToolError(f"No memories of user {user_id!r} have these ids: nothing was deleted.")
    return f"Successfully deleted {deleted} memories"


def delete_all_memories(ctx: ToolContext, arguments: dict[str, Any]) -> str:
    deleted = handlers.delete_all_memories(ctx, {})["deleted"]
    return f"Successfully deleted all memories ({deleted} of user {ctx.default_scope['user_id']!r})"


OPENMEMORY_TOOLS: dict[str, ToolSpec] = {
    spec.tool.name: spec
    for spec in (
        ToolSpec(
            tool_definition(
                "add_memories",
                "Add memories",
                "Add a new memory. Call it each time the user tells anything about themselves, their preferences, "
                "or anything useful in a future conversation, or asks you to remember something. With an LLM "
                "configured the server extracts the facts and merges them with what it knows; set infer to false "
                "to store the text verbatim.",
                object_schema(
                    {
                        "text": {"type": "string", "minLength": 1, "description": "What to remember."},
                        "infer": {
                            "type": "boolean",
                            "description": "false stores the text verbatim, without fact extraction. Default true.",
                        },
                    },
                    ["text"],
                ),
                read_only_hint=False,
                destructive_hint=False,
            ),
            add_memories,
        ),
        ToolSpec(
            tool_definition(
                "search_memory",
                "Search memory",
                "Search the stored memories: the 10 most relevant to the query, best first. Call it each time the "
                "user asks anything.",
                object_schema(
                    {"query": {"type": "string", "minLength": 1, "description": "What to look for."}}, ["query"]
                ),
                **READ_ONLY,
            ),
            search_memory,
        ),
        ToolSpec(
            tool_definition(
                "list_memories",
                "List memories",
                f"List the user's memories, newest first (at most {MAX_TOP_K}).",
                object_schema({}),
                **READ_ONLY,
            ),
            list_memories,
        ),
        ToolSpec(
            tool_definition(
                "delete_memories",
                "Delete memories",
                "Delete specific memories by their ids.",
                object_schema(
                    {
                        "memory_ids": {
                            "type": "array",
                            "items": {"type": "string"},
                            "minItems": 1,
                            "maxItems": MAX_IDS,
                            "description": "The ids (UUIDs) of the memories to delete, as the other tools return them.",
                        }
                    },
                    ["memory_ids"],
                ),
                **DESTRUCTIVE,
            ),
            delete_memories,
        ),
        ToolSpec(
            tool_definition(
                "delete_all_memories",
                "Delete all memories",
                "Delete all of the user's memories (an administrator's key only).",
                object_schema({}),
                **DESTRUCTIVE,
            ),
            delete_all_memories,
        ),
    )
}
