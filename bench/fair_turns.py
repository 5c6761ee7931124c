"""One client's single requests while another client floods the server: how long does the single one wait?

Starts its own server (gunicorn, one worker of GUNICORN_THREADS=2, its own embedded PostgreSQL in a temporary
folder: mem0server/tests/server_process.py, no LLM) and stores MEMORIES memories. Then a "flooding" client (the
admin key) keeps FLOOD requests in flight at once, each a search, for --duration seconds, as a bulk job or a busy
agent does; meanwhile a "single" client (an account's own key) sends one search after another. Prints the single
client's p50/p95 latency alone and during the flood, and how many searches the flood got through.

A worker lets at most GUNICORN_THREADS requests into Django at once (mem0server/buffering.py); the others wait.
First come first served, the single client's request waited behind every request the flood had queued; by turns
(one per caller in round robin), behind at most one of them per caller.

    .venv/bin/python bench/fair_turns.py                 # 15 s, 16 flooding requests in flight
    .venv/bin/python bench/fair_turns.py --flood 32 --duration 30
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MEMORIES = 300


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def post(port: int, headers: dict, path: str, body: dict) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", path, body=json.dumps(body), headers={**headers, "Content-Type": "application/json"})
        response = conn.getresponse()
        answer = response.read()
        if response.status not in (200, 201):
            raise SystemExit(f"{path} answered {response.status}: {answer[:200]!r}")
        return json.loads(answer)
    finally:
        conn.close()


def search(port: int, headers: dict, query: str) -> float:
    started = time.perf_counter()
    post(port, headers, "/search", {"query": query, "user_id": "bench"})
    return time.perf_counter() - started


def single_client(port: int, headers: dict, seconds: float) -> list[float]:
    took, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        took.append(search(port, headers, "Which city did I move to?"))
        time.sleep(0.05)
    return took


def figures(took: list[float]) -> str:
    p50, p95 = statistics.median(took) * 1000, percentile(took, 0.95) * 1000
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms ({len(took)} searches)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flood", type=int, default=16, help="the flooding client's requests in flight")
    parser.add_argument("--duration", type=float, default=15)
    args = parser.parse_args()

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")
    django.setup()
    from mem0server.tests.server_process import ADMIN_KEY, ServerProcess

    server = ServerProcess(
        Path(tempfile.mkdtemp(prefix="mem0-bench-")), env={"GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "2"}
    )
    print("starting a server of one worker, two threads (no LLM) …", flush=True)
    try:
        server.start()
        for i in range(MEMORIES):
            server.add("bench", f"Fact number {i}: I keep bees, drink tea, have a sister and moved cities, take {i}")
        account = {"name": "Single", "email": "single@example.com", "password": "a-long-pass-1234"}
        access = post(server.port, {}, "/auth/register", account)["access_token"]
        key = post(server.port, {"Authorization": f"Bearer {access}"}, "/api-keys", {"label": "bench"})["key"]
        single, flood = {"X-API-Key": key}, {"X-API-Key": ADMIN_KEY}
        for i in range(MEMORIES):  # the account's own memories, as many as the flood searches
            post(
                server.port,
                single,
                "/memories",
                {"messages": f"I moved to city {i}", "user_id": "bench", "infer": False},
            )

        alone = single_client(server.port, single, args.duration / 3)

        stop, flooded = threading.Event(), [0]

        def flooding() -> None:
            while not stop.is_set():
                search(server.port, flood, "Where do I keep bees?")
                flooded[0] += 1

        threads = [threading.Thread(target=flooding, daemon=True) for _ in range(args.flood)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        during = single_client(server.port, single, args.duration)
        stop.set()
        for thread in threads:
            thread.join(120)
        print(f"single client alone:          {figures(alone)}")
        print(f"single client during a flood: {figures(during)}")
        print(f"flood: {args.flood} requests in flight, {flooded[0]} searches answered")
        print(f"p50 during / alone: {statistics.median(during) / statistics.median(alone):.1f}x")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
