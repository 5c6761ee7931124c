"""The same-conversation bonus (memories/coherence.py): a result scores a little more for each better result of
its conversation (the same run_id, else the same timestamp), after late interaction."""

from __future__ import annotations

import pytest

from memories.tests.test_late_interaction import add
from memories.tests.test_recall import search

DOG = "Maya: We adopted a dog and called him Biscuit."
PARK = "Maya: He loves the big park by the river."


def test_of_two_equal_results_the_one_from_the_conversation_of_a_better_one_ranks_first(api_client):
    # Per user: the dog's memory and two copies of another (equal scores), one in the dog's conversation.
    for user, dog_run in (("u1", "chat-1"), ("u2", "chat-2")):
        add(api_client, DOG, user_id=user, run_id=dog_run)
        copies = {run: add(api_client, PARK, user_id=user, run_id=run) for run in ("chat-1", "chat-2")}
        body = {"query": "what is the dog called and where does he like to go", "user_id": user, "explain": True}
        results = search(api_client, **body, threshold=0)["results"]
        assert results[0]["memory"] == DOG
        other_run = {"chat-1": "chat-2", "chat-2": "chat-1"}[dog_run]
        assert [r["id"] for r in results[1:]] == [copies[dog_run], copies[other_run]]
        same, other = results[1], results[2]
        assert same["score_details"]["session_bonus"] == pytest.approx(0.01)
        assert other["score_details"]["session_bonus"] == 0
        assert results[0]["score_details"]["session_bonus"] == 0
        assert same["score"] == pytest.approx(other["score"] + 0.01, abs=1e-9)


def test_a_timestamp_shared_makes_one_conversation_and_the_bonus_stops_at_two_better_results(api_client):
    day, other_day = "2024-03-05T10:00:00Z", "2024-04-09T10:00:00Z"
    texts = [
        (DOG, day),
        (PARK, day),
        ("Maya: Biscuit sleeps on the sofa all afternoon.", day),
        ("Maya: The dog barks at the mailman every morning.", day),
        ("Maya: Biscuit had his first bath at the groomer.", other_day),
        ("Jonas: I have never owned a dog.", None),
    ]
    for text, timestamp in texts:
        add(api_client, text, **({"timestamp": timestamp} if timestamp else {}))
    body = {"query": "tell me about the dog Biscuit", "user_id": "alice", "threshold": 0, "explain": True}
    results = search(api_client, **body)["results"]
    assert len(results) == len(texts)
    when = dict(texts)
    before: dict[str, int] = {}
    for result in results:
        day_of = when[result["memory"]]
        expected = 0.01 * min(2, before.get(day_of, 0)) if day_of else 0
        assert result["score_details"]["session_bonus"] == pytest.approx(expected)
        assert result["score"] == pytest.approx(
            min(1.0, (result["score_details"]["fused"] + result["score_details"]["late_interaction"]) / 2 + expected)
        )
        if day_of:
            before[day_of] = before.get(day_of, 0) + 1
    assert before[day] == 4  # so the last of them had three better: its bonus is the cap's
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)


def test_set_to_0_no_bonus_and_the_score_is_late_interactions(api_client, settings):
    settings.SEARCH_SESSION_BONUS = 0
    for text in (DOG, PARK):
        add(api_client, text, run_id="chat-1")
    body = {"query": "what is the dog called", "user_id": "alice", "threshold": 0, "explain": True}
    for result in search(api_client, **body)["results"]:
        details = result["score_details"]
        assert details["session_bonus"] == 0
        assert result["score"] == pytest.approx((details["fused"] + details["late_interaction"]) / 2, abs=1e-9)
