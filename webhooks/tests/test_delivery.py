"""One delivery attempt (webhooks.services.delivery_attempt, what the job runs): the address is checked again
at delivery and is the one connected to, network failures are retryable, the signature is exact, and no secret
reaches the logs. DNS is faked at its edge (socket.getaddrinfo) for the names these tests invent."""

from __future__ import annotations

import hashlib
import hmac
import logging
import socket
import threading
import uuid

import pytest
from django.db import connection

from conftest import ADMIN
from memories import services as memories_services
from memories.models import MemoryHistory
from webhooks import delivery, services
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def dns(monkeypatch):
    """Names of the test's choosing resolve to the addresses it sets (changeable mid-test, as DNS rebinding does)."""
    table: dict[str, str] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host in table:
            return REAL_GETADDRINFO(table[host], port, *args, **kwargs)
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


@pytest.fixture
def event_id(make_memory) -> str:
    """A memory add's event (its history row), as the delivery job is given it."""
    memory_id = make_memory("Likes chess")
    return str(MemoryHistory.objects.get(memory_id=memory_id).id)


def attempt(webhook, event_id: str, number: int = 1) -> None:
    services.delivery_attempt(webhook_id=webhook.id, event_id=event_id, event_type="memory_add", attempt=number)


def test_a_name_that_rebinds_to_loopback_after_the_check_is_refused_at_delivery(event_id, dns, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    port = receiver.url.split(":")[2].split("/")[0]
    dns["hooks.example"] = "93.184.216.34"  # public when the webhook is saved
    webhook, _ = services.webhook_create(
        principal=ADMIN, name="rebind", url=f"http://hooks.example:{port}/hook", event_types=["memory_add"]
    )
    dns["hooks.example"] = "127.0.0.1"  # loopback by the time it is delivered
    attempt(webhook, event_id)  # not retryable: returns without raising DeliveryFailed
    assert receiver.requests == []
    row = WebhookDelivery.objects.get()
    assert (row.status_code, row.succeeded) == (None, False)
    assert "resolves to 127.0.0.1, a loopback address" in row.error


def test_a_webhook_saved_while_private_targets_were_allowed_is_refused_once_they_are_not(event_id, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    webhook, _ = services.webhook_create(principal=ADMIN, name="x", url=receiver.url, event_types=["memory_add"])
    settings.WEBHOOK_ALLOW_PRIVATE = False
    attempt(webhook, event_id)
    assert receiver.requests == []
    assert "a loopback address" in WebhookDelivery.objects.get().error


def test_the_delivery_connects_to_the_checked_address_and_keeps_the_host_header(event_id, dns, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    port = receiver.url.split(":")[2].split("/")[0]
    dns["hooks.example"] = "127.0.0.1"
    webhook, _ = services.webhook_create(
        principal=ADMIN, name="named", url=f"http://hooks.example:{port}/in?x=1", event_types=["memory_add"]
    )
    attempt(webhook, event_id)
    [received] = receiver.requests
    assert received.headers["Host"] == f"hooks.example:{port}"
    assert received.path == "/in?x=1"
    assert WebhookDelivery.objects.get().succeeded


def test_a_receiver_that_is_down_is_a_retryable_failure_with_the_reason_logged(event_id, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    webhook, _ = services.webhook_create(
        principal=ADMIN, name="down", url=f"http://127.0.0.1:{port}/", event_types=["memory_add"]
    )
    with pytest.raises(services.DeliveryFailed):
        attempt(webhook, event_id, 2)
    row = WebhookDelivery.objects.get()
    assert (row.attempt, row.status_code, row.succeeded) == (2, None, False)
    assert "ConnectError" in row.error


def test_a_paused_or_deleted_webhook_is_not_called(event_id, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    webhook, _ = services.webhook_create(
        principal=ADMIN, name="x", url=receiver.url, event_types=["memory_add"], is_active=False
    )
    attempt(webhook, event_id)
    webhook.delete()
    attempt(webhook, event_id)
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_a_webhook_no_longer_subscribed_to_the_event_type_is_not_called(event_id, receiver, settings):
    # A delivery queued (or a retry) before the webhook's event types changed was still sent.
    settings.WEBHOOK_ALLOW_PRIVATE = True
    webhook, _ = services.webhook_create(principal=ADMIN, name="x", url=receiver.url, event_types=["memory_add"])
    services.webhook_update(principal=ADMIN, webhook_id=webhook.id, event_types=["memory_delete"])
    attempt(webhook, event_id)
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_a_webhook_of_an_account_deactivated_since_is_not_called(make_user, make_memory, receiver, settings):
    # Deliveries queued before the deactivation (and their retries) still posted the account's memories.
    from accounts.services import user_set_active

    settings.WEBHOOK_ALLOW_PRIVATE = True
    alice = make_user("alice@example.com")
    webhook, _ = services.webhook_create(principal=alice, name="x", url=receiver.url, event_types=["memory_add"])
    memory_id = make_memory("Likes chess", principal=alice)
    user_set_active(actor=make_user("admin@example.com", role="admin"), user_id=alice.pk, active=False)
    attempt(webhook, str(MemoryHistory.objects.get(memory_id=memory_id).id))
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_an_event_whose_history_was_reset_is_not_sent(event_id, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    webhook, _ = services.webhook_create(principal=ADMIN, name="x", url=receiver.url, event_types=["memory_add"])
    memories_services.memories_reset()
    attempt(webhook, event_id)
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_the_signature_is_the_hmac_of_timestamp_dot_body():
    body = delivery.body_encode({"b": "é", "a": 1})
    assert body == '{"b":"é","a":1}'.encode()
    expected = hmac.new(b"whsec_k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert delivery.signature("whsec_k", 1700000000, body) == f"t=1700000000,v1={expected}"


def test_no_secret_reaches_the_logs_of_a_failing_delivery(event_id, receiver, settings, caplog):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    webhook, secret = services.webhook_create(principal=ADMIN, name="x", url=receiver.url, event_types=["memory_add"])
    receiver.answer_next(500)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(services.DeliveryFailed):
        attempt(webhook, event_id)
    assert "Answered HTTP 500" in caplog.text
    assert secret not in caplog.text
    assert secret[len("whsec_") :] not in str(WebhookDelivery.objects.values_list())


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    from webhooks.targets import address_refusal

    assert address_refusal(address) is None


def test_a_name_with_one_private_address_among_public_ones_is_refused(monkeypatch, settings):
    from webhooks.targets import TargetRefused, url_resolve

    settings.WEBHOOK_ALLOW_PRIVATE = False

    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in ("93.184.216.34", "10.0.0.7")]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(TargetRefused, match="10.0.0.7, a private address"):
        url_resolve("https://mixed.example/hook")


def test_the_readmes_verification_snippet_accepts_our_signature_and_refuses_a_changed_body():
    import re
    import time
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [snippet] = [block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "def verify(" in block]
    namespace: dict = {}
    exec(snippet, namespace)  # noqa: S102  (our own README's code)
    body = delivery.body_encode({"event_id": "e1", "event_details": {"event": "ADD"}})
    header = delivery.signature("whsec_abc", int(time.time()), body)
    assert namespace["verify"]("whsec_abc", header, body)
    assert not namespace["verify"]("whsec_abc", header, body + b" ")
    assert not namespace["verify"]("whsec_abd", header, body)
    stale = delivery.signature("whsec_abc", int(time.time()) - 3600, body)
    assert not namespace["verify"]("whsec_abc", stale, body)


def test_a_reset_deletes_the_delivery_log_and_the_memories_it_holds(event_id, receiver, settings):
    # Each logged delivery keeps the payload it posted, the memory's text with it, and kept it after POST /reset.
    settings.WEBHOOK_ALLOW_PRIVATE = True
    webhook, _ = services.webhook_create(principal=ADMIN, name="x", url=receiver.url, event_types=["memory_add"])
    attempt(webhook, event_id)
    assert "Likes chess" in str(WebhookDelivery.objects.get().payload)
    memories_services.memories_reset()
    assert not WebhookDelivery.objects.exists()
    assert services.webhooks_of(principal=ADMIN).get() == webhook  # the webhook itself stays


class Trickler:
    """A local HTTP server that sends `head`, then one byte every 0.1 s, `count` of them (each well within a timeout
    of 0.5 s); `sent` counts the bytes it got out before the client hung up."""

    def __init__(self, head: bytes, count: int = 80) -> None:
        self.head, self.count, self.sent = head, count, 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.getsockname()[1]}/"

    def serve(self) -> None:
        connection, _ = self.server.accept()
        with connection:
            connection.recv(65536)
            try:
                connection.sendall(self.head)
                for _ in range(self.count):
                    connection.sendall(b"a")
                    self.sent += 1
                    threading.Event().wait(0.1)
            except OSError:  # the client hung up
                pass

    def join(self) -> int:
        self.thread.join()
        self.server.close()
        return self.sent


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_timeout(event_id, settings):
    # WEBHOOK_TIMEOUT_SECONDS bounded each read only: a receiver sending its headers a byte at a time, each within
    # the timeout, held a worker for as long as it liked (a 16 KiB header at 9 s a byte: 41 hours an attempt).
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    trickler = Trickler(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    webhook, _ = services.webhook_create(principal=ADMIN, name="slow", url=trickler.url, event_types=["memory_add"])
    with pytest.raises(services.DeliveryFailed):
        attempt(webhook, event_id)
    assert trickler.join() < 20  # the attempt ended within its 0.5 s, not after the receiver's 80 bytes (8 s)
    assert WebhookDelivery.objects.get().error == "No answer within 0.5 s."


def test_a_host_with_non_ascii_letters_is_delivered_under_its_idna_name(event_id, dns, receiver, settings):
    # A webhook on an internationalised name (bücher.example) was saved, then every delivery raised
    # UnicodeEncodeError writing the Host header: nothing sent, nothing in the delivery log, no retry.
    settings.WEBHOOK_ALLOW_PRIVATE = True
    port = receiver.url.split(":")[2].split("/")[0]
    dns["bücher.example"] = dns["xn--bcher-kva.example"] = "127.0.0.1"
    webhook, _ = services.webhook_create(
        principal=ADMIN, name="idn", url=f"http://bücher.example:{port}/hook", event_types=["memory_add"]
    )
    attempt(webhook, event_id)
    [received] = receiver.requests
    assert received.headers["Host"] == f"xn--bcher-kva.example:{port}"
    assert WebhookDelivery.objects.get().succeeded


def test_one_accounts_delivery_backlog_is_not_read_by_another_accounts_add(
    make_user, make_memory, settings, monkeypatch
):
    # Each memory change counts its account's waiting delivery jobs (their priority); the count read every waiting
    # delivery job of every account, so after one member's delete of 10,000 memories to 20 webhooks (200,000 jobs)
    # each add of any other account with a webhook read them all, inside its transaction (+60 ms an add).
    settings.WEBHOOK_ALLOW_PRIVATE = True
    monkeypatch.setattr(services, "DELIVERIES_PER_JOB", 10_000)  # the 5,000 delivery jobs queued at once, as a backlog
    bulk, other = make_user("bulk@example.com"), make_user("other@example.com")
    services.webhook_create(principal=bulk, name="b", url="http://127.0.0.1:9/", event_types=["memory_delete"])
    services.webhook_create(principal=other, name="o", url="http://127.0.0.1:9/", event_types=["memory_add"])
    changes = [{"event_id": str(uuid.uuid4()), "event": "DELETE"} for _ in range(5000)]
    assert services.deliveries_enqueue(account_id=bulk.pk, changes=changes) == 5000
    with connection.cursor() as cursor:
        # The statistics a backlog has once autovacuum has seen it: without them, a table last analyzed nearly empty
        # (by the tests before, in this database) made the planner read it whole, index or not.
        cursor.execute("ANALYZE procrastinate_jobs")

    def jobs_rows_read() -> int:  # by this transaction so far, by any scan of procrastinate_jobs
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_stat_get_xact_tuples_returned('procrastinate_jobs'::regclass)"
                " + pg_stat_get_xact_tuples_fetched('procrastinate_jobs'::regclass)"
            )
            return cursor.fetchone()[0]

    before = jobs_rows_read()
    make_memory("One fact", principal=other, user_id="o")
    assert jobs_rows_read() - before < 100  # not the other account's 5,000


def test_a_change_is_queued_for_exactly_its_accounts_active_subscribed_webhooks(make_user):
    # Every change asks which webhooks want it (a fixed statement, services._subscribed_of_account): the account's own
    # (the admin principal's for none), active, subscribed to the change's event type; each once per change.
    from webhooks.models import Webhook

    alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
    made = {}
    for owner, name, types, active in (
        (alice, "adds", ["memory_add"], True),
        (alice, "all", ["memory_add", "memory_update", "memory_delete"], True),
        (alice, "paused", ["memory_add"], False),
        (alice, "deletes", ["memory_delete"], True),
        (bob, "bob adds", ["memory_add"], True),
        (None, "admin adds", ["memory_add"], True),
    ):
        made[name] = Webhook.objects.create(
            account=owner, name=name, url="http://127.0.0.1:9/", event_types=types, is_active=active
        ).pk

    def queued(account, *events: str) -> list[str]:
        changes = [{"event_id": str(uuid.uuid4()), "event": event} for event in events]
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM procrastinate_jobs")
            before = cursor.fetchone()[0]
        count = services.deliveries_enqueue(account_id=account.pk if account else None, changes=changes)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (args->>'webhook_id')::bigint FROM procrastinate_jobs ORDER BY id OFFSET %s", [before]
            )
            names = {pk: name for name, pk in made.items()}
            hooks = sorted(names[row[0]] for row in cursor.fetchall())
        assert count == len(hooks)
        return hooks

    assert queued(alice, "ADD") == ["adds", "all"]
    assert queued(alice, "ADD", "DELETE") == ["adds", "all", "all", "deletes"]
    assert queued(alice, "UPDATE") == ["all"]
    assert queued(bob, "ADD") == ["bob adds"]
    assert queued(bob, "DELETE") == []
    assert queued(None, "ADD", "UPDATE") == ["admin adds"]
    assert queued(make_user("carol@example.com"), "ADD") == []
