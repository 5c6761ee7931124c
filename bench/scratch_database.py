"""A benchmark's own database beside the project's, so it never touches real data (bench/scale.py,
bench/account_cost.py): created on the PostgreSQL the project uses (the embedded one in $MEM0_DATA_DIR/pg, or the
server of DATABASE_URL), Django pointed at it through DATABASE_URL before django.setup(), and migrated."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent


def django_on_scratch_database(name: str, *, drop: bool, say: Callable[[str], None] = print, **environ: str) -> dict:
    """Django set up on database `name` (created if missing, migrated), with `environ` set first; its connection
    parameters for psycopg. `drop`: delete the database and exit."""
    import psycopg

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")
    from mem0server.database import database_from_url, embedded_database

    if os.environ.get("DATABASE_URL"):
        db = database_from_url(os.environ["DATABASE_URL"])
    else:
        data_dir = Path(os.environ.get("MEM0_DATA_DIR", "").strip() or "data")
        db = embedded_database(data_dir if data_dir.is_absolute() else ROOT / data_dir)
    params = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "password": db["PASSWORD"]}
    params = {key: value for key, value in params.items() if value}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        if drop:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            say(f"dropped database {name}")
            sys.exit(0)
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    auth = quote(db["USER"]) + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    port = f":{db['PORT']}" if db["PORT"] else ""
    query = urlencode({"host": db["HOST"]}) if db["HOST"].startswith("/") else ""
    host = "" if query else db["HOST"]
    os.environ["DATABASE_URL"] = f"postgresql://{auth}@{host}{port}/{name}" + (f"?{query}" if query else "")
    os.environ["DB_POOL"] = "false"
    os.environ.update(environ)
    import django
    from django.core.management import call_command

    django.setup()
    from django.db import connection

    assert connection.settings_dict["NAME"] == name  # noqa: S101 - never run against the real database
    call_command("migrate", verbosity=0)
    return {**params, "dbname": name}
