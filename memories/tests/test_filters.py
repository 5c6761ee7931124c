"""Mem0's filter language, run in PostgreSQL through the list selector: every operator and combinator."""

from __future__ import annotations

import pytest

from conftest import ADMIN
from mem0server.exceptions import InvalidInput
from memories import selectors
from memories.filters import required_scope


@pytest.fixture
def catalogue(make_memory):
    make_memory("curry", metadata={"topic": "food", "rating": 5, "tags": "Spicy Thai"})
    make_memory("pasta", metadata={"topic": "food", "rating": 3, "tags": "italian"})
    make_memory("dentist", metadata={"topic": "work", "rating": 4})
    make_memory("cello", metadata={"hobby": True})
    make_memory("plain")  # no metadata at all: "not equal" to everything
    make_memory("bot note", user_id=None, scope={"agent_id": "bot"}, metadata={"topic": "food", "rating": "5"})


def texts(filters: dict, **scope) -> set[str]:
    page = selectors.memories_list(principal=ADMIN, scope=scope, filters=filters, top_k=1000)
    return {memory.text for memory in page.results}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"topic": "food"}, {"curry", "pasta", "bot note"}),
        ({"topic": {"eq": "work"}}, {"dentist"}),
        ({"topic": {"ne": "food"}}, {"dentist", "cello", "plain"}),
        ({"topic": {"in": ["work", "nothing"]}}, {"dentist"}),
        ({"topic": {"nin": ["food"]}}, {"dentist", "cello", "plain"}),
        ({"rating": {"gt": 3}}, {"curry", "dentist"}),
        ({"rating": {"gte": 3}}, {"curry", "pasta", "dentist"}),
        ({"rating": {"lt": 4}}, {"pasta"}),
        ({"rating": {"lte": 4}}, {"pasta", "dentist"}),
        ({"rating": {"gte": 3, "lt": 5}}, {"pasta", "dentist"}),
        ({"rating": 5}, {"curry"}),
        ({"rating": "5"}, {"bot note"}),
        ({"tags": {"contains": "Thai"}}, {"curry"}),
        ({"tags": {"contains": "thai"}}, set()),
        ({"tags": {"icontains": "THAI"}}, {"curry"}),
        ({"hobby": "*"}, {"cello"}),
        ({"hobby": True}, {"cello"}),
        ({"agent_id": "*"}, {"bot note"}),
        ({"agent_id": "bot"}, {"bot note"}),
        ({"user_id": {"in": ["alice"]}, "topic": "food"}, {"curry", "pasta"}),
        ({"user_id": {"ne": "alice"}}, {"bot note"}),
        ({"OR": [{"topic": "work"}, {"rating": {"gte": 5}}]}, {"curry", "dentist"}),
        ({"AND": [{"topic": "food"}, {"rating": {"lt": 5}}]}, {"pasta"}),
        ({"NOT": [{"topic": "food"}]}, {"dentist", "cello", "plain"}),
        ({"NOT": [{"rating": {"gte": 4}}]}, {"pasta", "cello", "plain", "bot note"}),
        ({"topic": "food", "NOT": [{"tags": {"icontains": "spicy"}}]}, {"pasta", "bot note"}),
    ],
)
def test_filter_operators(catalogue, filters, expected):
    assert texts(filters) == expected


def test_filters_combine_with_the_scope(catalogue):
    assert texts({"topic": "food"}, user_id="alice") == {"curry", "pasta"}


@pytest.mark.parametrize(
    ("filters", "says"),
    [
        ({"topic": {"regex": "f.*"}}, "regex"),
        ({"topic": {}}, "empty"),
        ({"OR": {"topic": "food"}}, "OR"),
        ({"AND": []}, "AND"),
        ({"rating": {"gt": [1]}}, "rating.gt"),
        ({"topic": {"in": "food"}}, "topic.in"),
        ({"tags": {"contains": 3}}, "tags.contains"),
        ({"user_id": 5}, "user_id"),
    ],
)
def test_bad_filters_are_refused_with_a_reason(catalogue, filters, says):
    with pytest.raises(InvalidInput, match=says):
        texts(filters)


@pytest.mark.parametrize(
    ("filters", "scope"),
    [
        ({"user_id": "alice", "topic": "food"}, {"user_id": "alice"}),
        (
            {"AND": [{"user_id": "alice"}, {"AND": [{"agent_id": {"eq": "bot"}}]}]},
            {"user_id": "alice", "agent_id": "bot"},
        ),
        # Not a scope every match must have: alternatives, negations, wildcards and other operators.
        ({"OR": [{"user_id": "alice"}, {"user_id": "bob"}]}, {}),
        ({"NOT": [{"user_id": "alice"}]}, {}),
        ({"user_id": "*"}, {}),
        ({"user_id": {"in": ["alice"]}}, {}),
        ({"AND": "user_id"}, {}),
    ],
)
def test_the_scope_a_filter_requires_is_found_at_the_top_and_inside_and(filters, scope):
    assert required_scope(filters) == scope
