"""Fixtures shared by every app's tests. The database is the real embedded PostgreSQL (test_mem0)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import TransactionTestCase
from rest_framework.test import APIClient

from accounts.models import User
from apikeys.authentication import AdminPrincipal
from apikeys.services import apikey_create, key_cache
from mem0server.tests import emptying, fuzz_tally, template_database
from memories import configuration, services
from memories.embeddings import get_embedder

ADMIN_KEY = "test-admin-key-0123456789abcdef"

# Servers and workers the tests start, each with a data folder of its own, share this checkout's exported
# embedder (one ONNX export per checkout, not one per server).
os.environ.setdefault("MEM0_MODELS_DIR", str(settings.MODELS_DIR))
# The hashers as deployed, Argon2 first; the tests store passwords with argon2 at its lowest cost instead
# (accounts/tests/hashers.py).
DEPLOYED_PASSWORD_HASHERS = list(settings.PASSWORD_HASHERS)
settings.PASSWORD_HASHERS = ["accounts.tests.hashers.CheapArgon2PasswordHasher", *DEPLOYED_PASSWORD_HASHERS[1:]]
# Django's test client builds a request handler per client, and WhiteNoise lists every static file (the admin's,
# Swagger UI's) each time one is built: 30 ms of CPU per client, 6% of the suite's in a profile. In its autorefresh
# mode it finds a file when one is asked for; mem0server/tests/test_static.py serves them as deployed.
settings.WHITENOISE_AUTOREFRESH = True
# After a transactional test, the tables holding rows are emptied rather than the whole database flushed (a sixth of
# those tests' time: mem0server/tests/emptying.py).
TransactionTestCase._fixture_teardown = emptying.fixture_teardown
# The database the settings name (a developer's own, `make serve`'s), before any test database replaces it.
SETTINGS_DATABASE = settings.DATABASES["default"]["NAME"]


# --- how `make test` spreads the suite over processes (pytest -n auto --dist loadgroup) ----------------------


# Test files that load PyTorch, transformers and sentence-transformers into the test process (about 9 s of CPU
# to import, and 300 MB): one process runs them all, so they are loaded once.
SHARED_PROCESS = {
    "memories/tests/test_onnx_embedder.py": "torch",
    "memories/tests/test_rerankers.py": "torch",
}
# Test files with a test using the session's job worker process (the `worker` fixture below; each start of one is 2-3 s
# of CPU, its embedder's warm-up included): one process runs them all, one after the other, so the worker started for
# the first runs on through the next (`_no_stray_worker` stops it for other files only), where each file's process
# started one of its own, and a file's first committing test before its first `worker` stopped the one running.
WORKER_FILES: set[Path] = set()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Every test file runs whole in one process; the schema fuzzing's operations are spread one by one, last.

    pytest-xdist's loadgroup schedules a group as one unit and every other test alone. Each file is a group
    (its module fixtures, such as live servers, are set up once; SHARED_PROCESS and WORKER_FILES join a few), and each
    fuzzed operation (a schemathesis test, with its own database and seed) is a unit of its own; they come last,
    to even out the processes' ends.
    On pytest 9 neither schemathesis's per-operation ids nor xdist's group suffix reach `item.nodeid`, which is
    built from `item.id`; so the id is set here (xdist schedules by these strings).
    """
    WORKER_FILES.clear()
    WORKER_FILES.update(item.path for item in items if "worker" in getattr(item, "fixturenames", ()))
    fuzzed, files = [], []
    for item in items:
        fuzzed_operation = hasattr(item, "operation_label")
        node_id = f"{item.parent.nodeid}::{item.name}" if fuzzed_operation else item.nodeid
        if not fuzzed_operation:
            path = item.path.relative_to(config.rootpath).as_posix()
            node_id += "@worker" if item.path in WORKER_FILES else f"@{SHARED_PROCESS.get(path, path)}"
        item._id = type(item.id).parse(node_id)
        (fuzzed if fuzzed_operation else files).append(item)
    items[:] = files + fuzzed


def pytest_sessionfinish(session):
    """The schema fuzzing is judged once, on everything every process sent (mem0server/tests/fuzz_tally.py); the
    controlling process of `pytest -n` drops the run's template database (mem0server/tests/template_database.py)."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand its tally to the controlling process
        workeroutput["fuzz_tally"] = fuzz_tally.export()
        return
    if session.config.pluginmanager.has_plugin("dsession"):  # the controlling process of `pytest -n`
        template_database.template_drop()
    outcome = fuzz_tally.verdict()
    if outcome is None:
        return
    passed, summary = outcome
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    reporter.ensure_newline()
    reporter.write_line(summary if passed else f"FAILED: {summary}")
    if not passed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """The controlling process of `pytest -n`: a worker's fuzzing tally (pytest_sessionfinish above)."""
    tally = getattr(node, "workeroutput", {}).get("fuzz_tally")
    if tally:
        fuzz_tally.merge(tally)


ADMIN = AdminPrincipal(auth_type="admin_api_key")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings, request, django_db_blocker):
    """In each process of `pytest -n`, the test database is a copy of the run's template, migrated once in all
    (mem0server/tests/template_database.py), as in a pytest run a test starts that is handed it (TEST_DATABASE_TEMPLATE,
    the `database_template_env` fixture); alone, or keeping its database (--reuse-db), a process migrates its own."""
    if request.config.getvalue("reuse_db") or request.config.getvalue("nomigrations"):
        return
    workerinput = getattr(request.config, "workerinput", None)
    if workerinput is not None:
        with django_db_blocker.unblock():
            template_database.template_use(run_id=workerinput["testrunuid"])
    elif os.environ.get(template_database.ENVIRONMENT_VARIABLE):
        template_database.template_copy(os.environ[template_database.ENVIRONMENT_VARIABLE])


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's, whose teardown then drops the test database without the requests' statement_timeout
    (DB_STATEMENT_TIMEOUT_MS): DROP DATABASE waits for a checkpoint of the whole server, and on a busy machine
    one took longer than those 30 s (accounts/tests/test_bootstrap.py met it). Sessions still open on it (a
    stopped worker process's, whose backend had not exited yet) are ended first: the drop refused to run beside
    them, leaving the database behind with a warning."""
    from django.db import DatabaseError, connection, connections

    yield
    key_cache.listener.stop()  # its session would be ended below, and it would then try the dropped database
    # A role that may not end them (another role's sessions) leaves them to the drop's own check.
    with django_db_blocker.unblock(), contextlib.suppress(DatabaseError), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    options = connections["default"].settings_dict["OPTIONS"]
    options["options"] = f"{options.get('options', '')} -c statement_timeout=0".strip()  # the last -c wins


@pytest.fixture(scope="session")
def test_database(django_db_setup, django_db_blocker):
    """The test database, for fixtures that commit rows outside any test's transaction (a server thread of their
    own). pytest-django sets one up only when a collected test asks for it (db, transactional_db, live_server or
    the django_db marker): run alone, such a fixture's tests would have emptied the settings' own database."""
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        if connection.settings_dict["NAME"] != SETTINGS_DATABASE:
            yield
            return
        created = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        try:
            yield
        finally:
            key_cache.listener.stop()  # its session on this database would refuse the drop ("accessed by other users")
            teardown_databases(created, verbosity=0)


@pytest.fixture(scope="session")
def embedder():
    """The real local embedder, loaded once for the whole session."""
    instance = get_embedder()
    instance.embed(["warm up"])
    return instance


# What a test asks for when it reaches the database (pytest-django sets up the test database only for those).
DATABASE_FIXTURES = {"db", "transactional_db", "live_server", "test_database", "django_db_setup"}


@pytest.fixture(autouse=True)
def _fresh_throttles(request, django_db_blocker):
    """Each test starts with no rate-limit counts and no remembered API keys. The counts live in a table of the
    test database (settings.CACHES), which a transactional test's flush leaves alone. A test that uses no database
    has none to clear (run alone, it would have reached the settings' own database)."""
    key_cache.clear()
    if request.node.get_closest_marker("django_db") or DATABASE_FIXTURES & set(request.fixturenames):
        request.getfixturevalue("django_db_setup")
        with django_db_blocker.unblock():
            cache.clear()


@pytest.fixture(autouse=True)
def _fresh_configuration():
    """Each test starts from the environment's model configuration: a stored one was rolled back with the test."""
    configuration.server_config_forget()
    yield
    configuration.server_config_forget()


@pytest.fixture(autouse=True)
def _jwt_secret(settings):
    """A serving process needs JWT_SECRET (startup refuses otherwise); a fresh clone has no data/jwt_secret."""
    settings.JWT_SECRET = "test-jwt-secret-0123456789abcdef0123456789"


@pytest.fixture(autouse=True)
def _request_log_inline(settings):
    """Request-log rows are written inside each test's transaction (the batching writer has its own tests)."""
    settings.REQUEST_LOG_BACKGROUND = False


@pytest.fixture
def admin_key(settings) -> str:
    settings.ADMIN_API_KEY = ADMIN_KEY
    settings.AUTH_DISABLED = False
    return ADMIN_KEY


@pytest.fixture
def anon_client(admin_key) -> APIClient:
    """No credentials, while auth is on."""
    return APIClient()


@pytest.fixture
def api_client(admin_key, embedder, db) -> APIClient:
    """Authenticated as admin through ADMIN_API_KEY."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=admin_key)
    return client


@pytest.fixture
def make_user(db):
    """An account with an unusable password (fast); pass password= to log in with it."""

    def make(email: str, *, role: str = User.Role.MEMBER, password: str | None = None, **fields) -> User:
        return User.objects.create_user(email=email, password=password, role=role, **fields)

    return make


@pytest.fixture
def key_client(admin_key, embedder):
    """An APIClient authenticated with a fresh per-user API key of the given account."""

    def make(user: User) -> APIClient:
        _, key = apikey_create(user=user, label="test")
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=key)
        return client

    return make


@pytest.fixture
def member(make_user) -> User:
    return make_user("member@example.com", name="Member")


@pytest.fixture
def member_client(key_client, member) -> APIClient:
    return key_client(member)


@pytest.fixture
def make_memory(embedder, db):
    """Store one memory through the service (infer=false) and return its id; owned by no account unless given."""

    def make(text: str, *, user_id: str | None = "alice", role: str = "user", principal=ADMIN, **kwargs) -> str:
        scope = {key: value for key, value in {"user_id": user_id, **kwargs.pop("scope", {})}.items() if value}
        results = services.memories_add(
            principal=principal,
            messages=[services.Message(role=role, content=text)],
            scope=scope,
            infer=False,
            **kwargs,
        )
        return results[0]["id"]

    return make


@pytest.fixture(scope="session")
def _shared_worker(django_db_setup, tmp_path_factory):
    from events.tests.workers import SHARED, SHARED_WORKER_ENV, WorkerProcess

    process = WorkerProcess(tmp_path_factory.mktemp("worker"), env=SHARED_WORKER_ENV)
    SHARED.append(process)
    yield process
    process.stop()


@pytest.fixture
def run_jobs():
    """Run the queued jobs that are due in this process, until none is left (events/tests/helpers.py); the
    session's shared worker process, if a test before started it, is stopped first so that it cannot take them.
    Jobs run on their own connection: tests using this need a transactional database or a live server."""
    from events.tests.helpers import run_jobs_here
    from events.tests.workers import stop_shared_workers

    stop_shared_workers()
    return run_jobs_here


@pytest.fixture
def worker(_shared_worker):
    """A real worker process (`manage.py procrastinate worker`) on this test process's database, shared by the
    session: async adds made through a live server get done (events/tests/workers.py)."""
    if not _shared_worker.running():
        _shared_worker.start()
    return _shared_worker


@pytest.fixture(autouse=True)
def _no_stray_worker(request):
    """The shared worker takes committed jobs only for the test files that use it (WORKER_FILES): another file's
    transactional tests run their jobs themselves (in-process) and must find them still queued."""
    from events.tests import workers

    if not workers.SHARED or request.node.path in WORKER_FILES:
        return
    marker = request.node.get_closest_marker("django_db")
    commits = bool(marker and marker.kwargs.get("transaction")) or "live_server" in request.fixturenames
    if commits:
        workers.stop_shared_workers()


@pytest.fixture
def fresh_database_url(db):
    """A DATABASE_URL for an empty database on the test server; dropped afterwards."""
    import uuid
    from urllib.parse import quote, urlencode

    import psycopg
    from django.db import connections

    settings_dict = connections["default"].settings_dict
    name = f"test_bootstrap_{uuid.uuid4().hex[:8]}"
    params = template_database.maintenance_params()
    with psycopg.connect(**params) as server:
        server.execute(f'CREATE DATABASE "{name}"')
    query = {key: settings_dict[key.upper()] for key in ("host", "port") if settings_dict[key.upper()]}
    credentials = quote(settings_dict["USER"], safe="") + (
        ":" + quote(settings_dict["PASSWORD"], safe="") if settings_dict["PASSWORD"] else ""
    )
    yield f"postgres://{credentials}@/{name}?{urlencode(query)}"
    with psycopg.connect(**params) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_template_env(request) -> dict[str, str]:
    """For a process a test starts that makes a throw-away database of its own (a benchmark script, a pytest run):
    under `pytest -n`, the run's migrated template to copy, as TEST_DATABASE_TEMPLATE
    (mem0server/tests/template_database.py); run alone, nothing (that process migrates its own)."""
    from django.db import connections

    if getattr(request.config, "workerinput", None) is None:
        return {}
    request.getfixturevalue("django_db_setup")  # the template is made, complete, before this process's test database
    template = connections["default"].settings_dict["TEST"].get("TEMPLATE")
    return {template_database.ENVIRONMENT_VARIABLE: template} if template else {}
