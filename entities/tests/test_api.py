"""GET /entities and DELETE /entities/{type}/{id} over HTTP: aggregation, order, paging, deletion, mistakes."""

from __future__ import annotations

import base64
from datetime import datetime

import pytest

from conftest import ADMIN
from memories import services
from memories.models import Memory, MemoryHistory


@pytest.fixture
def population(make_memory):
    """alice: 3 memories (one shared with agent bot, one in run r1); bob: 1; agent bot: 2; run r1: 1."""
    return {
        "alice-1": make_memory("Loves spicy Thai curry"),
        "alice-bot": make_memory("Asked the bot about trains", scope={"agent_id": "bot"}),
        "alice-run": make_memory("Booked a flight to Oslo", scope={"run_id": "r1"}),
        "bob-1": make_memory("Plays chess", user_id="bob"),
        "bot-only": make_memory("Answers in French", user_id=None, scope={"agent_id": "bot"}),
    }


def entities(client, **params):
    response = client.get("/entities", params)
    assert response.status_code == 200, response.content
    return response


def test_lists_every_user_agent_and_run_with_counts_sorted_by_type_then_id(api_client, population):
    body = entities(api_client).json()
    assert [(e["type"], e["id"], e["total_memories"]) for e in body] == [
        ("agent", "bot", 2),
        ("run", "r1", 1),
        ("user", "alice", 3),
        ("user", "bob", 1),
    ]


def test_created_at_is_the_first_creation_and_updated_at_the_last_update(api_client, population):
    services.memory_update(principal=ADMIN, memory_id=population["alice-run"], text="Booked a flight to Bergen")
    alice = [Memory.objects.get(id=population[key]) for key in ("alice-1", "alice-bot", "alice-run")]
    [entry] = [e for e in entities(api_client).json() if e["id"] == "alice"]
    assert datetime.fromisoformat(entry["created_at"]) == min(m.created_at for m in alice)
    assert datetime.fromisoformat(entry["updated_at"]) == max(m.updated_at for m in alice)
    assert entry["updated_at"] > entry["created_at"]


def test_an_empty_store_lists_no_entities(api_client):
    assert entities(api_client).json() == []


@pytest.mark.parametrize("spelling", ["user", "users", "USERS"])
def test_type_filter_accepts_singular_and_plural(api_client, population, spelling):
    assert [e["id"] for e in entities(api_client, type=spelling).json()] == ["alice", "bob"]


def test_unknown_type_filter_is_a_400_naming_the_allowed_types(api_client, db):
    response = api_client.get("/entities", {"type": "team"})
    assert response.status_code == 400
    assert "user, agent, app, run" in response.json()["detail"]


def test_pages_follow_the_next_cursor_header_until_the_list_ends(api_client, make_memory):
    for user_id in ("u1", "u2", "u3"):
        make_memory("Likes tea", user_id=user_id, scope={"agent_id": f"a-{user_id}"})
    seen, params = [], {"limit": 2}
    for _ in range(5):
        response = entities(api_client, **params)
        seen += [(e["type"], e["id"]) for e in response.json()]
        if "X-Next-Cursor" not in response:
            break
        assert response["Link"].startswith("</entities?limit=2&cursor=")
        params = {"limit": 2, "cursor": response["X-Next-Cursor"]}
    assert seen == [
        ("agent", "a-u1"),
        ("agent", "a-u2"),
        ("agent", "a-u3"),
        ("user", "u1"),
        ("user", "u2"),
        ("user", "u3"),
    ]


def test_a_full_last_page_has_no_next_cursor(api_client, population):
    response = entities(api_client, limit=4)
    assert len(response.json()) == 4
    assert "X-Next-Cursor" not in response
    assert "Link" not in response


def test_paging_keeps_the_type_filter(api_client, population):
    first = entities(api_client, type="users", limit=1)
    assert "type=users" in first["Link"]
    second = entities(api_client, type="users", limit=1, cursor=first["X-Next-Cursor"])
    assert [e["id"] for e in first.json() + second.json()] == ["alice", "bob"]


# The second and third cursors encode ["user", "a\u0000b"] and ["user", "a\ud800b"]: well-formed, but
# PostgreSQL text cannot hold a NUL, and a lone surrogate cannot even be sent to it (that one was a 500).
@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor"},
        {"cursor": "WyJ1c2VyIiwgImFcdTAwMDBiIl0"},
        {"cursor": "WyJ1c2VyIiwgImFcdWQ4MDBiIl0"},
        {"limit": 0},
        {"limit": 10_001},
        {"limit": "x"},
    ],
)
def test_bad_paging_parameters_are_a_400(api_client, db, params):
    response = api_client.get("/entities", params)
    assert response.status_code == 400
    assert response.json()["detail"]


def test_a_cursor_nested_too_deep_for_pythons_json_is_a_400(api_client, db):
    # Well within the cursor's 2,000 characters: 1,400 "[" decoded past Python's recursion limit, a 500.
    cursor = base64.urlsafe_b64encode(b"[" * 1400).decode().rstrip("=")
    response = api_client.get("/entities", {"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["detail"] == "cursor is not valid; pass the X-Next-Cursor value of a previous page."


def test_listing_needs_credentials(anon_client, db):
    assert anon_client.get("/entities").status_code == 401


# --- delete ----------------------------------------------------------------------------------------


def test_delete_removes_every_memory_of_the_entity_and_records_history(api_client, population):
    response = api_client.delete("/entities/user/alice")
    assert response.status_code == 200
    assert response.json() == {"message": "Entity deleted", "deleted": 3}
    assert not Memory.objects.filter(user_id="alice").exists()
    assert set(Memory.objects.values_list("text", flat=True)) == {"Plays chess", "Answers in French"}
    history = api_client.get(f"/memories/{population['alice-1']}/history").json()
    assert [(h["event"], h["old_memory"]) for h in history][-1] == ("DELETE", "Loves spicy Thai curry")
    assert MemoryHistory.objects.filter(event="DELETE").count() == 3


def test_deleting_a_user_updates_the_counts_of_agents_that_shared_its_memories(api_client, population):
    api_client.delete("/entities/users/alice")
    assert [(e["type"], e["id"], e["total_memories"]) for e in entities(api_client).json()] == [
        ("agent", "bot", 1),
        ("user", "bob", 1),
    ]


@pytest.mark.parametrize(("path", "deleted"), [("/entities/agents/bot", 2), ("/entities/run/r1", 1)])
def test_delete_accepts_agents_and_runs_in_either_spelling(api_client, population, path, deleted):
    assert api_client.delete(path).json()["deleted"] == deleted


def test_delete_refuses_a_query_parameter_and_deletes_nothing(api_client, population):
    """`?filters=...` or `?run_id=...` looks like it narrows the delete; it would not, so it is refused."""
    before = api_client.get("/memories", {"user_id": "alice"}).json()["results"]
    response = api_client.delete('/entities/user/alice?filters={"topic":"food"}&run_id=r1')
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "filters" in detail
    assert "run_id" in detail
    assert api_client.get("/memories", {"user_id": "alice"}).json()["results"] == before


def test_an_id_containing_a_slash_can_be_deleted(api_client, make_memory):
    make_memory("Likes tea", user_id="team/alpha")
    assert [e["id"] for e in entities(api_client).json()] == ["team/alpha"]
    response = api_client.delete("/entities/user/team%2Falpha")
    assert response.status_code == 200
    assert response.json()["deleted"] == 1


def test_delete_of_an_unknown_id_is_a_404_and_deletes_nothing(api_client, population):
    response = api_client.delete("/entities/user/carol")
    assert response.status_code == 404
    assert "carol" in response.json()["detail"]
    assert Memory.objects.count() == 5


def test_delete_of_an_id_with_a_nul_character_is_a_400(api_client, population):
    response = api_client.delete("/entities/user/alice%00")
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
    assert Memory.objects.count() == 5


def test_delete_of_an_unknown_type_is_a_400_naming_the_allowed_types(api_client, population):
    response = api_client.delete("/entities/team/alice")
    assert response.status_code == 400
    assert "user, agent, app, run" in response.json()["detail"]
    assert Memory.objects.count() == 5


def test_delete_needs_credentials(anon_client, population):
    assert anon_client.delete("/entities/user/alice").status_code == 401
    assert Memory.objects.count() == 5


def test_delete_is_refused_to_a_caller_who_is_not_admin(member_client, population):
    response = member_client.delete("/entities/user/alice")
    assert response.status_code == 403
    assert "admin" in response.json()["detail"]
    assert Memory.objects.count() == 5


def test_the_schema_documents_both_entity_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    listing = paths["/entities"]["get"]
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert "X-Next-Cursor" in listing["responses"]["200"]["headers"]
    deletion = paths["/entities/{entity_type}/{entity_id}"]["delete"]["responses"]
    assert deletion["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/EntityDeleteResponse")


def test_members_see_and_count_only_their_own_accounts_entities(make_user, key_client):
    a, b = make_user("a@example.com"), make_user("b@example.com")
    client_a, client_b = key_client(a), key_client(b)
    for client, text in ((client_a, "from a"), (client_b, "from b"), (client_b, "from b again")):
        client.post("/memories", {"messages": text, "user_id": "shared", "infer": False}, format="json")
    assert [(e["id"], e["total_memories"]) for e in client_a.get("/entities").json()] == [("shared", 1)]
    assert [(e["id"], e["total_memories"]) for e in client_b.get("/entities").json()] == [("shared", 2)]
    assert client_a.delete("/entities/user/shared").status_code == 403


def test_apps_are_entities_listed_and_deleted_like_the_others(api_client, make_memory):
    make_memory("Lives in Oslo")
    make_memory("Uses the notes app", scope={"app_id": "notes"})
    make_memory("Only the app knows", user_id=None, scope={"app_id": "notes"})
    assert [(e["type"], e["id"], e["total_memories"]) for e in entities(api_client, type="apps").json()] == [
        ("app", "notes", 2)
    ]
    response = api_client.delete("/entities/apps/notes")
    assert response.json() == {"message": "Entity deleted", "deleted": 2}
    assert [(e["type"], e["id"], e["total_memories"]) for e in entities(api_client).json()] == [("user", "alice", 1)]


def insert_memories(account_id, count: int, *, user_id: str, run_prefix: str) -> None:
    """`count` memories of one user, a run each, written straight into the table (no embedding needed here)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO memories_memory (id, account_id, text, hash, user_id, run_id, metadata, embedding, "
            "categories, created_at, updated_at) SELECT gen_random_uuid(), %s, 'fact ' || g, md5(g::text), %s, "
            "%s || g, '{}', array_fill(0::real, ARRAY[384])::vector, '{}', now(), now() "
            "FROM generate_series(1, %s) g",
            [account_id, user_id, run_prefix, count],
        )
        cursor.execute("ANALYZE memories_memory")


def memories_read(statement: str) -> int:
    """How many memory rows the statement's scans of the memories table produced (EXPLAIN ANALYZE)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement)
        plan = cursor.fetchone()[0][0]["Plan"]

    def read(node: dict) -> int:
        own = node["Actual Rows"] * node["Actual Loops"] if node.get("Relation Name") == "memories_memory" else 0
        return own + sum(read(child) for child in node.get("Plans", []))

    return read(plan)


@pytest.mark.parametrize("caller", ["admin", "member"])
def test_a_page_of_entities_reads_its_own_entities_memories_not_the_whole_accounts(
    caller, api_client, make_user, key_client
):
    """Each page grouped every memory of the caller (62 ms a page at 30,000 memories, growing with them)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    member, other = make_user("a@example.com"), make_user("b@example.com")
    insert_memories(member.id, 3000, user_id="crowd", run_prefix="r-")
    insert_memories(other.id, 3000, user_id="others", run_prefix="o-")
    client = api_client if caller == "admin" else key_client(member)
    params = {"limit": 10}
    for _ in range(2):  # the first page and the one its cursor points at
        with CaptureQueriesContext(connection) as queries:
            response = entities(client, **params)
        [statement] = [q["sql"] for q in queries if "COUNT(*)" in q["sql"]]
        assert [e["type"] for e in response.json()] == ["run"] * 10
        # The page's ten runs, the eleventh that says more follow, and the row that ends its group.
        assert memories_read(statement) <= 12
        params["cursor"] = response["X-Next-Cursor"]
