"""Schema fuzzing: schemathesis sends generated requests for every operation of our OpenAPI schema to a live
test server and checks every answer against that schema.

- The schema is the document GET /openapi.json serves. It is built at import, because schemathesis turns
  each operation into a pytest test at collection time (its fixture-based loader does not run on pytest 9);
  `test_the_fuzzed_schema_is_the_served_one` proves the two are the same.
- Requests go over HTTP to pytest-django's `live_server`: a real socket, the whole middleware stack and the
  real database, as a client sees them. Each operation is one test, on a database seeded with memories (with
  history, expiry, metadata, in every scope, one deleted), an account and API keys; the hooks below send a
  share of the generated requests to those ids. Every operation starts from that same seeded data: the seed is
  kept while the operations before only read it, and the database is emptied and seeded again as soon as one
  changed anything (every table's rows are compared with their digest taken after seeding), so the
  destructive operations (/reset, DELETE /memories, POST /configure, /auth/*) are fuzzed like the rest.
- Three passes: every operation with the admin API key and with a member's API key (but for the admin-only
  operations and the Platform's older paths to the same views), and the routes where only a login token may
  act (/auth/*, /api-keys) with the member's login token; and POST /memories once more with inference on,
  against the local OpenAI-wire fake.
- Cases: schemathesis's examples and coverage phases (boundary and invalid values of each parameter and body
  field, wrong types, missing fields, odd methods) and then MAX_EXAMPLES generated cases per operation and
  pass (valid and invalid); the member-key pass, and the admin pass on the Platform's older paths to the v3
  views, have no coverage phase and more generated cases instead (MEMBER_MAX_EXAMPLES). Derandomized with a
  fixed seed: CI sends the same cases every run. Each operation and pass is one test, spread over the
  processes of `pytest -n` like the rest of the suite.
  What they sent is tallied (mem0server/tests/fuzz_tally.py) and judged at the end of the run by the root
  conftest: at least 1000 cases, and requests that reached the seeded rows; the total is printed.
- Checks: no 5xx, every status code documented, the documented Content-Type, and the documented body.
"""

from __future__ import annotations

import json
import re
import time

import pytest
import schemathesis
from django.db import connection
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from psycopg.sql import SQL, Identifier, Literal
from pytest_django.live_server_helper import LiveServer
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.hypothesis import builder as test_builder
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from accounts.services import tokens_issue
from apikeys.authentication import AdminPrincipal
from apikeys.services import apikey_create, apikey_revoke
from events.tests.workers import stop_shared_workers
from mem0server.tests import emptying, fuzz_tally
from memories import services
from memories.tests.fake_openai import llm_configured
from platform_api.services import project_ids
from requestlog.models import RequestLog
from requestlog.writer import writer as request_log

SEED = 20261125
# Generated cases per operation and pass, after the examples and coverage phases (which send most cases:
# about 60 of the 75 per operation and pass with 15 here). The suite's cost: 50 took about 14 minutes on a
# busy 2-core machine; 5 keeps every operation, pass and coverage case (the member-key pass: see below).
MAX_EXAMPLES = 5
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
PASSES = ("admin key", "member key", "member token")


def served_schema() -> dict:
    """What GET /openapi.json answers, built the same way and read back from JSON, as a client reads it."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


OPENAPI = served_schema()


def fuzzed_schema(*, coverage: bool, max_examples: int):
    return schemathesis.openapi.from_dict(
        OPENAPI,
        config=SchemathesisConfig.from_dict(
            {
                "seed": SEED,
                "phases": {"coverage": {"enabled": coverage}},
                "generation": {
                    "max-examples": max_examples,
                    "deterministic": True,
                    "database": "none",
                    # The credentials are ours (each pass's headers); generated ones would only ever meet a 401.
                    "with-security-parameters": False,
                },
            }
        ),
    )


# The coverage phase's cases are built when its test runs, not at collection. Schemathesis builds them with each
# operation's test (about 5,200 cases, 4 s of CPU), and every process of `pytest -n` collects every test while each
# runs only its share of the operations: each built all of them. `add_coverage` here is schemathesis's own, called
# with the same arguments, only later (`coverage_cases` below); hypothesis runs a test's explicit cases from the
# list on the test, which it extends in place.
BUILD_COVERAGE = test_builder.add_coverage


def add_coverage_when_run(test, *args, **kwargs):
    test.coverage_to_build = (args, kwargs)
    return test


test_builder.add_coverage = add_coverage_when_run
schema = fuzzed_schema(coverage=True, max_examples=MAX_EXAMPLES)
# The member-key pass has no coverage phase and more generated cases instead. The coverage phase's boundary
# and invalid values test each operation's validation, the same code for every caller, which the admin pass
# covers whole; in the member pass they were about 2,700 cases, built in every test process at collection.
# The member pass is there for what a member may reach, and generated cases reach more of it.
MEMBER_MAX_EXAMPLES = 15
member_schema = fuzzed_schema(coverage=False, max_examples=MEMBER_MAX_EXAMPLES)


def hook(function):
    """A schemathesis hook for every pass."""
    for fuzzed in (schema, member_schema):
        fuzzed.hook(function)
    return function


# --- sending a share of the requests to rows that exist ----------------------------------------------------

# Filled when the database is seeded (each seeding has fresh ids).
SEEDED: dict[str, list] = {"memory_id": [], "key_id": [], "project": []}
SCOPES = [("user", "user_id", "alice"), ("agent", "agent_id", "helper"), ("run", "run_id", "run-1")]


def _seeded(name: str) -> st.SearchStrategy:
    # Read when drawn, not when built; an id that exists nowhere while there are none (the admin pass's keys).
    return st.integers(min_value=0, max_value=99).map(
        lambda i: SEEDED[name][i % len(SEEDED[name])] if SEEDED[name] else i
    )


def _either(generated, seeded: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.just(generated), seeded)


@hook
def flatmap_path_parameters(context, path_parameters):
    names = set(path_parameters or ())
    if names == {"memory_id"}:
        return _either(path_parameters, _seeded("memory_id").map(lambda value: {"memory_id": str(value)}))
    if names == {"key_id"}:
        return _either(path_parameters, _seeded("key_id").map(lambda value: {"key_id": value}))
    if names == {"org_id", "project_id"}:
        # The Platform's project route: the admin's and the member's own (org_id, project_id) pairs.
        projects = _seeded("project").map(lambda ids: {"org_id": ids[0], "project_id": ids[1]})
        return _either(path_parameters, projects)
    if names == {"project_id"}:
        # The webhook routes: the admin's and the member's own project_id.
        return _either(path_parameters, _seeded("project").map(lambda ids: {"project_id": ids[1]}))
    if names == {"entity_type", "entity_id"}:
        entities = [{"entity_type": kind, "entity_id": value} for kind, _, value in SCOPES]
        return _either(path_parameters, st.sampled_from(entities))
    if names == {"entity_id"}:  # a user's profile: the seeded user's
        return _either(path_parameters, st.just({"entity_id": "alice"}))
    return st.just(path_parameters)


def _with_a_seeded_scope(generated):
    """The generated object, or the same with one scope id replaced by a seeded one."""
    if not isinstance(generated, dict):
        return st.just(generated)
    scopes = st.sampled_from([(field, value) for _, field, value in SCOPES])
    return _either(generated, scopes.map(lambda scope: {**generated, scope[0]: scope[1]}))


@hook
def flatmap_query(context, query):
    # GET and DELETE /memories: listing and deleting what is there, not only empty scopes.
    return _with_a_seeded_scope(query) if context.operation.path == "/memories" else st.just(query)


# The OSS search and the Platform's (whose bodies also take top-level scope ids).
SEARCH_PATHS = ("/search", "/v3/memories/search/", "/v2/memories/search/", "/v1/memories/search/")


@hook
def flatmap_body(context, body):
    return _with_a_seeded_scope(body) if context.operation.path in SEARCH_PATHS else st.just(body)


def _seed(principal) -> None:
    """Memories in every scope, with and without metadata, expiry and an author; one updated, one deleted."""

    def add(text: str, scope: dict, role: str = "user", **kwargs) -> str:
        message = services.Message(role, text, kwargs.pop("name", None))
        return services.memories_add(principal=principal, messages=[message], scope=scope, **kwargs)[0]["id"]

    ids = [
        add("Loves spicy Thai curry", {"user_id": "alice"}),
        add(
            "Prefers tea to coffee",
            {"user_id": "alice", "agent_id": "helper", "run_id": "run-1"},
            role="assistant",
            name="bot",
            metadata={"topic": "food", "stars": 4},
            expiration_date=timezone.localdate(),
            infer=False,
        ),
        add("Works in Berlin", {"agent_id": "helper"}),
    ]
    services.memory_update(principal=principal, memory_id=ids[0], text="Loves green curry", metadata={"a": 1})
    deleted = add("Owns a cat", {"run_id": "run-1"})
    services.memory_delete(principal=principal, memory_id=deleted)
    SEEDED["memory_id"] += [*ids, deleted]


# The seeded state: the admin's and a member's memories, the member's keys (one revoked) and login token.
SECRETS: dict[str, str] = {}
# Every table's content right after seeding (but for the ones that change under any request, below), and when.
SEEDED_STATE: dict[str, object] = {"fingerprint": None, "at": 0.0}
# The request log grows with every request, and an API key's last_used_at is touched when it is used: neither
# is seeded data that a later operation's requests could miss.
NOT_FINGERPRINTED_TABLES = {RequestLog._meta.db_table}
NOT_FINGERPRINTED_COLUMNS = ["last_used_at"]
# A seeded login token is issued again before it could expire (ACCESS_TOKEN_LIFETIME, 30 minutes).
RESEED_AFTER_SECONDS = 15 * 60


def _fingerprint() -> dict[str, str]:
    """A digest of every row of every table (rows in a fixed order): any insert, update or delete changes it."""
    tables = sorted(set(connection.introspection.table_names()) - NOT_FINGERPRINTED_TABLES)
    digest = SQL(
        "SELECT {name}, md5(coalesce(string_agg(r, ',' ORDER BY r), '')) "
        "FROM (SELECT (to_jsonb(t) - {ignored}::text[])::text AS r FROM {table} t) AS rows"
    )
    query = SQL(" UNION ALL ").join(
        digest.format(name=Literal(table), ignored=Literal(NOT_FINGERPRINTED_COLUMNS), table=Identifier(table))
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        return dict(cursor.fetchall())


def _flush() -> None:
    """Empty the test database, as after a transactional test."""
    emptying.empty_test_database()


def _seed_all() -> None:
    _flush()
    admin = AdminPrincipal(auth_type="admin_api_key")
    SEEDED["memory_id"], SEEDED["key_id"] = [], []
    SEEDED["project"] = [project_ids(principal=admin)]
    _seed(admin)  # admin-owned memories (no account's: a member must never see them)
    # A member with memories of its own and two keys, one of them revoked; a third key and a login token are
    # the member passes' credentials.
    user = User.objects.create_user(email="member@example.com", name="Member")
    SEEDED["project"].append(project_ids(principal=user))
    _seed(user)
    keys = [apikey_create(user=user, label=f"fuzz {i}")[0] for i in range(2)]
    apikey_revoke(user=user, key_id=keys[1].pk)
    SEEDED["key_id"] += [key.pk for key in keys]
    SECRETS["member key"] = apikey_create(user=user, label="fuzzing")[1]
    SECRETS["member token"] = tokens_issue(user=user).access_token
    SEEDED_STATE.update(fingerprint=_fingerprint(), at=time.monotonic())


@pytest.fixture(scope="module")
def fuzz_server(test_database, django_db_blocker, embedder):
    """A live server on the test database, seeded for this process's share of the operations.

    Seeding (memories embedded, an account, keys) and emptying the database again cost more than many an
    operation's fuzzing, so the seed is kept from one operation to the next while nothing changed it: most
    operations only read. The rows are committed (the server thread has its own connections), and the
    database is emptied when this process is done with the module, as after any transactional test.
    """
    stop_shared_workers()  # jobs the fuzzing queues (async adds) stay queued, as with a transactional test
    with django_db_blocker.unblock():
        server = LiveServer("localhost")
        try:
            SEEDED_STATE["fingerprint"] = None
            yield server
        finally:
            server.stop()
            request_log.flush()  # the last requests' rows, before the database is emptied
            _flush()


@pytest.fixture
def seeded(fuzz_server, admin_key, settings) -> str:
    """The server's URL, every seeded row in place as seeded: the operation before may have deleted, changed
    or added rows (a reset, a delete, an add, a new key, a stored configuration); then the database is emptied
    and seeded again, so every operation starts from the same data.

    The request log is written as in production, in batches by its writer thread, not row by row inside each
    request as in the other tests (root conftest): no check reads it, and the inserts cost about a tenth of the
    fuzzing's CPU. Its rows are not part of the seeded state (NOT_FINGERPRINTED_TABLES)."""
    settings.REQUEST_LOG_BACKGROUND = True
    stale = time.monotonic() - SEEDED_STATE["at"] > RESEED_AFTER_SECONDS
    if SEEDED_STATE["fingerprint"] is None or stale or _fingerprint() != SEEDED_STATE["fingerprint"]:
        _seed_all()
    return fuzz_server.url


@pytest.fixture
def member_key(seeded) -> str:
    return SECRETS["member key"]


@pytest.fixture
def member_token(seeded) -> str:
    return SECRETS["member token"]


@pytest.fixture(autouse=True)
def coverage_cases(request):
    """The coverage phase's cases of this operation's test, built as schemathesis would have at collection."""
    test = request.node.obj
    to_build = vars(test).pop("coverage_to_build", None)
    if to_build is not None:
        args, kwargs = to_build
        BUILD_COVERAGE(test, *args, **kwargs)


# --- the passes --------------------------------------------------------------------------------------------


def fuzz(case, *, name: str, base_url: str, headers: dict[str, str]) -> None:
    response = case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=60)
    fuzz_tally.CASES[(name, case.operation.label)] += 1
    fuzz_tally.PHASES[str(case.meta.phase.name)] += 1
    fuzz_tally.ANSWERED.add((name, case.operation.label, response.status_code))
    if case.operation.label == "POST /configure" and response.status_code == 200:
        # Whatever configuration was accepted must stay readable: GET /configure shows it, and was once a 500.
        schema["/configure"]["GET"].Case().call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)


FUZZ_SETTINGS = settings(
    deadline=None,
    # The fixtures set up the database and server once per operation, on purpose; and a loaded 2-core CI
    # machine must not fail a run because generating data was slow.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# The Platform's older versions of list and search (v2, v1): the v3 views, with the same request schema, under
# another path. The admin pass sends them generated cases only; the coverage phase's cases for the v3 path
# test the same validation (they were about 550 of the admin pass's cases).
OLDER_PATHS = ["platform_memories_list_v2", "platform_memories_search_v2", "platform_memories_search_v1"]


@schema.exclude(operation_id=OLDER_PATHS).parametrize()
@FUZZ_SETTINGS
def test_fuzz_with_the_admin_key(case, seeded, admin_key):
    fuzz(case, name="admin key", base_url=seeded, headers={"X-API-Key": admin_key})


@member_schema.include(operation_id=OLDER_PATHS).parametrize()
@FUZZ_SETTINGS
def test_fuzz_the_older_paths_with_the_admin_key(case, seeded, admin_key):
    fuzz(case, name="admin key", base_url=seeded, headers={"X-API-Key": admin_key})


# The member pass is there for what a member may reach. It leaves out the admin-only operations (a member
# gets 403 before its request is read: the auth matrix, mem0server/tests/test_auth_matrix.py, covers that)
# and the older paths (the admin pass fuzzes them).
NOT_IN_THE_MEMBER_PASS = ["memories_delete_scope", "memories_reset", "entity_delete", "configure_set", *OLDER_PATHS]


@member_schema.exclude(operation_id=NOT_IN_THE_MEMBER_PASS).parametrize()
@FUZZ_SETTINGS
def test_fuzz_with_a_member_key(case, seeded, member_key):
    fuzz(case, name="member key", base_url=seeded, headers={"X-API-Key": member_key})


# Only the routes where a login token may do more than the member's API key (account changes, API keys); on
# every other route the two are the same account with the same powers, which the member-key pass and the auth
# matrix (mem0server/tests/test_auth_matrix.py) cover. This keeps the fuzzing's cost down.
LOGIN_ONLY_PATHS = r"^/(auth|api-keys)"


@schema.include(path_regex=LOGIN_ONLY_PATHS).parametrize()
@FUZZ_SETTINGS
def test_fuzz_with_a_member_login_token(case, seeded, member_token):
    fuzz(case, name="member token", base_url=seeded, headers={"Authorization": f"Bearer {member_token}"})


@pytest.fixture
def inference_on(seeded):
    """The LLM pipeline on, against the local OpenAI-wire fake (memories/tests/fake_openai.py)."""
    with llm_configured() as fake:
        yield seeded
        assert fake.chat_calls("extract"), "no add reached the LLM"


# Adding is the one operation that calls the LLM; with inference on it extracts facts and decides ADD,
# UPDATE, DELETE or NONE against the seeded memories, answers the other passes never see.
@schema.include(operation_id="memories_add").parametrize()
@FUZZ_SETTINGS
def test_fuzz_adding_with_inference_on(case, inference_on, admin_key):
    fuzz(case, name="inference on", base_url=inference_on, headers={"X-API-Key": admin_key})


@pytest.mark.django_db
def test_the_fuzzed_schema_is_the_served_one(client):
    assert client.get("/openapi.json").json() == OPENAPI


# What a whole run of this module sends: every operation in the admin-key and member-key passes, the
# login-only routes with the member's login token, and the add with inference on.
_OPERATIONS = {f"{method.upper()} {path}" for path, item in OPENAPI["paths"].items() for method in item}
_NOT_FOR_MEMBERS = {
    f"{method.upper()} {path}"
    for path, item in OPENAPI["paths"].items()
    for method, operation in item.items()
    if operation.get("operationId") in NOT_IN_THE_MEMBER_PASS
}
fuzz_tally.EXPECTED |= {("admin key", label) for label in _OPERATIONS}
fuzz_tally.EXPECTED |= {("member key", label) for label in _OPERATIONS - _NOT_FOR_MEMBERS}
fuzz_tally.EXPECTED |= {
    ("member token", label) for label in _OPERATIONS if re.match(LOGIN_ONLY_PATHS, label.split(" ", 1)[1])
}
fuzz_tally.EXPECTED.add(("inference on", "POST /memories"))
