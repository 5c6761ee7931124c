"""What starting one of the server's processes costs in CPU. Every gunicorn worker, job worker and management command
first starts Django: its apps, models and URL configuration, which import every view and what they import. This
runs `manage.py check` (that start and Django's checks, no database reached) --runs times in each checkout and
prints the median CPU seconds (user and system) and which of the libraries loaded lazily it imported, with the ratio
when two checkouts are compared.

    .venv/bin/python bench/process_start.py                        # this checkout
    .venv/bin/python bench/process_start.py --code /tmp/before     # another checkout's (its .venv) against this one
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Imported only when needed, not as a process starts: openai by a process that calls a model (memories/llm.py),
# about 0.9 s of CPU a start; the mcp SDK by an MCP request (mcp_server/urls.py, over_limit.py), about 1.4 s.
LAZY = ("openai", "mcp")
REPORT = f"print('imported:', ','.join(m for m in {LAZY!r} if m in sys.modules))"


def started(code: Path, data: Path) -> tuple[float, str]:
    """One `manage.py check` in `code`: its CPU seconds, and the lazily loaded libraries it had imported."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # No database is reached: a URL nothing listens on, so that no embedded PostgreSQL is started.
    env |= {"DATABASE_URL": "postgres://bench@127.0.0.1:9/none", "MEM0_DATA_DIR": str(data), "MEM0_ENV_FILE": ""}
    script = "import runpy, sys; sys.argv = ['manage.py', 'check']; runpy.run_path('manage.py', run_name='__main__')"
    script += f"; {REPORT}"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(  # noqa: S603  (fixed argv: the checkout's own interpreter)
        [str(code / ".venv/bin/python"), "-c", script], cwd=code, env=env, capture_output=True, text=True, timeout=120
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"error: manage.py check failed in {code}:\n{result.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    [report] = [line for line in result.stdout.splitlines() if line.startswith("imported:")]
    return cpu, report.removeprefix("imported:").strip()


def measure(code: Path, runs: int) -> tuple[float, str]:
    """The median of `runs` starts (the first may compile what has no bytecode yet)."""
    with tempfile.TemporaryDirectory(prefix="mem0-start-") as data:
        runs_made = [started(code, Path(data)) for _ in range(runs)]
    return statistics.median(cpu for cpu, _ in runs_made), runs_made[-1][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", type=Path, help="another checkout to compare with this one")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    checkouts = [args.code.resolve(), HERE.parent] if args.code else [HERE.parent]
    medians = []
    for code in checkouts:
        median, imported = measure(code, args.runs)
        medians.append(median)
        imported = imported or "none of " + ", ".join(LAZY)
        print(f"{code}: {median:.2f} s of CPU a start (median of {args.runs}); imported: {imported}")
    if len(medians) == 2:
        print(f"this checkout / {checkouts[0]}: {medians[1] / medians[0]:.2f}")


if __name__ == "__main__":
    main()
