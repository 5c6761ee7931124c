"""An older official Python client for real: mem0ai 0.1.118 (the last 0.1 release, still pinned by framework
integrations), unchanged, in its own venv (`make old-sdk`, which `make test` runs: every dependency pinned in
old_sdk/requirements-0.1.118.txt, under the data folder), drives a live server through old_sdk/check_0_1.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import User
from apikeys.services import apikey_create
from memories.models import Memory
from platform_api import services
from platform_api.tests.node_sdk import run_client_check

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = Path(__file__).parent / "old_sdk" / "check_0_1.py"
VENV = settings.DATA_DIR / "old-sdk" / "mem0ai-0.1.118"


def run_old_client(*, host: str, key: str) -> dict:
    python = VENV / "bin" / "python"
    assert (VENV / ".installed").is_file(), f"run `make test` or `make old-sdk` first ({VENV} is missing)"
    command = [str(python), str(SCRIPT)]
    return run_client_check(command, cwd=SCRIPT.parent, host=host, key=key, state="mem0server-old-sdk")


def test_python_mem0ai_0_1_118_adds_lists_searches_changes_and_deletes(live_server, admin_key, embedder):
    owner = User.objects.create_user(email="old-client@example.com", name="Old")
    key = apikey_create(user=owner, label="0.1.118")[1]

    report = run_old_client(host=live_server.url, key=key)

    assert (report["org_id"], report["project_id"]) == services.project_ids(principal=owner)
    assert report["added"] == [["ADD", "I like green tea"], ["ADD", "Noted."]]
    # get_all() is GET /v1/memories/ (a list, or a page with page and page_size); version="v2" lists by filters.
    assert report["get_all"] == report["get_all_v2"] == ["I like green tea", "I live in Lisbon", "Noted."]
    assert report["get_all_page"] == 3 and report["get_all_v2_page"] == [3, 1]
    # search() is v1 and hands on a list; output_format="v1.1" gets {"results": [...]}.
    assert report["search"] == report["search_v1_1"] == report["search_v2"] == "I like green tea"
    assert report["search_score"] is True
    assert report["get"] == ["I like green tea", {"topic": "drinks"}]
    assert report["update"] == "Loves green tea" and report["history"] == ["ADD", "UPDATE"]
    assert report["users"] == [["agent", "helper"], ["user", "alice"]]
    assert report["batch_update"] == {"message": "Successfully updated 1 memories"}
    assert report["batch_delete"] == {"message": "Successfully deleted 1 memories"}
    assert report["project"] == "Only drinks." and report["get_project"] == {"custom_instructions": "Only drinks."}
    assert report["delete"] == {"message": "Memory deleted successfully!"}
    assert report["delete_all"] == {"message": "Memories deleted successfully!", "deleted": 1}  # Porto was left
    assert report["delete_users"] == {"message": "Entity deleted successfully."}
    assert report["async"]["search"] == "Async fact" and report["async"]["get_all"] == ["Async fact"]
    assert report["async"]["after_reset"]["results"] == []
    assert not Memory.objects.filter(account=owner).exists()
