"""What the first requests after a start cost: a throw-away server (bench/run.py's, gunicorn as `make serve` runs
it, --workers workers) is started, and once every worker is listening and has its embedder loaded, rounds of
--workers requests at once (GET /memories with the admin key) are sent, so that each worker is likely to take
one of the first round. Prints each round's slowest request and, over all, how many took over 100 ms against
the median: a worker's first request used to import every view (the URL configuration) itself.

    .venv/bin/python bench/cold_start.py                      # this checkout
    .venv/bin/python bench/cold_start.py --code /tmp/before   # another checkout of this repository (its .venv)
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE)]

from run import Server, throwaway  # noqa: E402  (bench/run.py)

PATH = "/memories?user_id=cold-start"


def timed_get(port: int, path: str, key: str) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    try:
        conn.request("GET", path, headers={"X-API-Key": key, "Connection": "close"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            sys.exit(f"error: GET {path} answered {response.status}")
        return (time.perf_counter() - started) * 1000
    finally:
        conn.close()


def wait_for_workers(server: Server, workers: int, timeout: float = 180) -> None:
    """Until the log says every worker is listening and one embedder is ready; no request is sent meanwhile."""
    log = server.data_dir / "server.log"
    deadline = time.monotonic() + timeout
    while True:
        text = log.read_text(errors="replace") if log.exists() else ""
        if text.count("ASGI server listening") >= workers and "embedder ready" in text:
            return
        if time.monotonic() > deadline or (server.process and server.process.poll() is not None):
            sys.exit(f"error: the workers did not come up; see {log}")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", type=Path, default=HERE.parent, help="the checkout to serve (default: this one)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()

    key = secrets.token_urlsafe(24)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MEM0_DATA_DIR")}
    env |= {"ADMIN_API_KEY": key, "JWT_SECRET": secrets.token_urlsafe(32), "GUNICORN_WORKERS": str(args.workers)}
    folder = Path(tempfile.mkdtemp(prefix="mem0-cold-")) / "data"
    server = throwaway(folder, env)
    try:
        server.start(args.code, wait=False)
        wait_for_workers(server, args.workers)
        time.sleep(2)  # the other workers' embedders: they load beside the first, in about as long
        rounds = []
        with ThreadPoolExecutor(args.workers) as pool:
            for _ in range(args.rounds):
                rounds.append(list(pool.map(lambda _: timed_get(server.port, PATH, key), range(args.workers))))
    finally:
        server.stop()
        shutil.rmtree(folder.parent, ignore_errors=True)

    every = [ms for batch in rounds for ms in batch]
    print(f"code: {args.code}  workers: {args.workers}  load average: {os.getloadavg()[0]:.2f}")
    print("slowest request per round (ms): " + ", ".join(f"{max(batch):.0f}" for batch in rounds))
    slow = [ms for ms in every if ms > 100]
    print(
        f"requests over 100 ms: {len(slow)} of {len(every)} (max {max(every):.0f} ms); "
        f"median {statistics.median(every):.1f} ms"
    )


if __name__ == "__main__":
    main()
