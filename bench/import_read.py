"""What manage.py import_memories holds in memory while it reads a large file: its peak resident size.

Writes a file of --lines memories in export_memories' format (each with one ADD history row, ~4 KB a line: the
defaults make 84 MB), then runs `manage.py import_memories --dry-run` on it in a fresh process, from --input and from
standard input, and prints the process's peak resident memory (ru_maxrss) above what it held once Django was loaded,
with the CPU time the import took. A dry run reads and checks every line, and places every memory, as an import does
before it writes; it writes nothing, so the embedder (hundreds of MB of its own) is not loaded and the figures are the
file's alone. Runs against the configured database (the embedded one unless DATABASE_URL is set), migrated.

    .venv/bin/python bench/import_read.py
    .venv/bin/python bench/import_read.py --lines 2000
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORDS = ["tea", "Berlin", "bouldering", "cello", "ramen", "sailing", "chess", "Lisbon", "Zürich", "café", "東京"]

# Run in the child: Django loaded, then the command, then the peaks and its CPU time on the last line (CPU, not wall
# time: on a shared machine that varies less).
CHILD = """
import os, resource, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")
import django
django.setup()
from django.core.management import call_command
import exports.management.commands.import_memories
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.process_time()
call_command("import_memories", *sys.argv[1:])
cpu = time.process_time() - started
print(loaded, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, cpu)
"""


def line(index: int, chars: int, rng: random.Random) -> str:
    text = ""
    while len(text) < chars:
        text += rng.choice(WORDS) + " "
    when = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=index)).isoformat()
    memory_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    history = {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event": "ADD",
        "old_memory": None,
        "new_memory": text,
        "created_at": when,
        "updated_at": None,
        "is_deleted": False,
        "actor_id": None,
        "role": None,
    }
    memory = {
        "id": memory_id,
        "account": None,
        "memory": text,
        "hash": None,
        "metadata": {"topic": rng.choice(WORDS), "n": index},
        "user_id": f"user-{index % 7}",
        "agent_id": None,
        "app_id": None,
        "run_id": None,
        "actor_id": None,
        "role": None,
        "expiration_date": None,
        "timestamp": None,
        "event_start": None,
        "event_end": None,
        "categories": ["hobbies"],
        "created_at": when,
        "updated_at": when,
        "history": [history],
    }
    return json.dumps(memory, ensure_ascii=False)


def run(arguments: list[str], stdin=None) -> tuple[float, float, str]:
    done = subprocess.run(  # noqa: S603  (this interpreter, fixed arguments)
        [sys.executable, "-c", CHILD, *arguments],
        cwd=REPO,
        stdin=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"import_memories failed:\n{done.stdout}\n{done.stderr}")
    *said, figures = done.stdout.strip().splitlines()
    loaded, peak, cpu = figures.split()
    return (int(peak) - int(loaded)) / 1024, float(cpu), said[-1] if said else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--chars", type=int, default=1_650, help="characters of each memory's text")
    args = parser.parse_args()

    rng = random.Random(1)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".jsonl") as file:
        for index in range(args.lines):
            file.write(line(index, args.chars, rng) + "\n")
        file.flush()
        size = Path(file.name).stat().st_size
        print(f"{args.lines} lines, {size / 1e6:.1f} MB", flush=True)
        grown, cpu, said = run(["--input", file.name, "--dry-run"])
        print(f"--input FILE --dry-run: peak memory +{grown:.0f} MiB over Django loaded, {cpu:.1f} s of CPU ({said})")
        with open(file.name, "rb") as stdin:
            grown, cpu, said = run(["--dry-run"], stdin=stdin)
        print(f"stdin --dry-run:        peak memory +{grown:.0f} MiB over Django loaded, {cpu:.1f} s of CPU ({said})")


if __name__ == "__main__":
    main()
