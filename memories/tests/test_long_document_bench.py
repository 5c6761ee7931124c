"""bench/long_document.py: a long document read in one call, then in runs one at a time and side by side, and each
added again; the runs keep every passage's fact where the one call kept 50. Then images described both ways."""

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "long_document.py"


def test_a_small_run_prints_each_way_and_the_runs_keep_every_fact(database_template_env):
    done = subprocess.run(  # noqa: S603  (this interpreter, the repository's script)
        [sys.executable, str(SCRIPT), "--paragraphs", "60", "--call-seconds", "0", "--fact-seconds", "0", "--images=3"],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | database_template_env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    lines = lines[[n for n, line in enumerate(lines) if line.startswith("document: ")][0] :]  # after Django's own
    assert lines[0].startswith("document: 60 paragraphs, 31,")
    assert lines[1].startswith("one call (before): 1 extraction calls") and "; 50 memories of 60 facts;" in lines[1]
    assert "added again: 1 decision calls" in lines[1]
    for line in lines[2:4]:  # the runs keep every fact, decided against 50 at a time when added again
        assert "3 extraction calls" in line and "; 60 memories of 60 facts;" in line, line
        assert "added again: 2 decision calls" in line, line
    assert [line.split(":")[0] for line in lines[2:]] == [
        "runs of 12,000, one at a time",
        "runs of 12,000, 4 at once",
        "3 images described, 1 at once",
        "3 images described, 4 at once",
    ]
