"""Webhook receivers that hang: how long do another account's queued add and its webhook delivery wait?

Starts its own server (gunicorn, its own embedded PostgreSQL in a temporary folder: mem0server/tests/server_process.py,
no LLM) and a job worker process, with WEBHOOK_TIMEOUT_SECONDS (--timeout, 10 s). One account (the admin key's) has
--webhooks webhooks on a receiver that takes connections and never answers, as a receiver that hangs does; another
account queues --adds async adds (infer=false) one after another, each once the one before finished. Each add's time
from queued to finished is the server's own (its event's created_at and finished_at): first with no delivery
waiting, then right after the first account's add queued a delivery to each of its webhooks. The other account has a
webhook on a receiver that answers at once: each of its add's delivery is timed from the memory change (the event's
created_at) to its arrival there.

Twice: with the worker as `make serve` starts it (webhook deliveries in slots of their own, WEBHOOK_WORKER_CONCURRENCY)
and as one worker on every queue (`--queues=`, as before deliveries had their own), whose WORKER_CONCURRENCY slots the
hanging deliveries fill.

    .venv/bin/python bench/hanging_webhooks.py                  # 20 webhooks, 5 adds, 10 s timeout
    .venv/bin/python bench/hanging_webhooks.py --timeout 5 --adds 3

With --throughput N instead: one account's N deliveries to a receiver that answers at once, queued before a worker
(as `make serve` starts it) starts; their rate, from the first attempt logged to the last.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import receivers  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def hanging_receiver() -> tuple[str, threading.Event]:
    """A URL whose server takes connections, reads, and never answers until the event is set."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=256)
    done = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        listener.settimeout(0.5)
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)  # kept open, unanswered
        for conn in held:
            conn.close()
        listener.close()

    threading.Thread(target=accept, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/hook", done


def answering_receiver() -> tuple[str, dict[str, float], ThreadingHTTPServer]:
    """A URL whose server answers 200 at once; the time each event id arrived (time.time())."""
    arrived: dict[str, float] = {}
    url, server = receivers.answering_receiver(
        lambda headers: arrived.setdefault(headers["X-Mem0-Event-Id"], time.time())
    )
    return url, arrived, server


def delivery_waits(server, arrived: dict[str, float], user_id: str, seen: set[str]) -> list[float]:
    """Seconds from each memory change of `user_id` not in `seen` to its delivery's arrival, once all have arrived;
    they join `seen`."""
    from mem0server.tests.server_process import wait_for

    rows = server.query(
        "SELECT h.id::text, extract(epoch FROM h.created_at) FROM memories_memoryhistory h "
        "JOIN memories_memory m ON m.id = h.memory_id WHERE m.user_id = %s",
        [user_id],
    )
    rows = [(event_id, created) for event_id, created in rows if event_id not in seen]
    wait_for(
        lambda: (
            not server.query(
                "SELECT 1 FROM procrastinate_jobs WHERE task_name = 'webhooks.deliver' AND status IN ('todo', 'doing') "
                "AND args->>'event_id' = ANY(%s)",
                [[event_id for event_id, _ in rows]],
            )
        ),
        timeout=600,
        what="the deliveries",
    )
    seen.update(event_id for event_id, _ in rows)
    missing = [event_id for event_id, _ in rows if event_id not in arrived]
    if missing:
        print(f"delivery jobs that ended without reaching the receiver: {missing}", flush=True)
    return [arrived[event_id] - float(created) for event_id, created in rows if event_id in arrived]


def throughput(server, root: Path, n: int) -> None:
    """One account's n deliveries to a receiver answering at once, run by a worker as `make serve` starts it."""
    from mem0server.tests.server_process import ADMIN_KEY, wait_for

    url, arrived, httpd = answering_receiver()
    admin = {"X-API-Key": ADMIN_KEY}
    project = call(server.port, "GET", "/v1/ping/", None, admin)["project_id"]
    hook = {"name": "answers", "url": url, "event_types": ["memory_add"]}
    call(server.port, "POST", f"/api/v1/webhooks/projects/{project}/", hook, admin)
    for first in range(0, n, 500):
        messages = [{"role": "user", "content": f"Fact {i}"} for i in range(first, min(n, first + 500))]
        call(server.port, "POST", "/memories", {"messages": messages, "user_id": "fast", "infer": False}, admin)
    worker = worker_start(server, root / "worker-throughput.log", [])
    try:
        wait_for(lambda: len(arrived) >= n, timeout=600, what=f"{n} deliveries", every=0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
        httpd.shutdown()
    [(first_at, last_at, logged)] = server.query(
        "SELECT extract(epoch FROM min(created_at)), extract(epoch FROM max(created_at)), count(*) "
        "FROM webhooks_webhookdelivery WHERE succeeded"
    )
    [(gap,)] = server.query(
        "SELECT extract(epoch FROM max(gap)) FROM (SELECT created_at - lag(created_at) OVER (ORDER BY created_at) "
        "AS gap FROM webhooks_webhookdelivery WHERE succeeded) gaps"
    )
    print(f"longest wait between two deliveries logged: {float(gap):.2f} s")
    seconds = float(last_at) - float(first_at)
    print(
        f"{logged} deliveries of one account to a receiver answering at once: {seconds:.2f} s, {logged / seconds:.0f}/s"
    )


def call(port: int, method: str, path: str, body: dict | None, headers: dict) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        payload = json.dumps(body) if body is not None else None
        conn.request(method, path, body=payload, headers={**headers, "Content-Type": "application/json"})
        response = conn.getresponse()
        answer = response.read()
        if response.status not in (200, 201, 202):
            raise SystemExit(f"{method} {path} answered {response.status}: {answer[:300]!r}")
        return json.loads(answer)
    finally:
        conn.close()


def worker_start(server, log_path: Path, extra: list[str]) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen(  # noqa: S603 (this interpreter, our manage.py)
            [sys.executable, "manage.py", "procrastinate", "worker", *extra],
            cwd=REPO,
            env=server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def queued_to_finished(server, headers: dict, n: int) -> list[float]:
    """Seconds from queued to finished of n async adds of the waiting account, one after another."""
    from mem0server.tests.server_process import wait_for

    took = []
    for i in range(n):
        body = {"messages": f"Waiting fact {i}", "user_id": "waiting", "infer": False}
        answer = call(server.port, "POST", "/v3/memories/add/", body, headers)
        event_id = answer["event_id"]
        row = wait_for(
            lambda event_id=event_id: next(
                iter(
                    server.query(
                        "SELECT extract(epoch FROM finished_at - created_at) FROM events_event "
                        "WHERE id = %s AND status = 'SUCCEEDED'",
                        [event_id],
                    )
                ),
                None,
            ),
            timeout=600,
            what="the waiting account's add",
            every=0.05,
        )
        took.append(float(row[0]))
    return took


def figures(took: list[float], what: str = "adds") -> str:
    return f"p50 {statistics.median(took):.2f} s, max {max(took):.2f} s ({len(took)} {what})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--webhooks", type=int, default=20, help="the hanging account's webhooks (at most 20)")
    parser.add_argument("--adds", type=int, default=5, help="the waiting account's adds in each phase")
    parser.add_argument("--timeout", type=float, default=10.0, help="WEBHOOK_TIMEOUT_SECONDS")
    parser.add_argument("--throughput", type=int, default=0, help="only: one account's deliveries per second")
    parser.add_argument("--slots", type=int, default=4, help="WEBHOOK_WORKER_CONCURRENCY")
    args = parser.parse_args()

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")
    django.setup()
    from mem0server.tests.server_process import ADMIN_KEY, ServerProcess, wait_for

    root = Path(tempfile.mkdtemp(prefix="mem0-bench-"))
    env = {
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "WEBHOOK_TIMEOUT_SECONDS": str(args.timeout),
        "WEBHOOK_MAX_ATTEMPTS": "1",
        "WEBHOOK_WORKER_CONCURRENCY": str(args.slots),
    }
    server = ServerProcess(root, env=env)
    url, receiver_done = hanging_receiver()
    print(f"starting a server and a job worker (WEBHOOK_TIMEOUT_SECONDS {args.timeout:g}) …", flush=True)
    results: dict[str, tuple[list[float], list[float]]] = {}
    answering_url, arrived, answering = answering_receiver()
    try:
        server.start()
        if args.throughput:
            throughput(server, root, args.throughput)
            return
        admin = {"X-API-Key": ADMIN_KEY}
        project = call(server.port, "GET", "/v1/ping/", None, admin)["project_id"]
        for i in range(args.webhooks):
            hook = {"name": f"hangs {i}", "url": url, "event_types": ["memory_add"]}
            call(server.port, "POST", f"/api/v1/webhooks/projects/{project}/", hook, admin)
        account = {"name": "Waiting", "email": "waiting@example.com", "password": "a-long-pass-1234"}
        access = call(server.port, "POST", "/auth/register", account, {})["access_token"]
        key = call(server.port, "POST", "/api-keys", {"label": "bench"}, {"Authorization": f"Bearer {access}"})
        waiting = {"X-API-Key": key["key"]}
        project = call(server.port, "GET", "/v1/ping/", None, waiting)["project_id"]
        hook = {"name": "answers", "url": answering_url, "event_types": ["memory_add"]}
        call(server.port, "POST", f"/api/v1/webhooks/projects/{project}/", hook, waiting)
        seen: set[str] = set()

        for label, extra in (("deliveries apart (make serve)", []), ("one worker on every queue", ["--queues="])):
            log_path = root / f"worker-{len(results)}.log"
            worker = worker_start(server, log_path, extra)
            try:
                wait_for(
                    lambda log_path=log_path: "embedder ready (" in log_path.read_text(errors="replace"),
                    timeout=300,
                    what="the worker ready",
                )
                alone = queued_to_finished(server, waiting, args.adds)
                alone_waits = delivery_waits(server, arrived, "waiting", seen)
                server.add("hanging", "A fact its webhooks are told of")  # one delivery per webhook, each hangs
                time.sleep(0.5)  # the worker takes the deliveries first (they are older)
                during = queued_to_finished(server, waiting, args.adds)
                during_waits = delivery_waits(server, arrived, "waiting", seen)
                results[label] = (alone, during)
                print(f"{label}: alone {figures(alone)}; beside hanging receivers {figures(during)}", flush=True)
                print(
                    f"{label}: its deliveries alone {figures(alone_waits, 'deliveries')}; beside hanging receivers "
                    f"{figures(during_waits, 'deliveries')}",
                    flush=True,
                )
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(args.timeout * 3 + 60)
                # Deliveries still queued would hang in the next phase too.
                with server.connect() as conn:
                    conn.execute(
                        "DELETE FROM procrastinate_jobs WHERE task_name = 'webhooks.deliver' AND status = 'todo'"
                    )
    finally:
        receiver_done.set()
        answering.shutdown()
        server.stop()

    apart, shared = (statistics.median(results[label][1]) for label in results)
    print(
        f"the waiting account's add beside {args.webhooks} hanging receivers, p50: one worker on every queue "
        f"{shared:.2f} s, deliveries apart {apart:.2f} s ({shared / apart:.0f}x)"
    )
    print(json.dumps({label: {"alone": a, "during": d} for label, (a, d) in results.items()}))


if __name__ == "__main__":
    main()
