"""The Platform routes over plain HTTP (DRF's APIClient): headers, organisation and project ids, error paths and
the shapes the SDKs read."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now
from rest_framework.test import APIClient

from apikeys.services import apikey_create
from conftest import ADMIN
from memories.models import SessionMessage
from memories.tests.fake_openai import llm_configured
from platform_api import services
from platform_api.models import ProjectSettings
from platform_api.tests.plans import table_rows_read, vacuumed


@pytest.fixture
def token_client(key_client, member) -> APIClient:
    """The member's key, sent the way Mem0's SDKs send it (with their extra headers)."""
    client = key_client(member)
    key = client._credentials["HTTP_X_API_KEY"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}", HTTP_MEM0_USER_ID="abc123", HTTP_X_MEM0_CLIENT="sdk/1.0")
    return client


def add(client, text: str, user_id: str = "alice", **body):
    """A synchronous add (async_mode false): the queued form is events/tests' subject."""
    body = {"messages": text, "filters": {"user_id": user_id}, "infer": False, "async_mode": False, **body}
    response = client.post("/v3/memories/add/", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["results"][0]["id"]


# --- ping, organisation and project ---------------------------------------------------------------------------


def test_ping_with_a_token_header_tells_the_accounts_ids_and_email(token_client, member):
    response = token_client.get("/v1/ping/")
    assert response.status_code == 200, response.json()
    org_id, project_id = services.project_ids(principal=member)
    assert response.json() == {
        "status": "ok",
        "message": "API key is valid.",
        "org_id": org_id,
        "project_id": project_id,
        "user_email": "member@example.com",
    }


def test_the_admin_key_has_one_fixed_organisation_and_the_admin_email(api_client, settings):
    settings.ADMIN_EMAIL = "root@example.com"
    first, second = api_client.get("/v1/ping/").json(), api_client.get("/v1/ping/").json()
    assert first == second
    assert (first["org_id"], first["project_id"]) == services.project_ids(principal=ADMIN)
    assert first["user_email"] == "root@example.com"


def test_ids_differ_between_accounts_and_stay_the_same_for_one(make_user):
    one, two = make_user("one@example.com"), make_user("two@example.com")
    assert services.project_ids(principal=one) == services.project_ids(principal=one)
    assert set(services.project_ids(principal=one)).isdisjoint(services.project_ids(principal=two))


def test_a_ping_without_credentials_is_401(anon_client):
    response = anon_client.get("/v1/ping/")
    assert response.status_code == 401
    assert "credentials" in response.json()["detail"].lower()


def test_the_callers_own_org_and_project_ids_are_accepted(token_client, member):
    org_id, project_id = services.project_ids(principal=member)
    assert token_client.get("/v1/ping/", {"org_id": org_id, "project_id": project_id}).status_code == 200
    body = {"messages": "Hi", "filters": {"user_id": "alice"}, "infer": False, "org_id": org_id}
    assert token_client.post("/v3/memories/add/", body, format="json").status_code == 202


@pytest.mark.parametrize("where", ["query", "body"])
def test_another_accounts_org_or_project_id_is_404(token_client, make_user, where):
    other_org, other_project = services.project_ids(principal=make_user("other@example.com"))
    for ids in ({"org_id": other_org}, {"project_id": other_project}, {"org_id": "org_made_up"}):
        if where == "query":
            response = token_client.post("/v3/memories/?" + urlencode(ids), {}, format="json")
        else:
            response = token_client.post("/v3/memories/", ids, format="json")
        assert response.status_code == 404, response.json()
        assert "not found" in response.json()["detail"]


@pytest.mark.parametrize("field", ["org_id", "project_id"])
@pytest.mark.parametrize("value", [["x"], {"a": 1}, 5, True])
def test_an_org_or_project_id_that_is_not_a_string_is_a_400_saying_so(token_client, field, value):
    body = {"filters": {"user_id": "alice"}, field: value}
    response = token_client.post("/v3/memories/", body, format="json")
    assert response.status_code == 400, response.json()
    assert f"{field}: Must be a string" in response.json()["detail"]


def test_the_project_route_with_ids_that_are_not_the_callers_is_404_and_changes_nothing(token_client, member):
    org_id, project_id = services.project_ids(principal=member)
    for path in (
        f"/api/v1/orgs/organizations/org_x/projects/{project_id}/",
        f"/api/v1/orgs/organizations/{org_id}/projects/proj_x/",
    ):
        assert token_client.get(path).status_code == 404
        assert token_client.patch(path, {"custom_instructions": "x"}, format="json").status_code == 404
    assert not ProjectSettings.objects.exists()


ORGS = "/api/v1/orgs/organizations/"


def test_the_callers_one_organization_and_its_one_project_are_listed(token_client, member, make_user):
    org_id, project_id = services.project_ids(principal=member)
    listed = token_client.get(ORGS)
    assert listed.status_code == 200, listed.json()
    [org] = listed.json()
    assert (org["org_id"], org["name"], org["user_role"], org["is_owner"]) == (org_id, member.name, "OWNER", True)
    assert org["members"] == [{"username": member.email, "email": member.email, "role": "OWNER"}]
    assert org["created_at"][:19] == member.created_at.isoformat()[:19]
    assert token_client.get(f"{ORGS}{org_id}/").json() == org
    members = token_client.get(f"{ORGS}{org_id}/members/").json()
    assert members == {"members": [{"user_id": member.email, "role": "OWNER"}]}
    token_client.patch(f"{ORGS}{org_id}/projects/{project_id}/", {"custom_instructions": "Be brief."}, format="json")
    projects = token_client.get(f"{ORGS}{org_id}/projects/").json()
    assert projects == [token_client.get(f"{ORGS}{org_id}/projects/{project_id}/").json()]
    assert (projects[0]["project_id"], projects[0]["custom_instructions"]) == (project_id, "Be brief.")
    # Another account's organization is as unknown as a made-up one.
    other_org, _ = services.project_ids(principal=make_user("other@example.com"))
    for path in (f"{ORGS}{other_org}/", f"{ORGS}{other_org}/members/", f"{ORGS}{other_org}/projects/", f"{ORGS}x/"):
        response = token_client.get(path)
        assert response.status_code == 404, path
        assert "not found" in response.json()["detail"]


def test_making_or_deleting_an_organization_or_changing_its_members_is_a_400_saying_why(token_client, member):
    org_id, _ = services.project_ids(principal=member)
    made = token_client.post(ORGS, {"name": "Another"}, format="json")
    assert made.status_code == 400 and "Each account here is one organization" in made.json()["detail"]
    deleted = token_client.delete(f"{ORGS}{org_id}/")
    assert deleted.status_code == 400 and "reset() or delete_all()" in deleted.json()["detail"]
    for method in ("post", "put", "delete"):
        changed = getattr(token_client, method)(f"{ORGS}{org_id}/members/", {"email": "x@example.com"}, format="json")
        assert changed.status_code == 400 and "one member, their account" in changed.json()["detail"]
    assert [org["org_id"] for org in token_client.get(ORGS).json()] == [org_id]


def test_project_get_limits_fields_and_patch_needs_a_setting(token_client, member):
    org_id, project_id = services.project_ids(principal=member)
    path = f"/api/v1/orgs/organizations/{org_id}/projects/{project_id}/"
    patched = token_client.patch(path, {"custom_instructions": "Be brief.", "multilingual": False}, format="json")
    assert patched.status_code == 200, patched.json()
    assert patched.json()["message"] == "Project updated successfully."
    assert token_client.get(path, {"fields": "custom_instructions,multilingual"}).json() == {
        "custom_instructions": "Be brief.",
        "multilingual": False,
    }
    assert token_client.patch(path, {}, format="json").status_code == 400
    unknown = token_client.get(path, {"fields": "secret"})
    assert unknown.status_code == 400 and "secret" in unknown.json()["detail"]
    bad = token_client.patch(path, {"custom_categories": "travel"}, format="json")
    assert bad.status_code == 400 and "custom_categories" in bad.json()["detail"]


def test_the_older_python_clients_project_settings_are_accepted_off_and_refused_on(token_client, member):
    """update_project() of Python mem0ai 0.1.x, 1.0.x and 2.0.0 also takes retrieval_criteria, enable_graph and
    version (each sent alone, with the client's ids): off (and version) answer the project; on is a 400 saying why."""
    org_id, project_id = services.project_ids(principal=member)
    path = f"/api/v1/orgs/organizations/{org_id}/projects/{project_id}/"
    ids = {"org_id": org_id, "project_id": project_id}
    token_client.patch(path, {"custom_instructions": "Be brief.", **ids}, format="json")
    for body in ({"version": "v2"}, {"enable_graph": False}, {"retrieval_criteria": []}):
        response = token_client.patch(path, {**body, **ids}, format="json")
        assert response.status_code == 200, (body, response.json())
        assert response.json()["custom_instructions"] == "Be brief."
    for body, says in [
        ({"enable_graph": True}, "Graph memory is not available"),
        ({"retrieval_criteria": [{"name": "joy", "description": "joyful", "weight": 3}]}, "Criteria retrieval"),
    ]:
        response = token_client.patch(path, {**body, **ids}, format="json")
        assert response.status_code == 400 and says in response.json()["detail"], response.json()


# --- add -----------------------------------------------------------------------------------------------------


def test_v1_add_takes_top_level_scope_ids_as_older_clients_send_them(token_client):
    body = {"messages": [{"role": "user", "content": "Likes jazz"}], "user_id": "alice", "agent_id": "dj"}
    response = token_client.post("/v1/memories/", {**body, "infer": False}, format="json")
    assert response.status_code == 200, response.json()
    [result] = response.json()
    assert (result["event"], result["memory"]) == ("ADD", "Likes jazz")
    memory = token_client.get(f"/v1/memories/{result['id']}/").json()
    assert (memory["user_id"], memory["agent_id"]) == ("alice", "dj")


def test_null_for_an_optional_field_means_not_given_on_the_platform_routes_too(token_client):
    # A client that writes None as null (the SDKs leave such keys out): a 400 "may not be null" before.
    memory_id = add(token_client, "Likes jazz", metadata=None, includes=None, expiration_date=None, timestamp=None)
    found = token_client.post(
        "/v3/memories/search/",
        {"query": "jazz", "filters": {"user_id": "alice"}, "top_k": None, "threshold": None, "rerank": None},
        format="json",
    )
    assert found.status_code == 200, found.json()
    assert [r["id"] for r in found.json()["results"]] == [memory_id]


def test_v1_add_answers_a_bare_list_unless_output_format_is_v1_1_as_mem0s_older_api(token_client, member):
    """The bodies the older clients send: TypeScript mem0ai 2.x (no output_format; it types the answer as an array),
    Python mem0ai 0.1.118 (output_format v1.1 and version v2) and 1.0.11 (output_format v1.1, async_mode true)."""
    org_id, project_id = services.project_ids(principal=member)
    ids = {"org_id": org_id, "project_id": project_id}
    message = [{"role": "user", "content": "Likes jazz"}]

    body = {"messages": message, "user_id": "alice", "infer": False, **ids}
    ts = token_client.post("/v1/memories/", body, format="json")
    assert ts.status_code == 200, ts.json()
    assert [(r["event"], r["memory"]) for r in ts.json()] == [("ADD", "Likes jazz")]

    body = {"messages": message, "user_id": "bob", "infer": False, "output_format": "v1.1", "version": "v2", **ids}
    python_01 = token_client.post("/v1/memories/", body, format="json")
    assert python_01.status_code == 200, python_01.json()
    assert [r["memory"] for r in python_01.json()["results"]] == ["Likes jazz"]

    body = {"messages": message, "user_id": "carol", "async_mode": True, "output_format": "v1.1", **ids}
    python_10 = token_client.post("/v1/memories/", body, format="json")
    assert python_10.status_code == 202, python_10.json()
    [queued] = python_10.json()["results"]
    assert queued["status"] == "PENDING" and queued["event_id"] and queued["message"]

    body = {"messages": message, "user_id": "dan", "async_mode": True}
    ts_async = token_client.post("/v1/memories/", body, format="json")
    assert ts_async.status_code == 202
    [queued] = ts_async.json()
    assert queued["status"] == "PENDING" and queued["event_id"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"messages": "Hi"}, "user_id"),
        ({"messages": "Hi", "filters": {"topic": "x"}}, "only scope ids"),
        ({"messages": "Hi", "filters": {"user_id": "a b"}}, "whitespace"),
        ({"messages": "Hi", "filters": {"user_id": "a"}, "user_id": "b"}, "Differs"),
        ({"messages": "Hi", "filters": {"user_id": "a"}, "timestamp": -1}, "timestamp"),
        ({"messages": "Hi", "filters": {"user_id": "a"}, "timestamp": "yesterday"}, "timestamp"),
        ({"messages": "Hi", "filters": {"user_id": "a"}, "timestamp": 1700000000.5}, "Math.floor(Date.now() / 1000)"),
        ({"messages": "Hi", "filters": {"user_id": "a"}, "expiration_date": "soon"}, "expiration_date"),
        ({"messages": "Hi", "filters": {"user_id": "a"}, "deduced_memories": "Likes tea"}, "deduced_memories"),
        ({"messages": "Hi", "filters": {"user_id": "a"}, "deduced_memories": []}, "deduced_memories"),
        ({"messages": "Hi", "filters": {"user_id": "a"}, "deduced_memories": ["Likes tea", " "]}, "blank"),
        ({"messages": "Hi", "filters": {"user_id": "a"}, "deduced_memories": [{"fact": "x"}]}, "deduced_memories"),
        ({"messages": "Hi", "user_id": "a", "deduced_memories": ["x" * 100_000, "y" * 100_000, "z"]}, "MAX_ADD"),
        ({"messages": "Hi", "user_id": "a", "deduced_memories": ["Likes tea"] * 51}, "with infer at most 50"),
        ({"messages": "Hi", "user_id": "a", "deduced_memories": ["Likes tea", "x" * 2001]}, "Fact 1 has 2001"),
        # Each deduced fact becomes a memory carrying the metadata: 101 copies of 65,008 bytes.
        (
            {"messages": "Hi", "user_id": "a", "infer": False, "metadata": {"n": "x" * 65_000}}
            | {"deduced_memories": [f"Fact {i}" for i in range(101)]},
            "each of the add's 101 memories would carry it",
        ),
    ],
)
def test_a_bad_add_is_a_400_saying_what_is_wrong(token_client, body, says):
    response = token_client.post("/v3/memories/add/", body, format="json")
    assert response.status_code == 400
    assert says in response.json()["detail"]


def test_a_key_in_the_body_as_mastras_integration_sends_it_is_ignored_not_a_credential(anon_client, member):
    key = apikey_create(user=member, label="mastra")[1]
    body = {"messages": "Hi", "user_id": "alice", "infer": False, "apiKey": key, "host": "http://testserver"}
    assert anon_client.post("/v1/memories/", body, format="json").status_code == 401
    search = {"query": "Hi", "filters": {"user_id": "alice"}, "apiKey": key, "host": "http://testserver"}
    assert anon_client.post("/v2/memories/search/", search, format="json").status_code == 401
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert anon_client.post("/v1/memories/", body, format="json").status_code == 200
    assert anon_client.post("/v2/memories/search/", search, format="json").status_code == 200


def test_a_valid_timestamp_is_accepted(token_client):
    assert add(token_client, "Met Bob", timestamp=1_700_000_000)


# --- get_all and search ----------------------------------------------------------------------------------------


def test_get_all_on_v2_pages_with_body_or_query_page_numbers(token_client):
    for i in range(3):
        add(token_client, f"Fact {i}")
    by_query = token_client.post("/v2/memories/?page=2&page_size=2", {"filters": {"user_id": "alice"}}, format="json")
    by_body = token_client.post("/v2/memories/", {"user_id": "alice", "page": 2, "page_size": 2}, format="json")
    for response in (by_query, by_body):
        assert response.status_code == 200, response.json()
        page = response.json()
        assert page["count"] == 3 and [m["memory"] for m in page["results"]] == ["Fact 0"]
        assert page["next"] is None
        assert "page" not in parse_qs(urlparse(page["previous"]).query)  # page 1


@pytest.mark.parametrize("filters", [{}, {"user_id": "alice"}])
def test_a_get_all_page_past_the_last_is_answered_from_the_count_without_reading_memories(token_client, filters):
    # Its OFFSET read every memory the filters match to find none: 130 ms for page 1,000,000 at 45,000 memories.
    for i in range(3):
        add(token_client, f"Fact {i}")
    with CaptureQueriesContext(connection) as queries:
        page = token_client.post(
            "/v2/memories/", {"filters": filters, "page": 1_000_000, "page_size": 100}, format="json"
        )
    assert page.status_code == 200 and (page.json()["count"], page.json()["results"]) == (3, [])
    assert page.json()["next"] is None
    read = [q["sql"] for q in queries.captured_queries if 'FROM "memories_memory"' in q["sql"]]
    assert len(read) == 1 and read[0].startswith("SELECT COUNT(*)")


@pytest.mark.parametrize(
    ("caller", "filters"),
    [("admin", {}), ("member", {}), ("member", {"user_id": "alice"}), ("admin", {"user_id": "alice"})],
)
def test_a_deep_get_all_page_reads_only_its_own_memories_from_the_table(
    caller, filters, transactional_db, token_client, api_client, member
):
    # Its OFFSET read every earlier memory from the table: page 4,000 of 10 at 45,000 memories took 29-155 ms,
    # growing with the account. Committed and vacuumed, as a table in use is: the skipped rows then come from the
    # index alone.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO memories_memory (id, account_id, text, hash, user_id, metadata, embedding, categories, "
            "created_at, updated_at) SELECT gen_random_uuid(), %s, 'fact ' || g, md5(g::text), %s, '{}', "
            "array_fill(0::real, ARRAY[384])::vector, '{}', now() - g * interval '1 second', now() "
            "FROM generate_series(1, 3000) g",
            [member.id, "alice"],
        )
        for user in ("bob", "carol"):  # older memories of other users, so that a scope is not the whole account
            cursor.execute(
                "INSERT INTO memories_memory (id, account_id, text, hash, user_id, metadata, embedding, categories, "
                "created_at, updated_at) SELECT gen_random_uuid(), %s, 'other', md5(g::text), %s, '{}', "
                "array_fill(0::real, ARRAY[384])::vector, '{}', now() - (3000 + g) * interval '1 second', now() "
                "FROM generate_series(1, 3000) g",
                [member.id, user],
            )
    vacuumed("memories_memory")
    client = api_client if caller == "admin" else token_client
    with CaptureQueriesContext(connection) as queries:
        page = client.post("/v2/memories/", {"filters": filters, "page": 250, "page_size": 10}, format="json")
    assert page.status_code == 200, page.json()
    assert [m["memory"] for m in page.json()["results"]] == [f"fact {g}" for g in range(2491, 2501)]
    assert page.json()["count"] == (3000 if filters else 9000)
    [statement] = [q["sql"] for q in queries.captured_queries if 'ORDER BY "memories_memory"' in q["sql"]]
    assert table_rows_read(statement, "memories_memory") <= 11  # the page's ten and the one that says more follow


@pytest.mark.parametrize("path", ["/v3/memories/", "/v2/memories/"])
def test_get_all_page_and_page_size_in_the_query_win_over_the_bodys(token_client, path):
    """Mem0's reference: the query parameter takes precedence (the SDKs send them there)."""
    for i in range(3):
        add(token_client, f"Fact {i}")
    body = {"filters": {"user_id": "alice"}, "page": 1, "page_size": 3}
    both = token_client.post(f"{path}?page=2&page_size=1", body, format="json")
    assert both.status_code == 200, both.json()
    assert [m["memory"] for m in both.json()["results"]] == ["Fact 1"]
    # One of them in the query: that one from the query, the other from the body.
    size = token_client.post(f"{path}?page_size=2", body, format="json").json()
    assert [m["memory"] for m in size["results"]] == ["Fact 2", "Fact 1"]
    page = token_client.post(f"{path}?page=3", {**body, "page_size": 1}, format="json").json()
    assert [m["memory"] for m in page["results"]] == ["Fact 0"]


@pytest.mark.parametrize("path", ["/v3/memories/", "/v2/memories/"])
def test_a_get_all_page_holding_more_than_one_answer_carries_is_a_400_saying_to_ask_for_fewer(
    token_client, path, settings
):
    for i in range(3):
        add(token_client, f"Fact {i} " + "x" * 24)  # 31 bytes, no metadata
    settings.LIST_MAX_BYTES = 70
    body = {"filters": {"user_id": "alice"}, "page": 1, "page_size": 3}
    refused = token_client.post(path, body, format="json")
    assert refused.status_code == 400
    assert "These 3 memories hold 93 bytes" in refused.json()["detail"]
    assert "page_size" in refused.json()["detail"]
    answer = token_client.post(path, {**body, "page_size": 2}, format="json")
    assert answer.status_code == 200 and len(answer.json()["results"]) == 2
    deeper = token_client.post(path, {**body, "page": 2, "page_size": 2}, format="json")  # weighed by its ids
    assert deeper.status_code == 200 and [m["memory"][:6] for m in deeper.json()["results"]] == ["Fact 0"]
    older = token_client.get("/v1/memories/", {"user_id": "alice", "limit": 3})
    assert older.status_code == 400 and "These 3 memories" in older.json()["detail"]


def test_get_all_on_v1_is_a_get_with_the_scope_in_the_query_as_older_clients_send_it(token_client, member):
    """Python mem0ai 0.1.x's get_all() and the TypeScript client 2.x's getAll() (their defaults): a list, or a page
    when both page and page_size are given (Mem0's reference)."""
    for i in range(3):
        add(token_client, f"Fact {i}")
    add(token_client, "Bob's", user_id="bob")
    org_id, project_id = services.project_ids(principal=member)
    ids = f"org_id={org_id}&project_id={project_id}"
    listed = token_client.get(f"/v1/memories/?user_id=alice&{ids}")
    assert listed.status_code == 200, listed.json()
    assert [m["memory"] for m in listed.json()] == ["Fact 2", "Fact 1", "Fact 0"]
    assert listed.json()[0]["user_id"] == "alice"
    assert [m["memory"] for m in token_client.get("/v1/memories/?user_id=alice&limit=1").json()] == ["Fact 2"]
    assert len(token_client.get("/v1/memories/").json()) == 4

    page = token_client.get(f"/v1/memories/?user_id=alice&{ids}&page=2&page_size=2").json()
    assert page["count"] == 3 and [m["memory"] for m in page["results"]] == ["Fact 0"]
    assert page["next"] is None and "page" not in parse_qs(urlparse(page["previous"]).query)
    past = token_client.get(f"/v1/memories/?user_id=alice&{ids}&page=7&page_size=2").json()
    assert (past["results"], past["next"]) == ([], None)
    assert parse_qs(urlparse(past["previous"]).query)["page"] == ["2"]  # the last page, not page 6 (empty)


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("user_id=alice&metadata=x", "Unknown query parameter(s): metadata"),
        ("user_id=alice&limit=201", "limit"),
        ("user_id=a%20b", "whitespace"),
        ("user_id=alice&page=2", "page and page_size go together"),
        ("user_id=alice&page_size=1", "page and page_size go together"),
        ("user_id=alice&user_id=bob", "user_id: Given 2 times; give it once."),
        ("user_id=alice&output_format=v2", 'output_format: Must be "v1.0" or "v1.1", not "v2"'),
    ],
)
def test_get_all_on_v1_refuses_what_it_would_ignore_or_cannot_read(token_client, query, says):
    response = token_client.get(f"/v1/memories/?{query}")
    assert response.status_code == 400
    assert says in response.json()["detail"]


@pytest.mark.parametrize(
    ("filters", "says"),
    [
        ({"user_id": "alice", "topic": {"like": "x"}}, "like"),
        ({"user_id": "alice", "AND": "topic"}, "filters.AND must be a non-empty list"),
        ({"user_id": "alice", "rank": {"in": 3}}, "needs a list"),
    ],
)
def test_bad_filters_are_a_400_naming_the_problem(token_client, filters, says):
    for path, body in [("/v3/memories/", {}), ("/v3/memories/search/", {"query": "x"})]:
        response = token_client.post(path, {**body, "filters": filters}, format="json")
        assert response.status_code == 400, (path, response.json())
        assert says in response.json()["detail"]


def test_search_finds_a_scope_nested_in_and_and_on_every_version(token_client):
    add(token_client, "Loves curry")
    for path, body in [
        ("/v3/memories/search/", {"filters": {"AND": [{"user_id": "alice"}]}}),
        ("/v2/memories/search/", {"filters": {"user_id": "alice"}, "output_format": "v1.1"}),
        ("/v1/memories/search/", {"user_id": "alice", "output_format": "v1.1"}),
    ]:
        response = token_client.post(path, {"query": "curry", **body}, format="json")
        assert response.status_code == 200, response.json()
        assert [hit["memory"] for hit in response.json()["results"]] == ["Loves curry"]


def test_older_search_and_list_answer_a_bare_list_unless_output_format_is_v1_1_or_paged(token_client, member):
    """As Mem0's older API: Python mem0ai 0.1.118's search() (v1) and get_all(version="v2") hand the list on as
    they get it, and the TypeScript client 2.x types search and getAll (api_version v2 too) as arrays."""
    add(token_client, "Loves curry")
    org_id, project_id = services.project_ids(principal=member)
    ids = {"org_id": org_id, "project_id": project_id}
    for path, body in [
        ("/v1/memories/search/", {"query": "curry", "user_id": "alice", **ids}),
        ("/v2/memories/search/", {"query": "curry", "filters": {"OR": [{"user_id": "alice"}]}}),
        ("/v2/memories/", {"filters": {"AND": [{"user_id": "alice"}]}, **ids}),
    ]:
        response = token_client.post(path, body, format="json")
        assert response.status_code == 200, (path, response.json())
        assert [hit["memory"] for hit in response.json()] == ["Loves curry"], path
    hits = token_client.post("/v1/memories/search/", {"query": "curry", "user_id": "alice"}, format="json").json()
    assert hits[0]["score"] > 0
    paged = token_client.post("/v2/memories/?page=1&page_size=5", {"filters": {"user_id": "alice"}}, format="json")
    assert paged.json()["count"] == 1
    asked = token_client.post("/v2/memories/", {"user_id": "alice", "output_format": "v1.1"}, format="json")
    assert [m["memory"] for m in asked.json()["results"]] == ["Loves curry"]


def test_older_routes_v1_1_answers_carry_mem0s_relations_empty(token_client, member):
    # Mem0's API reference requires `relations` beside `results` in an older route's "v1.1" answer (its graph
    # store's relations, which its Platform now leaves empty), and its graph memory guide reads them from get_all;
    # a caller reading answer["relations"] got a KeyError.
    org_id, project_id = services.project_ids(principal=member)
    ids = {"org_id": org_id, "project_id": project_id}
    v11 = {"output_format": "v1.1", **ids}
    message = [{"role": "user", "content": "Loves curry"}]
    answers = [
        token_client.post(
            "/v1/memories/", {"messages": message, "user_id": "alice", "infer": False, **v11}, format="json"
        ),
        token_client.post(
            "/v1/memories/", {"messages": message, "user_id": "bob", "async_mode": True, **v11}, format="json"
        ),
        token_client.post("/v1/memories/search/", {"query": "curry", "user_id": "alice", **v11}, format="json"),
        token_client.post(
            "/v2/memories/search/", {"query": "curry", "filters": {"user_id": "alice"}, **v11}, format="json"
        ),
        token_client.post(
            "/v2/memories/", {"filters": {"user_id": "alice"}, "enable_graph": True, **v11}, format="json"
        ),
    ]
    for answer in answers:
        assert answer.status_code in (200, 202), answer.json()
        assert answer.json()["relations"] == [] and answer.json()["results"], answer.json()
    listed = token_client.post("/v2/memories/", {"filters": {"user_id": "alice"}, **v11}, format="json").json()
    assert "relations" not in listed and listed["count"] == 1  # asked without enable_graph, as Mem0's answers


@pytest.mark.parametrize("output_format", ["v2", "V1.1", "1.1"])
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/memories/", {"messages": "Loves curry", "user_id": "alice", "infer": False}),
        ("/v1/memories/search/", {"query": "curry", "user_id": "alice"}),
        ("/v2/memories/search/", {"query": "curry", "filters": {"user_id": "alice"}}),
        ("/v2/memories/", {"filters": {"user_id": "alice"}}),
    ],
)
def test_an_output_format_mem0_does_not_name_is_a_400_not_a_shape_the_caller_did_not_ask_for(
    token_client, path, body, output_format
):
    """Only "v1.1" answers {"results": [...]}: any other value answered a bare list, so a caller who wrote
    "V1.1" got a list where it read .results."""
    response = token_client.post(path, {**body, "output_format": output_format}, format="json")
    assert response.status_code == 400, response.json()
    assert 'output_format: Must be "v1.0" or "v1.1"' in response.json()["detail"]
    assert token_client.post(path, {**body, "output_format": "v1.0"}, format="json").status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v3/memories/search/", {"query": "curry", "reference_date": "soon"}),
        ("/v3/memories/search/", {"query": "curry", "latest_only": "newest"}),
        ("/v3/memories/", {"latest_only": "newest"}),
    ],
)
def test_the_sdks_reference_date_and_latest_only_are_read_not_dropped(token_client, path, body):
    """Both SDKs send them; a value that is none of what they take is a 400 naming the field, not ignored."""
    add(token_client, "Loves curry")
    response = token_client.post(path, {"filters": {"user_id": "alice"}, **body}, format="json")
    assert response.status_code == 400, response.json()
    assert next(iter(set(body) - {"query"})) in response.json()["detail"]


def test_a_search_query_over_max_query_chars_is_a_400_on_every_version(token_client, settings):
    add(token_client, "Loves curry")
    long_query = "curry " * (settings.MAX_QUERY_CHARS // 6 + 1)
    for path, body in [
        ("/v3/memories/search/", {"filters": {"user_id": "alice"}}),
        ("/v2/memories/search/", {"filters": {"user_id": "alice"}}),
        ("/v1/memories/search/", {"user_id": "alice"}),
    ]:
        response = token_client.post(path, {"query": long_query, **body}, format="json")
        assert response.status_code == 400, (path, response.json())
        assert (
            f"query: Must be at most {settings.MAX_QUERY_CHARS} characters (MAX_QUERY_CHARS)"
            in (response.json()["detail"])
        )


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v3/memories/", {"page": 10**30}, "page"),
        ("/v3/memories/?page=9223372036854775807", {}, "page"),
        ("/v3/memories/?page=1000001", {}, "page"),
        ("/v2/memories/", {"page": 10**19, "page_size": 10}, "page"),
    ],
)
def test_a_page_past_the_limit_is_a_400_naming_the_field(token_client, path, body, field):
    response = token_client.post(path, {"filters": {"user_id": "alice"}, **body}, format="json")
    assert response.status_code == 400, response.json()
    assert f"{field}: Ensure this value is less than or equal to" in response.json()["detail"]


def test_search_fields_must_be_result_keys(token_client):
    body = {"query": "x", "filters": {"user_id": "alice"}, "fields": ["password"]}
    response = token_client.post("/v3/memories/search/", body, format="json")
    assert response.status_code == 400 and "fields" in response.json()["detail"]


# --- one memory, delete by scope ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_an_unknown_memory_is_404_and_a_malformed_id_400(token_client, method):
    body = {"text": "x"} if method == "put" else None
    unknown = getattr(token_client, method)(f"/v1/memories/{uuid.uuid4()}/", body, format="json")
    assert unknown.status_code == 404 and "not found" in unknown.json()["detail"]
    malformed = getattr(token_client, method)("/v1/memories/not-a-uuid/", body, format="json")
    assert malformed.status_code == 400 and "UUID" in malformed.json()["detail"]
    assert token_client.get(f"/v1/memories/{uuid.uuid4()}/history/").status_code == 404


def test_a_history_too_long_for_one_answer_is_a_400_and_reads_page_by_page(token_client, settings):
    memory_id = add(token_client, "Version 0")
    for version in range(1, 4):
        token_client.put(f"/v1/memories/{memory_id}/", {"text": f"Version {version}"}, format="json")
    settings.HISTORY_MAX_CHARS = 20
    whole = token_client.get(f"/v1/memories/{memory_id}/history/")
    assert whole.status_code == 400 and "page=1&page_size=" in whole.json()["detail"]
    first, second = (token_client.get(f"/v1/memories/{memory_id}/history/?page={n}&page_size=2") for n in (1, 2))
    read = [row["new_memory"] for row in first.json() + second.json()]
    assert read == ["Version 0", "Version 1", "Version 2", "Version 3"]
    assert first["Link"] == f'</v1/memories/{memory_id}/history/?page=2&page_size=2>; rel="next"'
    assert first["X-Next-Page"] == "2" and "Link" not in second and "X-Next-Page" not in second
    assert token_client.get(f"/v1/memories/{memory_id}/history/?pgae=2").status_code == 400


def test_update_needs_something_to_change_and_a_timestamp_alone_moves_when_it_happened(token_client):
    memory_id = add(token_client, "Stays")
    assert token_client.put(f"/v1/memories/{memory_id}/", {}, format="json").status_code == 400
    response = token_client.put(f"/v1/memories/{memory_id}/", {"timestamp": 1_700_000_000}, format="json")
    assert response.status_code == 200
    assert (response.json()["memory"], response.json()["timestamp"]) == ("Stays", "2023-11-14T22:13:20Z")
    bad = token_client.put(f"/v1/memories/{memory_id}/", {"timestamp": "last tuesday"}, format="json")
    assert bad.status_code == 400 and "neither unix seconds nor an ISO 8601" in bad.json()["detail"]


def test_delete_all_takes_json_or_the_python_sdks_dict_repr_as_filters(token_client):
    add(token_client, "Food", metadata={"topic": "food"})
    add(token_client, "Sport", metadata={"topic": "sport"})
    add(token_client, "Bob's", user_id="bob")
    response = token_client.delete("/v1/memories/?filters=" + "{'user_id': 'alice', 'topic': 'food'}")
    assert response.json() == {"message": "Memories deleted successfully!", "deleted": 1}
    assert token_client.delete('/v1/memories/?filters={"user_id": "bob"}').json()["deleted"] == 1
    remaining = token_client.post("/v3/memories/", {}, format="json").json()
    assert [m["memory"] for m in remaining["results"]] == ["Sport"]


@pytest.mark.parametrize("extra", [{"metadata": '{"topic": "food"}'}, {"topic": "food"}, {"filter": "x"}])
def test_delete_all_refuses_a_parameter_it_would_ignore_and_deletes_nothing(token_client, extra):
    add(token_client, "Food", metadata={"topic": "food"})
    add(token_client, "Sport", metadata={"topic": "sport"})
    response = token_client.delete("/v1/memories/?" + urlencode({"user_id": "alice", **extra}))
    assert response.status_code == 400
    assert f"Unknown query parameter(s): {next(iter(extra))}" in response.json()["detail"]
    assert 'filters={"user_id": "alice", "topic": "food"}' in response.json()["detail"]
    remaining = token_client.post("/v3/memories/", {}, format="json").json()
    assert sorted(m["memory"] for m in remaining["results"]) == ["Food", "Sport"]


@pytest.mark.parametrize(
    "filters", ["{not json", "[1, 2]", "{'a': {1, 2}}", "__import__('os')", "{" * 500, '{"a": "' + "x" * 10_000 + '"}']
)
def test_unreadable_delete_filters_are_a_400(token_client, filters):
    response = token_client.delete("/v1/memories/?" + urlencode({"filters": filters, "user_id": "alice"}))
    assert response.status_code == 400, response.json()
    assert "filters" in response.json()["detail"]


def test_an_agents_own_memories_use_the_agent_instructions_of_the_project(token_client, member):
    services.project_settings_update(
        principal=member, changes={"custom_instructions": "USER RULES", "agent_custom_instructions": "AGENT RULES"}
    )
    with llm_configured() as fake:
        for filters in ({"agent_id": "bot"}, {"user_id": "alice", "agent_id": "bot"}):
            body = {"messages": "I like tea", "filters": filters, "async_mode": False}
            assert token_client.post("/v3/memories/add/", body, format="json").status_code == 200
        prompts = [call.body["messages"][0]["content"] for call in fake.chat_calls("extract")]
    assert len(prompts) == 2
    assert prompts[0].startswith("AGENT RULES") and prompts[1].startswith("USER RULES")


def test_deleting_part_of_a_scope_by_filters_keeps_its_conversation_context(token_client, member):
    SessionMessage.objects.create(account=member, user_id="alice", role="user", content="earlier", created_at=now())
    add(token_client, "Food", metadata={"topic": "food"})
    token_client.delete('/v1/memories/?filters={"user_id": "alice", "topic": "food"}')
    assert SessionMessage.objects.filter(user_id="alice").exists()
    token_client.delete("/v1/memories/?user_id=alice")
    assert not SessionMessage.objects.filter(user_id="alice").exists()


def test_a_delete_whose_filters_contradict_its_user_id_keeps_that_users_conversation_context(token_client, member):
    # ?user_id=alice with filters naming bob deletes no memory, but it deleted all of alice's kept messages.
    SessionMessage.objects.create(account=member, user_id="alice", role="user", content="earlier", created_at=now())
    SessionMessage.objects.create(account=member, user_id="bob", role="user", content="bob's", created_at=now())
    add(token_client, "Food")
    token_client.delete("/v1/memories/?" + urlencode({"user_id": "alice", "filters": '{"user_id": "bob"}'}))
    assert SessionMessage.objects.filter(user_id="alice").exists()
    assert [m["memory"] for m in token_client.post("/v3/memories/", {}, format="json").json()["results"]] == ["Food"]
    # A scope with kept messages and no memory still loses them when it is the one deleted.
    token_client.delete('/v1/memories/?filters={"user_id": "bob"}')
    assert not SessionMessage.objects.filter(user_id="bob").exists()
