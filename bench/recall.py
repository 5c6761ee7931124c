"""Retrieval quality of POST /search: recall of the turns that answer each question of a dialogue dataset.

    .venv/bin/python bench/recall.py                          # throw-away server (like bench/run.py), own dataset
    .venv/bin/python bench/recall.py --url http://127.0.0.1:8000 --api-key KEY
    .venv/bin/python bench/recall.py --url ... --api-key ... --prefix r1 --skip-ingest   # search again only

Each conversation is stored in its own scope (user_id `<prefix>-<conversation id>`) through POST /memories
with infer=false: one memory per turn, its text "Speaker: text", metadata {"turn_id", "session_id", "date"},
and the session's date as `timestamp`, when the conversation happened, as a user storing dated conversations
sends it (`--no-timestamps` leaves it out). Then every question is searched (top_k 50, or
--top-k, threshold 0) in its conversation's scope, one request at a time, and the turn ids of the results are compared
with the question's evidence. Prints R@1/5/10/20/50 (the share of a question's evidence turns found in the
top k, averaged over questions), hit@10 (at least one evidence turn in the top 10) overall and per
category, and search latency p50/p95 as the client saw it.

Dataset layout (JSON; bench/data/dialogues.json is ours, made by bench/data/make_dialogues.py):

    {"conversations": [{"id": "c1", "speakers": ["Maya", "Jonas"],
                        "sessions": [{"id": "c1s1", "date": "2023-03-31T16:00:00Z",
                                      "turns": [{"id": "c1s1t1", "speaker": "Maya", "text": "..."}]}]}],
     "questions": [{"id": "c1q1", "conversation": "c1", "question": "...",
                    "evidence": ["c1s1t3"], "category": "single-hop"}]}

Turn ids are unique across the file. Standard library only (plus bench/run.py for the throw-away server).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
KS = (1, 5, 10, 20, 50)


class Client:
    """One keep-alive connection per thread."""

    def __init__(self, url: str, api_key: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.headers = {"Authorization": f"Token {api_key}", "Content-Type": "application/json"}
        self.local = threading.local()

    def post(self, path: str, body: dict) -> dict:
        for attempt in range(3):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
            try:
                conn.request("POST", path, json.dumps(body), self.headers)
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise
                continue
            if response.status >= 300:
                raise RuntimeError(f"POST {path}: {response.status} {payload[:300]!r}")
            return json.loads(payload)
        raise AssertionError("unreachable")


def store_sessions(client: Client, sessions: list[dict], user_id: str) -> int:
    """Store each turn of `sessions` as "Speaker: text" with its session's date as timestamp (infer=false), one
    request at a time; how many (the latency benchmarks' set-up)."""
    count = 0
    for session in sessions:
        for turn in session["turns"]:
            body = {
                "messages": [{"role": "user", "content": f"{turn['speaker']}: {turn['text']}"}],
                "user_id": user_id,
                "infer": False,
                "timestamp": session["date"],
            }
            client.post("/memories", body)
            count += 1
    return count


def ingest(client: Client, data: dict, prefix: str, timestamps: bool, threads: int, date_prefix: bool = False) -> None:
    jobs = []
    for conv in data["conversations"]:
        for session in conv["sessions"]:
            for turn in session["turns"]:
                text = f"{turn['speaker']}: {turn['text']}"
                if date_prefix:
                    text = f"[{session['date'][:10]}] {text}"
                body = {
                    "messages": [{"role": "user", "content": text}],
                    "user_id": f"{prefix}-{conv['id']}",
                    "infer": False,
                    "metadata": {"turn_id": turn["id"], "session_id": session["id"], "date": session["date"]},
                }
                if timestamps:
                    body["timestamp"] = session["date"]
                jobs.append(body)
    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(lambda body: client.post("/memories", body), jobs):
            pass
    print(f"ingested {len(jobs)} turns in {time.monotonic() - started:.1f} s", file=sys.stderr)


def evaluate(client: Client, data: dict, prefix: str, rerank: bool, limit: int | None, top_k: int = max(KS)) -> dict:
    questions = data["questions"][:limit] if limit else data["questions"]
    per_category: dict[str, list[dict]] = defaultdict(list)
    latencies = []
    reranked = set()
    for question in questions:
        body = {
            "query": question["question"],
            "user_id": f"{prefix}-{question['conversation']}",
            "top_k": top_k,
            "threshold": 0,
        }
        if rerank:
            body["rerank"] = True
        started = time.perf_counter()
        answer = client.post("/search", body)
        latencies.append((time.perf_counter() - started) * 1000)
        outcome = answer.get("rerank") or {}
        reranked.add(str(outcome.get("by")) if outcome.get("applied") else f"not reranked: {outcome.get('detail')}")
        found = [(hit.get("metadata") or {}).get("turn_id") for hit in answer["results"]]
        evidence = set(question["evidence"])
        scores = {f"R@{k}": len(evidence & set(found[:k])) / len(evidence) for k in KS if k <= top_k}
        if top_k >= 10:
            scores["hit@10"] = float(bool(evidence & set(found[:10])))
        per_category[question["category"]].append(scores)
        per_category["all"].append(scores)
    latencies.sort()
    return {
        "questions": len(questions),
        "recall": {
            category: {name: sum(s[name] for s in rows) / len(rows) for name in rows[0]} | {"n": len(rows)}
            for category, rows in sorted(per_category.items(), key=lambda item: item[0] != "all")
        },
        "search_ms": {
            "p50": statistics.median(latencies),
            "p95": latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))],
        },
        "reranked_by": sorted(reranked),
        "rerank": rerank,
        "top_k": top_k,
    }


def report(result: dict) -> None:
    names = [name for name in [*(f"R@{k}" for k in KS), "hit@10"] if name in result["recall"]["all"]]
    print(f"{'category':<12} {'n':>4} " + " ".join(f"{name:>6}" for name in names))
    for category, row in result["recall"].items():
        print(f"{category:<12} {row['n']:>4} " + " ".join(f"{row[name]:>6.3f}" for name in names))
    ms = result["search_ms"]
    print(f"search latency (one client): p50 {ms['p50']:.1f} ms, p95 {ms['p95']:.1f} ms")
    if result["rerank"]:
        print(f"rerank: {'; '.join(result['reranked_by'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(HERE / "data" / "dialogues.json"))
    parser.add_argument("--url", help="a running server; without it a throw-away server is started")
    parser.add_argument("--api-key", default=os.environ.get("ADMIN_API_KEY", ""))
    parser.add_argument("--prefix", help="user_id prefix of the scopes (default: random)")
    parser.add_argument("--skip-ingest", action="store_true", help="the scopes of --prefix are already stored")
    parser.add_argument(
        "--timestamps",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="send each session's date as `timestamp` (default: yes)",
    )
    parser.add_argument("--date-prefix", action="store_true", help="store turns as '[YYYY-MM-DD] Speaker: text'")
    parser.add_argument("--rerank", action="store_true", help="search with rerank=true")
    parser.add_argument("--questions", type=int, help="only the first N questions")
    parser.add_argument(
        "--top-k",
        type=int,
        default=max(KS),
        help="results asked for (default 50): late interaction and rerankers rescore max(top_k, their candidates)",
    )
    parser.add_argument("--threads", type=int, default=4, help="client threads while ingesting (default 4)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    data = json.loads(Path(args.data).read_text())
    prefix = args.prefix or f"recall-{secrets.token_hex(3)}"

    server = data_dir = None
    url, key = args.url, args.api_key
    if not url:
        sys.path.insert(0, str(HERE))
        from run import Server, free_port  # bench/run.py

        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        data_dir = Path(tempfile.mkdtemp(prefix="mem0-recall-"))
        key = secrets.token_urlsafe(24)
        env = {**os.environ, "MEM0_DATA_DIR": str(data_dir), "ADMIN_API_KEY": key, "PYTHONUNBUFFERED": "1"}
        env.pop("DATABASE_URL", None)
        env |= {"JWT_SECRET": secrets.token_urlsafe(48), "HOST": "127.0.0.1", "PORT": str(free_port())}
        server = Server(data_dir, env)
        url = f"http://127.0.0.1:{server.port}"
    try:
        if server:
            server.start(HERE.parent)
        client = Client(url, key)
        if not args.skip_ingest:
            ingest(client, data, prefix, args.timestamps, args.threads, args.date_prefix)
        result = evaluate(client, data, prefix, args.rerank, args.questions, args.top_k)
    finally:
        if server:
            server.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
    result |= {"dataset": args.data, "prefix": prefix, "timestamps": args.timestamps}
    report(result)
    print(f"(scopes: user_id {prefix}-<conversation>)", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
