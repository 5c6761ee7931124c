"""Reading the request log: lists with filters, and per-bucket aggregates computed in PostgreSQL."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from psycopg.errors import QueryCanceled

from mem0server.exceptions import InvalidInput
from requestlog.models import RequestLog
from requestlog.writer import writer

STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")
AUTH_TYPES = ("bearer", "api_key", "admin_api_key", "disabled", "oauth", "none")


def _visible(principal) -> QuerySet[RequestLog]:
    writer.flush()  # include this process's calls that are still queued
    rows = RequestLog.objects.all()
    if not principal.is_admin:
        rows = rows.filter(account=principal.account)
    return rows


def requests_list(*, principal, limit: int) -> list[RequestLog]:
    """The newest `limit` calls the caller may see: all for admins, the account's own for members."""
    return list(_visible(principal).order_by("-created_at", "-id")[:limit])


def requests_search(
    *,
    principal,
    limit: int = 100,
    errors_only: bool = False,
    path: str = "",
    status_class: str = "",
    auth_type: str = "",
    request_id: str = "",
    client: str = "",
    since: datetime | None = None,
) -> list[RequestLog]:
    """The newest calls matching every given filter (path and client: a substring; status class: 2xx … 5xx; since:
    made then or later), read within REQUEST_LOG_SEARCH_TIMEOUT_MS, else SearchTooBroad."""
    visible = _visible(principal)
    if since is not None:
        visible = visible.filter(created_at__gte=since)
    rows = visible
    if errors_only:
        rows = rows.filter(status_code__gte=400)
    if path:
        rows = rows.filter(path__icontains=path)
    if status_class in STATUS_CLASSES:
        low = int(status_class[0]) * 100
        rows = rows.filter(status_code__gte=low, status_code__lt=low + 100)
    if auth_type:
        rows = rows.filter(auth_type=auth_type)
    if request_id:
        rows = rows.filter(request_id=request_id)
    if client:
        rows = rows.filter(client__icontains=client)
    return _within_timeout(rows.order_by("-created_at", "-id"), visible, limit)


class SearchTooBroad(InvalidInput):
    """A search of the request log stopped at REQUEST_LOG_SEARCH_TIMEOUT_MS."""


# A search first reads this many of the newest calls: when `limit` of them match, they are the newest matches.
NEWEST_FIRST_ROWS = 5_000


def _within_timeout(rows: QuerySet[RequestLog], visible: QuerySet[RequestLog], limit: int) -> list[RequestLog]:
    """The newest `limit` of `rows` (the `visible` calls filtered), read within REQUEST_LOG_SEARCH_TIMEOUT_MS in all.

    A substring is matched row by row: a crafted one on an account's own 500-character paths costs up to their
    length squared each (16-37 s over 200,000 calls). And PostgreSQL cannot tell how many calls a substring matches,
    so it matched them all and sorted the matches, even for a word every path holds (0.5-1.4 s over 200,000 calls):
    the newest NEWEST_FIRST_ROWS calls are searched first (52-67 ms), and all of them only when fewer match there."""
    timeout = settings.REQUEST_LOG_SEARCH_TIMEOUT_MS  # 0: DB_STATEMENT_TIMEOUT_MS alone, for each statement
    if timeout and settings.DB_STATEMENT_TIMEOUT_MS:
        timeout = min(timeout, settings.DB_STATEMENT_TIMEOUT_MS)
    started = time.monotonic()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('statement_timeout')")
            (previous,) = cursor.fetchone()

            def budget() -> None:  # what is left of the search's time, for its next statement
                if timeout:
                    left = max(1, timeout - int((time.monotonic() - started) * 1000))
                    cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{left}ms"])

            budget()
            newest = visible.order_by("-created_at").values_list("created_at", flat=True)
            edge = next(iter(newest[NEWEST_FIRST_ROWS - 1 : NEWEST_FIRST_ROWS]), None)
            found = []
            if edge is not None:
                budget()
                found = list(rows.filter(created_at__gte=edge)[:limit])  # each call left out is older than these
            if len(found) < limit:
                budget()
                found = list(rows[:limit])
            # Inside a caller's transaction the setting would outlive this block: the usual limit again.
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
            return found
    except OperationalError as exc:
        if not timeout or not isinstance(exc.__cause__, QueryCanceled):
            raise
        raise SearchTooBroad(
            f"This search read the log for longer than {timeout} ms (REQUEST_LOG_SEARCH_TIMEOUT_MS) and was stopped. "
            "Narrow it: a shorter time (Within), errors only, a status, an auth type or a client."
        ) from None


@dataclass(frozen=True)
class Bucket:
    start: datetime
    requests: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None


@dataclass(frozen=True)
class EndpointBucket:
    route: str
    start: datetime
    requests: int
    errors: int


@dataclass(frozen=True)
class Traffic:
    since: datetime
    bucket: timedelta
    buckets: list[Bucket]  # one per bucket of the window, empty ones included
    endpoints: list[EndpointBucket]  # only buckets where the endpoint was called


def _owner_sql(principal) -> tuple[str, list]:
    """The tenancy condition of _visible, as SQL on the alias r."""
    writer.flush()
    if principal.is_admin:
        return "TRUE", []
    return "r.account_id = %s", [principal.account.pk]


def requests_traffic(*, principal, window: timedelta, bucket: timedelta) -> Traffic:
    """Calls per bucket over the last `window`: count, errors (status >= 400), p50 and p95 latency; and per
    endpoint (route with ids folded, as stored when the call was logged). Two SQL statements, whatever the number
    of rows."""
    now = timezone.now()
    step = int(bucket.total_seconds())
    # Buckets aligned on multiples of the step since the epoch, so a refresh keeps the same edges.
    since = datetime.fromtimestamp((int((now - window).timestamp()) // step + 1) * step, tz=now.tzinfo)
    visible_sql, visible_params = _owner_sql(principal)
    bucket_sql = "to_timestamp(floor(extract(epoch FROM r.created_at) / %s) * %s)"
    series_sql = f"""
        WITH hits AS (
            SELECT {bucket_sql} AS start, r.status_code, r.latency_ms
            FROM {RequestLog._meta.db_table} r
            WHERE r.created_at >= %s AND {visible_sql}
        )
        SELECT g.start, COUNT(h.start), COUNT(h.start) FILTER (WHERE h.status_code >= 400),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY h.latency_ms),
               percentile_cont(0.95) WITHIN GROUP (ORDER BY h.latency_ms)
        FROM generate_series(%s::timestamptz, %s::timestamptz, %s * interval '1 second') AS g(start)
        LEFT JOIN hits h ON h.start = g.start
        GROUP BY g.start
        ORDER BY g.start
    """  # noqa: S608  (only fixed SQL is formatted in; values are parameters)
    endpoint_sql = f"""
        SELECT r.route, {bucket_sql} AS start,
               COUNT(*), COUNT(*) FILTER (WHERE r.status_code >= 400)
        FROM {RequestLog._meta.db_table} r
        WHERE r.created_at >= %s AND {visible_sql}
        GROUP BY 1, 2
        ORDER BY 1, 2
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(series_sql, [step, step, since, *visible_params, since, now, step])
        buckets = [Bucket(start, count, errors, p50, p95) for start, count, errors, p50, p95 in cursor.fetchall()]
        cursor.execute(endpoint_sql, [step, step, since, *visible_params])
        endpoints = [EndpointBucket(*row) for row in cursor.fetchall()]
    return Traffic(since=since, bucket=bucket, buckets=buckets, endpoints=endpoints)
