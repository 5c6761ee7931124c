"""The dashboard's queued adds: the Platform API's adds (queued, as Mem0's SDKs send them), what each held and how it
ended, with the real database, worker code and local embedder."""

from __future__ import annotations

import html
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from dashboard.tests.clients import logged_in
from events.models import Event
from memories.models import Memory
from memories.tests.files import FileHost


def queue(client, content, *, user_id: str = "alice", infer: bool = False, **more) -> str:
    """An add through the Platform API, queued (its default); the event's id."""
    body = {"messages": [{"role": "user", "content": content}], "user_id": user_id, "infer": infer, **more}
    answer = client.post("/v3/memories/add/", body, format="json")
    assert answer.status_code == 202, answer.json()
    return answer.json()["event_id"]


def rows(page) -> list[str]:
    """The events table's rows, as text."""
    table = page.content.decode().split('<table id="events">', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in re.findall(r"<tr.*?</tr>", body, re.S)
    ]


@pytest.mark.django_db(transaction=True)
def test_queued_adds_are_listed_newest_first_with_how_each_ended(
    make_user, key_client, run_jobs, settings, monkeypatch
):
    alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
    client = key_client(alice)
    settings.FETCH_HOSTS = ["127.0.0.1"]
    with FileHost({}) as host:  # every path a 404
        stored = queue(client, "Owns a cat")
        failed = queue(client, [{"type": "txt_url", "txt_url": {"url": f"{host}/lease.txt"}}], user_id="sam")
        run_jobs()
    pending = queue(client, "Plays chess", infer=True)  # not run yet
    queue(key_client(bob), "Bob's", user_id="bob")

    page = logged_in(alice).get("/dashboard/events/")
    assert page.status_code == 200
    shown = rows(page)
    assert [row.split(" ", 3)[2] for row in shown] == ["Pending", "Failed", "Succeeded"]  # newest first
    assert pending[:11] in shown[0] and "user alice" in shown[0] and "(stored as sent)" not in shown[0]
    assert "user sam 1 (stored as sent)" in shown[1] and failed[:11] in shown[1]
    assert f"The document {host}/lease.txt could not be read: its host answered 404, not a document." in shown[1]
    assert "1 memory added, updated or deleted" in shown[2] and stored[:11] in shown[2]
    assert "3 queued adds." in page.content.decode()  # not Bob's
    assert 'href="/dashboard/memories/?user_id=sam" title="Its scope\'s memories"' in page.content.decode()
    # The overview counts what waits and what failed, linking here.
    overview = " ".join(
        html.unescape(re.sub(r"<[^>]+>", " ", logged_in(alice).get("/dashboard/").content.decode())).split()
    )
    assert "1 queued add waiting" in overview and "1 queued add failed in the last 24 hours" in overview

    failures = logged_in(alice).get("/dashboard/events/", {"status": "FAILED"})
    assert [failed[:11] in row for row in rows(failures)] == [True]
    assert "1 queued add failed." in failures.content.decode()
    sams = logged_in(alice).get("/dashboard/events/", {"user_id": "sam"})  # one scope's adds
    assert [failed[:11] in row for row in rows(sams)] == [True]
    assert rows(logged_in(alice).get("/dashboard/events/", {"user_id": "sam", "status": "SUCCEEDED"})) == [
        "No queued adds succeeded."
    ]
    refused = logged_in(alice).get("/dashboard/events/", {"user_id": "*"})
    assert refused.status_code == 400 and 'Must not be "*"' in html.unescape(refused.content.decode())
    refused = logged_in(alice).get("/dashboard/events/", {"status": "LOST"})
    assert refused.status_code == 400 and "Select a valid choice. LOST is not one of the available choices." in (
        html.unescape(refused.content.decode())
    )

    for page in ("0", "first"):
        refused = logged_in(alice).get("/dashboard/events/", {"page": page})
        assert refused.status_code == 400 and "Page: " in refused.content.decode()
    # Fifty to a page: two here.
    monkeypatch.setattr("dashboard.views.events.PAGE_SIZE", 2)
    first = logged_in(alice).get("/dashboard/events/")
    assert len(rows(first)) == 2 and 'href="?page=2">Older →' in first.content.decode()
    second = logged_in(alice).get("/dashboard/events/", {"page": 2})
    assert [stored[:11] in row for row in rows(second)] == [True]
    assert 'href="?page=1">← Newer' in second.content.decode() and "Older →" not in second.content.decode()
    past = logged_in(alice).get("/dashboard/events/", {"page": 5}).content.decode()  # it said "3 queued adds."
    assert 'Page 5 is past the last one: <a href="?page=2">page 2</a>.' in past and "No queued adds" not in past
    assert "No queued adds." in logged_in(make_user("carol@example.com")).get("/dashboard/events/").content.decode()
    monkeypatch.setattr("dashboard.views.events.PAGE_SIZE", 1)
    alices = logged_in(alice).get("/dashboard/events/", {"user_id": "alice", "status": ""})  # paged in its scope
    assert len(rows(alices)) == 1 and 'href="?user_id=alice&amp;page=2">Older →' in alices.content.decode()


def test_the_overview_and_the_queued_adds_say_when_no_job_worker_runs_while_adds_wait(make_user, key_client):
    """Queued adds waited for ever, silently, when no job worker ran (never started, or died): the pages listed them
    PENDING and nothing said why. Both now say so while adds wait and no worker's heartbeat is recent."""
    from events.tests.workers import stop_shared_workers

    stop_shared_workers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_workers")  # rolled back with the test
    alice = make_user("alice@example.com")
    said = "No job worker is running: 1 queued add will wait until one starts."

    def text(path: str) -> str:
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", logged_in(alice).get(path).content.decode())).split())

    assert said not in text("/dashboard/") and said not in text("/dashboard/events/")  # nothing waits
    queue(key_client(alice), "Plays chess")
    assert said in text("/dashboard/") and said in text("/dashboard/events/")
    with connection.cursor() as cursor:  # a worker's heartbeat, as a running worker writes it
        cursor.execute("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now())")
    assert said not in text("/dashboard/") and said not in text("/dashboard/events/")


@pytest.mark.django_db(transaction=True)
def test_an_admin_sees_every_accounts_queued_adds_on_asking_and_a_member_only_its_own(
    make_user, key_client, api_client, run_jobs, settings
):
    # An operator looking for what failed saw only the adds of the account logged in.
    admin, alice = make_user("admin@example.com", role="admin"), make_user("alice@example.com")
    settings.FETCH_HOSTS = ["127.0.0.1"]
    with FileHost({}) as host:  # every path a 404
        failed = queue(key_client(alice), [{"type": "txt_url", "txt_url": {"url": f"{host}/lease.txt"}}], user_id="sam")
        run_jobs()
    mine = queue(key_client(admin), "Owns a kayak", user_id="ada")
    keyed = queue(api_client, "Ops note", user_id="ops")  # the admin key's: no account

    assert [mine[:11] in row for row in rows(logged_in(admin).get("/dashboard/events/"))] == [True]
    every = logged_in(admin).get("/dashboard/events/", {"accounts": "all"})
    shown = rows(every)
    assert [row.split(" ", 3)[2] for row in shown] == ["the", "admin@example.com", "alice@example.com"]
    assert keyed[:11] in shown[0] and "the admin key" in shown[0] and mine[:11] in shown[1]
    assert failed[:11] in shown[2] and "Failed" in shown[2]
    assert "3 queued adds." in every.content.decode()
    failures = logged_in(admin).get("/dashboard/events/", {"accounts": "all", "status": "FAILED"})
    assert [failed[:11] in row for row in rows(failures)] == [True]
    # A member has no such choice: the parameter is not one of its filters, and its own adds are listed.
    assert [failed[:11] in row for row in rows(logged_in(alice).get("/dashboard/events/", {"accounts": "all"}))] == [
        True
    ]
    refused = logged_in(admin).get("/dashboard/events/", {"accounts": "everyone"})
    assert refused.status_code == 400 and "Select a valid choice. everyone is not one of the available choices." in (
        html.unescape(refused.content.decode())
    )


@pytest.mark.django_db(transaction=True)
def test_a_failed_queued_add_is_queued_again_from_the_page_once_what_failed_is_mended(
    make_user, key_client, run_jobs, settings
):
    alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
    settings.FETCH_HOSTS = ["127.0.0.1"]
    files = {}
    with FileHost(files) as host:
        failed = queue(key_client(alice), [{"type": "txt_url", "txt_url": {"url": f"{host}/notes.txt"}}], user_id="sam")
        stored = queue(key_client(alice), "Owns a cat")
        theirs = queue(key_client(bob), [{"type": "txt_url", "txt_url": {"url": f"{host}/notes.txt"}}], user_id="bo")
        run_jobs()
        assert Event.objects.get(id=failed).status == "FAILED"
        files["/notes.txt"] = (200, "text/plain", b"Bought a kayak in May")  # the host serves it now

        page = logged_in(alice)
        assert page.get(f"/dashboard/events/{failed}/again/").status_code == 405  # a form posts to it
        answer = page.post(f"/dashboard/events/{failed}/again/", follow=True)
        again = Event.objects.exclude(id__in=[failed, stored, theirs]).get()
        assert f"Queued again as event {again.id}." in answer.content.decode()
        assert (again.account, again.payload) == (alice, Event.objects.get(id=failed).payload)
        run_jobs()
    again.refresh_from_db()
    assert again.status == "SUCCEEDED"
    assert Event.objects.get(id=failed).status == "FAILED"  # the first stays as it ended
    assert Memory.objects.filter(user_id="sam").get().text == "Bought a kayak in May"
    # Once only: a second click does not add its memories twice; the page says where it went.
    twice = page.post(f"/dashboard/events/{failed}/again/", follow=True)
    assert f"Event {failed} was queued again already, as event {again.id}." in twice.content.decode()
    assert f'Queued again as event <span class="mono">{again.id}</span>.' in twice.content.decode()

    refused = page.post(f"/dashboard/events/{stored}/again/", follow=True)
    assert f"Event {stored} succeeded: only a failed add is queued again." in html.unescape(refused.content.decode())
    assert page.post(f"/dashboard/events/{theirs}/again/").status_code == 404  # Bob's
    assert page.post("/dashboard/events/not-an-id/again/").status_code == 404
    assert Event.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_an_admin_queues_again_any_accounts_failed_add_as_that_accounts_own_but_not_a_deactivated_ones(
    make_user, key_client, api_client, run_jobs, settings
):
    # An operator who mended what failed (a document host, an LLM's key) could queue again only its own adds from the
    # page; the members' waited for manage.py queue_failed_adds or for each member to log in.
    admin, alice = make_user("admin@example.com", role="admin"), make_user("alice@example.com")
    cy = make_user("cy@x.io")
    settings.FETCH_HOSTS = ["127.0.0.1"]
    files = {}
    with FileHost(files) as host:
        notes = [{"type": "txt_url", "txt_url": {"url": f"{host}/notes.txt"}}]
        alices = queue(key_client(alice), notes, user_id="sam")
        keyed = queue(api_client, notes, user_id="ops")  # the admin key's: no account
        cys = queue(key_client(cy), notes, user_id="cy")
        run_jobs()
        cy.is_active = False
        cy.save()
        files["/notes.txt"] = (200, "text/plain", b"Bought a kayak in May")  # the host serves it now

        page = logged_in(admin)
        every = page.get("/dashboard/events/", {"accounts": "all"}).content.decode()
        assert "Queue the 2 failed adds of every account again" in every  # not Cy's
        shown = {row.split(" ", 3)[2]: row for row in rows(page.get("/dashboard/events/", {"accounts": "all"}))}
        assert "Queue again" in shown["alice@example.com"] and "Queue again" in shown["the"]
        assert "Its account is deactivated: its adds are not run." in shown["cy@x.io"]
        assert "Queue again" not in shown["cy@x.io"]

        answer = page.post(f"/dashboard/events/{alices}/again/", {"accounts": "all"})
        assert answer.status_code == 302 and answer["Location"] == "/dashboard/events/?accounts=all"  # back to the list
        again = Event.objects.get(id=alices).queued_again_as
        assert (again.account, again.payload) == (alice, Event.objects.get(id=alices).payload)  # Alice's own add
        refused = page.post(f"/dashboard/events/{cys}/again/", {"accounts": "all"}, follow=True).content.decode()
        assert f"Event {cys} is of a deactivated account (cy@x.io): its adds are not run." in refused
        bulk = page.post("/dashboard/events/again/", {"accounts": "all"}, follow=True)
        assert "Queued 1 failed add again." in bulk.content.decode()  # the admin key's
        assert bulk.redirect_chain == [("/dashboard/events/?accounts=all", 302)]
        run_jobs()
    assert sorted(Memory.objects.values_list("user_id", "account__email")) == [
        ("ops", None),
        ("sam", "alice@example.com"),
    ]
    assert Event.objects.get(id=keyed).queued_again_as.account is None
    assert Event.objects.get(id=cys).queued_again_as is None
    # A member queues again only its own: another's is as unknown as a made-up id, with or without the parameter.
    bob = make_user("bob@example.com")
    with FileHost({}) as host:
        bobs = queue(key_client(bob), [{"type": "txt_url", "txt_url": {"url": f"{host}/x.txt"}}])
        run_jobs()
    assert logged_in(alice).post(f"/dashboard/events/{bobs}/again/", {"accounts": "all"}).status_code == 404
    assert (
        "Queued 0 failed adds again."
        in logged_in(alice).post("/dashboard/events/again/", {"accounts": "all"}, follow=True).content.decode()
    )
    assert Event.objects.get(id=bobs).queued_again_as is None


@pytest.mark.django_db(transaction=True)
def test_a_failed_add_queued_again_by_two_clicks_at_once_is_queued_once(make_user, key_client, run_jobs, settings):
    alice = make_user("alice@example.com")
    settings.FETCH_HOSTS = ["127.0.0.1"]
    with FileHost({}) as host:
        failed = queue(key_client(alice), [{"type": "txt_url", "txt_url": {"url": f"{host}/notes.txt"}}])
        run_jobs()
    together = threading.Barrier(2)

    def click(_) -> int:
        together.wait(timeout=60)
        try:
            return logged_in(alice).post(f"/dashboard/events/{failed}/again/").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as clicks:
        assert list(clicks.map(click, range(2))) == [302, 302]
    assert Event.objects.count() == 2  # the failed add and one queued again


@pytest.mark.django_db(transaction=True)
def test_the_failed_adds_are_queued_again_at_once_oldest_first_a_bounded_number_a_click(
    make_user, key_client, run_jobs, settings, monkeypatch
):
    alice = make_user("alice@example.com")
    settings.FETCH_HOSTS = ["127.0.0.1"]
    files = {}
    with FileHost(files) as host:
        notes = [{"type": "txt_url", "txt_url": {"url": f"{host}/notes.txt"}}]
        first_one = queue(key_client(alice), notes, user_id="user-0")
        noted = queue(key_client(alice), notes, user_id="noted", metadata={"note": "x" * 200})
        failed = [first_one, noted, *(queue(key_client(alice), notes, user_id=f"user-{n}") for n in (1, 2))]
        run_jobs()
        page = logged_in(alice)
        assert "Queue the 4 failed adds again" in page.get("/dashboard/events/").content.decode()
        files["/notes.txt"] = (200, "text/plain", b"Bought a kayak in May")  # the outage is over
        settings.METADATA_MAX_BYTES = 100  # and one of them is refused as an add now
        monkeypatch.setattr("events.services.AGAIN_AT_ONCE", 3)
        first = page.post("/dashboard/events/again/", follow=True).content.decode()
        assert "Queued 2 failed adds again. 2 more failed adds not queued again: press the button again." in first
        assert "1 could not be queued again: metadata holds " in first and "(METADATA_MAX_BYTES, 100)" in first
        # Oldest first: the three that came first (one of them refused).
        again = [Event.objects.get(id=event_id).queued_again_as_id is not None for event_id in failed]
        assert again == [True, False, True, False]
        settings.METADATA_MAX_BYTES = 100_000
        second = page.post("/dashboard/events/again/", follow=True).content.decode()
        assert "Queued 2 failed adds again." in second and "Queue the" not in second
        run_jobs()
    assert sorted(Memory.objects.values_list("user_id", flat=True)) == ["noted", "user-0", "user-1", "user-2"]
    assert "Queued 0 failed adds again." in page.post("/dashboard/events/again/", follow=True).content.decode()
    assert Event.objects.filter(id=noted).get().queued_again_as_id is not None


def test_a_failed_add_queued_again_from_a_filtered_later_page_comes_back_to_that_page(make_user, monkeypatch):
    """Queue again on page 2 of the failed adds of one user came back to page 1 of every add: the list's filter and
    place were lost. Its forms now come back to the page they were on, filter and page kept."""
    from dashboard.views import events

    monkeypatch.setattr(events, "PAGE_SIZE", 2)
    alice = make_user("alice@example.com")
    for n in range(5):
        messages = [{"role": "user", "content": f"fact {n}"}]
        Event.objects.create(
            account=alice, payload={"scope": {"user_id": "sam"}, "messages": messages, "infer": False}, status="FAILED"
        )
    Event.objects.create(account=alice, payload={"scope": {"user_id": "kim"}, "messages": [], "infer": False})
    client = logged_in(alice)
    listed = "/dashboard/events/?status=FAILED&user_id=sam&page=2"
    page = client.get(listed)
    assert len(rows(page)) == 2
    for form in (r'action="(/dashboard/events/[0-9a-f-]+/again/[^"]*)"', r'action="(/dashboard/events/again/[^"]*)"'):
        action = html.unescape(re.search(form, page.content.decode())[1])
        answer = client.post(action, follow=True)
        assert "Queued" in answer.content.decode()
        assert answer.redirect_chain == [(listed, 302)]
        assert answer.context["status"] == "FAILED" and answer.context["page_number"] == 2
