"""bench/llm_bench.py: a small run prints its figures and ends cleanly (its throw-away database dropped, the request
log's rows written before that, not lost with a traceback)."""

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "llm_bench.py"


def test_a_small_run_prints_its_figures_and_no_traceback(database_template_env):
    done = subprocess.run(  # noqa: S603  (this interpreter, the repository's script)
        [sys.executable, str(SCRIPT), "--adds", "6", "--users", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | database_template_env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "adds: 6 over 2 users" in done.stdout
    assert "LLM calls per add: mean" in done.stdout and "server time per add: p50" in done.stdout
    assert "Traceback" not in done.stderr and "request log" not in done.stderr, done.stderr[-3000:]
