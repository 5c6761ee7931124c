"""What each reranker adds to a search's latency: p50/p95 of POST /search with none / llm / cross-encoder / api /
late-interaction.

    .venv/bin/python bench/rerank_latency.py                   # 40 questions per reranker, one client
    .venv/bin/python bench/rerank_latency.py --questions 80 --candidates 50

One throw-away server per reranker (bench/run.py's, gunicorn as `make serve` runs it, one worker each),
started side by side, each on its own temporary data folder holding the first --sessions sessions of the
first conversation of bench/data/dialogues.json (infer=false, with their dates). Each question is then
searched on each server twice in a row, rerank=false then rerank=true (top_k 10, one request at a time,
after 3 warm-up rounds): "added p50" is the median of those paired differences, the reranker's own cost in
the same process and database, whatever the machine's load does meanwhile. "none" (no reranker configured,
so rerank=true only says so) shows the noise floor. The rerankers here are stand-ins, so the figures are
our side's cost, not a real model's:
- llm: memories/tests/fake_openai.py on loopback, which answers the listwise prompt at once (a real LLM adds
  its own generation time: seconds for a hosted model, see bench/llm_bench.py for the provider path);
- cross-encoder: a tiny randomly initialised BERT (1 layer, 16 wide) written to a temporary folder; a real
  one (MiniLM-L6, 22M parameters) costs far more CPU per pair;
- api: memories/tests/fake_rerank.py on loopback (a real API adds its network round trip and model time);
- late-interaction is the real thing: the token vectors each memory stored when it was added, against the
  query's from the bundled MiniLM (searches here have SEARCH_LATE_INTERACTION=false, so it reorders them).
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
from run import Server, throwaway  # noqa: E402  (bench/run.py)

from memories.tests.fake_openai import FakeOpenAI  # noqa: E402
from memories.tests.fake_rerank import FakeRerankAPI, tiny_cross_encoder  # noqa: E402


def minilm_shaped_cost(data: dict, candidates: int, repeats: int = 7) -> None:
    """In-process: a cross-encoder shaped like ms-marco-MiniLM-L6-v2 (6 layers, 384 wide; random weights and a
    word vocabulary from the dataset, so a pair has about as many tokens as with the real tokenizer) scoring
    the `candidates` longest turns of the first conversation on one torch thread, as a server worker would."""
    import re

    import torch
    from sentence_transformers import CrossEncoder

    torch.set_num_threads(1)
    turns = [t["text"] for s in data["conversations"][0]["sessions"] for t in s["turns"]]
    words = sorted({w for text in turns for w in re.findall(r"\w+", text.lower())})
    folder = Path(tempfile.mkdtemp(prefix="minilm-shaped-"))
    try:
        shape = {"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536}
        tiny_cross_encoder(folder, tokens=words, **shape)
        model = CrossEncoder(str(folder), device="cpu", max_length=256)
        pairs = [
            ("When did Maya take the macrame class?", f"2023-03-24 (Friday): {t}")
            for t in sorted(turns, key=len)[-candidates:]
        ]
        tokens = statistics.median(len(model.tokenizer(*pair)["input_ids"]) for pair in pairs)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            model.predict(pairs, batch_size=len(pairs), show_progress_bar=False)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"MiniLM-L6-shaped cross-encoder (random weights), {candidates} pairs of ~{tokens:.0f} tokens, 1 thread: "
        f"median {statistics.median(times):.0f} ms, min {min(times):.0f} ms (load {os.getloadavg()[0]:.1f})"
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(HERE / "data" / "dialogues.json"))
    parser.add_argument("--questions", type=int, default=40, help="searches per reranker (default 40)")
    parser.add_argument("--candidates", type=int, default=20, help="SEARCH_RERANK_CANDIDATES (default 20)")
    parser.add_argument("--sessions", type=int, default=4, help="sessions of the conversation stored (default 4)")
    parser.add_argument(
        "--minilm-shaped", action="store_true", help="only time a MiniLM-L6-sized cross-encoder in this process"
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    data = json.loads(Path(args.data).read_text())
    if args.minilm_shaped:
        minilm_shaped_cost(data, args.candidates)
        return
    conversation = data["conversations"][0]
    questions = [q for q in data["questions"] if q["conversation"] == conversation["id"]][: args.questions]

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    root = Path(tempfile.mkdtemp(prefix="mem0-rerank-"))
    key = secrets.token_urlsafe(24)
    fake_llm, fake_api = FakeOpenAI().start(), FakeRerankAPI().start()
    model_dir = tiny_cross_encoder(root / "tiny-cross-encoder")
    base = {**os.environ, "ADMIN_API_KEY": key, "PYTHONUNBUFFERED": "1", "GUNICORN_WORKERS": "1"}
    base.pop("DATABASE_URL", None)
    base |= {"JWT_SECRET": secrets.token_urlsafe(48), "HOST": "127.0.0.1"}
    base["SEARCH_RERANK_CANDIDATES"] = str(args.candidates)
    # Searches rank by fused scores alone, so that the late-interaction reranker has something to do (with
    # SEARCH_LATE_INTERACTION on, searches are in its order already; bench/late_interaction_latency.py times that).
    base["SEARCH_LATE_INTERACTION"] = "false"
    configs = {
        "none": {"SEARCH_RERANKER": ""},
        "llm": {
            "SEARCH_RERANKER": "llm",
            "OPENAI_BASE_URL": fake_llm.url,
            "OPENAI_API_KEY": "sk-bench",
            "LLM_MODEL": "fake-model",
        },
        "cross-encoder": {"SEARCH_RERANKER": "cross-encoder", "SEARCH_RERANK_MODEL_PATH": str(model_dir)},
        "api": {"SEARCH_RERANKER": "api", "SEARCH_RERANK_URL": fake_api.url, "SEARCH_RERANK_API_KEY": "rk-bench"},
        "late-interaction": {"SEARCH_RERANKER": "late-interaction"},
    }
    results: dict[str, dict] = {}
    servers: dict[str, Server] = {}
    try:
        # One server per reranker, started side by side, each with the same memories. On each server every
        # question is searched twice in a row, rerank=false then rerank=true: the difference is the
        # reranker's own cost, paired, in the same process and database, whatever the machine's load does.
        def prepare(name: str) -> None:
            servers[name] = throwaway(root / name, base | configs[name])
            servers[name].start(REPO)
            clients[name] = Client(f"http://127.0.0.1:{servers[name].port}", key)
            store_sessions(clients[name], conversation["sessions"][: args.sessions], "rerank-bench")

        clients: dict[str, Client] = {}
        with ThreadPoolExecutor(len(configs)) as pool:
            list(pool.map(prepare, configs))
        results["load_before"] = os.getloadavg()[0]
        latencies: dict[tuple[str, bool], list[float]] = {(name, on): [] for name in configs for on in (False, True)}
        applied: dict[str, set[str]] = {name: set() for name in configs}
        for index, question in enumerate([*questions[:3], *questions]):
            for name, client in clients.items():
                for on in (False, True):
                    body = {"query": question["question"], "user_id": "rerank-bench", "top_k": 10, "threshold": 0}
                    body["rerank"] = on
                    started = time.perf_counter()
                    answer = client.post("/search", body)
                    elapsed = (time.perf_counter() - started) * 1000
                    if index < 3:  # the first 3 rounds warm up (model loads, connections)
                        continue
                    latencies[(name, on)].append(elapsed)
                    if on:
                        outcome = answer.get("rerank") or {}
                        applied[name].add("applied" if outcome.get("applied") else str(outcome.get("detail")))
        for name in configs:
            off, on = latencies[(name, False)], latencies[(name, True)]
            results[name] = {
                "p50_ms": statistics.median(on),
                "p95_ms": percentile(on, 0.95),
                "without_p50_ms": statistics.median(off),
                "added_p50_ms": statistics.median([b - a for a, b in zip(off, on, strict=True)]),
                "outcome": sorted(applied[name]),
            }
    finally:
        for server in servers.values():
            server.stop()
        fake_llm.stop()
        fake_api.stop()
        shutil.rmtree(root, ignore_errors=True)
    results["load_after"] = os.getloadavg()[0]
    print(f"{len(questions)} searches per reranker, top_k 10, {args.candidates} candidates reranked, one client")
    print(f"{'reranker':<16} {'p50 ms':>8} {'p95 ms':>8} {'off p50':>8} {'added p50':>10}  outcome")
    for name in configs:
        row = results[name]
        print(
            f"{name:<16} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} {row['without_p50_ms']:>8.1f}"
            f" {row['added_p50_ms']:>+10.1f}  {'; '.join(row['outcome'])}"
        )
    print(f"load average (1 min): {results['load_before']:.1f} before, {results['load_after']:.1f} after")
    print("stand-ins: llm = fake OpenAI server, cross-encoder = tiny random BERT, api = fake rerank server;")
    print("late-interaction is the real model")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
