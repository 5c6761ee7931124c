"""The Docker and compose files keep their contract. Docker cannot run here, so the files are read and checked:
ports, database wiring, health checks, a non-root user, no baked-in secrets, bootstrap then gunicorn."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from mem0server.tests.server_process import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET_NAMES = {"SECRET_KEY", "JWT_SECRET", "ADMIN_API_KEY", "ADMIN_PASSWORD", "POSTGRES_PASSWORD", "DATABASE_URL"}


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions, current = [], ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.lstrip().startswith("#") and not current:
            continue
        current += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            if current.strip():
                keyword, _, args = current.strip().partition(" ")
                instructions.append((keyword.upper(), " ".join(args.split())))
            current = ""
    return instructions


def args_of(keyword: str) -> list[str]:
    return [args for kw, args in dockerfile() if kw == keyword]


def exec_form(args: str) -> list[str]:
    return yaml.safe_load(args)  # a JSON array is valid YAML


def env_of(args: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in shlex.split(args))


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def interpolate(value: str) -> str:
    """Compose's ${VAR:-default} with an empty environment: every variable takes its default."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)


# --- Dockerfile ----------------------------------------------------------------------------------


def test_image_is_python_311_slim():
    assert args_of("FROM") == ["python:3.11-slim"]


def test_requirements_are_installed_before_the_code_is_copied():
    steps = [(kw, args) for kw, args in dockerfile() if kw in ("COPY", "RUN")]
    copy_requirements = steps.index(("COPY", "requirements.txt ./"))
    install = next(i for i, (kw, args) in enumerate(steps) if kw == "RUN" and "-r requirements.txt" in args)
    copy_code = steps.index(("COPY", ". ."))
    assert copy_requirements < install < copy_code


def test_the_image_installs_no_test_or_lint_tools():
    pins = {
        line.split("==")[0].lower() for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line
    }
    assert not pins & {"pytest", "pytest-django", "schemathesis", "hypothesis", "ruff"}
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()


def test_torch_comes_from_the_cpu_index_at_the_version_requirements_pin():
    pins = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("torch==")]
    assert len(pins) == 1, "the Dockerfile picks torch's pin out of requirements.txt with grep '^torch=='"
    [install] = [args for args in args_of("RUN") if "download.pytorch.org" in args]
    assert "--index-url https://download.pytorch.org/whl/cpu" in install
    assert "\"$(grep -E '^torch==' requirements.txt)\"" in install
    assert install.index("whl/cpu") < install.index("-r requirements.txt")


def make_environment(*, without: tuple[str, ...] = (), **variables: str) -> dict[str, str]:
    """This process's environment for a `make` of a test's own, but for the variables of a `make test` this runs
    under (MAKEFLAGS would add "Entering directory" lines) and `without`; `variables` added."""
    dropped = {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", *without}
    return {**{name: value for name, value in os.environ.items() if name not in dropped}, **variables}


def make_dry_run(target: str, tmp_path: Path, *, always: bool = False, **variables: str) -> str:
    """What `make` would run for `target` (make -n), with .venv moved to a folder of the test's; with `always`,
    also what is up to date (make -B)."""
    venv = tmp_path / "venv"
    args = [
        *(["-B"] if always else []),
        *(f"{name}={value}" for name, value in {"VENV": str(venv), **variables}.items()),
    ]
    done = subprocess.run(  # noqa: S603  (our own Makefile, dry run)
        [shutil.which("make") or "make", "-n", *args, target.replace(".venv", str(venv))],
        cwd=ROOT,
        env=make_environment(without=("MEM0_DATA_DIR", "HOST", "PORT")),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def torch_pin() -> str:
    [pin] = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("torch==")]
    return pin


def test_make_installs_torchs_cpu_build_before_the_rest_on_linux(tmp_path):
    pin = torch_pin()
    script = make_dry_run(".venv/.installed", tmp_path, OS_NAME="Linux")
    torch_step = script.index(f'"{pin}+cpu"')  # `==X+cpu` admits no CUDA build, wherever pip finds it
    assert '--extra-index-url "https://download.pytorch.org/whl/cpu"' in script
    assert torch_step < script.index("-r requirements.txt")
    # Where PyTorch's index cannot be reached, one line says so and pip's own configuration is tried.
    assert "cannot be reached" in script
    assert "timeout=5" in script


def test_make_installs_torch_as_pinned_on_macos(tmp_path):
    """macOS wheels are CPU builds, and PyTorch's index has no `+cpu` ones for it."""
    script = make_dry_run(".venv/.installed", tmp_path, OS_NAME="Darwin")
    assert f'"{torch_pin()}"' in script
    assert "+cpu" not in script


def test_make_shows_the_install_as_it_goes(tmp_path):
    script = make_dry_run(".venv/.installed-dev", tmp_path)
    installs = [line for line in script.splitlines() if "pip install" in line]
    assert len(installs) >= 2, installs  # torch, then requirements-dev.txt (which includes requirements.txt)
    for line in installs:
        assert " -q" not in line and "--progress-bar off" not in line, line
    assert "[1/2]" in script and "[2/2]" in script


@pytest.mark.parametrize(
    ("target", "requirements"),
    [(".venv/.installed", "requirements.txt"), (".venv/.installed-dev", "requirements-dev.txt")],
)
def test_make_installs_the_requirements_with_uv_and_with_pip_where_uv_cannot(tmp_path, target, requirements):
    """uv (pinned, put in by pip) installs the requirements; when it fails, one line says so and pip installs them."""
    venv = tmp_path / "venv"
    script = make_dry_run(target, tmp_path)
    [line] = [line for line in script.splitlines() if f" -r {requirements}" in line]
    with_uv, fallback = line.split(" || ")
    assert re.search(r'pip install [^|]*"uv==\d+\.\d+\.\d+" && ', with_uv), with_uv
    assert f"{venv}/bin/uv pip install --system-certs --python {venv}/bin/python -r {requirements}" in with_uv
    assert "pip installs it instead" in fallback
    assert f"{venv}/bin/python -m pip install --disable-pip-version-check --no-compile -r {requirements}" in fallback


@pytest.mark.parametrize("target", [".venv/.installed", ".venv/.installed-dev"])
def test_make_shows_the_installers_output_not_the_shell_command_around_them(tmp_path, target):
    """Step 2 prints its numbered line and the installers' own output; the uv-or-pip command line itself is noise."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for tool in ("python", "uv"):  # stand-ins: every install succeeds and prints one line
        (venv / "bin" / tool).write_text(f'#!/bin/sh\necho "{tool} ran"\n')
        (venv / "bin" / tool).chmod(0o755)
    (venv / ".torch").touch()  # step 1 done
    done = subprocess.run(  # noqa: S603  (our own Makefile, with stand-in installers)
        [shutil.which("make") or "make", f"VENV={venv}", target.replace(".venv", str(venv))],
        cwd=ROOT,
        env=make_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "[2/2]" in done.stdout and "uv ran" in done.stdout
    assert "pip install" not in done.stdout, done.stdout


def test_python_run_by_make_keeps_the_modules_it_compiles_where_the_environment_says_not_to():
    """With PYTHONDONTWRITEBYTECODE set, every process `make test` starts would compile every module it imports
    again (a quarter more CPU for the suite); the Makefile unsets it for what it runs."""
    done = subprocess.run(  # noqa: S603  (our own Makefile, and a target that only prints Python's flag)
        [
            shutil.which("make") or "make",
            "--eval",
            'flag: ; @$(PYTHON) -c "import sys; print(sys.flags.dont_write_bytecode)"',
            "flag",
        ],
        cwd=ROOT,
        env=make_environment(PYTHONDONTWRITEBYTECODE="1"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "0"


def test_make_serve_checks_the_port_before_migrating_and_serve_prod_before_bootstrap(tmp_path):
    serve = make_dry_run("serve", tmp_path, PORT="8123")
    assert serve.index('portcheck.py "127.0.0.1" "8123"') < serve.index("manage.py bootstrap")
    prod = make_dry_run("serve-prod", tmp_path, PORT="8123")
    assert prod.index('portcheck.py "127.0.0.1" "8123"') < prod.index("manage.py bootstrap")


def test_make_serve_serves_on_the_host_and_port_of_the_env_file(tmp_path):
    """.env.example offers HOST and PORT for `make serve`; gunicorn reads the file, but make handed it its own
    127.0.0.1:8000, which won: PORT=8123 in .env served on 8000. make's command line and environment still win."""
    (tmp_path / "env").write_text("HOST=0.0.0.0\nPORT=8123\n")

    def dry_run(*args: str, **variables: str) -> str:
        return subprocess.run(  # noqa: S603  (our own Makefile, dry run)
            [shutil.which("make") or "make", "-n", "-o", ".venv/.installed", "serve", f"PY={sys.executable}", *args],
            cwd=ROOT,
            env=make_environment(without=("HOST", "PORT"), MEM0_ENV_FILE=str(tmp_path / "env"), **variables),
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    serve = dry_run()
    assert 'portcheck.py "0.0.0.0" "8123"' in serve
    assert "HOST=0.0.0.0 PORT=8123 " in serve
    # Its links open on this machine (a browser may refuse http://0.0.0.0).
    assert "--base-url http://127.0.0.1:8123" in serve and "mem0server on http://127.0.0.1:8123 " in serve
    assert 'portcheck.py "0.0.0.0" "8001"' in dry_run("PORT=8001")
    assert 'portcheck.py "127.0.0.1" "8002"' in dry_run(HOST="127.0.0.1", PORT="8002")


# A server no start reaches: were the gunicorn check missing, bootstrap would stop here, with a line of its own.
UNREACHABLE_DATABASE = "postgres://nobody@127.0.0.1:1/none"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("abc", "WEB_CONCURRENCY must be a whole number, not 'abc'."),
        ("", "WEB_CONCURRENCY is set but empty: unset it (gunicorn reads it as a number of workers) or give a number."),
    ],
)
def test_a_web_concurrency_gunicorn_cannot_read_stops_make_serve_and_the_image_with_one_line(tmp_path, value, says):
    """gunicorn reads WEB_CONCURRENCY with int() when it is imported, before gunicorn.conf.py: exported in the
    environment (or given to the container by compose's env_file), a value such as `abc` or an empty one was
    gunicorn's traceback once bootstrap had migrated. In a .env file gunicorn.conf.py names it (its own test)."""
    env = make_environment(
        without=("HOST",),
        WEB_CONCURRENCY=value,
        MEM0_ENV_FILE="",
        MEM0_DATA_DIR=str(tmp_path / "data"),
        DATABASE_URL=UNREACHABLE_DATABASE,
        PORT=str(free_port()),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # `python` for the image's script
    )
    make = [shutil.which("make") or "make", "-s", "-o", ".venv/.installed", "serve", f"PORT={env['PORT']}"]
    image = ["/bin/sh", "docker/entrypoint.sh", "gunicorn", "--config", "gunicorn.conf.py"]
    for command in (make, image):
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        assert done.returncode != 0
        assert done.stdout == ""
        assert done.stderr.splitlines()[0] == says, done.stderr
        assert "Traceback" not in done.stderr


def make_stop_db(tmp_path: Path, env_file: str, *args: str) -> subprocess.CompletedProcess:
    """`make stop-db` itself (its venv taken as installed: -o), this interpreter, `env_file` as the .env file."""
    (tmp_path / "env").write_text(env_file)
    venv = tmp_path / "venv"
    return subprocess.run(  # noqa: S603  (our own Makefile)
        [shutil.which("make") or "make", "-s", "-o", f"{venv}/.installed", "stop-db", f"VENV={venv}"]
        + [f"PY={sys.executable}", *args],
        cwd=ROOT,
        env=make_environment(without=("MEM0_DATA_DIR",), MEM0_ENV_FILE=str(tmp_path / "env")),
        capture_output=True,
        text=True,
        check=False,
    )


def test_make_stop_db_stops_the_database_of_mem0_data_dir_also_when_the_env_file_sets_it(tmp_path):
    """The server reads MEM0_DATA_DIR from the .env file too; `make` does not, and stopped the database in data/pg (or
    created one there to stop it) while the server's ran on. A folder without a database is said, not created."""
    done = make_stop_db(tmp_path, f"MEM0_DATA_DIR={tmp_path}/srv\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"No embedded PostgreSQL in {tmp_path}/srv/pg (MEM0_DATA_DIR): nothing to stop.\n"
    assert not (tmp_path / "srv").exists()
    # The environment's (here make's command line) wins over the file's, as in the settings.
    done = make_stop_db(tmp_path, f"MEM0_DATA_DIR={tmp_path}/srv\n", f"MEM0_DATA_DIR={tmp_path}/other")
    assert done.stdout == f"No embedded PostgreSQL in {tmp_path}/other/pg (MEM0_DATA_DIR): nothing to stop.\n"


def test_static_files_are_collected_at_build_into_static_root():
    static_root = next(env_of(args)["STATIC_ROOT"] for args in args_of("ENV") if "STATIC_ROOT" in env_of(args))
    assert static_root.startswith("/app/")
    assert any("manage.py collectstatic --noinput" in args for args in args_of("RUN"))


def test_the_code_is_compiled_at_build_where_the_server_cannot_write():
    # Every process runs from compiled code when it is kept: in the image nothing kept it (PYTHONDONTWRITEBYTECODE,
    # the code read-only), and each start compiled every module it imported again (each document read the reader's
    # 3,000 lines: memories/reading.py).
    steps = [(kw, args) for kw, args in dockerfile() if kw in ("COPY", "RUN", "USER")]
    compiled = steps.index(("RUN", "python -m compileall -q ."))
    assert steps.index(("COPY", ". .")) < compiled < steps.index(("USER", "mem0"))


def test_the_server_runs_as_an_unprivileged_user():
    users = args_of("USER")
    assert users, "no USER: the server would run as root"
    assert users[-1] not in ("root", "0", "0:0")
    order = [kw for kw, _ in dockerfile()]
    assert order.index("USER") < order.index("ENTRYPOINT")


def test_no_secret_is_baked_into_the_image():
    for keyword in ("ENV", "ARG"):
        for args in args_of(keyword):
            names = set(env_of(args)) if keyword == "ENV" else {args.split("=", 1)[0]}
            assert not names & SECRET_NAMES, f"{keyword} {args}"
    # The collectstatic step gives settings throwaway placeholders for that one command only.
    for args in args_of("RUN"):
        for name, value in re.findall(r"\b([A-Z_]+)=(\S+)", args):
            if name in SECRET_NAMES:
                assert "collectstatic" in args and ("placeholder" in value or "unused" in value), args


def test_port_8000_is_served_by_gunicorn_with_its_config_after_bootstrap():
    assert args_of("EXPOSE") == ["8000"]
    env = {k: v for args in args_of("ENV") for k, v in env_of(args).items()}
    assert (env["HOST"], env["PORT"]) == ("0.0.0.0", "8000")  # noqa: S104
    [entrypoint] = args_of("ENTRYPOINT")
    [cmd] = args_of("CMD")
    assert exec_form(entrypoint) == ["/bin/sh", "docker/entrypoint.sh"]
    assert exec_form(cmd) == ["gunicorn", "--config", "gunicorn.conf.py"]
    script = (ROOT / "docker/entrypoint.sh").read_text()
    assert "set -eu" in script
    assert script.index("python manage.py bootstrap") < script.index('exec "$@"')


def test_the_image_health_check_probes_healthz():
    [healthcheck] = args_of("HEALTHCHECK")
    assert healthcheck.endswith('CMD ["python", "docker/healthcheck.py"]')
    assert "/healthz" in (ROOT / "docker/healthcheck.py").read_text()


def test_the_build_context_leaves_out_local_state_and_secrets():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "data/", ".env", ".git"} <= set(ignored)


# --- docker-compose.yml ----------------------------------------------------------------------------


def test_compose_runs_pgvector_with_a_volume_and_a_pg_isready_check():
    db = compose()["services"]["db"]
    assert re.fullmatch(r"pgvector/pgvector:pg1[67]", db["image"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose()["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_compose_publishes_the_api_on_8888_and_waits_for_a_healthy_database():
    api = compose()["services"]["api"]
    assert api["ports"] == ["8888:8000"]
    assert api["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert api["build"] == "."
    assert {"path": ".env", "required": False} in api["env_file"]


def test_compose_lets_gunicorn_finish_running_requests_on_stop():
    grace = int(compose()["services"]["api"]["stop_grace_period"].removesuffix("s"))
    assert grace > int(re.search(r'"GUNICORN_GRACEFUL_TIMEOUT", (\d+)', (ROOT / "gunicorn.conf.py").read_text())[1])


def test_compose_database_url_points_at_the_db_service_with_its_credentials():
    services = compose()["services"]
    url = urlsplit(interpolate(services["api"]["environment"]["DATABASE_URL"]))
    db_env = {key: interpolate(value) for key, value in services["db"]["environment"].items()}
    assert url.scheme == "postgres"
    assert (url.hostname, url.port) == ("db", 5432)
    assert (url.username, url.password) == (db_env["POSTGRES_USER"], db_env["POSTGRES_PASSWORD"])
    assert url.path == "/" + db_env["POSTGRES_DB"]


def test_compose_refuses_to_start_without_a_jwt_secret():
    """Production settings need JWT_SECRET; compose's ${VAR:?message} stops `docker compose up` with one line."""
    value = compose()["services"]["api"]["environment"]["JWT_SECRET"]
    assert re.fullmatch(r"\$\{JWT_SECRET:\?[^}]+\}", value), value


def test_compose_runs_a_job_worker_on_the_same_image_once_the_api_has_migrated():
    services = compose()["services"]
    worker = services["worker"]
    assert worker["image"] == services["api"]["image"]
    assert [*worker["entrypoint"], *worker["command"]] == ["python", "manage.py", "procrastinate", "worker"]
    assert worker["depends_on"] == {"api": {"condition": "service_healthy"}}
    assert "ports" not in worker and worker["healthcheck"] == {"disable": True}
    assert worker["environment"] == services["api"]["environment"]  # the same database and secrets
    assert worker["volumes"] == services["api"]["volumes"] and worker["env_file"] == services["api"]["env_file"]
    assert int(worker["stop_grace_period"].removesuffix("s")) > 0


def test_make_serve_runs_gunicorn_and_a_worker_beside_it_and_stops_the_worker_with_the_server(tmp_path):
    # gunicorn as in production (not Django's development server), on the address make was given; serve-prod is
    # the same target under its older name.
    for target in ("serve", "serve-prod"):
        dry_run = make_dry_run(target, tmp_path, HOST="0.0.0.0", PORT="8123")  # noqa: S104
        assert "runserver" not in dry_run
        line = next(line for line in dry_run.splitlines() if "gunicorn --config gunicorn.conf.py" in line)
        assert "HOST=0.0.0.0 PORT=8123 " in line
        worker, trap = line.index("manage.py procrastinate worker &"), line.index("trap 'kill $worker")
        assert worker < trap < line.index("gunicorn --config"), line
        assert "EXIT INT TERM" in line
    assert "manage.py procrastinate worker" in make_dry_run("worker", tmp_path)


# --- .env.example ------------------------------------------------------------------------------------


def _documented() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


# How each file reads the environment: settings.py through env_*("NAME") or os.environ.get("NAME"),
# gunicorn.conf.py through _int('NAME', default, 'FALLBACK') or os.environ.get('NAME'), compose as ${NAME}.
Q = "[\"']"
READERS = {
    "mem0server/settings.py": rf"(?:env_(?:str|bool|int|float|list)|environ\.get)\({Q}([A-Z0-9_]+){Q}",
    "gunicorn.conf.py": rf"(?:_int|environ\.get)\({Q}([A-Z0-9_]+){Q}|, \d+, {Q}([A-Z0-9_]+){Q}\)",
    "docker-compose.yml": r"\$\{([A-Z0-9_]+)",
    # The commands that read a key of their own from the environment (and so from the .env file).
    "exports/management/commands/export_from_mem0.py": rf"environ\.get\({Q}([A-Z0-9_]+){Q}",
    "exports/management/commands/import_from_mem0.py": rf"environ\.get\({Q}([A-Z0-9_]+){Q}",
}


def _read_variables() -> set[str]:
    names = set()
    for path, pattern in READERS.items():
        for match in re.findall(pattern, (ROOT / path).read_text()):
            names.update(group for group in (match if isinstance(match, tuple) else (match,)) if group)
    return names


def test_env_example_lists_every_variable_settings_gunicorn_and_compose_read():
    wanted = _read_variables()
    # The extraction itself works: a sample of what each file reads.
    assert {"ADMIN_EMAIL", "ADMIN_PASSWORD", "HEALTHZ_TIMEOUT_MS", "DATABASE_URL"} <= wanted
    assert {"GUNICORN_THREADS", "GUNICORN_WORKERS", "WEB_CONCURRENCY", "HOST", "PORT"} <= wanted
    assert {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"} <= wanted
    assert {"MEM0_API_KEY", "QDRANT_API_KEY"} <= wanted
    assert wanted - _documented() == set()


def test_env_example_copied_to_env_keeps_what_the_container_needs():
    """compose passes .env to the container, where it would override the image's own values."""
    text = (ROOT / ".env.example").read_text()
    active = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, flags=re.MULTILINE))
    assert not {"HOST", "PORT", "STATIC_ROOT", "DATABASE_URL"} & set(active)
    assert active.get("MEM0_DATA_DIR", "./data") == "./data"  # relative to /app: the image's /app/data volume
    assert not {name for name, value in active.items() if name in SECRET_NAMES and value}


# --- docker/healthcheck.py ------------------------------------------------------------------------------


def _healthcheck_module():
    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "docker/healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("allowed_hosts", "expected"),
    [
        ("", "localhost"),
        ("*", "localhost"),
        ("mem0.example.com,localhost", "mem0.example.com"),
        (" .example.com ", "example.com"),
        ("*,api.example.com", "api.example.com"),
    ],
)
def test_the_health_probe_presents_a_host_django_accepts(allowed_hosts, expected):
    assert _healthcheck_module().probe_host(allowed_hosts) == expected


def run_probe(port: int, allowed_hosts: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PORT": str(port), "ALLOWED_HOSTS": allowed_hosts}
    return subprocess.run(  # noqa: S603  (fixed argv: this interpreter and the repository's script)
        [sys.executable, str(ROOT / "docker/healthcheck.py")], env=env, capture_output=True, text=True, timeout=30
    )


def test_the_health_probe_passes_against_a_running_server_on_a_custom_host(live_server, settings, embedder):
    settings.ALLOWED_HOSTS = ["mem0.example.com"]
    port = urlsplit(live_server.url).port
    result = run_probe(port, "mem0.example.com")
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"database":"ok"' in result.stdout
    # Presenting a host the server does not accept fails, so the probe really checks the answer.
    assert run_probe(port, "other.example.com").returncode == 1


def test_make_test_setup_installs_requirements_in_one_pip_run(tmp_path):
    """make -j3 test-setup on a fresh venv: one pip run for the requirements, never two at once into one venv."""
    script = make_dry_run("test-setup", tmp_path)
    # The Python clients' venvs (old-sdk, hermes, pipecat) are other venvs, made after this one (their uv comes from
    # it).
    clients = (
        "-r platform_api/tests/old_sdk/requirements-",
        "-r memories/tests/hermes/requirements-",
        "-r platform_api/tests/pipecat/requirements-",
    )
    lines = script.splitlines()
    installs = [
        line for line in lines if "pip install" in line and " -r " in line and not any(c in line for c in clients)
    ]
    assert installs == [installs[0]] and "-r requirements-dev.txt" in installs[0], installs
    assert script.index("-r requirements-dev.txt") < script.index("prepare_embedder")
    for client in clients:
        assert script.index("-r requirements-dev.txt") < script.index(client)


def test_make_installs_the_typescript_sdk_from_inside_its_folder(tmp_path):
    """npm's --prefix moves its global configuration too: a machine's CA certificate or mirror went unread."""
    folder = "platform_api/tests/js"
    script = make_dry_run(f"{folder}/node_modules/.package-lock.json", tmp_path, always=True)
    [line] = [line for line in script.splitlines() if "npm " in line]
    assert line.startswith(f"cd {folder} && npm ci ") and "--prefix" not in line, line
