"""The OpenAPI schema says what the memory endpoints really answer."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/memories", "/memories/{memory_id}"])
def test_deletes_are_documented_as_200_with_a_message(client, path):
    responses = client.get("/openapi.json").json()["paths"][path]["delete"]["responses"]
    assert "204" not in responses
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/MessageResponse")
