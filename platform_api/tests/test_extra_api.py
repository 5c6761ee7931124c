"""The Platform's entity, batch, feedback, stats and summary routes through DRF's APIClient: every error path,
tenancy, and what is stored. (The same routes driven by the official SDKs: test_sdk_extra.py.)"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from memories.models import Memory, MemoryHistory
from memories.tests.conftest import configure, llm_section
from memories.tests.fake_openai import FakeOpenAI, text
from platform_api.models import Feedback
from platform_api.tests.plans import table_rows_read, vacuumed

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_openai():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def other(make_user) -> User:
    return make_user("other@example.com", name="Other")


@pytest.fixture
def other_client(key_client, other):
    return key_client(other)


def events(memory_id) -> list[str]:
    rows = MemoryHistory.objects.filter(memory_id=memory_id).order_by("created_at")
    return list(rows.values_list("event", flat=True))


# --- entities ----------------------------------------------------------------------------------------------


def test_entities_list_shows_only_the_callers_entities_with_counts(member_client, member, other, make_memory):
    make_memory("Likes tea", user_id="alice", principal=member, scope={"agent_id": "helper"})
    make_memory("Lives in Oslo", user_id="alice", principal=member)
    make_memory("Someone else's", user_id="bob", principal=other)
    body = member_client.get("/v1/entities/").json()
    assert body["count"] == 2
    assert (body["next"], body["previous"]) == (None, None)
    assert (body["total_users"], body["total_agents"], body["total_apps"], body["total_runs"]) == (1, 1, 0, 0)
    by_name = {(e["type"], e["name"]): e for e in body["results"]}
    assert set(by_name) == {("user", "alice"), ("agent", "helper")}
    assert by_name[("user", "alice")]["total_memories"] == 2
    assert by_name[("user", "alice")]["id"] == "alice"


def test_entities_list_pages_when_a_page_size_is_given(member_client, member, make_memory):
    for name in ("a1", "a2", "a3"):
        make_memory(f"memory of {name}", user_id=name, principal=member)
    first = member_client.get("/v1/entities/?page_size=2").json()
    assert first["count"] == 3
    assert [e["name"] for e in first["results"]] == ["a1", "a2"]
    assert first["next"].endswith("/v1/entities/?page=2&page_size=2")
    second = member_client.get("/v1/entities/?page=2&page_size=2").json()
    assert [e["name"] for e in second["results"]] == ["a3"]
    assert second["next"] is None
    assert second["previous"].endswith("page=1&page_size=2")
    past = member_client.get("/v1/entities/?page=5&page_size=2").json()
    assert (past["results"], past["next"]) == ([], None)
    assert past["previous"].endswith("page=2&page_size=2")  # the last page, not page 4 (empty)
    # A misspelt page_size listed every entity in one page, as if there were no more.
    typo = member_client.get("/v1/entities/?page_sise=2")
    assert typo.status_code == 400 and "page_sise" in typo.json()["detail"]
    assert member_client.get("/v1/entities/?org_name=Old+client&project_name=Its+project").json()["count"] == 3


def test_entities_are_counted_once_per_request_and_only_a_pages_rows_are_read(member_client, member, embedder):
    # They were read 10,000 at a time, each read grouping every memory again, and cut to the page in Python: 30,000
    # runs took four passes over the memories and 30,000 rows read for a page of 10 (a million runs: 101 passes).
    [vector] = embedder.embed(["a memory"])
    # 10,004 entities (past the 10,000 a read took) from 2,501 memories, each naming its own user, agent, app and run.
    Memory.objects.bulk_create(
        Memory(
            account=member,
            text="a memory",
            hash="0" * 32,
            embedding=vector,
            **{f"{t}_id": f"{t}-{n:05}" for t in ("user", "agent", "app", "run")},
        )
        for n in range(2_501)
    )

    def grouping(path: str) -> tuple[dict, list[str]]:
        with CaptureQueriesContext(connection) as queries:
            body = member_client.get(path).json()
        return body, [q["sql"] for q in queries.captured_queries if '"memories_memory"' in q["sql"]]

    # The counts, then the page (only its type's rows, in its index's order).
    body, statements = grouping("/v1/entities/?page=3&page_size=2")
    assert len(statements) == 2 and statements[1].endswith("LIMIT 2 OFFSET 4) AS g) ORDER BY 1, 2")
    assert [e["name"] for e in body["results"]] == ["agent-00004", "agent-00005"]
    assert (body["count"], body["total_runs"], body["total_users"], body["total_agents"]) == (
        10_004,
        2_501,
        2_501,
        2_501,
    )
    body, statements = grouping("/v1/entities/")
    assert len(statements) == 2 and len(body["results"]) == body["count"] == 10_004
    assert [e["name"] for e in body["results"][2_499:2_503]] == ["agent-02499", "agent-02500", "app-00000", "app-00001"]
    body, statements = grouping("/v1/entities/?page=5002&page_size=2")  # the last page: users sort after the runs
    assert [e["name"] for e in body["results"]] == ["user-02499", "user-02500"] and body["next"] is None
    assert len(statements) == 2 and statements[1].endswith("LIMIT 2 OFFSET 2499) AS g) ORDER BY 1, 2")
    body, statements = grouping("/v1/entities/?page=1876&page_size=4")  # a page across the runs and the users
    assert [e["name"] for e in body["results"]] == ["run-02498", "run-02499", "run-02500", "user-00000"]
    assert len(statements) == 2 and "LIMIT 3 OFFSET 2498)" in statements[1] and "LIMIT 1 OFFSET 0)" in statements[1]
    body, statements = grouping("/v1/entities/?page=5003&page_size=2")  # past it: the counts alone
    assert body["results"] == [] and body["count"] == 10_004 and len(statements) == 1


def test_admin_sees_every_accounts_entities(api_client, member, other, make_memory):
    make_memory("one", user_id="alice", principal=member)
    make_memory("two", user_id="bob", principal=other)
    names = {e["name"] for e in api_client.get("/v1/entities/").json()["results"]}
    assert names == {"alice", "bob"}


def test_entity_detail_counts_the_callers_memories_only(member_client, member, other, make_memory):
    make_memory("mine", user_id="alice", principal=member)
    make_memory("theirs", user_id="alice", principal=other)
    body = member_client.get("/v2/entities/user/alice/").json()
    assert (body["type"], body["name"], body["total_memories"]) == ("user", "alice", 1)
    assert member_client.get("/v2/entities/user/nobody/").status_code == 404


def test_unknown_entity_type_is_a_400_naming_the_types(member_client):
    response = member_client.get("/v2/entities/robot/r2/")
    assert response.status_code == 400
    assert "user, agent, app, run" in response.json()["detail"]
    assert member_client.delete("/v2/entities/robot/r2/").status_code == 400


def test_a_member_deletes_its_own_entity_and_never_another_accounts(member_client, member, other, make_memory):
    mine = make_memory("mine", user_id="alice", principal=member)
    theirs = make_memory("theirs", user_id="alice", principal=other)
    response = member_client.delete("/v2/entities/user/alice/")
    assert response.status_code == 200
    assert response.json() == {"message": "Entity deleted successfully.", "deleted": 1}
    assert not Memory.objects.filter(id=mine).exists()
    assert Memory.objects.filter(id=theirs).exists()
    assert events(mine) == ["ADD", "DELETE"]


def test_deleting_an_entity_with_no_memories_left_is_a_harmless_200(member_client):
    response = member_client.delete("/v2/entities/agent/helper/")
    assert response.status_code == 200
    assert response.json()["deleted"] == 0


def test_the_older_v1_entity_delete_takes_the_listed_id(member_client, member, make_memory):
    memory_id = make_memory("runs", user_id=None, principal=member, scope={"run_id": "run-7"})
    listed = member_client.get("/v1/entities/").json()["results"][0]
    response = member_client.delete(f"/v1/entities/{listed['type']}/{listed['id']}/")
    assert response.json()["deleted"] == 1
    assert not Memory.objects.filter(id=memory_id).exists()
    assert member_client.get(f"/v1/entities/{listed['type']}/{listed['id']}/").status_code == 405


def test_an_entitys_memories_are_listed_newest_first_in_pages_the_callers_own_only(
    member_client, member, other, make_memory
):
    for n in range(3):
        make_memory(f"Fact {n}", user_id="alice", principal=member)
    make_memory("Someone else's", user_id="alice", principal=other)
    make_memory("Another user's", user_id="bob", principal=member)
    first = member_client.get("/v1/memories/user/alice/", {"page_size": 2})
    assert first.status_code == 200, first.json()
    assert first.json()["count"] == 3
    assert [m["memory"] for m in first.json()["results"]] == ["Fact 2", "Fact 1"]
    second = member_client.get(first.json()["next"]).json()
    assert ([m["memory"] for m in second["results"]], second["next"]) == (["Fact 0"], None)
    # As the entity routes take them: plurals, ids with "/" (sent as %2F), and a user named like a memory's history.
    make_memory("A team's", user_id=None, principal=member, scope={"agent_id": "team/a"})
    make_memory("History's", user_id="history", principal=member)
    assert [m["memory"] for m in member_client.get("/v1/memories/agents/team%2Fa/").json()["results"]] == ["A team's"]
    assert [m["memory"] for m in member_client.get("/v1/memories/user/history/").json()["results"]] == ["History's"]
    assert member_client.get("/v1/memories/run/nobody/").json() == {
        "count": 0, "next": None, "previous": None, "results": []
    }  # fmt: skip


def test_an_entity_memories_route_with_another_type_or_a_bad_page_is_a_400(member_client):
    for path, says in (
        ("/v1/memories/robot/r2/", "user, agent, app, run"),
        ("/v1/memories/user/alice/?page=0", "page"),
        ("/v1/memories/user/alice/?pages=2", "pages"),
    ):
        response = member_client.get(path)
        assert response.status_code == 400, path
        assert says in response.json()["detail"], response.json()


def test_entity_routes_need_credentials(anon_client):
    assert anon_client.get("/v1/entities/").status_code == 401
    assert anon_client.delete("/v2/entities/user/alice/").status_code == 401
    assert anon_client.get("/v1/memories/user/alice/").status_code == 401


# --- batches -----------------------------------------------------------------------------------------------


def test_batch_update_changes_every_memory_with_an_update_history_row(member_client, member, make_memory):
    first = make_memory("Likes tea", principal=member, metadata={"topic": "drinks"})
    second = make_memory("Lives in Oslo", principal=member)
    response = member_client.put(
        "/v1/batch/",
        {"memories": [{"memory_id": first, "text": "Likes green tea"}, {"memory_id": second, "metadata": {"x": 1}}]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {"message": "Successfully updated 2 memories"}
    one, two = Memory.objects.get(id=first), Memory.objects.get(id=second)
    assert (one.text, one.metadata) == ("Likes green tea", {"topic": "drinks"})
    assert (two.text, two.metadata) == ("Lives in Oslo", {"x": 1})
    update = MemoryHistory.objects.get(memory_id=first, event="UPDATE")
    assert (update.old_memory, update.new_memory) == ("Likes tea", "Likes green tea")
    assert events(second) == ["ADD", "UPDATE"]


def test_a_batch_update_re_embeds_the_new_text(member_client, member, make_memory, embedder):
    memory_id = make_memory("Likes tea", principal=member)
    member_client.put("/v1/batch/", {"memories": [{"memory_id": memory_id, "text": "Owns a red bicycle"}]}, "json")
    found = member_client.post("/search", {"query": "bicycle", "user_id": "alice"}, format="json").json()["results"]
    assert found[0]["id"] == memory_id
    assert found[0]["score"] > 0.5


@pytest.mark.parametrize("method", ["put", "delete"])
def test_more_than_1000_memories_in_a_batch_is_a_400_naming_the_limit(member_client, method):
    items = [{"memory_id": str(uuid.uuid4()), "text": "x"} for _ in range(1001)]
    response = getattr(member_client, method)("/v1/batch/", {"memories": items}, format="json")
    assert response.status_code == 400
    assert "At most 1000 memories" in response.json()["detail"]
    assert "1001" in response.json()["detail"]


def test_a_batch_update_of_more_new_text_than_an_add_takes_is_a_400_and_changes_nothing(
    member_client, member, make_memory, settings
):
    # 1,000 new texts of 900 characters cost the worker 154 s of CPU (all of them embedded in one request) where
    # the largest add, MAX_ADD_CHARS in all, costs 28 s: bench/heavy_writes.py.
    settings.MAX_ADD_CHARS = 100
    ids = [make_memory(f"Likes tea number {i}", principal=member) for i in range(2)]
    items = [{"memory_id": memory_id, "text": "a" * 30 + str(i) * 21} for i, memory_id in enumerate(ids)]
    response = member_client.put("/v1/batch/", {"memories": items}, format="json")
    assert response.status_code == 400
    assert "102 characters" in response.json()["detail"]
    assert "MAX_ADD_CHARS" in response.json()["detail"]
    assert sorted(Memory.objects.filter(id__in=ids).values_list("text", flat=True)) == [
        "Likes tea number 0",
        "Likes tea number 1",
    ]
    assert MemoryHistory.objects.filter(memory_id__in=ids, event="UPDATE").count() == 0
    items[0]["text"] = items[0]["text"][:49]  # 100 characters in all: taken
    assert member_client.put("/v1/batch/", {"memories": items}, format="json").status_code == 200


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"memories": []}, "memories"),
        ({}, "memories: This field is required"),
        ({"memories": [{"memory_id": "not-a-uuid", "text": "x"}]}, "memory_id"),
        ({"memories": [{"memory_id": "00000000-0000-0000-0000-000000000001"}]}, "Give text or metadata"),
        ({"memories": [{"memory_id": "00000000-0000-0000-0000-000000000001", "text": 5}]}, "Must be a string"),
        ({"memories": "all"}, "memories"),
    ],
)
def test_a_malformed_batch_update_is_a_400_that_says_why(member_client, body, says):
    response = member_client.put("/v1/batch/", body, format="json")
    assert response.status_code == 400
    assert says in response.json()["detail"]


def test_a_batch_field_the_server_does_not_take_is_a_400_naming_it_and_changes_nothing(
    member_client, member, make_memory
):
    # Each item is the caller's dict, passed on by the SDKs: a misspelt metadata was dropped and the text changed.
    memory_id = make_memory("Likes tea", principal=member, metadata={"topic": "drinks"})
    for method, body, name in [
        ("put", {"memories": [{"memory_id": memory_id, "text": "Likes mint tea", "metdata": {}}]}, "metdata"),
        ("put", {"memories": [{"memory_id": memory_id, "text": "Likes mint tea"}], "atomic": True}, "atomic"),
        ("delete", {"memories": [{"memory_id": memory_id, "hard": True}]}, "hard"),
    ]:
        response = getattr(member_client, method)("/v1/batch/", body, format="json")
        assert response.status_code == 400
        assert f"Unknown field(s): {name}." in response.json()["detail"]
    memory = Memory.objects.get(id=memory_id)
    assert (memory.text, memory.metadata) == ("Likes tea", {"topic": "drinks"})


def test_the_same_memory_twice_in_one_batch_is_a_400(member_client, member, make_memory):
    memory_id = make_memory("Likes tea", principal=member)
    items = [{"memory_id": memory_id, "text": "a"}, {"memory_id": memory_id, "text": "b"}]
    response = member_client.put("/v1/batch/", {"memories": items}, format="json")
    assert response.status_code == 400
    assert "appears twice" in response.json()["detail"]
    assert Memory.objects.get(id=memory_id).text == "Likes tea"


def test_a_batch_update_with_another_accounts_memory_is_a_404_and_changes_nothing(
    member_client, member, other, make_memory
):
    mine = make_memory("Likes tea", principal=member)
    theirs = make_memory("Their secret", principal=other)
    items = [{"memory_id": mine, "text": "changed"}, {"memory_id": theirs, "text": "stolen"}]
    response = member_client.put("/v1/batch/", {"memories": items}, format="json")
    assert response.status_code == 404
    assert theirs in response.json()["detail"]
    assert "nothing was changed" in response.json()["detail"]
    assert Memory.objects.get(id=mine).text == "Likes tea"
    assert Memory.objects.get(id=theirs).text == "Their secret"
    assert events(mine) == ["ADD"]
    assert events(theirs) == ["ADD"]


def test_batch_delete_removes_every_memory_with_a_delete_history_row(member_client, member, make_memory):
    ids = [make_memory(f"memory {i}", principal=member) for i in range(3)]
    response = member_client.delete("/v1/batch/", {"memories": [{"memory_id": i} for i in ids[:2]]}, format="json")
    assert response.json() == {"message": "Successfully deleted 2 memories"}
    assert list(Memory.objects.values_list("id", flat=True)) == [uuid.UUID(ids[2])]
    assert events(ids[0]) == ["ADD", "DELETE"]


def test_a_batch_delete_with_an_unknown_or_foreign_id_is_a_404_and_deletes_nothing(
    member_client, member, other, make_memory
):
    mine = make_memory("mine", principal=member)
    theirs = make_memory("theirs", principal=other)
    for stranger in (theirs, str(uuid.uuid4())):
        response = member_client.delete(
            "/v1/batch/", {"memories": [{"memory_id": mine}, {"memory_id": stranger}]}, format="json"
        )
        assert response.status_code == 404
        assert stranger in response.json()["detail"]
    assert Memory.objects.count() == 2
    assert MemoryHistory.objects.filter(event="DELETE").count() == 0


def test_the_admin_key_batches_any_accounts_memories(api_client, member, make_memory):
    memory_id = make_memory("member's", principal=member)
    response = api_client.delete("/v1/batch/", {"memories": [{"memory_id": memory_id}]}, format="json")
    assert response.status_code == 200
    assert not Memory.objects.filter(id=memory_id).exists()


# --- feedback ----------------------------------------------------------------------------------------------


def test_feedback_is_stored_with_the_account(member_client, member, make_memory):
    memory_id = make_memory("Likes tea", principal=member)
    body = {"memory_id": memory_id, "feedback": "negative", "feedback_reason": "Outdated"}
    response = member_client.post("/v1/feedback/", body, format="json")
    assert response.status_code == 200
    answer = response.json()
    assert (answer["memory_id"], answer["feedback"], answer["feedback_reason"]) == (memory_id, "NEGATIVE", "Outdated")
    stored = Feedback.objects.get(id=answer["id"])
    assert (stored.account, str(stored.memory_id), stored.feedback) == (member, memory_id, "NEGATIVE")


def test_feedback_without_a_verdict_is_accepted(member_client, member, make_memory):
    memory_id = make_memory("Likes tea", principal=member)
    response = member_client.post("/v1/feedback/", {"memory_id": memory_id, "feedback": None}, format="json")
    assert response.status_code == 200
    assert response.json()["feedback"] is None


def test_a_feedback_field_the_server_does_not_take_is_a_400_naming_it_and_stores_nothing(
    member_client, member, make_memory
):
    # A misspelt feedback_reason stored the feedback without its reason.
    memory_id = make_memory("Likes tea", principal=member)
    body = {"memory_id": memory_id, "feedback": "NEGATIVE", "feedback_reson": "Outdated"}
    response = member_client.post("/v1/feedback/", body, format="json")
    assert response.status_code == 400
    assert "Unknown field(s): feedback_reson." in response.json()["detail"]
    assert not Feedback.objects.exists()


def test_an_unknown_verdict_is_a_400_naming_the_choices(member_client, member, make_memory):
    memory_id = make_memory("Likes tea", principal=member)
    response = member_client.post("/v1/feedback/", {"memory_id": memory_id, "feedback": "MEH"}, format="json")
    assert response.status_code == 400
    assert "feedback" in response.json()["errors"]
    assert not Feedback.objects.exists()


def test_feedback_on_an_unknown_or_foreign_memory_is_a_404(member_client, other, make_memory):
    theirs = make_memory("theirs", principal=other)
    for memory_id in (theirs, str(uuid.uuid4())):
        response = member_client.post("/v1/feedback/", {"memory_id": memory_id, "feedback": "POSITIVE"}, format="json")
        assert response.status_code == 404
    assert not Feedback.objects.exists()


@pytest.fixture
def staff_client(db, client):
    admin = User.objects.create_superuser(email="root@example.com", password="an admin passphrase")
    client.force_login(admin)
    return client


def test_feedback_and_project_settings_are_listed_read_only_in_the_django_admin(
    staff_client, member_client, member, make_memory
):
    memory_id = make_memory("Likes tea", principal=member)
    member_client.post("/v1/feedback/", {"memory_id": memory_id, "feedback_reason": "Spot on"}, format="json")
    page = staff_client.get("/admin/platform_api/feedback/")
    assert page.status_code == 200
    assert "Spot on" in page.content.decode()
    assert staff_client.get("/admin/platform_api/feedback/add/").status_code == 403
    assert staff_client.get("/admin/platform_api/projectsettings/").status_code == 200


# --- stats and summary -------------------------------------------------------------------------------------


def test_stats_count_the_callers_memories_by_scope_and_history(member_client, member, other, make_memory):
    make_memory("one", user_id="alice", principal=member, scope={"agent_id": "helper"})
    make_memory("two", user_id="alice", principal=member, scope={"app_id": "shop"})
    gone = make_memory("three", user_id="bob", principal=member)
    make_memory("not mine", user_id="carol", principal=other)
    member_client.delete("/v1/batch/", {"memories": [{"memory_id": gone}]}, format="json")
    stats = member_client.get("/v1/stats/").json()
    assert stats == {
        "total_memories": 2,
        "total_users_with_memories": 1,
        "total_agents_with_memories": 1,
        "total_apps_with_memories": 1,
        "total_runs_with_memories": 0,
        "memories_with_user_id": 2,
        "memories_with_agent_id": 1,
        "memories_with_app_id": 1,
        "memories_with_run_id": 0,
        "total_add_events": 3,
        "total_update_events": 0,
        "total_delete_events": 1,
    }


def test_stats_count_ids_apart_that_differ_in_case_or_in_how_an_accent_is_written(api_client, member, make_memory):
    # Counted in byte order from the indexes: as many ids as the database's own (deterministic) collation tells apart.
    for user_id in ("alice", "Alice", "caf\u00e9", "cafe\u0301", "alice"):
        make_memory(f"memory of {user_id}", user_id=user_id, principal=member)
    stats = api_client.get("/v1/stats/").json()  # an admin: every account's
    assert (stats["total_memories"], stats["total_users_with_memories"], stats["memories_with_user_id"]) == (5, 4, 5)


def test_a_summary_without_an_llm_is_a_400_that_says_how_to_configure_one(member_client, member, make_memory):
    make_memory("Likes tea", principal=member)
    response = member_client.post("/v1/summary/", {"filters": {"user_id": "alice"}}, format="json")
    assert response.status_code == 400
    assert "Summaries need an LLM" in response.json()["detail"]
    assert "OPENAI_API_KEY" in response.json()["detail"]


def test_a_summary_is_the_llms_text_over_the_callers_filtered_memories(
    api_client, member_client, member, other, make_memory, fake_openai
):
    assert configure(api_client, llm=llm_section(fake_openai)).status_code == 200
    make_memory("Likes green tea", principal=member)
    make_memory("Lives in Oslo", principal=member, scope={"agent_id": "helper"})
    make_memory("Other user", user_id="bob", principal=member)
    make_memory("Another account's", principal=other)
    fake_openai.chat_queue.append(text("Alice likes green tea and lives in Oslo."))
    response = member_client.post("/v1/summary/", {"filters": {"user_id": "alice"}}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "summary": "Alice likes green tea and lives in Oslo.",
        "memories_summarized": 2,
        "total_memories": 2,
    }
    (call,) = fake_openai.chat_calls()
    shown = call.body["messages"][-1]["content"]
    assert "Likes green tea" in shown and "Lives in Oslo" in shown
    assert "Other user" not in shown and "Another account's" not in shown


def test_a_summary_with_a_bad_filter_operator_is_a_400(api_client, member_client, fake_openai):
    assert configure(api_client, llm=llm_section(fake_openai)).status_code == 200
    response = member_client.post("/v1/summary/", {"filters": {"user_id": {"near": "x"}}}, format="json")
    assert response.status_code == 400
    assert "near" in response.json()["detail"]
    # A misspelt filters summarised every memory of the account, an LLM call over what was not asked for.
    typo = member_client.post("/v1/summary/", {"filter": {"user_id": "alice"}}, format="json")
    assert typo.status_code == 400 and "filter" in typo.json()["detail"]
    assert not fake_openai.chat_calls()


# --- every memory's history (Mem0's "events") ----------------------------------------------------------------


def test_memory_events_pages_through_the_callers_history_newest_first(
    member, member_client, other, make_memory, api_client
):
    first = make_memory("Likes tea", principal=member)
    second = make_memory("Lives in Oslo", principal=member)
    member_client.put(f"/v1/memories/{first}/", {"text": "Likes green tea"}, format="json")
    make_memory("someone else's", principal=other)

    page = member_client.get("/v1/memories/events/", {"limit": 2})
    assert page.status_code == 200
    body = page.json()
    assert body["count"] == 3 and body["previous"] is None
    assert [(e["memory_id"], e["event"]) for e in body["results"]] == [(first, "UPDATE"), (second, "ADD")]
    assert body["results"][0]["old_memory"] == "Likes tea" and body["results"][0]["new_memory"] == "Likes green tea"
    rest = member_client.get(body["next"]).json()
    assert [(e["memory_id"], e["event"]) for e in rest["results"]] == [(first, "ADD")]
    assert rest["next"] is None
    assert parse_qs(urlsplit(rest["previous"]).query) == {"page": ["1"], "limit": ["2"]}
    assert api_client.get("/v1/memories/events/").json()["count"] == 4  # an admin reads everyone's
    # A page past the last is answered from the count: its OFFSET read every event to find none.
    with CaptureQueriesContext(connection) as queries:
        past = member_client.get("/v1/memories/events/", {"page": 1_000_000, "limit": 2}).json()
    assert (past["count"], past["results"], past["next"]) == (3, [], None)
    # Its previous page is the last one (page 2 of 3 events by 2), not page 999,999 and the empty pages before it.
    assert parse_qs(urlsplit(past["previous"]).query) == {"page": ["2"], "limit": ["2"]}
    read = [q["sql"] for q in queries.captured_queries if 'FROM "memories_memoryhistory"' in q["sql"]]
    assert len(read) == 1 and read[0].startswith("SELECT COUNT(*)")


@pytest.mark.parametrize("caller", ["admin", "member"])
def test_a_deep_page_of_memory_events_reads_only_its_own_events_from_the_table(
    caller, transactional_db, member, member_client, api_client
):
    # Its OFFSET read every newer event from the table: page 4,000 of 10 at 45,200 events took 34-69 ms, growing
    # with the account's history. Committed and vacuumed, as a table in use is.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO memories_memoryhistory (id, memory_id, account_id, new_memory, event, created_at, is_deleted) "
            "SELECT gen_random_uuid(), gen_random_uuid(), %s, 'fact ' || g, 'ADD', now() - g * interval '1 second', "
            "false FROM generate_series(1, 3000) g",
            [member.id],
        )
    vacuumed("memories_memoryhistory")
    client = api_client if caller == "admin" else member_client
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/v1/memories/events/", {"page": 250, "limit": 10})
    assert page.status_code == 200, page.json()
    assert [e["new_memory"] for e in page.json()["results"]] == [f"fact {g}" for g in range(2491, 2501)]
    assert page.json()["count"] == 3000
    [statement] = [q["sql"] for q in queries.captured_queries if 'ORDER BY "memories_memoryhistory"' in q["sql"]]
    assert table_rows_read(statement, "memories_memoryhistory") <= 10


@pytest.mark.parametrize(
    ("query", "says"), [({"limit": 51}, "limit"), ({"page": 0}, "page"), ({"user_id": "alice"}, "user_id")]
)
def test_memory_events_refuses_what_it_does_not_take(member_client, query, says):
    response = member_client.get("/v1/memories/events/", query)
    assert response.status_code == 400
    assert says in response.json()["detail"]
