"""The README's walk-through, run as written with bash and curl against a live server: twice, as a user would."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough_script() -> str:
    text = README.read_text()
    section = text[text.index("## Walk-through") :]
    return re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL)[1]


@pytest.fixture
def server(live_server, settings, embedder) -> str:
    settings.AUTH_DISABLED = False
    settings.ADMIN_API_KEY = ""
    return live_server.url


def run(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [shutil.which("bash") or "/bin/bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_readme_walkthrough_works_on_its_first_and_second_run(server):
    script = walkthrough_script().replace("B=http://127.0.0.1:8000", f"B={server}")
    assert "B=" + server in script
    for attempt in ("first run: register", "second run: log in"):
        result = run(script)
        assert result.returncode == 0, f"{attempt}: {result.stderr}\n{result.stdout}"
        assert '"event":"ADD"' in result.stdout, attempt
        assert "Loves spicy Thai green curry" in result.stdout, attempt  # the update, read back in the history
