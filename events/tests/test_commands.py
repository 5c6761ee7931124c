"""`manage.py queue_failed_adds`: an operator queues again the failed adds of every account, or of one, after an
outage; with the real database, worker code and local embedder."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from dashboard.tests.test_events_page import queue
from events.models import Event
from memories.models import Memory
from memories.tests.files import FileHost


def queue_failed_adds(*args: str) -> str:
    out = StringIO()
    call_command("queue_failed_adds", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_every_accounts_failed_adds_are_queued_again_once_and_run(
    make_user, key_client, api_client, run_jobs, settings
):
    # The document host was down: Alice's two adds, Bob's, Cy's and one made with the admin key failed. The dashboard's
    # button queued again only the logged-in account's.
    alice, bob, cy = make_user("alice@example.com"), make_user("bob@example.com"), make_user("cy@example.com")
    settings.FETCH_HOSTS = ["127.0.0.1"]
    files = {}
    with FileHost(files) as host:
        notes = [{"type": "txt_url", "txt_url": {"url": f"{host}/notes.txt"}}]
        failed = [
            queue(key_client(alice), notes, user_id="sam"),
            queue(key_client(alice), notes, user_id="kim"),
            queue(key_client(bob), notes, user_id="bo"),
            queue(api_client, notes, user_id="ops"),
        ]
        gone = queue(key_client(cy), notes, user_id="cy")  # an account deactivated since: its adds are not run
        queue(key_client(alice), "Owns a cat")  # succeeds: not queued again
        run_jobs()
        assert [Event.objects.get(id=event).status for event in [*failed, gone]] == ["FAILED"] * 5
        cy.is_active = False
        cy.save()
        files["/notes.txt"] = (200, "text/plain", b"Bought a kayak in May")  # the host is back

        assert queue_failed_adds("--email", "BOB@example.com") == "bob@example.com: queued 1 failed add again.\n"
        assert queue_failed_adds().splitlines() == [
            "alice@example.com: queued 2 failed adds again.",
            "the admin key: queued 1 failed add again.",
        ]
        run_jobs()
    assert sorted(Memory.objects.filter(text="Bought a kayak in May").values_list("user_id", flat=True)) == [
        "bo",
        "kim",
        "ops",
        "sam",
    ]
    again = Event.objects.exclude(id__in=[*failed, gone])
    again = again.filter(payload__scope__user_id__in=["sam", "kim", "bo", "ops", "cy"])
    assert sorted(((event.account_id, event.status) for event in again), key=str) == sorted(
        [(alice.id, "SUCCEEDED"), (alice.id, "SUCCEEDED"), (bob.id, "SUCCEEDED"), (None, "SUCCEEDED")], key=str
    )
    # Each once: run again, nothing is left to queue.
    assert queue_failed_adds() == "No failed add was queued again.\n"
    # Not "bob@example.com: queued 0 failed adds again." above it.
    assert queue_failed_adds("--email", "bob@example.com") == "No failed add of bob@example.com was queued again.\n"
    for email in ("nobody@example.com", "cy@example.com"):
        with pytest.raises(CommandError, match=f"No active account with email {email}."):
            queue_failed_adds("--email", email)
    # Bob's email in other case, held by another account too (an older database's): which one is meant is asked.
    User.objects.filter(pk=make_user("bob.2@example.com").pk).update(email="Bob@Example.com")
    with pytest.raises(CommandError, match="2 accounts have the email BOB@example.com, in other case"):
        queue_failed_adds("--email", "BOB@example.com")
