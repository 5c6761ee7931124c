"""gunicorn settings for mem0server: `make serve` and the Docker image use this file.

This is gunicorn's configuration, not Django's, so it reads its own environment variables:

    HOST                       interface to bind (default 127.0.0.1; the Docker image sets 0.0.0.0)
    PORT                       port to bind (default 8000)
    GUNICORN_WORKERS           worker processes (default: WEB_CONCURRENCY, else sized from the usable
                               cores and memory, see `layout` below; at most 8 on the embedded PostgreSQL). Each loads
                               its own copy of the embedding model (~300 MB resident on ONNX Runtime, ~500 MB
                               on torch): count memory too.
    WEB_CONCURRENCY            the platform-wide name for the same thing (Heroku, Render, …)
    GUNICORN_THREADS           requests each worker runs in Django at once (default 8), each in a thread of
                               its own; requests mostly wait on the database, an LLM or the worker's embedding
                               batch, so threads are cheap concurrency, and more of them put more texts into
                               each batch. More requests wait their turn (mem0server/buffering.py)
    EMBEDDER_THREADS           CPU threads per worker for the local embedder (default on ONNX Runtime: 2, or
                               1 on one core; on torch: the usable cores shared out between the workers);
                               read by Django's settings too
    GUNICORN_TIMEOUT           seconds a client may pause while sending a request body, and a worker's event loop
                               may go without its heartbeat before the worker is restarted (default 120). It does
                               not bound a request running in Django's threads: LLM_TIMEOUT and
                               DB_STATEMENT_TIMEOUT_MS do
    GUNICORN_GRACEFUL_TIMEOUT  seconds running requests get to finish on shutdown or reload (default 30)
    GUNICORN_KEEPALIVE         seconds an idle keep-alive connection stays open (default 5; keep it
                               above your reverse proxy's upstream idle timeout if it reuses connections)

    PROMETHEUS_MULTIPROC_DIR   where the workers keep their GET /metrics counts (default: a fresh directory per
                               start, in /dev/shm when it exists); emptied when gunicorn starts

gunicorn's own FORWARDED_ALLOW_IPS (default 127.0.0.1,::1) and GUNICORN_CMD_ARGS work as documented.
"""

import os
import shutil
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from mem0server.env_file import env_file_load

# The .env file's variables (MEM0_ENV_FILE, default .env beside manage.py) before gunicorn's own are read here; the
# workers inherit them, and Django's settings read the same file for what is not set.
try:
    env_file_load()
except ImproperlyConfigured as exc:
    raise SystemExit(str(exc)) from None


def _int(name: str, default: int, *fallbacks: str, high: int | None = None) -> int:
    for key in (name, *fallbacks):
        raw = os.environ.get(key, "").strip()
        if raw:
            try:
                value = int(raw)
            except ValueError:
                raise SystemExit(f"{key} must be a whole number, not {raw!r}.") from None
            if value < 1:
                raise SystemExit(f"{key} must be 1 or more, not {value}.")
            if high is not None and value > high:
                raise SystemExit(f"{key} must be {high} or less, not {value}.")
            return value
    return default


# gunicorn's asyncio worker over Django's ASGI application: the event loop reads requests, so a client that
# sends slowly holds a socket, not a thread (mem0server/asgi.py, bench/slow_clients.py); its own error
# answers are JSON (mem0server/gunicorn_worker.py).
wsgi_app = "mem0server.asgi:application"
bind = f"{os.environ.get('HOST', '').strip() or '127.0.0.1'}:{_int('PORT', 8000, high=65535)}"


def usable_cores() -> int:
    """Cores this process may run on (a container's CPU set, taskset), not the host's count."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS has no sched_getaffinity
        return os.cpu_count() or 1


def usable_memory_mb(proc: Path = Path("/proc"), cgroup: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Memory this server may still take, in MB: the kernel's MemAvailable, or what is left under this process's
    cgroup limit (a container's; cgroup v2, else v1) when that is less; None where neither can be read (macOS)."""
    available = None
    try:
        lines = (proc / "meminfo").read_text().splitlines()
        available = next(int(line.split()[1]) // 1024 for line in lines if line.startswith("MemAvailable:"))
    except (OSError, ValueError, StopIteration):
        pass
    for limit_file, used_file in (
        ("memory.max", "memory.current"),
        ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes"),
    ):
        try:
            text = (cgroup / limit_file).read_text().strip()
            limit = 2**63 if text == "max" else int(text)  # v1 writes "no limit" as a number near 2**63
            used = int((cgroup / used_file).read_text())
        except (OSError, ValueError):
            continue
        if limit < 2**60:
            left = max(0, limit - used) // 2**20
            available = left if available is None else min(available, left)
        break
    return available


# What one worker holds, in MB (its own copy of the model, Python and Django): measured on ONNX Runtime, about 250 MB
# of its own and 300 resident (README "Sizing"); on torch about 500.
WORKER_MB = {"onnx": 300, "torch": 500}
# The embedded PostgreSQL (no DATABASE_URL) takes 97 connections and each worker may hold 11 (its pool of
# DB_POOL_MAX_SIZE 10 and one listening, mem0server/connection_budget.py): by default at most 8 workers on it, the
# default of 4 cores, leaving 9 for the job worker and manage.py. (A job worker may open 16 at its defaults, but its
# jobs' threads seldom all query at once, nor do the web workers' 8 threads use all 10 of their pool.)
EMBEDDED_DATABASE_MAX_WORKERS = 8


def layout(
    cores: int, runtime: str = "onnx", *, embedded_database: bool = False, memory_mb: int | None = None
) -> tuple[int, int]:
    """Default (workers, embedder threads per worker) for `cores`: on ONNX Runtime two workers per core (about
    300 MB each) with two embedder threads each when there are two cores or more; on torch one worker per core
    (about 500 MB each) with one torch thread. Fewer where half of `memory_mb` (the memory available at start) does
    not hold them, and at most 8 on the embedded PostgreSQL (EMBEDDED_DATABASE_MAX_WORKERS).

    Measured on 2 cores (README "Sizing"): each worker batches its requests' texts; the Python side of a
    request (HTTP, DRF, the database driver) runs under one GIL per process, so more workers keep the cores
    busy (on ONNX Runtime, 4 workers searched 81 req/s at 8 clients where 2 did 63, and 6 no more than 4). A
    second ONNX Runtime thread halves a lone query's model time while the other core is free, and costs
    nothing under load, as its threads sleep rather than spin (1 client: search p95 29.2-29.6 ms against
    32.9-34.9; 8 and 32 clients: the same requests/s). Torch threads spin-wait for each other when the
    machine is busy (1 worker x 2 torch threads seeded about 5x slower than 2 x 1 on a loaded 2-core machine).
    """
    if runtime == "onnx":
        workers, threads = max(1, cores) * 2, min(2, max(1, cores))
    else:
        workers, threads = max(1, cores), 1
    if embedded_database:
        workers = min(workers, EMBEDDED_DATABASE_MAX_WORKERS)
    if memory_mb is not None:  # half of it for the workers: the job worker, PostgreSQL and the machine keep the rest
        workers = max(1, min(workers, memory_mb // 2 // WORKER_MB[runtime]))
    return workers, threads


_cores = usable_cores()
_runtime = os.environ.get("EMBEDDER_RUNTIME", "").strip().lower() or "onnx"  # as in Django's settings
_embedded = not os.environ.get("DATABASE_URL", "").strip()  # as in Django's settings
_memory_mb = usable_memory_mb()
_default_workers, _default_embedder_threads = layout(
    _cores, _runtime, embedded_database=_embedded, memory_mb=_memory_mb
)
workers = _int("GUNICORN_WORKERS", 0, "WEB_CONCURRENCY") or _default_workers
worker_class = "mem0server.gunicorn_worker.JSONErrorsASGIWorker"
# Read by mem0server/buffering.py (requests in Django at once per worker); not gunicorn's `threads`, which the
# asgi worker does not use. Checked here so a bad value stops gunicorn with a clear line.
_threads = _int("GUNICORN_THREADS", 8)
# Embedder threads unless set; the workers' Django settings read this variable. Torch threads follow a worker
# count that was set (they spin-wait when there are more than cores); ONNX Runtime's sleep when idle.
if not os.environ.get("EMBEDDER_THREADS", "").strip():
    os.environ["EMBEDDER_THREADS"] = str(
        _default_embedder_threads if workers == _default_workers or _runtime == "onnx" else max(1, _cores // workers)
    )
timeout = _int("GUNICORN_TIMEOUT", 120)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Not preloaded: each worker loads the model itself; sharing torch state across fork() is fragile.
preload_app = False

# Access log to stdout (with the request id the app puts in X-Request-ID), errors to stderr. The path without
# its query string, as in the request log: a query can carry user ids, or a key a client sent there by mistake.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s "%(a)s"'
# The User-Agent (and any atom an operator's format adds) without a key a client put there, as the request log's
# `client` shows it.
logger_class = "mem0server.access_log.AccessLogger"

# gunicorn >= 25.1 opens a control socket under $XDG_RUNTIME_DIR or ~/.gunicorn by default; nothing
# here uses it, and a read-only or shared home (containers, several servers) should not need to be writable.
control_socket_disable = True

# Worker heartbeats go through a temp file; on Docker's overlay filesystem that can stall, RAM does not.
if Path("/dev/shm").is_dir():  # noqa: S108  (a directory choice, not a temp file name)
    worker_tmp_dir = "/dev/shm"  # noqa: S108

proc_name = "mem0server"


# GET /metrics across workers: prometheus-client's multiprocess mode (mem0server/metrics.py says why). The
# variable is set here, in the master, so every worker inherits it before it imports prometheus_client.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
_own_metrics_dir = not _metrics_dir
if _own_metrics_dir:
    _shm = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
    _metrics_dir = tempfile.mkdtemp(prefix="mem0server-metrics-", dir=_shm)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def on_starting(server):
    """Counts start from zero with each server start: the files of an earlier run are removed."""
    path = Path(_metrics_dir)
    if path.is_dir():
        for stale in path.glob("*.db"):
            stale.unlink()
    path.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    """A dead worker's counters stay summed; its live gauges (none today) are dropped."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    # The per-start directory made above; one the operator named is left in place.
    if _own_metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)


# gunicorn counts the workers it starts (a worker's `age`); the first of this start, or of the last reload, is this one.
_first_age = 1


def on_reload(server) -> None:
    """After a reload (SIGHUP), the next worker is the first again: it says what the server runs on."""
    global _first_age
    _first_age = server.worker_age + 1


def post_fork(server, worker) -> None:
    """Tell the worker whether it is the first (mem0server/asgi.py reads it from its environment): the first of a
    start or reload logs what the server runs on, the others (and any that replace a worker later) check the same
    and say only what is wrong."""
    worker.first_of_start = worker.age == _first_age
    os.environ["MEM0_GUNICORN_FIRST_WORKER"] = "1" if worker.first_of_start else ""


def post_worker_init(worker) -> None:
    """The first worker (of a start or reload), once Django is loaded, logs the database connections the layout may
    open against what PostgreSQL takes (a warning when they may not fit: mem0server/connection_budget.py)."""
    if worker.first_of_start:
        from mem0server.connection_budget import log_connection_budget

        log_connection_budget(workers, _threads, worker.log)


def when_ready(server) -> None:
    server.log.info(
        "layout: %s workers x %s threads, %s embedder threads each, on %s usable cores%s",
        workers,
        _threads,
        os.environ["EMBEDDER_THREADS"],
        _cores,
        "" if _memory_mb is None else f" and {_memory_mb:,} MB of available memory",
    )
