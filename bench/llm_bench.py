"""LLM calls, embedding calls and server-side time outside the LLM, per add with inference on.

Self-contained: starts the scripted OpenAI-wire server (memories/tests/fake_openai.py) on 127.0.0.1,
creates a throw-away database (bench_llm_mem0) on the configured PostgreSQL, points the server's
configuration at the fake through POST /configure, and drives POST /memories through Django's test
client in this process (the whole middleware/view/service/database path, no network in front).
The fake answers at once, so the time left is ours: database, embedding, prompt building, parsing.

    .venv/bin/python bench/llm_bench.py                      # 200 adds, local embedder
    .venv/bin/python bench/llm_bench.py --embedder openai    # embeddings from the fake server too
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")

CITIES = ["Berlin", "Munich", "Lisbon", "Porto", "Oslo", "Kyoto", "Austin", "Lyon"]
JOBS = ["dentist", "nurse", "teacher", "pilot", "chef", "lawyer"]
FOODS = ["tea", "coffee", "sushi", "ramen", "tacos", "curry", "olives", "figs", "pesto", "kimchi"]
INSTRUMENTS = ["cello", "piano", "violin", "drums", "guitar"]
PETS = ["a dog named Rex", "a cat named Miso", "a parrot named Kiwi", "two rabbits"]


def conversation_facts(rng: random.Random, known: set[str]) -> list[str]:
    """Two facts a user might state: new ones, changes of earlier ones, repeats and retractions."""
    makers = [
        lambda: f"Lives in {rng.choice(CITIES)}",
        lambda: f"Works as a {rng.choice(JOBS)}",
        lambda: f"Likes {rng.choice(FOODS)}",
        lambda: f"Plays the {rng.choice(INSTRUMENTS)}",
        lambda: f"Has {rng.choice(PETS)}",
    ]
    facts = [rng.choice(makers)() for _ in range(2)]
    liked = sorted(f for f in known if f.startswith("Likes "))
    if liked and rng.random() < 0.15:
        facts[1] = "No longer " + liked[0][0].lower() + liked[0][1:]
    return facts


class Meter:
    """Per-add counters filled by wrappers around the LLM client and the embedders."""

    def __init__(self) -> None:
        self.local = threading.local()

    def reset(self) -> None:
        self.local.counts = collections.Counter()
        self.local.seconds = collections.Counter()

    def wrap(self, cls, name: str, key: str) -> None:
        original = getattr(cls, name)
        meter = self

        def timed(self, *args, **kwargs):
            started = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                meter.local.counts[key] += 1
                meter.local.seconds[key] += time.perf_counter() - started

        setattr(cls, name, timed)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adds", type=int, default=200)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--embedder", choices=["local", "openai"], default="local")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from memories import configuration
    from memories.embeddings import LocalEmbedder, OpenAIEmbedder, local_embedder
    from memories.llm import LLMClient
    from memories.tests.fake_openai import FakeOpenAI
    from requestlog.writer import writer

    setup_test_environment()
    settings.ADMIN_API_KEY, settings.AUTH_DISABLED = "bench-admin-key-0123456789", False
    connection.settings_dict["TEST"]["NAME"] = "bench_llm_mem0"
    # Its tests name a migrated database to copy (mem0server/tests/template_database.py) rather than migrate anew.
    connection.settings_dict["TEST"]["TEMPLATE"] = os.environ.get("TEST_DATABASE_TEMPLATE")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    meter = Meter()
    meter.reset()
    meter.wrap(LLMClient, "_chat", "llm")
    meter.wrap(LocalEmbedder, "_rows", "embed")  # embed and embed_rows (vectors with their tokens) both
    meter.wrap(OpenAIEmbedder, "_embed_batch", "embed")
    rng = random.Random(args.seed)
    fake = FakeOpenAI(dims=384).start()
    try:
        client = Client(headers={"X-API-Key": settings.ADMIN_API_KEY})

        def post(path: str, body: dict):
            response = client.post(path, json.dumps(body), content_type="application/json")
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}: {response.content[:300]!r}")
            return response.json()

        remote = {"api_key": "sk-bench", "openai_base_url": fake.url}
        changes = {"llm": {"provider": "openai", "config": {"model": "bench-model", "timeout": 10, **remote}}}
        if args.embedder == "openai":
            changes["embedder"] = {
                "provider": "openai",
                "config": {"model": "bench-embed", "embedding_dims": 384, **remote},
            }
        configuration.server_config_forget()
        post("/configure", changes)
        local_embedder().warm_up()
        post("/memories", {"messages": "Warm-up message", "user_id": "warm-up"})  # first-call costs

        totals, outside, inside, embedding, llm_calls, embed_calls = [], [], [], [], [], []
        events: collections.Counter = collections.Counter()
        known: dict[str, set[str]] = collections.defaultdict(set)
        fake.reset_calls()
        for n in range(args.adds):
            user = f"user-{n % args.users}"
            facts = conversation_facts(rng, known[user])
            meter.reset()
            started = time.perf_counter()
            results = post("/memories", {"messages": [{"role": "user", "content": f} for f in facts], "user_id": user})
            total = time.perf_counter() - started
            for result in results["results"]:
                events[result["event"]] += 1
                if result["event"] in ("ADD", "UPDATE"):
                    known[user].add(result["memory"])
                if result["event"] in ("UPDATE", "DELETE"):
                    known[user].discard(result.get("previous_memory") or result["memory"])
            totals.append(total * 1000)
            inside.append(meter.local.seconds["llm"] * 1000)
            outside.append((total - meter.local.seconds["llm"]) * 1000)
            embedding.append(meter.local.seconds["embed"] * 1000)
            llm_calls.append(meter.local.counts["llm"])
            embed_calls.append(meter.local.counts["embed"])
        fake_chat, fake_embed = len(fake.chat_calls()), len(fake.embed_calls())
    finally:
        fake.stop()
        writer.flush()  # the request log's rows of these adds, before its connection is ended below
        # Other threads' connections to the throw-away database (the request log's writer, the pool's) would stop
        # DROP DATABASE ("being accessed by other users"), and with it the figures below.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        connection.creation.destroy_test_db(old_name, verbosity=0)

    n = args.adds
    print(f"adds: {n} over {args.users} users, 2 facts each; embedder: {args.embedder}; CPUs: {os.cpu_count()}")
    print("events:", ", ".join(f"{event} {count}" for event, count in sorted(events.items())))
    print(
        f"LLM calls per add: mean {statistics.mean(llm_calls):.2f}, max {max(llm_calls)} "
        f"(fake server saw {fake_chat} chat calls)"
    )
    print(
        f"embedding calls per add: mean {statistics.mean(embed_calls):.2f}, max {max(embed_calls)}"
        + (f" (fake server saw {fake_embed} embedding requests)" if args.embedder == "openai" else "")
    )
    for label, values in (
        ("server time per add", totals),
        ("  inside LLM calls (fake answers at once)", inside),
        ("  outside the LLM", outside),
        ("    of which embedding", embedding),
    ):
        print(f"{label}: p50 {pct(values, 50):.1f} ms, p95 {pct(values, 95):.1f} ms")


if __name__ == "__main__":
    main()
