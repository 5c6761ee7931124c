"""The official TypeScript SDK's webhook methods against a live server (webhooks/tests/js/webhooks_check.mjs,
which uses the npm mem0ai that `make test` installs under platform_api/tests/js)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from apikeys.services import apikey_create
from platform_api.services import project_ids

pytestmark = pytest.mark.django_db(transaction=True)

JS = Path(__file__).parent / "js"
SDK = Path(__file__).resolve().parents[2] / "platform_api" / "tests" / "js" / "node_modules" / "mem0ai"


def test_the_typescript_sdk_creates_lists_updates_and_deletes_a_webhook(live_server, admin_key, make_user, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    node = shutil.which("node")
    assert node, "node is not installed: the TypeScript SDK test needs Node.js 18 or newer"
    assert SDK.is_dir(), "run `make test` or `npm ci --prefix platform_api/tests/js` first"
    owner = make_user("ts-hooks@example.com")
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": tempfile.gettempdir(),
        "MEM0_TELEMETRY": "false",
        "MEM0_DIR": os.path.join(tempfile.gettempdir(), "mem0server-ts-sdk"),
        "MEM0_HOST": live_server.url,
        "MEM0_API_KEY": apikey_create(user=owner, label="ts")[1],
        "WEBHOOK_URL": "http://127.0.0.1:9/ts-hook",
    }
    done = subprocess.run(  # noqa: S603  (a fixed script of ours, run by the node found on PATH)
        [node, "webhooks_check.mjs"], cwd=JS, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"webhooks_check.mjs failed:\n{done.stderr}\n{done.stdout}"
    report = json.loads(done.stdout.strip().splitlines()[-1])

    # The SDK turns the answer's snake_case keys into camelCase (its Webhook type: webhookId, eventTypes …).
    created = report["created"]
    assert created["secret"].startswith("whsec_")
    assert isinstance(created["webhookId"], int)
    assert created["isActive"] is True
    assert (created["name"], created["url"], created["eventTypes"]) == (
        "ts hook",
        "http://127.0.0.1:9/ts-hook",
        ["memory_add"],
    )
    assert created["project"] == project_ids(principal=owner)[1]
    [listed] = report["listed"]
    assert listed["webhookId"] == created["webhookId"]
    assert created["secret"] not in json.dumps(report["listed"])
    assert report["updated"] == {"message": "Webhook updated successfully"}
    [changed] = report["listedAfterUpdate"]
    assert (changed["name"], changed["eventTypes"]) == ("ts hook 2", ["memory_delete"])
    assert report["deleted"] == {"message": "Webhook deleted successfully"}
    assert report["listedAfterDelete"] == []
