"""gunicorn.conf.py sizes workers, threads and embedder threads from the cores the server may use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Reads the config as gunicorn does (a Python file executed in the master), on the given CPU set.
PROBE = """
import json, os, runpy, sys
os.sched_setaffinity(0, set(json.loads(sys.argv[1])))
config = runpy.run_path("gunicorn.conf.py")
print(json.dumps({"workers": config["workers"], "threads": config["_threads"],
                  "torch": os.environ["EMBEDDER_THREADS"],
                  "sized": {n: config["layout"](n) for n in (1, 2, 3, 4, 8, 16, 64)},
                  "sized_torch": {n: config["layout"](n, "torch") for n in (1, 2, 3, 4, 8, 16, 64)},
                  "sized_embedded": {n: config["layout"](n, embedded_database=True) for n in (1, 2, 4, 8, 16)},
                  "sized_embedded_torch": {
                      n: config["layout"](n, "torch", embedded_database=True) for n in (4, 8, 16)},
                  "sized_by_memory": {
                      mb: config["layout"](4, memory_mb=mb) for mb in (400, 700, 1600, 2400, 3500, 64000)},
                  "sized_by_memory_torch": {
                      mb: config["layout"](4, "torch", memory_mb=mb) for mb in (700, 2000, 64000)},
                  "memory": config["usable_memory_mb"]()}))
"""


def gunicorn_layout(cpus: set[int], **env: str) -> dict:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GUNICORN_WORKERS", "WEB_CONCURRENCY", "GUNICORN_THREADS", "EMBEDDER_THREADS", "EMBEDDER_RUNTIME")
    }
    done = subprocess.run(  # noqa: S603  (our own interpreter and config)
        [sys.executable, "-c", PROBE, json.dumps(sorted(cpus))],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


ONE_CPU = {min(os.sched_getaffinity(0))}


def test_on_one_core_two_workers_embed_with_one_thread_each():
    layout = gunicorn_layout(ONE_CPU)
    assert (layout["workers"], layout["threads"], layout["torch"]) == (2, 8, "1")


def test_on_one_core_with_torch_one_worker_embeds_with_one_thread():
    layout = gunicorn_layout(ONE_CPU, EMBEDDER_RUNTIME="torch")
    assert (layout["workers"], layout["threads"], layout["torch"]) == (1, 8, "1")


@pytest.mark.parametrize("cores", [1, 2, 3, 4, 8, 16, 64])
def test_the_default_layout_runs_two_workers_per_core_on_onnx_and_one_on_torch(cores):
    sized = gunicorn_layout(ONE_CPU)
    # The GIL, not the model, limits a worker, so processes keep the cores busy; ONNX Runtime's second
    # thread (it sleeps when idle) shortens a lone query, torch's would spin-wait.
    assert sized["sized"][str(cores)] == [2 * cores, min(2, cores)]
    assert sized["sized_torch"][str(cores)] == [cores, 1]


def test_more_workers_than_cores_get_one_torch_thread_each():
    layout = gunicorn_layout(ONE_CPU, GUNICORN_WORKERS="4", EMBEDDER_RUNTIME="torch")
    assert (layout["workers"], layout["torch"]) == (4, "1")


def test_on_two_cores_onnx_workers_embed_with_two_threads_whatever_their_number():
    two = set(sorted(os.sched_getaffinity(0))[:2])
    if len(two) < 2:
        pytest.fail("this test needs a machine with two cores")
    assert gunicorn_layout(two)["torch"] == "2"
    assert gunicorn_layout(two, GUNICORN_WORKERS="8")["torch"] == "2"
    assert gunicorn_layout(two, EMBEDDER_RUNTIME="torch")["torch"] == "1"


def test_set_variables_win_over_the_sized_defaults():
    layout = gunicorn_layout(ONE_CPU, WEB_CONCURRENCY="3", GUNICORN_THREADS="2", EMBEDDER_THREADS="2")
    assert (layout["workers"], layout["threads"], layout["torch"]) == (3, 2, "2")


def test_on_the_embedded_database_the_default_layout_stops_at_eight_workers():
    # 8 x 11 connections fit the 97 the embedded PostgreSQL takes; 16 cores' 32 workers would need 352.
    sized = gunicorn_layout(ONE_CPU)
    assert sized["sized_embedded"] == {"1": [2, 1], "2": [4, 2], "4": [8, 2], "8": [8, 2], "16": [8, 2]}
    assert sized["sized_embedded_torch"] == {"4": [4, 1], "8": [8, 1], "16": [8, 1]}


def test_the_default_layout_leaves_half_the_available_memory_to_the_rest():
    # A worker holds about 300 MB on ONNX Runtime (its own model), 500 MB on torch: on a small machine fewer of them,
    # at least one, so that the job worker, PostgreSQL and the rest of the machine keep the other half.
    sized = gunicorn_layout(ONE_CPU)
    assert sized["sized_by_memory"] == {
        "400": [1, 2],
        "700": [1, 2],
        "1600": [2, 2],
        "2400": [4, 2],
        "3500": [5, 2],
        "64000": [8, 2],
    }
    assert sized["sized_by_memory_torch"] == {"700": [1, 1], "2000": [2, 1], "64000": [4, 1]}


def test_the_available_memory_is_read_from_this_machine():
    # MemAvailable, or a container's cgroup limit when that is less.
    with open("/proc/meminfo") as meminfo:
        available = next(int(line.split()[1]) // 1024 for line in meminfo if line.startswith("MemAvailable:"))
    assert 0 < gunicorn_layout(ONE_CPU)["memory"] <= available * 1.5


MEMORY_PROBE = """
import json, runpy, sys
from pathlib import Path
config = runpy.run_path("gunicorn.conf.py")
print(json.dumps(config["usable_memory_mb"](Path(sys.argv[1]), Path(sys.argv[2]))))
"""


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, 4000),  # no cgroup files: MemAvailable
        ({"memory.max": "max", "memory.current": "1"}, 4000),  # cgroup v2, no limit
        ({"memory.max": str(1536 * 2**20), "memory.current": str(512 * 2**20)}, 1024),  # a container's 1.5 GB
        ({"memory/memory.limit_in_bytes": str(2**30), "memory/memory.usage_in_bytes": "0"}, 1024),  # cgroup v1
        ({"memory/memory.limit_in_bytes": "9223372036854771712", "memory/memory.usage_in_bytes": "5"}, 4000),
    ],
)
def test_the_available_memory_is_the_least_of_the_machines_and_the_containers(tmp_path, files, expected):
    proc, cgroup = tmp_path / "proc", tmp_path / "cgroup"
    (cgroup / "memory").mkdir(parents=True)
    proc.mkdir()
    (proc / "meminfo").write_text("MemTotal:       8192000 kB\nMemAvailable:    4096000 kB\n")
    for name, content in files.items():
        (cgroup / name).write_text(content + "\n")
    done = subprocess.run(  # noqa: S603  (our own interpreter and config)
        [sys.executable, "-c", MEMORY_PROBE, str(proc), str(cgroup)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == expected


def test_gunicorns_variables_come_from_the_dot_env_file_too(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("GUNICORN_WORKERS=3\nGUNICORN_THREADS=5\n")
    layout = gunicorn_layout(ONE_CPU, MEM0_ENV_FILE=str(env_file))
    assert (layout["workers"], layout["threads"]) == (3, 5)
    assert gunicorn_layout(ONE_CPU, MEM0_ENV_FILE=str(env_file), GUNICORN_WORKERS="1")["workers"] == 1


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PORT", "70000", "PORT must be 65535 or less, not 70000."),  # was gunicorn's OverflowError traceback
        ("PORT", "http", "PORT must be a whole number, not 'http'."),
        ("GUNICORN_THREADS", "0", "GUNICORN_THREADS must be 1 or more, not 0."),
    ],
)
def test_a_bad_gunicorn_variable_is_one_line_naming_it(name, value, says):
    done = subprocess.run(  # noqa: S603  (our own interpreter and config)
        [sys.executable, "-c", "import runpy; runpy.run_path('gunicorn.conf.py')"],
        cwd=ROOT,
        env={**os.environ, name: value},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr.strip()) == (1, says)
