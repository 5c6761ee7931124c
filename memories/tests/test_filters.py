"""Mem0's filter language, run in PostgreSQL through the list selector: every operator and combinator."""

from __future__ import annotations

import json

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
        ({"NOT": {"topic": "food"}}, {"dentist", "cello", "plain"}),  # one object, as Mem0's docs write it
        ({"NOT": {"topic": "food", "rating": 5}}, {"pasta", "dentist", "cello", "plain", "bot note"}),
    ],
)
def test_filter_operators(catalogue, filters, expected):
    assert texts(filters) == expected


def test_a_metadata_key_named_like_a_field_in_camel_case_is_filtered_under_metadata(make_memory):
    make_memory("camel", metadata={"userId": "u1"})
    make_memory("other", metadata={"userId": "u2"})
    assert texts({"metadata": {"userId": "u1"}}) == {"camel"}


def test_filters_combine_with_the_scope(catalogue):
    assert texts({"topic": "food"}, user_id="alice") == {"curry", "pasta"}


@pytest.mark.parametrize(
    ("filters", "says"),
    [
        ({"topic": {"regex": "f.*"}}, "regex"),
        ({"topic": {}}, "empty"),
        ({"OR": {"topic": "food"}}, "OR"),
        ({"AND": []}, "AND"),
        ({"NOT": {}}, "NOT"),
        ({"NOT": "topic"}, "NOT"),
        ({"rating": {"gt": [1]}}, "rating.gt"),
        ({"topic": {"in": "food"}}, "topic.in"),
        ({"tags": {"contains": 3}}, "tags.contains"),
        ({"user_id": 5}, "user_id"),
        ({"userId": "alice"}, "filters.userId: write user_id"),  # camelCase, as a TypeScript caller writes it
        ({"OR": [{"agentId": "bot"}, {"topic": "food"}]}, "filters.agentId: write agent_id"),
        ({"createdAt": {"gte": "2024-01-01"}}, "filters.createdAt: write created_at"),
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


@pytest.fixture
def shaped(api_client):
    """Two memories whose metadata values are a list and an object, one a part of the other's."""
    for text, metadata in [
        ("both", {"tags": ["a", "b"], "obj": {"x": 1, "y": 2}}),
        ("one", {"tags": ["a"], "obj": {"x": 1}}),
        ("scalar", {"tags": "a", "obj": 1}),
    ]:
        body = {"messages": text, "user_id": "shapes", "infer": False, "metadata": metadata}
        assert api_client.post("/memories", body, format="json").status_code == 200


def kept_by_every_route(api_client, user_id: str, query: str, filters: dict) -> list[set[str]]:
    """The texts the filters keep of the user's memories, as GET /memories, POST /search and POST /v3/memories/
    each answer them."""
    listed = api_client.get("/memories", {"user_id": user_id, "filters": json.dumps(filters)})
    body = {"query": query, "user_id": user_id, "filters": filters, "threshold": 0}
    found = api_client.post("/search", body, format="json")
    platform = api_client.post("/v3/memories/", {"filters": {"user_id": user_id, **filters}}, format="json")
    kept = []
    for answer in (listed, found, platform):
        assert answer.status_code == 200, answer.json()
        kept.append({memory["memory"] for memory in answer.json()["results"]})
    return kept


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"tags": ["a"]}, {"one"}),
        ({"tags": {"eq": ["a"]}}, {"one"}),
        ({"tags": ["a", "b"]}, {"both"}),
        ({"tags": ["b", "a"]}, set()),  # a list is ordered
        ({"tags": "a"}, {"scalar"}),
        ({"obj": {"eq": {"x": 1}}}, {"one"}),
        ({"obj": {"eq": {"y": 2, "x": 1}}}, {"both"}),  # an object is not
        ({"tags": {"ne": ["a"]}}, {"both", "scalar"}),
        ({"obj": {"ne": {"x": 1}}}, {"both", "scalar"}),
        ({"tags": {"in": [["a"], "z"]}}, {"one"}),
        ({"tags": {"nin": [["a"], "z"]}}, {"both", "scalar"}),
        ({"NOT": [{"tags": ["a"]}]}, {"both", "scalar"}),
        ({"tags": {"contains": "b"}}, {"both"}),  # contains: a substring of the value's text, as before
    ],
)
def test_equality_on_a_list_or_object_value_is_exact_not_containment(api_client, shaped, filters, expected):
    assert kept_by_every_route(api_client, "shapes", "both one scalar", filters) == [expected] * 3


@pytest.fixture
def scored(api_client):
    """Memories whose metadata `score` is a list of numbers, a number, or a list of strings."""
    for text, score in [("one and nine", [1, 9]), ("five and nine", [5, 9]), ("five", 5), ("letters", ["a", "z"])]:
        body = {"messages": text, "user_id": "scores", "infer": False, "metadata": {"score": score}}
        assert api_client.post("/memories", body, format="json").status_code == 200


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # A range on a list: one element within all its bounds, not each bound met by some element.
        ({"score": {"gte": 5, "lte": 5}}, {"five and nine", "five"}),
        ({"score": {"gt": 1, "lt": 9}}, {"five and nine", "five"}),
        ({"metadata": {"score": {"gte": 5, "lte": 5}}}, {"five and nine", "five"}),
        ({"NOT": [{"score": {"gte": 5, "lte": 5}}]}, {"one and nine", "letters"}),
        ({"score": {"gt": 1, "lt": 9, "ne": 5}}, {"five and nine"}),
        ({"score": {"gte": "b", "lte": "z"}}, {"letters"}),
        # One bound alone: any element meets it, as before.
        ({"score": {"gte": 9}}, {"one and nine", "five and nine"}),
        ({"score": {"lt": 5}}, {"one and nine"}),
    ],
)
def test_a_range_on_a_list_value_needs_one_element_within_all_its_bounds(api_client, scored, filters, expected):
    assert kept_by_every_route(api_client, "scores", "five nine", filters) == [expected] * 3


# --- Mem0's v2 filter fields that are not metadata keys: keywords, memory_ids, metadata ---------------------


def ids_of(*wanted: str) -> list[str]:
    page = selectors.memories_list(principal=ADMIN, scope={}, top_k=1000)
    return [str(memory.id) for memory in page.results if memory.text in wanted]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"keywords": {"contains": "ent"}}, {"dentist"}),
        ({"keywords": {"contains": "CURRY"}}, set()),
        ({"keywords": {"icontains": "CURRY"}}, {"curry"}),
        ({"keywords": {"icontains": "p"}, "topic": "food"}, {"pasta"}),
        ({"NOT": [{"keywords": {"icontains": "a"}}]}, {"curry", "dentist", "cello", "bot note"}),
        ({"metadata": {"topic": "food"}}, {"curry", "pasta", "bot note"}),
        ({"metadata": {"topic": "food", "rating": {"gte": 4}}}, {"curry"}),
        ({"metadata": {"hobby": "*"}}, {"cello"}),
        ({"metadata": {"user_id": "alice"}}, set()),  # inside metadata, user_id is a metadata key
        ({"NOT": [{"metadata": {"topic": "food"}}]}, {"dentist", "cello", "plain"}),
    ],
)
def test_keywords_and_metadata_filter_fields_are_not_metadata_keys(catalogue, filters, expected):
    assert texts(filters) == expected


def test_memory_ids_filter_keeps_or_leaves_out_the_named_memories(catalogue):
    two = ids_of("curry", "cello")
    assert texts({"memory_ids": two}) == texts({"memory_ids": {"in": two}}) == {"curry", "cello"}
    assert texts({"memory_ids": {"nin": two}}) == {"pasta", "dentist", "plain", "bot note"}
    assert texts({"memory_ids": two, "topic": "food"}) == {"curry"}


@pytest.mark.parametrize(
    ("filters", "says"),
    [
        ({"keywords": "curry"}, 'filters.keywords looks for text in the memory.*"metadata"'),
        ({"keywords": {"eq": "curry"}}, "filters.keywords"),
        ({"keywords": {"icontains": 3}}, "filters.keywords.icontains needs a string"),
        ({"memory_ids": "not-a-list"}, "filters.memory_ids takes a list"),
        ({"memory_ids": ["nope"]}, "'nope' is not a memory id"),
        ({"memory_ids": {"eq": []}}, "filters.memory_ids takes a list"),
        ({"metadata": "food"}, "filters.metadata takes an object"),
        ({"metadata": {"topic": {"regex": "f"}}}, "regex"),
    ],
)
def test_malformed_keywords_memory_ids_or_metadata_filters_say_what_is_wrong(catalogue, filters, says):
    with pytest.raises(InvalidInput, match=says):
        texts(filters)


@pytest.mark.parametrize(
    ("filters", "matches"),
    [
        ({"created_at": {"lte": "9999-12-31"}}, True),  # the whole last day: every memory
        ({"created_at": {"gt": "9999-12-31"}}, False),  # no day follows it
        ({"created_at": "9999-12-31"}, False),
        ({"created_at": {"ne": "9999-12-31"}}, True),
        ({"created_at": {"gte": "0001-01-01"}}, True),
        ({"created_at": {"lt": "0001-01-01"}}, False),
        ({"timestamp": {"lte": "9999-12-31"}}, False),  # only memories that have a timestamp
    ],
)
def test_a_bare_date_at_the_ends_of_time_is_a_whole_day_too(catalogue, filters, matches):
    everything = texts({})
    assert texts(filters) == (everything if matches else set())


@pytest.fixture
def odd_texts(make_memory):
    make_memory("100% sure", metadata={"note": "50%_off"}, scope={"agent_id": "bot_1"})
    make_memory("a_b and c\\d", metadata={"note": "plain"})
    make_memory("Élan and élan", user_id=None, scope={"agent_id": "bot%2"})
    make_memory("nothing odd")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # An operand's LIKE wildcards and escape character are plain characters.
        ({"keywords": {"contains": "%"}}, {"100% sure"}),
        ({"keywords": {"contains": "_"}}, {"a_b and c\\d"}),
        ({"keywords": {"contains": "c\\d"}}, {"a_b and c\\d"}),
        ({"keywords": {"contains": "a%b"}}, set()),
        ({"keywords": {"contains": ""}}, {"100% sure", "a_b and c\\d", "Élan and élan", "nothing odd"}),
        ({"keywords": {"icontains": "ÉLAN AND ÉLAN"}}, {"Élan and élan"}),
        ({"keywords": {"contains": "élan and É"}}, set()),
        ({"note": {"contains": "%_"}}, {"100% sure"}),
        ({"note": {"icontains": "PLAIN"}}, {"a_b and c\\d"}),
        # A scope id or metadata key a memory does not have: neither holds nor not-holds the operand's place.
        ({"NOT": [{"note": {"contains": "%"}}]}, {"a_b and c\\d", "Élan and élan", "nothing odd"}),
        ({"agent_id": {"contains": "_"}}, {"100% sure"}),
        ({"agent_id": {"icontains": "BOT%"}}, {"Élan and élan"}),
        ({"NOT": [{"agent_id": {"contains": "bot"}}]}, {"a_b and c\\d", "nothing odd"}),
        ({"user_id": {"contains": "lic"}}, {"100% sure", "a_b and c\\d", "nothing odd"}),
    ],
)
def test_contains_finds_the_operand_as_written_in_texts_ids_and_metadata(odd_texts, filters, expected):
    assert texts(filters) == expected


def test_a_contains_filter_is_searched_for_not_matched_at_every_place_of_the_text(odd_texts):
    """LIKE '%…%' matched the operand forward from every place of each text: 'a' * 255 + 'b' cost the two lengths
    multiplied on memories of 'a's (20 of 100,000 characters: 2.9 s). The statement looks it up with STRPOS."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    filters = {"OR": [{"keywords": {"contains": "a"}}, {"keywords": {"icontains": "b"}}, {"note": {"contains": "c"}}]}
    with CaptureQueriesContext(connection) as queries:
        texts({**filters, "agent_id": {"icontains": "d"}})
    filtered = [q["sql"].upper() for q in queries if "STRPOS(" in q["sql"].upper() or " LIKE " in q["sql"].upper()]
    assert filtered
    for statement in filtered:
        assert " LIKE " not in statement
        assert statement.count("STRPOS(") == 4
