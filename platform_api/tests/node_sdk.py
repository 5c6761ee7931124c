"""Running a node script of ours that drives the official TypeScript SDK (npm mem0ai, pinned in
platform_api/tests/js/package.json; `make test` installs it) and prints what the server answered as JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

NODE_MODULES = Path(__file__).parent / "js" / "node_modules"


def run_node_check(script: Path, part: str, *, host: str, key: str, timeout: float = 180, **env: str) -> dict:
    """Run `node <script> <part>` beside the script against `host` with `key`; its last stdout line, as JSON."""
    node = shutil.which("node")
    assert node, "node is not installed: the TypeScript SDK tests need Node.js 18 or newer"
    assert (NODE_MODULES / "mem0ai").is_dir(), f"run `make test` or `npm ci` in {NODE_MODULES.parent} first"
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": tempfile.gettempdir(),
        # No telemetry to Mem0's analytics host, and the SDK's state file in a temporary folder.
        "MEM0_TELEMETRY": "false",
        "MEM0_DIR": os.path.join(tempfile.gettempdir(), "mem0server-ts-sdk"),
        "MEM0_HOST": host,
        "MEM0_API_KEY": key,
        **env,
    }
    done = subprocess.run(  # noqa: S603  (a fixed script of ours, run by the node found on PATH)
        [node, script.name, part], cwd=script.parent, env=environment, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{script.name} {part} failed:\n{done.stderr}\n{done.stdout}"
    return json.loads(done.stdout.strip().splitlines()[-1])
