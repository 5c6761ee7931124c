"""What the heaviest writes a member may send cost the server, and what another client's search meets meanwhile.

Starts its own server (gunicorn, one worker of two threads, its own embedded PostgreSQL, no LLM: as
bench/fair_turns.py), registers an account and takes a member key, then for each request below, one at a time,
prints the worker's CPU seconds (from /proc, psutil) and wall time for it, and the p50 / max latency of another
account's small search sent over and over while it runs:

  - PUT /v1/batch/ of BATCH memories, each with a new text of TEXT characters (every text re-embedded), and
    of as many texts of MAX_ADD_CHARS characters in all (the most one batch may now re-embed),
  - searches of the BATCH memories with top_k 1000 and rerank (and an OR of 100 conditions), a list of them,
  - PUT /memories/{id} with a text of MAX_TEXT_CHARS characters,
  - POST /memories, infer=false, MAX_ADD_CHARS characters in TEXT-character messages, then in two messages.

    .venv/bin/python bench/heavy_writes.py [--batch 1000 --text 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def words(count: int, seed: int) -> str:
    vocabulary = ["bees", "tea", "sister", "city", "garden", "violin", "harbour", "winter", "letters", "bread"]
    out, i = [], seed
    while sum(len(w) + 1 for w in out) < count:
        i = (i * 1103515245 + 12345) % 2**31
        out.append(vocabulary[i % len(vocabulary)] + ("." if i % 11 == 0 else ""))
    return " ".join(out)[:count]


def call(server, key: str, method: str, path: str, body=None, headers=None):
    """One request to the bench's server with this key ("" for none): (status, answer)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=900)
    try:
        conn.request(
            method,
            path,
            json.dumps(body) if body is not None else None,
            {"Content-Type": "application/json", **({"X-API-Key": key} if key else {}), **(headers or {})},
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def member_with_memories(server, count: int) -> str:
    """A member registered through the API, holding `count` short memories of user "big" (infer=false), beside 20 of
    user "other" added with the admin key: the member's key."""
    account = {"name": "Member", "email": "member@example.com", "password": "a-long-pass-1234"}
    access = call(server, "", "POST", "/auth/register", account)[1]["access_token"]
    key = call(server, "", "POST", "/api-keys", {"label": "bench"}, {"Authorization": f"Bearer {access}"})[1]["key"]
    for i in range(20):
        server.add("other", f"Fact number {i}: I keep bees, drink tea, have a sister and moved cities, take {i}")
    messages = [{"role": "user", "content": f"Fact {i}: likes item {i * 7919}"} for i in range(count)]
    status, _ = call(server, key, "POST", "/memories", {"messages": messages, "user_id": "big", "infer": False})
    if status != 200:
        raise SystemExit(f"the set-up add answered {status}")
    return key


def beside_searches(server, key: str, request: tuple, other: dict) -> tuple:
    """`request` (method, path, body) sent with `key` while the admin key sends `other` to /search over and over:
    (status, answer, wall seconds, the worker's CPU seconds, what the other searches met)."""
    from mem0server.tests.server_process import ADMIN_KEY

    worker = server.worker()
    stop, latencies = threading.Event(), []

    def searching() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            call(server, ADMIN_KEY, "POST", "/search", other)
            latencies.append(time.perf_counter() - started)
            time.sleep(0.05)

    thread = threading.Thread(target=searching, daemon=True)
    before = worker.cpu_times()
    started = time.perf_counter()
    thread.start()
    status, answer = call(server, key, *request)
    wall = time.perf_counter() - started
    after = worker.cpu_times()
    stop.set()
    thread.join(60)
    cpu = (after.user + after.system) - (before.user + before.system)
    searches = (
        f"{len(latencies)} searches meanwhile, p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms"
        if latencies
        else "no search answered meanwhile"
    )
    return status, answer, wall, cpu, searches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--text", type=int, default=900, help="characters of each batch item's new text")
    parser.add_argument("--env", action="append", default=[], help="NAME=value for the server")
    args = parser.parse_args()

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")
    django.setup()
    from django.conf import settings

    from mem0server.tests.server_process import ServerProcess

    env = {"GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "2"} | dict(e.split("=", 1) for e in args.env)
    server = ServerProcess(Path(tempfile.mkdtemp(prefix="mem0-bench-")), env=env)
    print("starting a server of one worker, two threads (no LLM) …", flush=True)
    try:
        server.start()
        key = member_with_memories(server, args.batch)
        listed = call(server, key, "GET", f"/memories?user_id=big&top_k={args.batch}")[1]
        ids = [m["id"] for m in (listed["results"] if isinstance(listed, dict) else listed)]
        print(f"{len(ids)} memories to update", flush=True)
        other = {"query": "Where do I keep bees?", "user_id": "other"}

        def measured(label: str, method: str, path: str, body) -> None:
            status, answer, wall, cpu, searches = beside_searches(server, key, (method, path, body), other)
            detail = "" if status == 200 else " " + str((answer or {}).get("detail", ""))[:100]
            print(f"  {label:<52} {status} wall {wall:6.2f} s, worker CPU {cpu:6.2f} s; {searches}{detail}", flush=True)

        measured("search alone (baseline)", "POST", "/search", {"query": "bees", "user_id": "other"})
        batch = [{"memory_id": i, "text": words(args.text, n)} for n, i in enumerate(ids)]
        measured(f"PUT /v1/batch/ {len(batch)} x {args.text} chars", "PUT", "/v1/batch/", {"memories": batch})
        each = settings.MAX_ADD_CHARS // len(ids)
        batch = [{"memory_id": i, "text": words(each, n)} for n, i in enumerate(ids)]
        measured(f"PUT /v1/batch/ {len(batch)} x {each} chars", "PUT", "/v1/batch/", {"memories": batch})
        clauses = [{"topic": f"t{i}"} for i in range(99)] + [{"user_id": "big"}]
        wide = {"query": "bees by the river", "user_id": "big", "top_k": 1000, "rerank": True}
        measured("search, top_k 1000, rerank", "POST", "/search", wide)
        measured("search, top_k 1000, rerank, OR of 100", "POST", "/search", wide | {"filters": {"OR": clauses}})
        measured("list, top_k 1000", "GET", "/memories?user_id=big&top_k=1000", None)
        long_text = words(100_000, 7)
        measured("PUT /memories/{id}, 100,000 chars", "PUT", f"/memories/{ids[0]}", {"text": long_text})
        half = settings.MAX_ADD_CHARS // 2
        big = [{"role": "user", "content": words(half, 3)}, {"role": "user", "content": words(half, 5)}]
        count = settings.MAX_ADD_CHARS // args.text
        many = [{"role": "user", "content": words(args.text, 11 + n)} for n in range(count)]
        measured(
            f"add infer=false, {count} messages of {args.text} chars",
            "POST",
            "/memories",
            {"messages": many, "user_id": "big3", "infer": False},
        )
        measured(
            f"add infer=false, 2 messages of {half} chars",
            "POST",
            "/memories",
            {"messages": big, "user_id": "big2", "infer": False},
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
