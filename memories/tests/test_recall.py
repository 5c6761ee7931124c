"""Search that finds the right memory: BM25 inside the scope, fusion, reranking, and the conversation's time."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from memories.tests.fake_openai import as_json

DATASET = Path(__file__).resolve().parents[2] / "bench" / "data" / "dialogues.json"


def search(client, **body):
    response = client.post("/search", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def add(client, content, **body):
    body = {"messages": [{"role": "user", "content": content}], "user_id": "alice", "infer": False, **body}
    return client.post("/memories", body, format="json")


def add_turns(client, sessions, *, user_id) -> set[str]:
    """Store each turn of bench/data's `sessions` as bench/recall.py does (its date as timestamp); their ids."""
    turn_ids = set()
    for session in sessions:
        for turn in session["turns"]:
            text = f"{turn['speaker']}: {turn['text']}"
            response = add(client, text, user_id=user_id, metadata={"turn_id": turn["id"]}, timestamp=session["date"])
            assert response.status_code == 200
            turn_ids.add(turn["id"])
    return turn_ids


def test_a_slice_of_the_dialogue_dataset_keeps_its_recall_floor(api_client):
    """Ranking regressions show here: the first sessions of one conversation of bench/data, through the API."""
    data = json.loads(DATASET.read_text())
    conversation = data["conversations"][0]
    turn_ids = add_turns(api_client, conversation["sessions"][:5], user_id="slice")
    questions = [q for q in data["questions"] if set(q["evidence"]) <= turn_ids]
    assert len(questions) >= 10
    recall = {1: 0.0, 10: 0.0}
    for question in questions:
        results = search(api_client, query=question["question"], user_id="slice", top_k=10, threshold=0)["results"]
        found = [r["metadata"]["turn_id"] for r in results]
        evidence = set(question["evidence"])
        for k in recall:
            recall[k] += len(evidence & set(found[:k])) / len(evidence) / len(questions)
    # Measured on these 16 questions: 0.875 (R@10) and 0.75 (R@1) with BM25 + score fusion, then 0.906 and
    # 0.8125 once BM25 stopped normalising by length, then 1.0 and 0.8125 with long memories' sentence vectors.
    assert recall[10] >= 0.95
    assert recall[1] >= 0.75


@pytest.fixture
def maya_chat(make_memory):
    """A scope where the speaker's name starts every memory and one memory holds the rare word."""
    texts = [
        "Maya: I went to the market and bought some apples.",
        "Maya: Work was long today, I am tired.",
        "Maya: That sounds lovely, tell me more!",
        "Maya: I finally made it to Tromsø last weekend.",
        "Maya: My sister called me this morning.",
        "Maya: We watched a film and ate popcorn.",
        "Jonas: How was your week?",
        "Maya: The weather was awful all week.",
    ]
    return {text: make_memory(text) for text in texts}


def test_a_long_memory_holding_the_rare_word_weighs_as_much_as_a_short_one(api_client, maya_chat, make_memory):
    """A conversation's long turn often holds the answer and a short one does not: BM25 here does not discount a
    memory for its length, so both hold the whole query's weight (keyword 1) and meaning decides between them."""
    long = make_memory(
        "Maya: The trip to Tromsø took two trains, a night bus and a ferry along the coast, and it snowed the whole way"
    )
    short = make_memory("Maya: Tromsø, finally!")
    results = search(api_client, query="Tromsø", user_id="alice", threshold=0, explain=True)["results"]
    keyword = {r["id"]: r["score_details"]["keyword"] for r in results}
    assert keyword[long] == pytest.approx(1.0)
    assert keyword[short] == pytest.approx(1.0)


def test_a_rare_word_outranks_a_name_found_in_most_of_the_scope(api_client, maya_chat):
    results = search(api_client, query="Did Maya enjoy Tromsø?", user_id="alice", threshold=0, explain=True)
    top = results["results"][0]
    assert top["memory"] == "Maya: I finally made it to Tromsø last weekend."
    assert top["score_details"]["keyword_rank"] == 1


def test_a_term_in_most_of_the_scope_counts_for_little(api_client, maya_chat):
    rare = search(api_client, query="Tromsø", user_id="alice", threshold=0, explain=True)["results"][0]
    common = search(api_client, query="Maya", user_id="alice", threshold=0, explain=True)["results"]
    common_bm25 = max(r["score_details"]["bm25"] for r in common)
    assert rare["score_details"]["bm25"] > 5 * common_bm25 > 0


def test_a_memory_that_says_the_keyword_twice_scores_more_bm25_than_one_that_says_it_once(api_client, make_memory):
    once = make_memory("Kayaking on the lake at dawn, then lunch by the water.")
    twice = make_memory("Kayaking on the lake at dawn, then kayaking after lunch by the water.")
    results = search(api_client, query="kayaking", user_id="alice", threshold=0, explain=True)["results"]
    bm25 = {r["id"]: r["score_details"]["bm25"] for r in results}
    # Same length in lexemes, so only the term frequency (from the stored positions) tells them apart.
    assert bm25[twice] > bm25[once] > 0


def test_fused_score_is_the_weighted_sum_of_its_parts_and_stays_in_0_1(api_client, maya_chat):
    results = search(api_client, query="Maya bought apples at the market", user_id="alice", threshold=0, explain=True)
    for result in results["results"]:
        details = result["score_details"]
        weight = details["keyword_weight"]
        assert details["method"] == "score"
        assert 0 <= result["score"] <= 1
        fused = (1 - weight) * max(0, details["vector"]) + weight * details["keyword"]
        assert details["fused"] == pytest.approx(fused)
        assert result["score"] == pytest.approx((fused + details["late_interaction"]) / 2)
    assert results["results"][0]["memory"] == "Maya: I went to the market and bought some apples."


def test_rrf_fusion_gives_first_on_both_lists_a_score_of_1(api_client, maya_chat, settings):
    settings.SEARCH_FUSION = "rrf"
    settings.SEARCH_LATE_INTERACTION = False
    results = search(api_client, query="Maya bought apples at the market", user_id="alice", threshold=0, explain=True)
    top = results["results"][0]
    assert (top["score_details"]["vector_rank"], top["score_details"]["keyword_rank"]) == (1, 1)
    assert top["score"] == pytest.approx(1.0)
    assert all(r["score"] < 1 for r in results["results"][1:])


def test_the_threshold_drops_memories_neither_close_in_meaning_nor_sharing_words(api_client, maya_chat):
    results = search(api_client, query="Tromsø trip", user_id="alice", threshold=0.3)["results"]
    assert [r["memory"] for r in results] == ["Maya: I finally made it to Tromsø last weekend."]


def test_rerank_without_a_reranker_says_so_in_the_response(api_client, maya_chat):
    answer = search(api_client, query="Tromsø", user_id="alice", rerank=True)
    assert answer["rerank"]["applied"] is False
    assert "No reranker is configured" in answer["rerank"]["detail"]
    assert answer["results"][0]["memory"] == "Maya: I finally made it to Tromsø last weekend."
    assert "rerank" not in search(api_client, query="Tromsø", user_id="alice")


def test_rerank_set_to_llm_without_an_llm_says_so(api_client, maya_chat, settings):
    settings.SEARCH_RERANKER = "llm"
    answer = search(api_client, query="Tromsø", user_id="alice", rerank=True)
    assert answer["rerank"] == {
        "applied": False,
        "by": "llm",
        "detail": "SEARCH_RERANKER=llm, but no LLM is configured. Results are in fused order.",
    }


def test_the_llm_reranker_reorders_the_results(api_client, llm, make_memory, settings):
    settings.SEARCH_RERANKER = "llm"
    make_memory("Maya: Tell me more about it!")
    make_memory("Maya: We adopted a rescue dog and named him Juniper.")
    fused = search(api_client, query="What is the name of Maya's dog?", user_id="alice", threshold=0, top_k=2)
    fused_order = [r["memory"] for r in fused["results"]]
    llm.reset_calls()
    llm.chat_queue.append(as_json({"ranking": [1, 0]}))
    answer = search(
        api_client, query="What is the name of Maya's dog?", user_id="alice", threshold=0, top_k=2, rerank=True
    )
    assert answer["rerank"] == {"applied": True, "by": "llm", "detail": None}
    assert [r["memory"] for r in answer["results"]] == fused_order[::-1]
    [call] = llm.chat_calls()
    assert "What is the name of Maya's dog?" in call.body["messages"][-1]["content"]


def test_rerank_by_default_when_configured_and_not_when_the_request_says_false(api_client, llm, make_memory, settings):
    settings.SEARCH_RERANKER = "llm"
    settings.SEARCH_RERANK_DEFAULT = True
    make_memory("Loves spicy Thai curry")
    llm.reset_calls()
    llm.chat_queue.append(as_json({"ranking": [0]}))
    assert search(api_client, query="food", user_id="alice")["rerank"]["applied"] is True
    assert "rerank" not in search(api_client, query="food", user_id="alice", rerank=False)
    assert len(llm.chat_calls()) == 1


def test_a_failing_reranker_keeps_the_fused_order_and_says_why(api_client, llm, make_memory, settings):
    from memories.tests.fake_openai import text

    settings.SEARCH_RERANKER = "llm"
    make_memory("Loves spicy Thai curry")
    llm.chat_queue.extend([text("no idea"), text("still no idea")])
    answer = search(api_client, query="food", user_id="alice", rerank=True)
    assert answer["rerank"]["applied"] is False
    assert answer["rerank"]["detail"].startswith("The reranker failed")
    assert answer["results"][0]["memory"] == "Loves spicy Thai curry"


@pytest.mark.parametrize(
    "timestamp",
    [1_683_540_000, "1683540000", "2023-05-08T10:00:00Z", "2023-05-08T12:00:00+02:00"],
    ids=["unix", "unix-text", "iso-utc", "iso-offset"],
)
def test_the_add_stores_when_the_conversation_happened(api_client, timestamp):
    response = add(api_client, "Maya: we adopted a dog yesterday", timestamp=timestamp)
    assert response.status_code == 200, response.json()
    memory = api_client.get(f"/memories/{response.json()['results'][0]['id']}").json()
    assert datetime.fromisoformat(memory["timestamp"]) == datetime(2023, 5, 8, 10, tzinfo=UTC)


@pytest.mark.parametrize("timestamp", ["last tuesday", True, 1e20, {"at": 1}])
def test_a_timestamp_that_is_not_a_time_is_a_400(api_client, timestamp):
    response = add(api_client, "Maya: hello", timestamp=timestamp)
    assert response.status_code == 400
    assert "timestamp" in json.dumps(response.json())


EDGE_OF_TIME = ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"]


@pytest.mark.parametrize("timestamp", EDGE_OF_TIME)
def test_a_timestamp_whose_offset_takes_it_past_year_1_or_9999_is_a_400(api_client, timestamp):
    response = add(api_client, "Maya: hello", user_id="tsu", timestamp=timestamp)
    assert response.status_code == 400, response.content
    assert "timestamp" in response.json()["detail"]
    assert "years 1 to 9999" in response.json()["detail"]
    assert api_client.get("/memories", {"user_id": "tsu"}).json()["results"] == []


@pytest.mark.parametrize("moment", EDGE_OF_TIME)
@pytest.mark.parametrize("key", ["timestamp", "created_at", "updated_at"])
def test_a_time_filter_past_year_1_or_9999_is_a_400_naming_it(api_client, key, moment):
    filters = {key: {"gte": moment}}
    searched = api_client.post("/search", {"query": "x", "user_id": "alice", "filters": filters}, format="json")
    listed = api_client.get("/memories", {"user_id": "alice", "filters": json.dumps(filters)})
    platform = api_client.post("/v3/memories/", {"filters": {"user_id": "alice", **filters}}, format="json")
    for response in (searched, listed, platform):
        assert response.status_code == 400, response.content
        assert f"filters.{key}.gte" in response.json()["detail"]
        assert "years 1 to 9999" in response.json()["detail"]


@pytest.mark.parametrize("moment", EDGE_OF_TIME)
@pytest.mark.parametrize("bound", ["start_date", "end_date"])
def test_a_platform_date_bound_past_year_1_or_9999_is_a_400_naming_it(api_client, bound, moment):
    body = {"filters": {"user_id": "alice"}, bound: moment}
    response = api_client.post("/v3/memories/", body, format="json")
    assert response.status_code == 400, response.content
    assert bound in response.json()["detail"]
    assert "years 1 to 9999" in response.json()["detail"]


# Python reads offsets up to ±23:59:59.999999; PostgreSQL stores and compares ±15:59:59 at most, in whole seconds.
OFFSET_BEYOND_POSTGRESQL = ["2025-03-21T12:00:00+20:00", "2025-03-21T12:00:00-16:00", "2025-03-21T12:00:00+05:00:00.5"]


@pytest.mark.parametrize("moment", OFFSET_BEYOND_POSTGRESQL)
def test_a_time_whose_offset_postgresql_cannot_hold_is_a_400_naming_it(api_client, moment):
    """Such a time reached the database, which refused it: a 400 that named nothing ('A value in the request cannot be
    stored or compared'), and an export's filters were accepted, to fail in the background."""
    filters = {"created_at": {"gte": moment}}
    answers = {
        "timestamp": add(api_client, "Maya: hello", user_id="tsu", timestamp=moment),
        "filters.created_at.gte": api_client.post(
            "/search", {"query": "x", "user_id": "alice", "filters": filters}, format="json"
        ),
        "reference_date": api_client.post(
            "/search", {"query": "x last week", "user_id": "alice", "reference_date": moment}, format="json"
        ),
        "start_date": api_client.post(
            "/v3/memories/", {"filters": {"user_id": "alice"}, "start_date": moment}, format="json"
        ),
        "filters.created_at": api_client.post(
            "/v1/exports/", {"schema": {}, "filters": {"user_id": "alice", **filters}}, format="json"
        ),
    }
    for name, response in answers.items():
        assert response.status_code == 400, (name, response.content)
        assert name in response.json()["detail"] and "offset" in response.json()["detail"], response.content
    assert api_client.get("/memories", {"user_id": "tsu"}).json()["results"] == []


def test_search_and_list_filter_on_the_conversation_time(api_client):
    for day, text in [(1, "Maya: went to Porto"), (10, "Maya: went to Bergen"), (20, "Maya: went to Kyoto")]:
        assert add(api_client, text, timestamp=f"2023-05-{day:02d}T12:00:00Z").status_code == 200
    assert add(api_client, "Maya: went to Lima").status_code == 200  # no timestamp
    window = {"timestamp": {"gte": "2023-05-05", "lte": int(datetime(2023, 5, 15, tzinfo=UTC).timestamp())}}
    found = search(api_client, query="where did Maya go", user_id="alice", filters=window, threshold=0)["results"]
    assert [r["memory"] for r in found] == ["Maya: went to Bergen"]
    before = json.dumps({"timestamp": {"lt": "2023-05-05"}})
    listed = api_client.get("/memories", {"user_id": "alice", "filters": before})
    assert [m["memory"] for m in listed.json()["results"]] == ["Maya: went to Porto"]
    recent = {"created_at": {"gte": "2000-01-01"}, "timestamp": "*"}
    found = search(api_client, query="where did Maya go", user_id="alice", filters=recent, threshold=0)["results"]
    assert len(found) == 3


def test_a_time_filter_with_a_bad_value_or_operator_is_a_400(api_client):
    for bad in ({"timestamp": {"gte": "soon"}}, {"created_at": {"contains": "2023"}}):
        response = api_client.post("/search", {"query": "x", "user_id": "alice", "filters": bad}, format="json")
        assert response.status_code == 400
        assert "filters." in response.json()["detail"]


def test_extraction_resolves_relative_dates_against_the_conversation_date(api_client, llm):
    body = {
        "messages": [{"role": "user", "content": "We adopted a dog yesterday"}],
        "user_id": "alice",
        "timestamp": "2023-05-08T10:00:00Z",
    }
    assert api_client.post("/memories", body, format="json").status_code == 200
    [extract] = llm.chat_calls("extract")
    assert "written on 2023-05-08 (Monday)" in extract.body["messages"][0]["content"]


def test_the_text_to_embed_starts_with_the_utc_day_the_memory_happened():
    from datetime import timedelta, timezone

    from memories.timestamps import dated_text, parse_timestamp

    late_evening_in_new_york = datetime(2023, 5, 8, 22, 30, tzinfo=timezone(timedelta(hours=-4)))
    assert dated_text("Maya: we adopted a dog", late_evening_in_new_york) == "[2023-05-09] Maya: we adopted a dog"
    assert dated_text("Maya: hello", parse_timestamp("2023-05-08")) == "[2023-05-08] Maya: hello"
    assert dated_text("Maya: hello", None) == "Maya: hello"


def test_realtalks_chats_become_a_dataset_the_harness_reads(tmp_path):
    """bench/data/realtalk.py turns a REALTALK checkout's chats into bench/recall.py's layout, and reads nothing
    else of it (its copy of another benchmark under data/locomo/ stays closed)."""
    chat = {
        "name": {"speaker_1": "Emi", "speaker_2": "elise"},
        "session_1_date_time": "29.12.2023, 22:42:04",
        "session_1": [
            {"clean_text": "Hey! How are you?", "speaker": "Emi", "dia_id": "D1:1"},
            {"clean_text": "Off to Miami with friends!", "speaker": "elise", "dia_id": "D1:2"},
            {"clean_text": "  ", "speaker": "Emi", "dia_id": "D1:3"},
        ],
        "session_2_date_time": "03.01.2024, 22:11:47",
        "session_2": [
            {"clean_text": "Back from Miami.", "speaker": "elise", "dia_id": "D1:2"},
            {"clean_text": "Turks and Caicos next.", "speaker": "elise", "dia_id": "D2:1"},
        ],
        "qa": [
            {"question": "Where did Elise go?", "evidence": ["D1:2", "D2:1"], "category": 2},
            {"question": "Nothing to find", "evidence": ["D9:9"], "category": 1},
        ],
    }
    (tmp_path / "data" / "locomo").mkdir(parents=True)
    (tmp_path / "data" / "Chat_1_Emi_Elise.json").write_text(json.dumps(chat))
    (tmp_path / "data" / "locomo" / "Chat_2_Someone_Else.json").write_text(json.dumps(chat))  # not REALTALK's
    out = tmp_path / "realtalk.json"
    done = subprocess.run(  # noqa: S603  (this interpreter, the repository's script)
        [sys.executable, str(DATASET.parent / "realtalk.py"), str(tmp_path), str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "1 chats, 3 turns, 1 questions" in done.stdout
    dataset = json.loads(out.read_text())
    (conversation,) = dataset["conversations"]
    assert conversation["speakers"] == ["Emi", "elise"]
    assert [(s["date"], [t["id"] for t in s["turns"]]) for s in conversation["sessions"]] == [
        ("2023-12-29T22:42:04Z", ["rt1:D1:1", "rt1:D1:2"]),
        ("2024-01-03T22:11:47Z", ["rt1:D2:1"]),  # a repeated id keeps its first message; blank ones are left out
    ]
    assert dataset["questions"] == [
        {
            "id": "rt1q1",
            "conversation": "rt1",
            "question": "Where did Elise go?",
            "evidence": ["rt1:D1:2", "rt1:D2:1"],
            "category": "2",
        }
    ]
