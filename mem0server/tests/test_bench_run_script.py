"""bench/run.py's throw-away server (`make bench`, and the benchmarks that start servers of their own through it)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def bench_run():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_throwaway_server_reads_no_env_file(tmp_path):
    """README: `make bench` runs on its own empty embedded PostgreSQL. A DATABASE_URL in the .env file beside
    manage.py was read by its migrate and gunicorn all the same (the scripts drop only the environment's), so the
    benchmarks wrote into the database the operator's server uses."""
    env_file = tmp_path / "env"
    env_file.write_text("DATABASE_URL=postgres://someone@db.example.com:5432/production\n")
    environment = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    server = bench_run().throwaway(tmp_path / "server", environment | {"MEM0_ENV_FILE": str(env_file)})
    # What the server's processes (manage.py migrate, gunicorn) take for DATABASE_URL once they read their settings'
    # .env file: nothing, so the embedded PostgreSQL in the server's folder.
    seen = subprocess.run(  # noqa: S603  (this interpreter, a fixed program)
        [
            sys.executable,
            "-c",
            "import os; from mem0server.env_file import env_file_load; env_file_load(); "
            "print(os.environ.get('DATABASE_URL', ''))",
        ],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert seen.stdout == "\n"
    assert server.env["MEM0_DATA_DIR"] == str(tmp_path / "server")
