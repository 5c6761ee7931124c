"""The tools of Mem0's OpenMemory MCP server, for the clients set up for it (`npx @openmemory/install local
http://host/mcp/<client>/sse/<user_id>`): its five tool names, arguments and answers, run by the same handlers
as the Mem0 tools (handlers.py) in the scope of the URL's user.

OpenMemory kept every memory under its user only, noting the client that wrote it in the metadata (`source_app`
"openmemory", `mcp_client` the URL's client name), so a memory one client adds another one finds. Its answers
are text: JSON for the adds, searches and lists, a sentence for the deletes.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from mcp_server import handlers
from mcp_server.handlers import ToolContext, ToolError
from mcp_server.tools import DESTRUCTIVE, QUERY, READ_ONLY, TEXT, ToolSpec, object_schema, tool_definition
from mem0server.exceptions import NotFound
from mem0server.paging import MAX_PAGE
from memories import selectors, services
from memories.serializers import MAX_TOP_K

SEARCH_LIMIT = 10  # as OpenMemory's search_memory
# An answer's bytes besides its items' (the JSON-RPC envelope, a tool result's fields, an id): a generous bound.
ENVELOPE_BYTES = 1024
SEARCH_FIELDS = ("id", "memory", "hash", "created_at", "updated_at", "score")
MAX_IDS = 1000


def add_memories(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    metadata = {"source_app": "openmemory", "mcp_client": ctx.client_name}
    return handlers.add_memory(
        ctx, {"text": arguments["text"], "infer": arguments.get("infer", True), "metadata": metadata}
    )


def _answer_bytes(item: Any) -> int:
    """An item's bytes in a text answer as sent: its JSON, inside the answer's JSON as a string (the quotes counted
    stand for the separator between items)."""
    text = json.dumps(item, ensure_ascii=False, cls=DjangoJSONEncoder)
    return len(json.dumps(text, ensure_ascii=False).encode())


def _fits(ctx: ToolContext, items: list[Any], *, what: str, narrower: str) -> None:
    """ToolError when `items` would make an answer longer than the connection carries (ctx.answer_max_bytes): it
    names how many of them fit (`narrower`: the argument that asks for that many, "page_size={}")."""
    if ctx.answer_max_bytes is None:
        return
    room, total, fit = ctx.answer_max_bytes - ENVELOPE_BYTES, 0, 0
    for item in items:
        total += _answer_bytes(item)
        fit += total <= room
    if total <= room:
        return
    elsewhere = (
        f"connect to the Streamable HTTP URL, /mcp/{ctx.client_name}/http/{ctx.default_scope['user_id']}, which has "
        "no such limit"
    )
    fewer = f"Ask for fewer at a time: {narrower.format(fit)} (the first {fit} fit), or {elsewhere}."
    raise ToolError(
        f"These {len(items)} {what} take {total:,} bytes as an answer, more than one answer on this SSE connection "
        "carries (1 MiB, the limit of an SSE event in the mcp client). "
        + (fewer if fit else f"Even the first alone is too long here: {elsewhere}.")
    )


def search_memory(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    found = handlers.search_memories(ctx, {"query": arguments["query"], "limit": arguments.get("limit", SEARCH_LIMIT)})
    results = [{key: hit.get(key) for key in SEARCH_FIELDS} for hit in found["results"]]
    _fits(ctx, results, what="results", narrower="limit={}")
    return {"results": results}


def list_memories(ctx: ToolContext, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    page = {"page_size": arguments.get("page_size", MAX_TOP_K), "page": arguments.get("page", 1)}
    results = handlers.get_memories(ctx, page)["results"]
    _fits(ctx, results, what="memories", narrower="page_size={} with page=1, 2, … in turn")
    return results


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
                        "text": {**TEXT, "description": "What to remember."},
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
                "Search the stored memories: the 10 most relevant to the query (or `limit`), best first. Call it "
                "each time the user asks anything.",
                object_schema(
                    {
                        "query": {**QUERY, "description": "What to look for."},
                        "limit": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_TOP_K,
                            "description": f"At most this many results (default {SEARCH_LIMIT}).",
                        },
                    },
                    ["query"],
                ),
                **READ_ONLY,
            ),
            search_memory,
        ),
        ToolSpec(
            tool_definition(
                "list_memories",
                "List memories",
                f"List the user's memories, newest first, page by page: at most page_size (default {MAX_TOP_K}) "
                "at a time, page 2, 3, … for the next ones; a page shorter than page_size is the last.",
                object_schema(
                    {
                        "page": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_PAGE,
                            "description": "Page number, from 1 (default 1).",
                        },
                        "page_size": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_TOP_K,
                            "description": f"Memories per page (default {MAX_TOP_K}).",
                        },
                    }
                ),
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
