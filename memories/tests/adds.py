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


# Things whose facts ("Locker 3 holds the camera") are far apart for the embedder (cosine at most 0.82 between two):
# none is taken for a near-duplicate of another.
THINGS = [
    "anchor",
    "apple",
    "bicycle",
    "blanket",
    "bottle",
    "bucket",
    "camera",
    "candle",
    "carpet",
    "chair",
    "clock",
    "compass",
    "cushion",
    "drum",
    "engine",
    "feather",
    "guitar",
    "hammer",
    "helmet",
    "kettle",
    "kite",
    "ladder",
    "lantern",
    "lemon",
    "mirror",
    "necklace",
    "notebook",
    "orange",
    "paddle",
    "pencil",
    "piano",
    "pillow",
    "radio",
    "ribbon",
    "rope",
    "saddle",
    "scarf",
    "scissors",
    "shovel",
    "spoon",
    "stamp",
    "suitcase",
    "sweater",
    "teapot",
    "telescope",
    "tent",
    "ticket",
    "towel",
    "trumpet",
    "umbrella",
    "vase",
    "violin",
    "wallet",
    "whistle",
    "window",
    "wrench",
    "yarn",
    "zipper",
    "barrel",
    "basket",
    "bench",
    "cabinet",
]
