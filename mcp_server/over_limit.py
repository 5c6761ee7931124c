"""A JSON-RPC message POSTed to an MCP URL with a body over MAX_REQUEST_BYTES: refused before Django reads it, with a
JSON-RPC error saying so and what the limit is.

On the Streamable HTTP URLs (and wherever the message's id cannot be found) that error is the body of
mem0server.buffering's 413, which the mcp SDKs show as the call's error. The Python mcp SDK's SSE client drops its
whole connection on any POST answered other than 2xx, every later call failing with "Connection closed"; so a message
POSTed to an SSE session is answered 202 and its error sent on the session's stream, as any answer.
mem0server.buffering keeps the body's first HEAD_BYTES, where `stand_in` finds its id (the Python SDK writes it
before the arguments), and reads the rest and throws it away; Django gets the stand-in, without the arguments and
marked with SIZE_HEADER, which views.SseMessageView authenticates and answers as usual. A body whose id comes after
its arguments (the TypeScript SDK's) keeps the 413: that client takes it as the call's error and goes on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from mcp.shared.exceptions import MCPError

# An SSE session's message URL, at the end of the request's path (under a root path too).
_MESSAGES_PATH = re.compile(r"/mcp/(?:[^/]+/sse/[^/]+/)?messages/\Z")
# Set by mem0server.buffering on the stand-in (a client's own is removed from every request by
# mcp_server/streams.py): the size of the body it stands in for.
SIZE_HEADER = b"x-mem0-over-limit"
HEAD_BYTES = 64 * 1024

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def answered_on_a_stream(method: str, path: str) -> bool:
    """Whether a request is a message to an SSE session, answered on its stream."""
    return method == "POST" and _MESSAGES_PATH.search(path) is not None


def refusal(*, tool: str | None = None, size: int | None = None) -> str:
    what = f"This call of {tool}" if tool else "This request"
    if size is not None:
        what += f" is {size:,} bytes,"
    else:
        what += " is"
    return (
        f"{what} larger than this server takes in one request: {settings.MAX_REQUEST_BYTES:,} bytes "
        "(MAX_REQUEST_BYTES), and nothing of it was stored. Send less in one call (a long text as several)."
    )


def refusal_body() -> bytes:
    """The 413's body for an MCP URL: a JSON-RPC error without an id, as the transport's other refusals."""
    # Imported here: every Django process imports this module (mem0server.exceptions), and the mcp SDK
    # costs 0.6 s of CPU to import, which a management command or a job worker never needs.
    from mcp_types import INVALID_REQUEST

    error = {"code": INVALID_REQUEST, "message": refusal()}
    return json.dumps({"jsonrpc": "2.0", "id": None, "error": error}).encode()


def stand_in_refusal(method: str, params: dict[str, Any] | None, size: int) -> MCPError:
    """The error for the request a stand-in (SIZE_HEADER) stands in for."""
    from mcp.shared.exceptions import MCPError
    from mcp_types import INVALID_REQUEST

    tool = (params or {}).get("name") if method == "tools/call" else None
    return MCPError(INVALID_REQUEST, refusal(tool=tool if isinstance(tool, str) else None, size=size))


def stand_in(head: bytes) -> dict[str, Any] | None:
    """The request whose body starts with `head`, without its arguments (a tool call keeps its tool's name); None
    when its id and method are not both there (a notification, or an id written after the arguments)."""
    members = dict(_members(head.decode("utf-8", "replace"), 0, descend="params"))
    request_id, method, params = members.get("id"), members.get("method"), members.get("params")
    if members.get("jsonrpc", "2.0") != "2.0" or not isinstance(method, str):
        return None
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        return None
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if isinstance(params, dict) and isinstance(params.get("name"), str):
        message["params"] = {"name": params["name"]}
    return message


def _members(text: str, pos: int, descend: str | None = None) -> Iterator[tuple[str, Any]]:
    """The members of the JSON object at text[pos] that the text holds whole, in order; the member named `descend`,
    if the text ends within it, as the members it holds so far (one level only: a deeply nested start costs one
    pass over it)."""
    pos = _SPACE.match(text, pos).end()
    if not text.startswith("{", pos):
        return
    pos = _SPACE.match(text, pos + 1).end()
    while text.startswith('"', pos):
        try:
            name, pos = _DECODER.raw_decode(text, pos)
        except ValueError:
            return
        pos = _SPACE.match(text, pos).end()
        if not text.startswith(":", pos):
            return
        pos = _SPACE.match(text, pos + 1).end()
        try:
            value, pos = _DECODER.raw_decode(text, pos)
        except (ValueError, RecursionError):
            if name == descend:
                yield name, dict(_members(text, pos))
            return
        yield name, value
        pos = _SPACE.match(text, pos).end()
        if not text.startswith(",", pos):
            return
        pos = _SPACE.match(text, pos + 1).end()
