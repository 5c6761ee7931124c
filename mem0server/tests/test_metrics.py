"""GET /metrics: Prometheus text for the admin or METRICS_TOKEN; counts summed across worker processes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mem0server.metrics import metrics_text

REPO = Path(__file__).resolve().parents[2]
TOKEN = "scrape-token-0123456789abcdef"


def samples(text: str | bytes) -> dict[tuple[str, frozenset], float]:
    text = text.decode() if isinstance(text, bytes) else text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def count(found: dict, name: str, **labels: str) -> float:
    return sum(value for (n, got), value in found.items() if n == name and set(labels.items()) <= got)


def test_metrics_count_requests_by_route_and_status_with_latency_and_memories_stored(api_client, make_memory):
    make_memory("one")
    make_memory("two", user_id="bob")
    before = samples(api_client.get("/metrics").content)
    api_client.get("/memories?user_id=alice")
    api_client.get("/memories/00000000-0000-4000-8000-000000000000")
    response = api_client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    after = samples(response.content)

    route = {"method": "GET", "route": "/memories"}
    detail = {"method": "GET", "route": "/memories/<str:memory_id>"}
    assert (
        count(after, "mem0_http_requests_total", status="200", **route)
        - count(before, "mem0_http_requests_total", status="200", **route)
        == 1
    )
    assert (
        count(after, "mem0_http_requests_total", status="404", **detail)
        - count(before, "mem0_http_requests_total", status="404", **detail)
        == 1
    )
    assert count(after, "mem0_http_request_duration_seconds_count", **detail) >= 1
    assert count(after, "mem0_http_request_duration_seconds_bucket", le="+Inf", **detail) >= 1
    assert after[("mem0_memories_stored", frozenset())] == 2
    # Ids never become label values.
    assert "00000000-0000" not in response.content.decode()


def test_the_scrape_token_opens_metrics(settings, anon_client, db):
    settings.METRICS_TOKEN = TOKEN
    assert anon_client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Bearer {TOKEN}x", "Basic abc"])
def test_metrics_without_admin_credentials_or_the_token_answer_401(settings, anon_client, header):
    settings.METRICS_TOKEN = TOKEN
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = anon_client.get("/metrics", **extra)
    assert response.status_code == 401
    assert "METRICS_TOKEN" in response.json()["detail"]


def test_metrics_without_a_token_configured_refuse_bearer_guesses(settings, anon_client):
    settings.METRICS_TOKEN = ""
    assert anon_client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_a_member_is_refused_metrics(member_client):
    assert member_client.get("/metrics").status_code == 403


def test_metrics_are_summed_across_worker_processes(tmp_path, db):
    """Two processes (as two gunicorn workers) count into PROMETHEUS_MULTIPROC_DIR; a scrape sees both."""
    script = (
        "from mem0server.metrics import request_observe\n"
        "for _ in range(3):\n"
        "    request_observe(method='POST', route='/search', status=200, seconds=0.02)\n"
    )
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, check=True, timeout=60)  # noqa: S603
    assert len(list(tmp_path.glob("*.db"))) >= 2  # one file set per process
    found = samples(metrics_text(multiproc_dir=str(tmp_path)))
    assert count(found, "mem0_http_requests_total", method="POST", route="/search", status="200") == 6
    assert count(found, "mem0_http_request_duration_seconds_bucket", route="/search", le="0.025") == 6


def test_gunicorn_runs_its_workers_in_multiprocess_mode():
    config = (REPO / "gunicorn.conf.py").read_text()
    assert re.search(r'os\.environ\["PROMETHEUS_MULTIPROC_DIR"\] = ', config)
    assert "mark_process_dead" in config


def test_a_scrape_is_not_written_to_the_request_log(api_client):
    from requestlog.models import RequestLog

    api_client.get("/metrics")
    assert not RequestLog.objects.filter(path="/metrics").exists()


def test_metrics_for_the_dashboard_admin_session(make_user):
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(make_user("root@example.com", role=User.Role.ADMIN))
    assert client.get("/metrics").status_code == 200


def test_metrics_show_the_job_queue_and_the_oldest_pending_async_add(api_client):
    before = samples(api_client.get("/metrics").content)
    response = api_client.post(
        "/v3/memories/add/", {"messages": "Hi", "user_id": "alice", "infer": False}, format="json"
    )
    assert response.status_code == 202
    after = samples(api_client.get("/metrics").content)
    waiting = ("mem0_jobs_waiting", frozenset())
    assert after[waiting] - before[waiting] == 1  # queued, and no worker runs in this test
    assert after[("mem0_events_oldest_pending_seconds", frozenset())] > 0
    assert before[("mem0_events_oldest_pending_seconds", frozenset())] == 0  # no event yet
    assert ("mem0_workers_alive", frozenset()) in after and ("mem0_jobs_running", frozenset()) in after
