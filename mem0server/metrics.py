"""Prometheus metrics: requests by route and status, latency histograms, and memories stored.

Under gunicorn every worker is its own process, so in-memory counters would each hold a share of the traffic
and a scrape would see whichever worker answered it. prometheus-client's multiprocess mode fixes that:
with PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py sets it before forking), each worker writes its counts to
files there and a scrape sums them all, dead workers' counts included, so counters never go backwards while
the server runs. (The request-log table was the other candidate; it is pruned by retention, can be switched
off, is written a moment later by a background thread, and would need its rows aggregated on every scrape.)
Memories stored is read from the database at scrape time, so every worker reports the same value.
"""

from __future__ import annotations

import os
import threading
import time

from prometheus_client import REGISTRY as PROCESS_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Not metered: the scrape itself and static files.
SKIPPED_PREFIXES = ("/metrics", "/static/", "/favicon")

REQUESTS = Counter(
    "mem0_http_requests",
    "HTTP requests answered, by method, route (the URL pattern, ids folded) and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "mem0_http_request_duration_seconds",
    "Time from a request reaching Django to its response, by method and route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def route_of(request) -> str:
    """The URL pattern that answered ("/memories/<str:memory_id>"), so label values stay few."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return "unmatched"
    return "/" + match.route.lstrip("^").rstrip("$")


def request_observe(*, method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its latency."""
    method = method if method in KNOWN_METHODS else "other"
    REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    LATENCY.labels(method=method, route=route).observe(seconds)


_in_flight = 0
_in_flight_lock = threading.Lock()


def requests_in_flight() -> int:
    """Requests inside Django in this process at this moment (the caller's own included)."""
    return _in_flight


class MetricsMiddleware:
    """Outermost, so the latency covers every other middleware and 4xx answered before the view count too.

    It also counts the requests in progress in this process (requests_in_flight).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        global _in_flight
        started = time.perf_counter()
        with _in_flight_lock:
            _in_flight += 1
        try:
            response = self.get_response(request)
        finally:
            with _in_flight_lock:
                _in_flight -= 1
        if not request.path.startswith(SKIPPED_PREFIXES):
            request_observe(
                method=request.method,
                route=route_of(request),
                status=response.status_code,
                seconds=time.perf_counter() - started,
            )
        return response


class MemoriesStoredCollector:
    """mem0_memories_stored, counted in the database when scraped (the same answer from every worker)."""

    def collect(self):
        from memories.models import Memory  # Django models load after this module

        gauge = GaugeMetricFamily("mem0_memories_stored", "Memories stored, all accounts.")
        gauge.add_metric([], Memory.objects.count())
        yield gauge


class JobQueueCollector:
    """The background-job queue, read from the database when scraped: jobs due and not started, jobs running,
    the age of the oldest PENDING async add, and workers with a recent heartbeat (WORKER_STALLED_SECONDS): two in
    a worker process, one running its jobs and one its webhook deliveries, one in a process run with --queues
    (events/worker.py)."""

    QUERY = """
        SELECT
            (SELECT count(*) FROM procrastinate_jobs
              WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())),
            (SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'),
            (SELECT greatest(extract(epoch FROM clock_timestamp() - min(created_at)), 0) FROM events_event
              WHERE status = 'PENDING'),
            (SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat >= now() - make_interval(secs => %s))
    """

    def collect(self):
        from django.conf import settings
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(self.QUERY, [settings.WORKER_STALLED_SECONDS])
            waiting, running, oldest, workers = cursor.fetchone()
        for name, text, value in (
            ("mem0_jobs_waiting", "Background jobs due and not started yet.", waiting),
            ("mem0_jobs_running", "Background jobs a worker is running.", running),
            ("mem0_events_oldest_pending_seconds", "Age of the oldest PENDING async add (0: none).", float(oldest)),
            (
                "mem0_workers_alive",
                "Job workers with a recent heartbeat: two in a worker process (its jobs, its webhook deliveries), "
                "one with --queues.",
                workers,
            ),
        ):
            gauge = GaugeMetricFamily(name, text)
            gauge.add_metric([], value)
            yield gauge


class _ProcessCollector:
    """This process's own registry (single-process mode: runserver, tests)."""

    def collect(self):
        yield from PROCESS_REGISTRY.collect()


def metrics_text(*, multiproc_dir: str | None = None) -> bytes:
    """The exposition text: every worker's counts in multiprocess mode, this process's otherwise."""
    multiproc_dir = multiproc_dir or os.environ.get(MULTIPROC_ENV)
    registry = CollectorRegistry(auto_describe=True)
    if multiproc_dir:
        multiprocess.MultiProcessCollector(registry, path=multiproc_dir)
    else:
        registry.register(_ProcessCollector())
    registry.register(MemoriesStoredCollector())
    registry.register(JobQueueCollector())
    return generate_latest(registry)
