"""An add with inference and categories, to a scope holding memories: its time when each LLM call takes --delay s.

Such an add asks the model three times: the facts, the decision against the scope's memories, and the categories of
what it writes. Measured two ways, alternating: one call after another (LLM_ADD_CONCURRENCY=1, as every add asked
them before the facts' categories were asked beside the decision) and as the server does by default. Prints each
way's p50 and p95 and their ratio.

Self-contained: the scripted OpenAI-wire server (memories/tests/fake_openai.py) answering each chat call after
--delay seconds, a throw-away database (bench_add_calls_mem0) on the configured PostgreSQL, the adds through
memories.services in this process (the local embedder); each add to a user of its own holding one memory.

    .venv/bin/python bench/add_calls.py                 # 8 adds each way, 0.5 s a call
    .venv/bin/python bench/add_calls.py --adds 20 --delay 1
    .venv/bin/python bench/add_calls.py --drop          # delete the throw-away database
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scratch_database import django_on_scratch_database  # noqa: E402

DB_NAME = "bench_add_calls_mem0"
CATEGORIES = {"places": "where the user lives", "work": "what the user does for a living"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adds", type=int, default=8, help="adds each way")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds the model takes to answer each call")
    parser.add_argument("--drop", action="store_true", help="delete the throw-away database and exit")
    args = parser.parse_args()
    django_on_scratch_database(DB_NAME, drop=args.drop, DB_STATEMENT_TIMEOUT_MS="0")

    from django.conf import settings

    from conftest import ADMIN
    from memories import services
    from memories.embeddings import get_embedder
    from memories.models import Memory
    from memories.tests.fake_openai import Reply, llm_configured

    get_embedder().embed(["warm up"])
    Memory.objects.all().delete()
    ways = {"one call after another": 1, "categories beside the decision": settings.LLM_ADD_CONCURRENCY}
    took: dict[str, list[float]] = {way: [] for way in ways}
    with llm_configured() as fake:
        for n in range(args.adds):
            for way, concurrency in ways.items():
                user = f"{way[:3]}-{n}"
                services.memories_add(
                    principal=ADMIN,
                    messages=[services.Message("user", f"Lives in city {n}")],
                    scope={"user_id": user},
                    infer=False,
                )
                settings.LLM_ADD_CONCURRENCY = concurrency
                fake.chat_queue.clear()
                fake.chat_queue.extend(Reply(delay=args.delay) for _ in range(3))
                calls = len(fake.chat_calls())
                started = time.perf_counter()
                services.memories_add(
                    principal=ADMIN,
                    messages=[services.Message("user", f"Works as a nurse in ward {n}")],
                    scope={"user_id": user},
                    categories=CATEGORIES,
                )
                took[way].append(time.perf_counter() - started)
                kinds = [call.kind for call in fake.chat_calls()[calls:]]
                assert sorted(kinds) == ["categorize", "decide", "extract"], kinds  # noqa: S101
    print(f"{args.adds} adds each way, each LLM call {args.delay:g} s (3 calls an add: facts, decision, categories)")
    for way, seconds in took.items():
        cuts = statistics.quantiles(seconds, n=20, method="inclusive") if len(seconds) > 1 else seconds * 19
        print(f"{way:32} p50 {statistics.median(seconds):.2f} s, p95 {cuts[18]:.2f} s")
    before, after = (statistics.median(took[way]) for way in ways)
    print(f"p50 beside / one after another: {after / before:.2f}")
    Memory.objects.all().delete()


if __name__ == "__main__":
    main()
