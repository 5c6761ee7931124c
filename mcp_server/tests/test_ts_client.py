"""The official TypeScript MCP SDK v2 (npm @modelcontextprotocol/client, pinned in platform_api/tests/js/package.json;
`make test` installs it), which speaks the 2026-07-28 protocol, against a live server: it asks server/discover,
is offered 2026-07-28 and sends every request with its own envelope, no initialize."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from apikeys.services import apikey_create
from memories.models import Memory
from platform_api.tests.node_sdk import run_client_check
from requestlog.models import RequestLog

pytestmark = pytest.mark.django_db(transaction=True)

JS = Path(__file__).resolve().parents[2] / "platform_api" / "tests" / "js"


def test_the_typescript_mcp_sdk_v2_speaks_2026_07_28_with_a_users_key(live_server, member, admin_key, embedder):
    out = run_client_check(
        [shutil.which("node") or "node", str(JS / "mcp_v2_check.mjs")],
        cwd=JS,
        host=live_server.url,
        key=apikey_create(user=member, label="ts v2")[1],
        state="mcp-v2",
        MCP_URL=live_server.url + "/mcp?user_id=alice",
    )
    assert out["version"] == "2026-07-28"
    assert "add_memory" in out["tools"] and "search_memories" in out["tools"]
    memory_id = out["added"]["results"][0]["id"]
    assert out["found"]["results"][0]["id"] == memory_id
    assert out["refused"] == {"isError": True, "text": "'not-an-id' is not a valid memory id; memory ids are UUIDs."}
    assert Memory.objects.get(pk=memory_id).account_id == member.pk
    assert Memory.objects.get(pk=memory_id).user_id == "alice"
    assert set(RequestLog.objects.filter(path="/mcp").values_list("status_code", flat=True)) == {200}
