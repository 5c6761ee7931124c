"""A long document added with inference on: read in one extraction call (as before LLM_EXTRACTION_CHUNK_CHARS), or in
runs of that many characters, one after another or side by side (LLM_ADD_CONCURRENCY).

Self-contained, as bench/llm_bench.py: the scripted OpenAI-wire server (memories/tests/fake_openai.py) stands in for
the model, drawing one fact from each passage (its first sentence) and taking --call-seconds plus --fact-seconds
for each fact it writes to answer (a model's time goes mostly to what it writes: the one call writes all 120 facts,
of which 50 are kept); a throw-away database (bench_long_document_mem0) on the
configured PostgreSQL; POST /memories through Django's test client in this process. Each way adds the same document
for a user of its own (no stored memories: no decision call), then again (its facts decided against those stored,
50 a decision), and prints the calls, the prompts' characters, the facts stored and each add's time. Then, with
vision on, an add of --images images (the stand-in describing each in --call-seconds), one at a time and side by side.

    .venv/bin/python bench/long_document.py                      # 120 paragraphs (about 60,000 characters)
    .venv/bin/python bench/long_document.py --paragraphs 300 --call-seconds 2
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")


def document(paragraphs: int) -> str:
    """Paragraphs of about 500 characters, each opening with a fact of its own."""
    from memories.tests.adds import THINGS

    return "\n\n".join(
        f"Entry {n} records the {THINGS[n % len(THINGS)]} and the {THINGS[(n * 7 + 3) % len(THINGS)]} of shelf {n}. "
        + "The inventory was checked twice by the night staff and nothing else changed. " * 6
        for n in range(paragraphs)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paragraphs", type=int, default=120)
    parser.add_argument("--call-seconds", type=float, default=0.5, help="the stand-in model's time per call")
    parser.add_argument("--fact-seconds", type=float, default=0.05, help="its time per fact written")
    parser.add_argument("--images", type=int, default=10, help="images in the add of images (at most 10)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from memories import configuration
    from memories.embeddings import local_embedder
    from memories.tests.fake_openai import FakeOpenAI, default_decide

    setup_test_environment()
    settings.ADMIN_API_KEY, settings.AUTH_DISABLED = "bench-admin-key-0123456789", False
    settings.REQUEST_LOG_BACKGROUND = False  # written inline: no writer thread left holding the database at the end
    connection.settings_dict["TEST"]["NAME"] = "bench_long_document_mem0"
    # Its tests name a migrated database to copy (mem0server/tests/template_database.py) rather than migrate anew.
    connection.settings_dict["TEST"]["TEMPLATE"] = os.environ.get("TEST_DATABASE_TEMPLATE")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    fake = FakeOpenAI(dims=384).start()

    def facts(messages):
        drawn = [content.split(". ")[0] for role, content in messages if role == "user"]
        time.sleep(args.call_seconds + args.fact_seconds * len(drawn))
        return drawn

    def decide(stored, facts):
        time.sleep(args.call_seconds + args.fact_seconds * len(facts))  # a decision per fact
        return default_decide(stored, facts)

    fake.facts, fake.decide = facts, decide
    text = document(args.paragraphs)
    content = [{"type": "txt_url", "txt_url": {"url": base64.b64encode(text.encode()).decode()}}]
    ways = [
        ("one call (before)", settings.MAX_ADD_CHARS, 1),
        (f"runs of {settings.LLM_EXTRACTION_CHUNK_CHARS:,}, one at a time", settings.LLM_EXTRACTION_CHUNK_CHARS, 1),
        (
            f"runs of {settings.LLM_EXTRACTION_CHUNK_CHARS:,}, {settings.LLM_ADD_CONCURRENCY} at once",
            settings.LLM_EXTRACTION_CHUNK_CHARS,
            settings.LLM_ADD_CONCURRENCY,
        ),
    ]
    rows = []
    try:
        client = Client(headers={"X-API-Key": settings.ADMIN_API_KEY})

        def post(path: str, body: dict) -> dict:
            response = client.post(path, json.dumps(body), content_type="application/json")
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}: {response.content[:300]!r}")
            return response.json()

        model = {"model": "bench-model", "api_key": "sk-bench", "openai_base_url": fake.url, "timeout": 60}
        configuration.server_config_forget()
        post("/configure", {"llm": {"provider": "openai", "config": model}})
        local_embedder().warm_up()
        for n, (label, chunk, concurrency) in enumerate(ways):
            settings.LLM_EXTRACTION_CHUNK_CHARS, settings.LLM_ADD_CONCURRENCY = chunk, concurrency
            fake.reset_calls()
            started = time.perf_counter()
            results = post("/memories", {"messages": [{"role": "user", "content": content}], "user_id": f"u{n}"})
            seconds = time.perf_counter() - started
            prompts = [sum(len(m["content"]) for m in c.body["messages"]) for c in fake.chat_calls("extract")]
            # The same document again, into the scope that now holds its facts: decisions of 50 facts each.
            fake.reset_calls()
            started = time.perf_counter()
            post("/memories", {"messages": [{"role": "user", "content": content}], "user_id": f"u{n}"})
            again = (len(fake.chat_calls("decide")), time.perf_counter() - started)
            rows.append((label, len(prompts), sum(prompts), max(prompts), len(results["results"]), seconds, again))
        post("/configure", {"llm": {"provider": "openai", "config": {**model, "enable_vision": True}}})
        fake.describe = lambda url: time.sleep(args.call_seconds) or f"A photo of {url.rsplit('/', 1)[-1]}"
        images = []
        for n, concurrency in enumerate((1, settings.LLM_ADD_CONCURRENCY)):
            settings.LLM_ADD_CONCURRENCY = concurrency
            # Images of its own: one described before is not described again.
            urls = [f"https://example.com/{n}/{picture}.jpg" for picture in range(args.images)]
            pictures = [{"type": "image_url", "image_url": {"url": url}} for url in urls]
            started = time.perf_counter()
            post("/memories", {"messages": [{"role": "user", "content": pictures}], "user_id": f"v{n}", "infer": False})
            images.append((concurrency, time.perf_counter() - started))
    finally:
        fake.stop()
        with connection.cursor() as cursor:  # other threads' connections would stop DROP DATABASE
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(
        f"document: {args.paragraphs} paragraphs, {len(text):,} characters; the stand-in model draws a fact from each "
        f"passage and takes {args.call_seconds:g} s a call + {args.fact_seconds:g} s a fact; CPUs: {os.cpu_count()}"
    )
    base = rows[0]
    for label, calls, chars, largest, stored, seconds, (decisions, again) in rows:
        print(
            f"{label}: {calls} extraction calls, prompts {chars:,} characters (x{chars / base[2]:.2f}), the largest "
            f"{largest:,}; {stored} memories of {args.paragraphs} facts; {seconds:.2f} s (x{seconds / base[5]:.2f}); "
            f"added again: {decisions} decision calls, {again:.2f} s (x{again / base[6][1]:.2f})"
        )
    for concurrency, seconds in images:
        print(
            f"{args.images} images described, {concurrency} at once: {seconds:.2f} s (x{seconds / images[0][1]:.2f}; "
            f"the stand-in takes {args.call_seconds:g} s an image)"
        )


if __name__ == "__main__":
    main()
