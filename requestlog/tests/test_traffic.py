"""The request log's filters and per-bucket aggregates (the dashboard's Requests page reads these)."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from apikeys.authentication import AdminPrincipal
from requestlog import selectors
from requestlog.models import RequestLog
from requestlog.routes import route_of
from requestlog.selectors import requests_search, requests_traffic

ADMIN = AdminPrincipal(auth_type="admin_api_key")


# The middle of the minute the test started in, read once per test (_this_minute): read per call, a minute
# turning between two calls with one `ago` put them in two buckets.
MINUTE: list = []


@pytest.fixture(autouse=True)
def _this_minute():
    MINUTE[:] = [timezone.now().replace(second=30, microsecond=0)]


def log(
    path: str, status: int, latency: float, *, ago: timedelta, account=None, auth="api_key", rid="", client=""
) -> None:
    """A logged call `ago` before the middle of the test's minute, so calls with one `ago` share a bucket."""
    RequestLog.objects.create(
        method="GET",
        path=path,
        route=route_of(path),  # as the middleware stores it
        status_code=status,
        latency_ms=latency,
        auth_type=auth,
        account=account,
        request_id=rid,
        client=client,
        created_at=MINUTE[0] - ago,
    )


@pytest.fixture
def member(db) -> User:
    return User.objects.create_user("m@example.com")


def test_traffic_counts_calls_errors_and_latency_percentiles_per_bucket(db):
    for latency in (10, 20, 30, 40, 100):
        log("/memories", 200, latency, ago=timedelta(minutes=3))
    log("/memories/6f1c4cbb-4d7a-4a43-9a4e-6e4c1d1c9b1e", 404, 5, ago=timedelta(minutes=3))
    log("/search", 500, 7, ago=timedelta(minutes=50))
    log("/search", 200, 7, ago=timedelta(hours=3))  # outside the window

    traffic = requests_traffic(principal=ADMIN, window=timedelta(hours=1), bucket=timedelta(minutes=1))

    assert len(traffic.buckets) in (60, 61)  # every minute of the window, empty ones too
    busy = [b for b in traffic.buckets if b.requests]
    assert [(b.requests, b.errors) for b in busy] == [(1, 1), (6, 1)]
    assert busy[1].p50_ms == pytest.approx(25.0)  # median of 5, 10, 20, 30, 40, 100
    assert busy[1].p95_ms == pytest.approx(85.0)
    assert all(b.p50_ms is None for b in traffic.buckets if not b.requests)
    routes = {(e.route, e.requests, e.errors) for e in traffic.endpoints}
    assert routes == {("/memories", 5, 0), ("/memories/{id}", 1, 1), ("/search", 1, 1)}


def test_endpoints_fold_numeric_and_entity_ids(db):
    log("/api-keys/12", 200, 1, ago=timedelta(minutes=1))
    log("/api-keys/13", 404, 1, ago=timedelta(minutes=1))
    log("/entities/user/alice", 200, 1, ago=timedelta(minutes=1))
    traffic = requests_traffic(principal=ADMIN, window=timedelta(hours=1), bucket=timedelta(minutes=5))
    assert {e.route for e in traffic.endpoints} == {"/api-keys/{id}", "/entities/user/{id}"}


def test_the_charts_group_the_stored_route_and_fold_no_path_when_read(db):
    # Folding each row's path when the page is read ran three regular expressions per row of the window: 200,000
    # calls in a day cost 1.2 s of the page's 1.4 s. The plan must read the stored route and fold nothing.
    log("/memories/6f1c4cbb-4d7a-4a43-9a4e-6e4c1d1c9b1e", 200, 1, ago=timedelta(minutes=1))
    with CaptureQueriesContext(connection) as queries:
        requests_traffic(principal=ADMIN, window=timedelta(hours=24), bucket=timedelta(minutes=15))
    assert len(queries) == 2
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            cursor.execute("EXPLAIN (VERBOSE) " + query["sql"])
            plan = "\n".join(line for (line,) in cursor.fetchall())
            assert "regexp" not in plan


@pytest.mark.parametrize(
    "path",
    [
        "/memories",
        "/memories/6f1c4cbb-4d7a-4a43-9a4e-6e4C1D1C9B1E/history",
        "/v1/memories/6f1c4cbb-4d7a-4a43-9a4e-6e4c1d1c9b1e/",
        "/api-keys/12",
        "/api-keys/12/34/",
        "/v2/memories/",
        "/entities/user/alice",
        "/entities/user/12",
        "/v1/entities/user/alice/",
        "/x/007",
    ],
)
def test_the_route_stored_is_the_folding_the_page_did_when_read(db, path):
    # The migration fills older rows with the SQL the page ran; new rows get route_of's: the two must agree.
    old = importlib.import_module("requestlog.migrations.0005_requestlog_route").ROUTE_SQL
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {old} FROM (SELECT %s::text AS path) p", [path])  # noqa: S608
        assert route_of(path) == cursor.fetchone()[0]


def test_a_members_traffic_and_log_hold_only_its_own_calls(member):
    other = User.objects.create_user("o@example.com")
    log("/memories", 200, 1, ago=timedelta(minutes=1), account=member, rid="mine")
    log("/memories", 500, 1, ago=timedelta(minutes=1), account=other, rid="theirs")
    traffic = requests_traffic(principal=member, window=timedelta(hours=1), bucket=timedelta(minutes=1))
    assert sum(b.requests for b in traffic.buckets) == 1
    assert [r.request_id for r in requests_search(principal=member)] == ["mine"]
    assert requests_search(principal=member, request_id="theirs") == []


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"errors_only": True}, {"b", "c"}),
        ({"status_class": "4xx"}, {"b"}),
        ({"status_class": "5xx"}, {"c"}),
        ({"path": "SEARCH"}, {"c"}),
        ({"auth_type": "bearer"}, {"a"}),
        ({"request_id": "b"}, {"b"}),
        ({"client": "MEM0-python"}, {"a"}),
        ({"client": "n8n"}, {"b"}),
    ],
)
def test_the_log_filters(db, filters, expected):
    log("/memories", 200, 1, ago=timedelta(minutes=1), auth="bearer", rid="a", client="crewai/1.2, mem0-python/2.2.1")
    log("/memories/x", 404, 1, ago=timedelta(minutes=1), rid="b", client="N8N")
    log("/search", 503, 1, ago=timedelta(minutes=1), rid="c")
    assert {r.request_id for r in requests_search(principal=ADMIN, **filters)} == expected


def test_a_search_leaves_the_statement_timeout_of_a_callers_transaction_as_it_was(db, settings):
    # The search's own limit is set for its transaction; inside a caller's (this test's) it outlived the search.
    settings.REQUEST_LOG_SEARCH_TIMEOUT_MS = 1234
    log("/memories", 200, 1, ago=timedelta(minutes=1))
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        (before,) = cursor.fetchone()
        assert [r.path for r in requests_search(principal=ADMIN, path="memories")] == ["/memories"]
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == (before,) and before != "1234ms"


def test_a_search_reads_the_newest_calls_first_and_all_of_them_only_when_fewer_match_there(db, monkeypatch):
    # PostgreSQL cannot tell how many calls a substring matches: it matched every call and sorted the matches, 0.5-1.4 s
    # for a word every path holds in 200,000 calls.
    monkeypatch.setattr(selectors, "NEWEST_FIRST_ROWS", 3, raising=False)
    log("/search", 200, 1, ago=timedelta(minutes=9), rid="old-1")
    log("/search", 200, 1, ago=timedelta(minutes=8), rid="old-2")
    for n in range(5):
        log("/memories", 200, 1, ago=timedelta(minutes=5 - n), rid=f"new-{n}")

    def search(path: str) -> tuple[list[str], list[str]]:
        with CaptureQueriesContext(connection) as queries:
            found = requests_search(principal=ADMIN, path=path, limit=2)
        return [r.request_id for r in found], [q["sql"] for q in queries.captured_queries if " LIKE " in q["sql"]]

    found, statements = search("memories")  # among the newest 3 calls: no other call is newer than these
    assert found == ["new-4", "new-3"]
    assert len(statements) == 1 and '"created_at" >= ' in statements[0]
    found, statements = search("search")  # none among the newest 3: then all of them
    assert found == ["old-2", "old-1"] and len(statements) == 2
