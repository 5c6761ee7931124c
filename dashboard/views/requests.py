"""The request log with filters, and charts of traffic, latency and errors per endpoint."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.shortcuts import render
from django.utils import timezone

from dashboard.access import account_required
from dashboard.charts import line_chart
from dashboard.forms import RequestFilterForm
from requestlog.selectors import SearchTooBroad, requests_search, requests_traffic

# Chart window -> bucket width.
WINDOWS = {"1h": (timedelta(hours=1), timedelta(minutes=1)), "6h": (timedelta(hours=6), timedelta(minutes=5))}
WINDOWS["24h"] = (timedelta(hours=24), timedelta(minutes=15))
# The log's own time filter ("Within").
WITHIN = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
TOP_ENDPOINTS = 5
# The log lists this many calls, the newest that match, and says so when there are more.
SHOWN = 200


def _charts(traffic):
    starts = [b.start for b in traffic.buckets]
    minutes = traffic.bucket.total_seconds() / 60
    per_minute = line_chart(
        title="Requests per minute",
        unit="req/min",
        starts=starts,
        lines=[("requests", [b.requests / minutes for b in traffic.buckets])],
    )
    latency = line_chart(
        title="Latency",
        unit="ms",
        starts=starts,
        lines=[("p50", [b.p50_ms for b in traffic.buckets]), ("p95", [b.p95_ms for b in traffic.buckets])],
    )
    totals: dict[str, int] = defaultdict(int)
    cells: dict[str, dict] = defaultdict(dict)
    for row in traffic.endpoints:
        totals[row.route] += row.requests
        cells[row.route][row.start] = 100.0 * row.errors / row.requests
    busiest = sorted(totals, key=lambda route: (-totals[route], route))[:TOP_ENDPOINTS]
    errors = line_chart(
        title=f"Error rate of the {len(busiest)} busiest endpoints",
        unit="% errors",
        starts=starts,
        lines=[(route, [cells[route].get(start) for start in starts]) for route in busiest],
    )
    return [per_minute, latency, errors]


@account_required
def request_list(request):
    form = RequestFilterForm(request.GET or None)
    invalid = form.is_bound and not form.is_valid()
    filters = {} if invalid or not form.is_bound else form.cleaned_data
    window, bucket = WINDOWS[filters.get("window") or "1h"]
    # A filter the form refuses is a 400 with the field's error and no log rows: every request listed as if it
    # matched a filter the reader asked for would mislead (errors only, with a status class mistyped).
    rows, too_broad = [], ""
    within = WITHIN.get(filters.get("within") or "")
    if not invalid:
        try:
            rows = requests_search(
                principal=request.user,
                limit=SHOWN + 1,  # one more: are there older ones?
                errors_only=filters.get("errors_only", False),
                path=filters.get("path", ""),
                status_class=filters.get("status_class", ""),
                auth_type=filters.get("auth_type", ""),
                request_id=filters.get("request_id", ""),
                client=filters.get("client", ""),
                since=timezone.now() - within if within else None,
            )
        except SearchTooBroad as exc:
            too_broad = exc.detail
    more, rows = len(rows) > SHOWN, rows[:SHOWN]
    traffic = requests_traffic(principal=request.user, window=window, bucket=bucket)
    total = sum(b.requests for b in traffic.buckets)
    context = {
        "form": form,
        "rows": rows,
        "more": more,
        "shown": SHOWN,
        "charts": _charts(traffic),
        "total": total,
        "invalid": invalid,
        "too_broad": too_broad,
    }
    return render(request, "dashboard/requests.html", context, status=400 if invalid or too_broad else 200)
