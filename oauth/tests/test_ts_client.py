"""The official TypeScript MCP SDK, v1 (npm @modelcontextprotocol/sdk) and v2 (@modelcontextprotocol/client, protocol
2026-07-28), pinned in platform_api/tests/js/package.json (`make test` installs them), whose OAuth mcp-remote, the
MCP Inspector and other TypeScript clients use: it finds the metadata from /mcp's 401, registers, is allowed on the
consent page, exchanges the code with PKCE and calls tools."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.test import Client

from memories.models import Memory
from oauth.models import OAuthGrant
from platform_api.tests.node_sdk import run_client_check

pytestmark = pytest.mark.django_db(transaction=True)

JS = Path(__file__).resolve().parents[2] / "platform_api" / "tests" / "js"


@pytest.mark.parametrize(("sdk", "version"), [("v1", "2025-11-25"), ("v2", "2026-07-28")])
def test_the_typescript_mcp_sdk_logs_in_with_oauth_and_acts_as_the_account(
    live_server, member, admin_key, embedder, sdk, version
):
    browser = Client()
    browser.force_login(member)
    out = run_client_check(
        [shutil.which("node") or "node", str(JS / "mcp_oauth_check.mjs")],
        cwd=JS,
        host=live_server.url,
        key="",
        state="mcp-oauth",
        MCP_URL=live_server.url + "/mcp",
        SESSION=browser.cookies["sessionid"].value,
        SDK=sdk,
    )
    assert out["version"] == version
    memory_id = out["added"]["results"][0]["id"]
    assert [m["id"] for m in out["listed"]["results"]] == [memory_id]
    assert Memory.objects.get(pk=memory_id).account_id == member.pk
    assert out["client_id"].startswith("m0ci_") and out["named"]
    assert "memories" in out["scope"].split()
    assert OAuthGrant.objects.get().client.client_name == "TypeScript check"
