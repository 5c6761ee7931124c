"""What the request log says of an MCP call, on either transport: the tool it ran, and what the client met when it was
refused (the HTTP status says little: a message to an SSE session is answered 202 whatever its answer, and a
handshake-era JSON-RPC error 200)."""

from __future__ import annotations

from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR, JSONRPCRequest

from mcp_server.handlers import ToolContext
from mcp_server.protocol import TOOLSETS, Outcome
from requestlog.middleware import record_error, record_tool

# What the request log says a call was refused for, by its JSON-RPC error's code.
ERROR_NAMES = {
    PARSE_ERROR: "parse_error",
    INVALID_REQUEST: "invalid_request",
    METHOD_NOT_FOUND: "method_not_found",
    INVALID_PARAMS: "invalid_params",
    INTERNAL_ERROR: "internal_error",
}


def called_tool(message: JSONRPCRequest, ctx: ToolContext) -> str:
    """The tool a tools/call names when the connection offers one of that name, else "" (another request, or a name
    the client made up, which the log does not keep)."""
    name = (message.params or {}).get("name") if message.method == "tools/call" else None
    return name if isinstance(name, str) and name in TOOLSETS[ctx.toolset] else ""


def record_call(response, message: JSONRPCRequest, ctx: ToolContext, *, outcome: Outcome | None = None, refused=None):
    """Name in the request log the tool a call ran and, when the client met a refusal, what for: `refused` (an
    MCPError, or a word of the view's own), or a tool's error result ("tool_error": bad arguments, a memory not found,
    a read-only connection)."""
    tool = outcome.tool if outcome is not None else called_tool(message, ctx)
    if tool:
        record_tool(response, tool)
    if isinstance(refused, MCPError):
        named = (message.params or {}).get("name") if message.method == "tools/call" else None
        unknown = isinstance(named, str) and not tool and refused.error.code == INVALID_PARAMS
        refused = "unknown_tool" if unknown else ERROR_NAMES.get(refused.error.code, "error")
    elif refused is None and outcome is not None and outcome.result.get("isError") is True:
        refused = "tool_error"
    if refused:
        record_error(response, refused)
