"""Synchronous vs asynchronous Platform adds against a scripted LLM that takes 500 ms per call.

Self-contained: the scripted OpenAI-wire server (memories/tests/fake_openai.py) with a fixed delay on every chat
call, a throw-away gunicorn server on its own embedded PostgreSQL (mem0server/tests/server_process.py, as
`make serve` runs it: one gunicorn worker, GUNICORN_THREADS threads), and job workers started as
`manage.py procrastinate worker` processes on the same database. Every add has infer=true and its own user, so
each costs two LLM calls (its facts, then their categories; nothing stored to reconcile with) and one embedding.

Prints, for a batch of adds sent by CLIENTS concurrent clients:
- synchronous (`async_mode: false`): requests answered per second, latency p50/p95;
- asynchronous, with no worker running: requests accepted per second (the answer is an event id);
- asynchronous with 1 and then 2 workers running: time from queued to SUCCEEDED p50/p95 (the event's latency),
  and worker throughput (adds done per second, first queued to last finished).

    .venv/bin/python bench/async_bench.py                  # 48 adds per phase, 16 clients
    .venv/bin/python bench/async_bench.py --adds 100 --clients 32 --delay 0.5
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mem0server.tests.server_process import ServerProcess, wait_for  # noqa: E402
from memories.tests.fake_openai import FakeOpenAI, Reply  # noqa: E402


class SlowLLM(FakeOpenAI):
    """Every chat call answers after `delay` seconds (embeddings stay local to the server)."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def answer(self, path, body, headers):
        status, payload, reply = super().answer(path, body, headers)
        if path.endswith("/chat/completions") and not reply.delay:
            reply = Reply(**{**reply.__dict__, "delay": self.delay})
        return status, payload, reply


def check(ok: bool, what) -> None:
    if not ok:
        raise SystemExit(f"async_bench: unexpected answer: {what}")


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def fire(server: ServerProcess, texts: list[tuple[str, str]], *, clients: int, async_mode: bool):
    """POST every add with `clients` concurrent clients; (seconds for all, [(status, body, latency)])."""

    def one(item):
        user, text = item
        body = {"messages": text, "user_id": user, "infer": True, "async_mode": async_mode}
        response = server.call("POST", "/v3/memories/add/", body)
        return response.status, response.json(), response.elapsed

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(one, texts))
    return time.monotonic() - started, answers


def batch(tag: str, n: int) -> list[tuple[str, str]]:
    return [(f"{tag}-user-{i}", f"I am {tag} person {i} and I live in city {i}") for i in range(n)]


def start_workers(server: ServerProcess, count: int, concurrency: int, log_dir: Path) -> list[subprocess.Popen]:
    env = {**server.env, "WORKER_CONCURRENCY": str(concurrency)}
    workers = []
    for i in range(count):
        with open(log_dir / f"worker-{i}.log", "ab") as log:
            workers.append(
                subprocess.Popen(  # noqa: S603 (this interpreter, our manage.py)
                    [sys.executable, "manage.py", "procrastinate", "worker"],
                    cwd=REPO,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()


def live_workers(server: ServerProcess) -> int:
    with server.connect() as conn:
        return conn.execute(
            "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - interval '30 seconds'"
        ).fetchone()[0]


def events_done(server: ServerProcess, event_ids: list[str]) -> list[tuple[str, datetime, datetime]] | None:
    with server.connect() as conn:
        rows = conn.execute(
            "SELECT status, created_at, finished_at FROM events_event WHERE id = ANY(%s::uuid[])", [event_ids]
        ).fetchall()
    return rows if all(status in ("SUCCEEDED", "FAILED") for status, _, _ in rows) else None


def async_phase(server, label, *, n, clients, worker_count, concurrency, log_dir) -> dict:
    workers = start_workers(server, worker_count, concurrency, log_dir)
    try:
        # A worker is ready once registered and its embedder is loaded: one warm-up add per worker.
        # Each process registers two workers: its jobs' and its webhook deliveries' (events/worker.py).
        wait_for(lambda: live_workers(server) >= 2 * worker_count, timeout=300, what="workers registered", every=0.5)
        _, warm = fire(server, batch(f"warm{label}", worker_count), clients=worker_count, async_mode=True)
        wait_for(lambda: events_done(server, [b["event_id"] for _, b, _ in warm]), timeout=300, what="warm-up")
        seconds, answers = fire(server, batch(label, n), clients=clients, async_mode=True)
        check(all(status == 202 for status, _, _ in answers), answers[:3])
        ids = [body["event_id"] for _, body, _ in answers]
        rows = wait_for(lambda: events_done(server, ids), timeout=600, what=f"{n} events finished", every=0.2)
    finally:
        stop_workers(workers)
    latencies = [(finished - created).total_seconds() for _, created, finished in rows]
    span = (max(f for _, _, f in rows) - min(c for _, c, _ in rows)).total_seconds()
    return {
        "accepted_per_s": n / seconds,
        "succeeded": sum(status == "SUCCEEDED" for status, _, _ in rows),
        "p50": pct(latencies, 50),
        "p95": pct(latencies, 95),
        "throughput": n / span,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adds", type=int, default=48, help="adds per phase (default 48)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds per LLM call (default 0.5)")
    parser.add_argument("--worker-concurrency", type=int, default=4, help="jobs at once per worker (default 4)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")  # ServerProcess reads MODELS_DIR

    root = Path(tempfile.mkdtemp(prefix="async-bench-"))
    with SlowLLM(args.delay) as llm:
        server = ServerProcess(root / "server", env={"GUNICORN_THREADS": "8"})
        server.root.mkdir(parents=True)
        try:
            server.start()
            config = {"provider": "openai", "config": {"model": "fake", "api_key": "sk-x", "openai_base_url": llm.url}}
            configured = server.call("POST", "/configure", {"llm": config})
            check(configured.status == 200, configured)
            fire(server, batch("warm", 2), clients=2, async_mode=False)  # the server's embedder loaded

            seconds, answers = fire(server, batch("sync", args.adds), clients=args.clients, async_mode=False)
            check(all(status == 200 for status, _, _ in answers), answers[:3])
            sync_latency = [elapsed for _, _, elapsed in answers]

            seconds_q, answers_q = fire(server, batch("queued", args.adds), clients=args.clients, async_mode=True)
            check(all(status == 202 for status, _, _ in answers_q), answers_q[:3])
            accept_latency = [elapsed for _, _, elapsed in answers_q]
            with server.connect() as conn:  # no worker ran them: drop them before the measured phases
                conn.execute("DELETE FROM procrastinate_jobs WHERE status = 'todo'")
                conn.execute("DELETE FROM events_event")

            phases = {
                count: async_phase(
                    server,
                    f"w{count}",
                    n=args.adds,
                    clients=args.clients,
                    worker_count=count,
                    concurrency=args.worker_concurrency,
                    log_dir=root,
                )
                for count in (1, 2)
            }
        finally:
            server.stop()

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\nasync_bench: {args.adds} adds per phase, {args.clients} clients, LLM {args.delay * 1000:.0f} ms per call,"
    )
    print(f"gunicorn 1 worker x 8 threads, job workers x {args.worker_concurrency} jobs; load average {load}")
    print(f"{'':34}{'per second':>12}{'p50 s':>9}{'p95 s':>9}")
    print(
        f"{'sync add (answered)':34}{args.adds / seconds:12.1f}{pct(sync_latency, 50):9.3f}{pct(sync_latency, 95):9.3f}"
    )
    print(
        f"{'async add (accepted, no worker)':34}{args.adds / seconds_q:12.1f}"
        f"{pct(accept_latency, 50):9.3f}{pct(accept_latency, 95):9.3f}"
    )
    for count, phase in phases.items():
        name = f"async, {count} worker{'s' if count > 1 else ''}: done"
        print(f"{name:34}{phase['throughput']:12.1f}{phase['p50']:9.3f}{phase['p95']:9.3f}   (queued -> SUCCEEDED)")
        print(f"{'':34}{'':12}  accepted {phase['accepted_per_s']:.1f}/s, {phase['succeeded']}/{args.adds} SUCCEEDED")


if __name__ == "__main__":
    main()
