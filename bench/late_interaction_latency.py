"""What late interaction (SEARCH_LATE_INTERACTION, on by default) adds to a search: p50/p95 of POST /search with it
off and on, and the median of the paired differences.

    .venv/bin/python bench/late_interaction_latency.py                        # bench/data, 60 questions
    .venv/bin/python bench/late_interaction_latency.py --data /tmp/realtalk.json --sessions 8

Two throw-away servers (bench/run.py's, gunicorn as `make serve` runs it, one worker each), started side by
side, each on its own temporary data folder holding the first --sessions sessions of the first conversation of
the dataset (infer=false, with their dates, so each memory's token vectors are stored as it is added). One has
SEARCH_LATE_INTERACTION=false, the other true with --candidates candidates. Each question is searched on the
first, then at once on the second (top_k 10, one request at a time, after 3 warm-up rounds), so both see the
same machine load; "added p50" is the median of those paired differences. Then the second server's stored
tokens are deleted and every question searched once more ("first search"): what a search costs when its
candidates' tokens are computed during it, as for memories stored before this version, until stored.
Prints the load average before and after: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO)]

from recall import Client, store_sessions  # noqa: E402  (bench/recall.py)
from rerank_latency import percentile  # noqa: E402
from run import Server, throwaway  # noqa: E402  (bench/run.py)


def forget_tokens(data_dir: Path) -> None:
    """Delete the stored token vectors of the server whose embedded PostgreSQL lives in `data_dir`."""
    import psycopg

    from mem0server.database import embedded_database

    database = embedded_database(data_dir)
    with psycopg.connect(host=database["HOST"], user="postgres", dbname=database["NAME"], autocommit=True) as db:
        db.execute("DELETE FROM memories_memorytokens")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(HERE / "data" / "dialogues.json"))
    parser.add_argument("--questions", type=int, default=60, help="searches per server (default 60)")
    parser.add_argument("--candidates", type=int, default=40, help="SEARCH_LATE_INTERACTION_CANDIDATES (default 40)")
    parser.add_argument("--sessions", type=int, default=4, help="sessions of the conversation stored (default 4)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    data = json.loads(Path(args.data).read_text())
    conversation = data["conversations"][0]
    questions = [q for q in data["questions"] if q["conversation"] == conversation["id"]][: args.questions]

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    root = Path(tempfile.mkdtemp(prefix="mem0-late-"))
    key = secrets.token_urlsafe(24)
    base = {**os.environ, "ADMIN_API_KEY": key, "PYTHONUNBUFFERED": "1", "GUNICORN_WORKERS": "1"}
    base.pop("DATABASE_URL", None)
    base |= {"JWT_SECRET": secrets.token_urlsafe(48), "HOST": "127.0.0.1"}
    configs = {
        "off": {"SEARCH_LATE_INTERACTION": "false"},
        "on": {"SEARCH_LATE_INTERACTION": "true", "SEARCH_LATE_INTERACTION_CANDIDATES": str(args.candidates)},
    }
    servers: dict[str, Server] = {}
    clients: dict[str, Client] = {}
    stored = 0
    try:

        def prepare(name: str) -> int:
            servers[name] = throwaway(root / name, base | configs[name])
            servers[name].start(REPO)
            clients[name] = Client(f"http://127.0.0.1:{servers[name].port}", key)
            return store_sessions(clients[name], conversation["sessions"][: args.sessions], "late-bench")

        with ThreadPoolExecutor(len(configs)) as pool:
            stored = list(pool.map(prepare, configs))[0]
        load_before = os.getloadavg()[0]

        def timed(name: str, question: dict) -> float:
            body = {"query": question["question"], "user_id": "late-bench", "top_k": 10, "threshold": 0}
            started = time.perf_counter()
            clients[name].post("/search", body)
            return (time.perf_counter() - started) * 1000

        latencies: dict[str, list[float]] = {name: [] for name in configs}
        for index, question in enumerate([*questions[:3], *questions]):
            for name in configs:
                elapsed = timed(name, question)
                if index >= 3:  # the first 3 rounds warm up (connections, caches)
                    latencies[name].append(elapsed)
        forget_tokens(root / "on")
        first = [timed("on", question) for question in questions]
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
    off, on = latencies["off"], latencies["on"]
    results = {
        "memories": stored,
        "questions": len(questions),
        "candidates": args.candidates,
        "off": {"p50_ms": statistics.median(off), "p95_ms": percentile(off, 0.95)},
        "on": {"p50_ms": statistics.median(on), "p95_ms": percentile(on, 0.95)},
        "added_p50_ms": statistics.median([b - a for a, b in zip(off, on, strict=True)]),
        "first_search": {"p50_ms": statistics.median(first), "p95_ms": percentile(first, 0.95)},
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }
    print(
        f"{stored} memories, {len(questions)} searches per server, top_k 10, {args.candidates} candidates, one client"
    )
    print(f"{'late interaction':<34} {'p50 ms':>8} {'p95 ms':>8}")
    for label, row in (
        ("off", results["off"]),
        ("on (tokens stored at add)", results["on"]),
        ("on, tokens computed in the search", results["first_search"]),
    ):
        print(f"{label:<34} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f}")
    print(f"added, median of the paired differences: {results['added_p50_ms']:+.1f} ms")
    print(f"load average (1 min): {results['load_before']:.1f} before, {results['load_after']:.1f} after")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
