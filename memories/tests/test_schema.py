"""The OpenAPI schema says what the memory endpoints really answer."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/memories", "/memories/{memory_id}"])
def test_deletes_are_documented_as_200_with_a_message(client, path):
    responses = client.get("/openapi.json").json()["paths"][path]["delete"]["responses"]
    assert "204" not in responses
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/MessageResponse")


def test_messages_are_a_string_or_a_list_of_the_message_component(client):
    document = client.get("/openapi.json").json()
    messages = document["components"]["schemas"]["AddMemoryRequestRequest"]["properties"]["messages"]
    text, listed = messages["oneOf"]
    assert text["type"] == "string"
    assert text["maxLength"] == 100_000
    # The $ref once pointed at a component that was never registered, so no client could build a body from it.
    component = listed["items"]["$ref"].removeprefix("#/components/schemas/")
    assert set(document["components"]["schemas"][component]["properties"]) == {"role", "content", "name"}


def test_search_filters_describe_the_in_nin_limit_as_a_total(client):
    # MAX_FILTER_LIST counts the values of all of a filter's in/nin lists together (memories/filters.py); the
    # description said "per in/nin list", but values split over several lists add up.
    document = client.get("/openapi.json").json()
    description = document["components"]["schemas"]["SearchRequestRequest"]["properties"]["filters"]["description"]
    assert "1000 values in all its in/nin lists together" in description
    assert "per in/nin list" not in description


def test_score_details_say_a_memorys_time_is_first_the_one_its_text_names(client):
    # Since migration 0015 a memory's time is the one its text names ("Yesterday I met Maya"); the description said
    # its timestamp, else when it was stored, and that no candidate of the time also gives null.
    document = client.get("/openapi.json").json()
    description = document["components"]["schemas"]["ScoreDetails"]["properties"]["temporal"]["description"]
    assert "the time its own text names" in description
    assert "no candidate is of that time" in description
