"""An add as the OSS API takes it (POST /memories), of messages whose content parts carry images or documents."""

from __future__ import annotations

import json


def add(client, *messages: dict, **body):
    """POST /memories of `messages` for alice, without inference unless `body` says otherwise."""
    body = {"messages": list(messages), "user_id": "alice", "infer": False, **body}
    return client.post("/memories", json.dumps(body), content_type="application/json")


def stored(response) -> list[str]:
    """The texts an add answered with (it must have succeeded)."""
    assert response.status_code == 200, response.json()
    return [r["memory"] for r in response.json()["results"]]
