"""A .env file's variables for a process that does not have them in its environment already: Django's settings
(every server, job worker and manage.py command) and gunicorn's configuration read it first. The file is
MEM0_ENV_FILE, by default `.env` beside manage.py, the file docker compose reads and Mem0's own server reads too;
MEM0_ENV_FILE empty reads none (`make test` runs the suite so). Lines are KEY=value (python-dotenv's format:
comments, quotes, ${OTHER} expanded); a variable set in the environment wins over the file's."""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import load_dotenv

DEFAULT = Path(__file__).resolve().parent.parent / ".env"


def env_file_load() -> Path | None:
    """Load the file into os.environ (the environment's own values kept); returns it, or None if there is none."""
    named = os.environ.get("MEM0_ENV_FILE")
    path = DEFAULT if named is None else Path(named.strip()) if named.strip() else None
    if path is None or not path.is_file():
        return None
    load_dotenv(path, override=False)
    return path
