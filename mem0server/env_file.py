"""A .env file's variables for a process that does not have them in its environment already: Django's settings
(every server, job worker and manage.py command) and gunicorn's configuration read it first. The file is
MEM0_ENV_FILE, by default `.env` beside manage.py, the file docker compose reads and Mem0's own server reads too;
MEM0_ENV_FILE empty reads none (`make test` runs the suite so); a file it names must be there. Lines are
KEY=value (python-dotenv's format: comments, quotes, ${OTHER} expanded); a variable set in the environment wins over
the file's."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

DEFAULT = Path(__file__).resolve().parent.parent / ".env"


def env_file_load() -> Path | None:
    """Load the file into os.environ (the environment's own values kept); returns it, or None if there is none. A
    file MEM0_ENV_FILE names that cannot be read is one line saying so: read as none, every setting it held was
    silently left at its default."""
    named = os.environ.get("MEM0_ENV_FILE")
    path = DEFAULT if named is None else Path(named.strip()) if named.strip() else None
    if path is None or (named is None and not path.is_file()):
        return None
    try:
        with path.open(encoding="utf-8") as stream:
            load_dotenv(stream=stream, override=False)
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ImproperlyConfigured(
            f"MEM0_ENV_FILE names {path}, which cannot be read ({why}): fix the name, or set MEM0_ENV_FILE= (empty) "
            "to read no file."
        ) from None
    return path


if __name__ == "__main__":  # `make serve`: a variable (HOST, PORT) as gunicorn.conf.py reads it, the file's included
    import sys

    env_file_load()
    print(os.environ.get(sys.argv[1], "").strip())
