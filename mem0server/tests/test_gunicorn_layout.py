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
                      n: config["layout"](n, "torch", embedded_database=True) for n in (4, 8, 16)}}))
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
