"""Slow clients against a running server: can a few connections that trickle their requests, or read nothing of
their answers, hold it?

N "slow clients" each open a connection and send a POST /search request one byte per `--interval` seconds
(headers first, then a body announced by Content-Length): the attack of a client on a bad link, or of one that
does it on purpose. With `--stalled`, each instead asks for a large download (the 3.9 MB source map of the API
docs' ReDoc bundle, a static file anyone may fetch) with a small receive buffer and reads nothing of it. Meanwhile
one normal client sends GET /healthz (or, with --api-key, POST /search) on fresh
connections, one after the other, and records each latency. The script prints the normal client's latency
before the slow clients start (the baseline) and while they trickle, and how many of its requests failed.

    # shell 1: a server, e.g. `make serve` (gunicorn as configured in gunicorn.conf.py)
    # shell 2:
    .venv/bin/python bench/slow_clients.py --port 8000 --slow 10 --duration 20
    .venv/bin/python bench/slow_clients.py --port 8000 --api-key m0sk_... --json bench/results/slow_clients.json
    .venv/bin/python bench/slow_clients.py --port 8000 --stalled --slow 4 --duration 20

Under a server whose workers read a request synchronously (gunicorn's gthread: 2 workers x 4 threads), ten
slow clients occupy every thread and the normal client waits until they give up or finish.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import sys
import threading
import time
from pathlib import Path


def slow_client(host: str, port: int, interval: float, stop: threading.Event, sent: list[int]) -> None:
    body = json.dumps({"query": "slow " * 200, "user_id": "slow-client"}).encode()
    request = (
        f"POST /search HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    while not stop.is_set():  # a new connection whenever the server drops one
        try:
            with socket.create_connection((host, port), timeout=5) as sock:
                for i in range(len(request)):
                    if stop.wait(interval):
                        return
                    sock.sendall(request[i : i + 1])
                    sent[0] += 1
        except OSError:
            if stop.wait(interval):
                return


STALLED_PATH = "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js.map"


def stalled_client(host: str, port: int, stop: threading.Event, opened: list[int]) -> None:
    """Asks for a large download and reads nothing of it, until stopped."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(5)
            sock.connect((host, port))
            sock.sendall(f"GET {STALLED_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            opened[0] += 1
            stop.wait()
    except OSError:
        return


def normal_request(host: str, port: int, api_key: str | None, timeout: float) -> float:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    started = time.perf_counter()
    try:
        if api_key:
            body = json.dumps({"query": "what does the user like", "user_id": "bench-normal"})
            headers = {"X-API-Key": api_key, "Content-Type": "application/json"}
            conn.request("POST", "/search", body=body, headers=headers)
        else:
            conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        if response.status >= 500 and not (response.status == 503 and not api_key):
            raise OSError(f"status {response.status}")
        return time.perf_counter() - started
    finally:
        conn.close()


def measure(host: str, port: int, api_key: str | None, seconds: float, timeout: float) -> dict:
    latencies: list[float] = []
    failures = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            latencies.append(normal_request(host, port, api_key, timeout))
        except OSError:
            failures += 1
        time.sleep(0.1)
    return summarize(latencies, failures)


def summarize(latencies: list[float], failures: int) -> dict:
    if not latencies:
        return {"requests": 0, "failures": failures}
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "failures": failures,
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-key", help="measure POST /search with this key (default: GET /healthz, open)")
    parser.add_argument("--slow", type=int, default=10, help="slow clients (default 10)")
    parser.add_argument("--stalled", action="store_true", help="slow clients read nothing of a large download")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between their bytes (default 1)")
    parser.add_argument("--baseline", type=float, default=5, help="seconds measured before they start")
    parser.add_argument("--duration", type=float, default=20, help="seconds measured while they trickle")
    parser.add_argument("--timeout", type=float, default=30, help="the normal client's timeout per request")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    print(f"baseline: {args.baseline:.0f} s without slow clients ...", file=sys.stderr, flush=True)
    before = measure(args.host, args.port, args.api_key, args.baseline, args.timeout)

    stop, sent = threading.Event(), [0]
    if args.stalled:
        target, arguments = stalled_client, (args.host, args.port, stop, sent)
    else:
        target, arguments = slow_client, (args.host, args.port, args.interval, stop, sent)
    threads = [threading.Thread(target=target, args=arguments, daemon=True) for _ in range(args.slow)]
    for thread in threads:
        thread.start()
    time.sleep(min(2.0, args.interval * 2))  # every slow client has connected and sent its first bytes
    kind = "reading nothing of a download" if args.stalled else f"one byte every {args.interval:g} s"
    print(
        f"{args.slow} slow clients, {kind}; measuring {args.duration:.0f} s ...",
        file=sys.stderr,
        flush=True,
    )
    during = measure(args.host, args.port, args.api_key, args.duration, args.timeout)
    stop.set()
    for thread in threads:
        thread.join(args.interval + 6)

    figures = {
        "what": "POST /search" if args.api_key else "GET /healthz",
        "slow_clients": args.slow,
        **(
            {"stalled_downloads": sent[0]} if args.stalled else {"interval_s": args.interval, "bytes_trickled": sent[0]}
        ),
        "before": before,
        "during": during,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
