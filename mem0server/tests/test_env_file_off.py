"""pytest started by hand reads no .env file either (mem0server/tests/env_file_off.py)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
from django.conf import settings


def test_settings():
    assert (settings.LLM_MODEL, settings.OPENAI_BASE_URL) == ("", "")
"""


def test_pytest_run_by_hand_reads_no_env_file(tmp_path):
    """README's Development runs one test file with `.venv/bin/pytest …`; a developer's .env (an LLM's key and
    address) was read by it, and the tests' adds went to that LLM."""
    env_file = tmp_path / "env"
    env_file.write_text("LLM_MODEL=from-the-env-file\nOPENAI_BASE_URL=http://127.0.0.1:9/v1\n")
    (tmp_path / "test_probe.py").write_text(PROBE)
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    done = subprocess.run(  # noqa: S603  (this venv's pytest, on the probe)
        # pytest's own script, as the README and `make test` run it (it does not put the checkout on sys.path)
        [
            str(Path(sys.executable).parent / "pytest"),
            "-p",
            "no:cacheprovider",
            "-q",
            "-c",
            str(ROOT / "pyproject.toml"),
        ]
        + ["--rootdir", str(ROOT), str(tmp_path / "test_probe.py")],
        cwd=ROOT,
        env=environment | {"MEM0_ENV_FILE": str(env_file)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
