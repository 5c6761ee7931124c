"""Load test for a running mem0server: many concurrent clients, a realistic mix, and a consistency check.

It starts nothing itself (`make bench` starts a server for it). For example:

    ADMIN_API_KEY=change-me-to-a-long-random-string make serve          # shell 1
    .venv/bin/python bench/load.py --api-key change-me-to-a-long-random-string --json bench/results/load.json

`--clients` client threads (default 100) each keep one keep-alive connection and, for `--duration` seconds
(default 60), send one request after another: 60% POST /search, 25% POST /memories (one message,
infer=false), 10% GET /memories/{id}, 5% DELETE /memories/{id}. Before that, each client adds `--seed`
memories, unmeasured.

Users: the clients share a pool of `--users` users (default: one for every 5 clients), so several clients
write, delete and search the same user's memories at the same moment, as several sessions of one agent
would; one user per client would never put two requests on one scope. Each client gets and deletes only
memories it added itself, so what it expects stays exact: it tracks the ones it believes exist (added
minus deleted), and a 404 for one of them is an error.

Errors: non-2xx answers, timeouts (`--timeout`, default 30 s), connection errors, a 404 for a memory the
client believes exists, a get answering another text than the one stored, and a search result from
another user. At the end, for every user, the memories the clients believe exist must be exactly the
ones listed by GET /memories (all pages): a believed memory that is missing is a lost write, a stored one
nobody added is a phantom. Adds carry a `load_ref` metadata tag, so a memory left by a request that
failed (e.g. timed out after storing) is told apart from a phantom.

Any error or inconsistency makes the exit status 1. Standard library only; run it from the repository
root or anywhere (it imports the texts of bench/api_bench.py).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_bench import QUERIES, memory_text  # noqa: E402  (a sibling script, not a package)

MIX = (("search", 60), ("add", 25), ("get", 10), ("delete", 5))
OPS = [name for name, _ in MIX]
MAX_ERROR_EXAMPLES = 10


class Client:
    """One keep-alive connection; reopened after a connection error (which is counted, never retried)."""

    def __init__(self, url: str, api_key: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.timeout = parts.hostname or "127.0.0.1", parts.port or 80, timeout
        self.prefix = parts.path.rstrip("/")
        self.headers = {"X-API-Key": api_key, "Content-Type": "application/json"}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method: str, path: str, body: object | None = None) -> tuple[int, bytes]:
        payload = json.dumps(body).encode() if body is not None else None
        try:
            self.conn.request(method, self.prefix + path, body=payload, headers=self.headers)
            response = self.conn.getresponse()
            return response.status, response.read()
        except BaseException:
            self.conn.close()  # the next request opens a new connection
            raise

    def close(self) -> None:
        self.conn.close()


@dataclass
class ClientState:
    """What one client did and what it believes: memory id -> text, for the memories it added."""

    user: str
    rng: random.Random
    believed: dict[str, str] = field(default_factory=dict)
    # Adds and deletes whose outcome is unknown (the request failed): load_ref tags and memory ids.
    uncertain_refs: set[str] = field(default_factory=set)
    uncertain_ids: set[str] = field(default_factory=set)
    latencies: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPS})
    statuses: dict[str, Counter] = field(default_factory=lambda: {op: Counter() for op in OPS})
    errors: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def error(self, op: str, kind: str, detail: str) -> None:
        self.errors[f"{op}: {kind}"] += 1
        if len(self.examples) < MAX_ERROR_EXAMPLES:
            self.examples.append(f"{op} ({self.user}): {kind}: {detail[:300]}")


def add(client: Client, state: ClientState) -> tuple[int, bytes, str | None]:
    """POST one memory; on success the client believes in it."""
    text, ref = memory_text(state.rng), uuid.uuid4().hex[:12]
    body = {"messages": [{"role": "user", "content": text}], "user_id": state.user, "infer": False}
    state.uncertain_refs.add(ref)  # until the answer says it was stored
    status, raw = client.request("POST", "/memories", body | {"metadata": {"load_ref": ref}})
    if status == 200:
        state.uncertain_refs.discard(ref)
        for item in json.loads(raw)["results"]:
            state.believed[item["id"]] = item["memory"]
    return status, raw, None


def search(client: Client, state: ClientState) -> tuple[int, bytes, str | None]:
    status, raw = client.request("POST", "/search", {"query": state.rng.choice(QUERIES), "user_id": state.user})
    if status == 200:
        others = {hit.get("user_id") for hit in json.loads(raw)["results"]} - {state.user}
        if others:
            return status, raw, f"wrong scope: results of {sorted(others)}"
    return status, raw, None


def get(client: Client, state: ClientState) -> tuple[int, bytes, str | None]:
    memory_id = state.rng.choice(list(state.believed))
    status, raw = client.request("GET", f"/memories/{memory_id}")
    if status == 404:
        return status, raw, f"404 for {memory_id}, which it believes exists"
    if status == 200 and json.loads(raw).get("memory") != state.believed[memory_id]:
        return status, raw, f"{memory_id} answered another text than the one stored"
    return status, raw, None


def delete(client: Client, state: ClientState) -> tuple[int, bytes, str | None]:
    memory_id = state.rng.choice(list(state.believed))
    text = state.believed.pop(memory_id)
    try:
        status, raw = client.request("DELETE", f"/memories/{memory_id}")
    except BaseException:
        state.uncertain_ids.add(memory_id)
        raise
    if status == 404:
        return status, raw, f"404 for {memory_id}, which it believes exists"
    if status != 200:
        state.believed[memory_id] = text  # refused: still there
    return status, raw, None


RUN = {"add": add, "search": search, "get": get, "delete": delete}


def one_request(client: Client, state: ClientState, op: str) -> None:
    if op in ("get", "delete") and not state.believed:
        op = "add"  # nothing of its own to read or delete yet
    started = time.perf_counter()
    try:
        status, raw, problem = RUN[op](client, state)
    except TimeoutError as exc:
        state.error(op, "timeout", str(exc))
        status, problem = None, None
    except (OSError, http.client.HTTPException) as exc:
        state.error(op, "connection", f"{type(exc).__name__}: {exc}")
        status, problem = None, None
    except ValueError as exc:  # a 2xx answer that is not the JSON it should be
        state.error(op, "unreadable answer", f"{type(exc).__name__}: {exc}")
        status, problem = None, None
    state.latencies[op].append((time.perf_counter() - started) * 1000)
    if status is None:
        return
    state.statuses[op][status] += 1
    if problem:
        state.error(op, "inconsistent", problem)
    elif not 200 <= status < 300:
        state.error(op, f"HTTP {status}", raw.decode(errors="replace"))


def stored_memories(client: Client, user: str) -> dict[str, dict]:
    """Every memory of `user`, following next_cursor."""
    found: dict[str, dict] = {}
    cursor = None
    while True:
        query = {"user_id": user, "top_k": 1000} | ({"cursor": cursor} if cursor else {})
        status, raw = client.request("GET", "/memories?" + urlencode(query))
        if status != 200:
            raise RuntimeError(f"listing the memories of {user} failed with {status}: {raw[:300]!r}")
        page = json.loads(raw)
        found.update((m["id"], m) for m in page["results"])
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def consistency(args: argparse.Namespace, states: list[ClientState]) -> dict:
    """Per user: the memories the clients believe exist against the ones the server lists."""
    client = Client(args.url, args.api_key, args.timeout)
    lost, phantom, ambiguous = [], [], []
    believed_total = stored_total = 0
    for user in sorted({s.user for s in states}):
        mine = [s for s in states if s.user == user]
        believed = {memory_id for s in mine for memory_id in s.believed}
        refs = {ref for s in mine for ref in s.uncertain_refs}
        ids = {memory_id for s in mine for memory_id in s.uncertain_ids}
        stored = stored_memories(client, user)
        believed_total, stored_total = believed_total + len(believed), stored_total + len(stored)
        lost += [f"{user}/{memory_id}" for memory_id in sorted(believed - set(stored))]
        for memory_id in sorted(set(stored) - believed):
            ref = (stored[memory_id].get("metadata") or {}).get("load_ref")
            (ambiguous if memory_id in ids or ref in refs else phantom).append(f"{user}/{memory_id}")
    client.close()
    return {
        "users": len({s.user for s in states}),
        "believed": believed_total,
        "stored": stored_total,
        "lost_writes": len(lost),
        "phantoms": len(phantom),
        "left_by_failed_requests": len(ambiguous),
        "examples": (lost + phantom + ambiguous)[:MAX_ERROR_EXAMPLES],
    }


def percentile_row(name: str, latencies: list[float], wall: float, errors: int) -> dict:
    if len(latencies) > 1:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    else:
        cuts = (latencies or [0.0]) * 99
    return {
        "op": name,
        "requests": len(latencies),
        "errors": errors,
        "req_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(cuts[49], 1),
        "p95_ms": round(cuts[94], 1),
        "p99_ms": round(cuts[98], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key", default=os.environ.get("ADMIN_API_KEY", ""), help="default: $ADMIN_API_KEY")
    parser.add_argument("--clients", type=int, default=100, help="concurrent clients (default 100)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    parser.add_argument("--users", type=int, help="users the clients share (default: clients / 5)")
    parser.add_argument("--seed", type=int, default=5, help="memories each client adds before the run (default 5)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds before a request counts as timed out")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    args.users = args.users or max(1, args.clients // 5)
    if args.clients < 1 or args.duration <= 0 or args.users < 1 or args.seed < 0:
        parser.error("--clients, --duration and --users must be positive, --seed at least 0")

    run_id = uuid.uuid4().hex[:8]
    states = [
        ClientState(user=f"load-{run_id}-u{i % args.users:03d}", rng=random.Random(f"{run_id}-{i}"))
        for i in range(args.clients)
    ]
    try:
        status, raw = Client(args.url, args.api_key, args.timeout).request("GET", "/memories?user_id=load-check")
    except (OSError, http.client.HTTPException) as exc:
        sys.exit(f"error: cannot reach mem0server at {args.url}: {exc}")
    if status != 200:
        sys.exit(f"error: {args.url} answered {status} to GET /memories (pass --api-key?): {raw[:200]!r}")

    weights = [weight for _, weight in MIX]
    start_line = threading.Barrier(args.clients + 1)
    timing = {"end": float("inf")}

    def run_client(state: ClientState) -> None:
        client = Client(args.url, args.api_key, args.timeout)
        for _ in range(args.seed):
            one_request(client, state, "add")
        for op in OPS:  # the seed is not part of the measurement
            state.latencies[op].clear()
            state.statuses[op].clear()
        # Clients that seeded early wait here for the slowest, longer than the server keeps an idle connection
        # open (GUNICORN_KEEPALIVE, 5 s): their first request would go out on a socket the server has closed.
        # The timed run starts on a fresh connection instead.
        client.close()
        start_line.wait()
        while time.monotonic() < timing["end"]:
            one_request(client, state, state.rng.choices(OPS, weights)[0])
        client.close()

    threads = [threading.Thread(target=run_client, args=(state,), daemon=True) for state in states]
    print(
        f"{args.clients} clients on {args.users} users, {args.seed} seed memories each, then {args.duration:.0f} s",
        file=sys.stderr,
    )
    for thread in threads:
        thread.start()
    start_line.wait()  # every client has seeded
    load_before = os.getloadavg()
    started = time.monotonic()
    timing["end"] = started + args.duration
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    load_after = os.getloadavg()

    errors = sum((s.errors for s in states), Counter())
    rows = []
    for op in OPS:
        latencies = [ms for s in states for ms in s.latencies[op]]
        rows.append(percentile_row(op, latencies, wall, sum(n for k, n in errors.items() if k.startswith(op + ":"))))
    every = [ms for s in states for op in OPS for ms in s.latencies[op]]
    total = percentile_row("all", every, wall, sum(errors.values()))
    check = consistency(args, states)
    examples = [example for s in states for example in s.examples][:MAX_ERROR_EXAMPLES]

    print(
        f"\nmem0server at {args.url}: {os.cpu_count()} cores, {args.clients} clients, {args.users} users, {wall:.1f} s"
    )
    print(
        f"load average (1/5/15 min): before {' '.join(f'{x:.2f}' for x in load_before)}, "
        f"after {' '.join(f'{x:.2f}' for x in load_after)}"
    )
    print(f"{'op':<8}{'requests':>9}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for r in [*rows, total]:
        print(
            f"{r['op']:<8}{r['requests']:>9}{r['errors']:>8}{r['req_per_s']:>9}"
            f"{r['p50_ms']:>9}{r['p95_ms']:>9}{r['p99_ms']:>9}"
        )
    print(
        f"consistency: {check['users']} users, {check['believed']} memories believed, {check['stored']} stored, "
        f"{check['lost_writes']} lost writes, {check['phantoms']} phantoms, "
        f"{check['left_by_failed_requests']} left by failed requests"
    )
    for kind, n in sorted(errors.items()):
        print(f"  error {kind}: {n}", file=sys.stderr)
    for example in examples + check["examples"]:
        print(f"  e.g. {example}", file=sys.stderr)

    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        figures = {
            "url": args.url,
            "cores": os.cpu_count(),
            "clients": args.clients,
            "users": args.users,
            "seed_per_client": args.seed,
            "duration_s": args.duration,
            "wall_s": round(wall, 1),
            "mix": dict(MIX),
            "load_before": load_before,
            "load_after": load_after,
            "results": rows,
            "total": total,
            "errors": dict(errors),
            "error_examples": examples,
            "consistency": check,
        }
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    if total["errors"] or check["lost_writes"] or check["phantoms"] or check["left_by_failed_requests"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
