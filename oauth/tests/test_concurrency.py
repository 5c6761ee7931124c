"""Two requests at once with one code or one refresh token, on a live server (each in its own thread and database
connection): no code or refresh token ever gives two live pairs. A code gives one, and the grant then ends, as a
replay does; a refresh token gives both requests the same pair."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

from dashboard.tests.clients import logged_in
from oauth import services
from oauth.models import OAuthGrant
from oauth.tests.test_protocol import code_form, register

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _both_checked_before_either_issues(monkeypatch):
    """Hold a request that is about to issue tokens until the other has got as far, or 2 s have passed: without the
    row lock both would pass their checks on the unspent code and each get a pair; with it, the other one waits for
    the first's commit and never gets here."""
    meeting = threading.Barrier(2)
    issue = services._issue

    def held(grant, now, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            meeting.wait(timeout=2)
        return issue(grant, now, **kwargs)

    monkeypatch.setattr(services, "_issue", held)


def together(url: str, form: dict, times: int = 2) -> list[tuple[int, dict]]:
    """POST the form `times` times at once (released by one barrier); the answers."""
    barrier, answers = threading.Barrier(times), []
    body = urllib.parse.urlencode(form).encode()

    def post():
        barrier.wait()
        try:
            with urllib.request.urlopen(url, data=body, timeout=60) as response:  # noqa: S310 (the live server)
                answers.append((response.status, json.loads(response.read())))
        except urllib.error.HTTPError as exc:
            answers.append((exc.code, json.loads(exc.read())))

    threads = [threading.Thread(target=post) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(answers, key=lambda answer: answer[0])


def test_one_code_sent_twice_at_once_gives_one_pair_and_ends_the_grant(live_server, member, admin_key):
    form = code_form(member, register(token_endpoint_auth_method="none")["client_id"])
    (first, tokens), (second, refused) = together(live_server.url + "/oauth/token", form)
    assert (first, second) == (200, 400)
    assert refused["error"] == "invalid_grant"
    assert OAuthGrant.objects.get().revoked_at is not None
    assert "No connected apps" in logged_in(member).get("/dashboard/connections/").content.decode()


def test_one_refresh_token_sent_twice_at_once_gives_one_pair_to_both(live_server, member, admin_key):
    # What a client does when two of its requests find the access token expired together: the second gets the
    # first's answer (within OAUTH_REFRESH_REUSE_SECONDS), and the grant goes on.
    client_id = register(token_endpoint_auth_method="none")["client_id"]
    [(status, tokens)] = together(live_server.url + "/oauth/token", code_form(member, client_id), times=1)
    assert status == 200
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": client_id}
    (first, one), (second, other) = together(live_server.url + "/oauth/token", form)
    assert (first, second) == (200, 200)
    assert (one["access_token"], one["refresh_token"]) == (other["access_token"], other["refresh_token"])
    assert OAuthGrant.objects.get().revoked_at is None
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    request = urllib.request.Request(  # noqa: S310 (the live server)
        live_server.url + "/mcp",
        data=json.dumps(ping).encode(),
        headers={"Authorization": f"Bearer {one['access_token']}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        assert response.status == 200
