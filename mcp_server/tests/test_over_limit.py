"""The stand-in for a message over the body limit (mcp_server/over_limit.py), found from its body's start alone."""

from __future__ import annotations

import pytest

from mcp_server.over_limit import HEAD_BYTES, stand_in


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        # The Python mcp SDK's order, cut off within the arguments.
        (
            '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"add_memories","arguments":{"text":"ab',
            {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "add_memories"}},
        ),
        (' {\n "id" : "a-1", "method": "ping", "params": {"x": ', {"jsonrpc": "2.0", "id": "a-1", "method": "ping"}),
        # Nested past Python's recursion limit: one pass, no crash.
        (
            '{"id": 1, "method": "tools/call", "params": ' + '{"a": ' * 30_000,
            {"jsonrpc": "2.0", "id": 1, "method": "tools/call"},
        ),
        (
            '{"id": 1, "method": "tools/call", "params": {"name": 5, "arguments": {',
            {"jsonrpc": "2.0", "id": 1, "method": "tools/call"},
        ),
        ('{"method": "tools/call", "params": {"arguments": {"text": "ab', None),  # the id after the arguments
        ('{"jsonrpc": "1.0", "id": 1, "method": "ping", "params": {', None),
        ('{"id": true, "method": "ping", "params": {', None),
        ('{"id": 1.5, "method": "ping", "params": {', None),
        ('{"id": null, "method": "ping", "params": {', None),
        ('{"id": 1, "params": {"name": "add_memories", "arguments": {', None),  # no method
        ('[{"id": 1, "method": "ping"}', None),
        ("", None),
    ],
)
def test_a_stand_in_needs_the_id_and_method_before_the_body_is_cut_off(head, expected):
    assert stand_in(head.encode()[:HEAD_BYTES]) == expected
