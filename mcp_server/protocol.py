"""The JSON-RPC side of MCP: one request in, one result or error out, with the official SDK's protocol types.

Why not the SDK's server: its Streamable HTTP transport (StreamableHTTPSessionManager) is an ASGI app that needs
a long-lived anyio task group and async handlers. Our views are synchronous Django: mounting it would
mean an event loop per request and our synchronous ORM services pushed to other threads, with their own
database connections. The protocol is small once stateless (initialize, ping, tools/list, tools/call), so the
dispatch below is synchronous and runs in the request's thread; every message, result, error code and the
version list come from the SDK (`mcp_types`), so none of the wire format is written by hand. Protocol 2026-07-28
(no handshake: each request carries its version, client info and capabilities in `params._meta`) is answered by
the same tools, its results shaped by the SDK's serializer for that version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    SERVER_INFO_META_KEY,
    CallToolRequestParams,
    CallToolResult,
    DiscoverResult,
    Implementation,
    InitializeRequestParams,
    InitializeResult,
    ListToolsResult,
    ServerCapabilities,
    TextContent,
    ToolsCapability,
)
from mcp_types.methods import serialize_server_result
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION, MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ValidationError

from mcp_server.handlers import ToolContext, ToolError
from mcp_server.openmemory import OPENMEMORY_TOOLS
from mcp_server.tools import TOOLS, ToolSpec, tool_call

SERVER_INFO = Implementation(name="mem0server", title="mem0server memory", version="0.1.0")
CAPABILITIES = ServerCapabilities(tools=ToolsCapability(list_changed=False))
METHODS = ("initialize", "ping", "tools/list", "tools/call")
# 2026-07-28 has no handshake (initialize) and no ping; server/discover says what the server speaks.
MODERN_METHODS = ("server/discover", "tools/list", "tools/call")


@dataclass
class Outcome:
    """What a request produced: the JSON-RPC result object, and the tool it ran (for the request log)."""

    result: dict[str, Any]
    tool: str = ""


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(by_alias=True, mode="json", exclude_none=True)


def _params(model: type[BaseModel], params: dict[str, Any] | None, method: str) -> Any:
    try:
        return model.model_validate(params or {}, by_name=False)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'params'}: {error['msg']}" for error in exc.errors()
        )
        raise MCPError(INVALID_PARAMS, f"Invalid params for {method}: {problems}.") from None


def negotiate_version(requested: str) -> str:
    """The client's version when we speak it, else our newest (the client then decides whether to go on)."""
    return requested if requested in HANDSHAKE_PROTOCOL_VERSIONS else LATEST_HANDSHAKE_VERSION


TOOLSETS: dict[str, dict[str, ToolSpec]] = {"mem0": TOOLS, "openmemory": OPENMEMORY_TOOLS}


def _instructions(ctx: ToolContext) -> str:
    if ctx.toolset == "openmemory":
        return (
            f"Long-term memory of user {ctx.default_scope['user_id']}, shared across conversations and clients. "
            "Call search_memory before answering anything that depends on what you know about the user, and "
            "add_memories when you learn a lasting preference or fact. Ask before deleting."
        )
    pinned = ", ".join(f"{field}={value}" for field, value in ctx.default_scope.items())
    scope = f" Calls are scoped to {pinned} unless a call names other ids." if pinned else ""
    return (
        "Long-term memory shared across conversations. Call search_memories before answering anything that "
        "depends on what you know about the user, and add_memory when you learn a lasting preference or fact. "
        "Ask before deleting." + scope
    )


def _changes(spec) -> bool:
    """Whether a tool may change memories (its annotations do not promise it only reads)."""
    return not (spec.tool.annotations and spec.tool.annotations.read_only_hint)


def handle_modern_request(method: str, params: dict[str, Any] | None, ctx: ToolContext, version: str) -> Outcome:
    """Answer one request of a 2026-07-28 client (its envelope checked by the transport): the result in that
    version's shape (the SDK's serializer: `resultType`, the cache hints of a list), stamped with who answers."""
    if method == "server/discover":
        discovered = DiscoverResult(
            supported_versions=list(MODERN_PROTOCOL_VERSIONS),
            capabilities=CAPABILITIES,
            instructions=_instructions(ctx),
        )
        outcome = Outcome(dump(discovered))
    elif method in MODERN_METHODS:
        outcome = handle_request(method, params, ctx)
    else:
        raise MCPError(
            METHOD_NOT_FOUND,
            f"Method {method[:100]!r} is not offered at {version}, which has no handshake: this server answers "
            f"{', '.join(MODERN_METHODS)} (initialize and ping belong to {', '.join(HANDSHAKE_PROTOCOL_VERSIONS)}).",
        )
    result = serialize_server_result(method, version, outcome.result)
    result.setdefault("resultType", "complete")
    result["_meta"] = {**result.get("_meta", {}), SERVER_INFO_META_KEY: dump(SERVER_INFO)}
    return Outcome(result, tool=outcome.tool)


def _tool_result(data: Any) -> CallToolResult:
    if isinstance(data, dict):
        text = TextContent(type="text", text=json.dumps(data, ensure_ascii=False))
        return CallToolResult(content=[text], structured_content=data)
    # OpenMemory's answers: a sentence, or a list (structured content must be an object).
    shown = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=shown)])


def handle_request(method: str, params: dict[str, Any] | None, ctx: ToolContext) -> Outcome:
    """Answer one JSON-RPC request of a client that shook hands (initialize, 2025-11-25 and before); MCPError for a
    protocol error (unknown method, bad params, unknown tool)."""
    if method == "initialize":
        init = _params(InitializeRequestParams, params, method)
        result = InitializeResult(
            protocol_version=negotiate_version(init.protocol_version),
            capabilities=CAPABILITIES,
            server_info=SERVER_INFO,
            instructions=_instructions(ctx),
        )
        return Outcome(dump(result))
    if method == "ping":
        return Outcome({})
    tools = TOOLSETS[ctx.toolset]
    if method == "tools/list":
        offered = [spec.tool for spec in tools.values() if not (ctx.read_only and _changes(spec))]
        return Outcome(dump(ListToolsResult(tools=offered)))
    if method == "tools/call":
        call = _params(CallToolRequestParams, params, method)
        spec = tools.get(call.name)
        if spec is None:
            # The spec makes an unknown tool a protocol error, not a tool result.
            raise MCPError(INVALID_PARAMS, f"Unknown tool {call.name[:100]!r}; the tools are {', '.join(tools)}.")
        try:
            if ctx.read_only and _changes(spec):
                raise ToolError(
                    f"{call.name} changes memories, and this connection may only read them (its account allowed it "
                    "read-only access). Search and list tools work; to change memories, reconnect and allow more."
                )
            data = tool_call(spec, ctx, call.arguments or {})
        except ToolError as exc:
            result = CallToolResult(content=[TextContent(type="text", text=str(exc))], is_error=True)
        else:
            result = _tool_result(data)
        return Outcome(dump(result), tool=call.name)
    raise MCPError(
        METHOD_NOT_FOUND, f"Method {method[:100]!r} is not offered here; this server answers {', '.join(METHODS)}."
    )
