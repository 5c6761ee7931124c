"""Memory changes made through the MCP front door (the official `mcp` client) reach webhooks too."""

from __future__ import annotations

import json

import anyio
import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from apikeys.services import apikey_create
from webhooks import services

pytestmark = pytest.mark.django_db(transaction=True)


def test_adds_and_deletes_through_mcp_tools_are_delivered(
    live_server, admin_key, embedder, make_user, receiver, private_targets, run_jobs
):
    member = make_user("mcp-hooks@example.com")
    services.webhook_create(principal=member, name="mcp", url=receiver.url, event_types=["memory_add", "memory_delete"])
    headers = {"Authorization": f"Bearer {apikey_create(user=member, label='mcp')[1]}"}

    async def main():
        async with (
            httpx2.AsyncClient(headers=headers, timeout=120) as http,
            streamable_http_client(live_server.url + "/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            added = await session.call_tool("add_memory", {"text": "Collects stamps", "user_id": "ann", "infer": False})
            assert not added.is_error, added.content[0].text
            memory_id = json.loads(added.content[0].text)["results"][0]["id"]
            deleted = await session.call_tool("delete_memory", {"memory_id": memory_id})
            assert not deleted.is_error, deleted.content[0].text
            return memory_id

    memory_id = anyio.run(main)
    run_jobs()
    assert [(r.json["event_type"], r.json["event_details"]["id"]) for r in receiver.requests] == [
        ("memory_add", memory_id),
        ("memory_delete", memory_id),
    ]
