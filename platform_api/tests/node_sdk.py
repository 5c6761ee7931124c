"""Running a check script of ours that drives an official client against a live server and prints what the server
answered as JSON: the TypeScript SDK (npm mem0ai, pinned in platform_api/tests/js/package.json; `make test`
installs it) through node, or an older Python client from its own venv (test_sdk_old.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

NODE_MODULES = Path(__file__).parent / "js" / "node_modules"


def run_client_check(
    command: list[str], *, cwd: Path, host: str, key: str, state: str, timeout: float = 180, **env: str
) -> dict:
    """Run `command` (an interpreter and a check script of ours) in `cwd` against `host` with `key`, with only what a
    user would set; its last stdout line, as JSON. `state`: the folder, under the temporary one, for the client's
    own state file."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": tempfile.gettempdir(),
        # No telemetry to Mem0's analytics host (both SDKs read "false"), and the client's state file out of HOME.
        "MEM0_TELEMETRY": "false",
        "MEM0_DIR": os.path.join(tempfile.gettempdir(), state),
        "MEM0_HOST": host,
        "MEM0_API_KEY": key,
        **env,
    }
    done = subprocess.run(  # noqa: S603  (a fixed script of ours, run by node or the venv the Makefile made)
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
    )
    script = " ".join(Path(part).name for part in command[1:])
    assert done.returncode == 0, f"{script} failed:\n{done.stderr}\n{done.stdout}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_node_check(script: Path, part: str, *, host: str, key: str, timeout: float = 180, **env: str) -> dict:
    """Run `node <script> <part>` beside the script against `host` with `key`; its last stdout line, as JSON."""
    node = shutil.which("node")
    assert node, "node is not installed: the TypeScript SDK tests need Node.js 18 or newer"
    assert (NODE_MODULES / "mem0ai").is_dir(), f"run `make test` or `npm ci` in {NODE_MODULES.parent} first"
    command = [node, script.name, part]
    return run_client_check(
        command, cwd=script.parent, host=host, key=key, state="mem0server-ts-sdk", timeout=timeout, **env
    )
