"""Webhooks: create, change and delete an account's webhooks; queue and perform deliveries of memory changes."""

from __future__ import annotations

import logging
import secrets
import unicodedata
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from accounts.services import account_deactivated
from mem0server.exceptions import InvalidInput, NotFound
from mem0server.queueing import deferrer
from mem0server.retention import delete_older_than
from memories.models import MemoryHistory
from memories.signals import history_change
from webhooks import delivery
from webhooks.models import EventType, Webhook, WebhookDelivery
from webhooks.selectors import webhook_get, webhooks_of
from webhooks.targets import TargetRefused, url_check

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105  (a visible prefix, not a secret)
# memories_changed's history events → the webhook event types they are delivered as.
EVENT_TYPES = {"ADD": EventType.MEMORY_ADD, "UPDATE": EventType.MEMORY_UPDATE, "DELETE": EventType.MEMORY_DELETE}
# The event types this server sends (it takes Mem0's others too, which never fire here).
SENT_EVENT_TYPES = tuple(str(event_type) for event_type in EVENT_TYPES.values())


UNREADABLE_SIGNING_KEY_ERROR = (
    "Not sent: the webhook's secret was sealed with another SECRET_KEY and cannot be read. Add the old key to "
    "SECRET_KEY_FALLBACKS, or delete the webhook and create it again."
)


class DeliveryFailed(Exception):
    """An attempt failed in a way a later attempt may not (non-2xx answer, network error, timeout)."""

    # The receiver's doing, said in one line (delivery_attempt's warning): the worker log leaves out its traceback.
    routine = True


def secret_mask(secret: str) -> str:
    """The secret as it may be shown after creation: its prefix and last four characters."""
    return f"{SECRET_PREFIX}…{secret[-4:]}" if secret else ""


def _check_url(url: str) -> None:
    try:
        url_check(url)
    except TargetRefused as exc:
        raise InvalidInput(str(exc), field="url") from None


def _check_name(name: str) -> None:
    bad = next((n for n, char in enumerate(name) if unicodedata.category(char) == "Cc"), None)
    if bad is not None:
        raise InvalidInput(f"name holds a control character at position {bad + 1}; give plain text.", field="name")


def _check_event_types(event_types: list[str]) -> list[str]:
    if not event_types:
        raise InvalidInput(f"event_types is empty; give one or more of {', '.join(EventType.values)}.")
    unknown = [value for value in event_types if value not in EventType.values]
    if unknown:
        raise InvalidInput(
            f"Unknown event type {unknown[0]!r}; valid event types are {', '.join(EventType.values)}.",
            field="event_types",
        )
    return list(dict.fromkeys(event_types))


def webhook_create(
    *, principal, name: str, url: str, event_types: list[str], is_active: bool = True
) -> tuple[Webhook, str]:
    """A new webhook and its signing secret (the only time the secret is returned)."""
    event_types = _check_event_types(event_types)
    _check_name(name)
    _check_url(url)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    webhook = Webhook(
        account=principal.account, name=name, url=url, event_types=event_types, is_active=is_active, secret=secret
    )
    with transaction.atomic():
        _count_lock(principal)  # concurrent creates count one after another, so none goes past the limit
        limit = settings.WEBHOOK_MAX_PER_ACCOUNT
        if webhooks_of(principal=principal).count() >= limit:
            raise InvalidInput(
                f"An account may have at most {limit} webhooks (WEBHOOK_MAX_PER_ACCOUNT); delete one first, or "
                "subscribe one webhook to several event types."
            )
        webhook.save()
    return webhook, secret


def _count_lock(principal) -> None:
    """Until the transaction ends: the one lock of the caller's webhooks (the admin principal's too)."""
    key = f"webhooks:{principal.account.pk if principal.account is not None else 'admin'}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def webhook_update(
    *,
    principal,
    webhook_id: int,
    name: str | None = None,
    url: str | None = None,
    event_types: list[str] | None = None,
    is_active: bool | None = None,
) -> Webhook:
    """Change the given fields of one of the caller's webhooks (the others, and the secret, stay)."""
    webhook_get(principal=principal, webhook_id=webhook_id)
    changes: dict[str, Any] = {}
    if name is not None:
        _check_name(name)
        changes["name"] = name
    if url is not None:
        _check_url(url)
        changes["url"] = url
    if event_types is not None:
        changes["event_types"] = _check_event_types(event_types)
    if is_active is not None:
        changes["is_active"] = is_active
    with transaction.atomic():
        webhook = webhooks_of(principal=principal).select_for_update().filter(id=webhook_id).first()
        if webhook is None:  # deleted meanwhile
            raise NotFound(f"Webhook {webhook_id} not found.")
        for field, value in changes.items():
            setattr(webhook, field, value)
        # Only what changed: a secret this SECRET_KEY cannot open reads as None, and writing it back failed
        # (NOT NULL, a 500) or would drop what a SECRET_KEY_FALLBACKS entry could still open.
        webhook.save(update_fields=[*changes, "updated_at"])
    return webhook


def webhook_delete(*, principal, webhook_id: int) -> None:
    """Delete one of the caller's webhooks with its delivery log; queued deliveries to it are dropped."""
    deleted, _ = webhooks_of(principal=principal).filter(id=webhook_id).delete()
    if not deleted:
        raise NotFound(f"Webhook {webhook_id} not found.")


# A commit whose deliveries number more than this queues them through jobs of at most this many each, which queue
# them when a worker runs them: a delete of 10,000 memories for 20 webhooks then writes 200 rows in its
# transaction, not 200,000 (bench/webhook_bench.py --delete).
DELIVERIES_PER_JOB = 1_000


def deliveries_enqueue(*, account_id: int | None, changes: list[dict[str, Any]]) -> int:
    """Queue one delivery job per (change, subscribed active webhook of the account), in the caller's transaction;
    past DELIVERIES_PER_JOB, jobs that queue them (deliveries_fan_out). Returns how many deliveries."""
    from webhooks.tasks import queue_deliveries  # the task module imports this one

    # Ids only: the job reads the change back from its history row, so no memory text sits in the job's
    # arguments (which the worker logs).
    events = [
        [change["event_id"], EVENT_TYPES[change["event"]]] for change in changes if change["event"] in EVENT_TYPES
    ]
    webhooks = _subscribed_of_account(account_id, events)
    deliveries = sum(event_type in webhook.event_types for _, event_type in events for webhook in webhooks)
    if deliveries <= DELIVERIES_PER_JOB:
        return _deliveries_defer(account_id, webhooks, events)
    per_job = max(1, DELIVERIES_PER_JOB // len(webhooks))
    ids = [webhook.id for webhook in webhooks]
    _defer_fairly(
        queue_deliveries,
        account_id,
        [
            {"account_id": account_id, "webhook_ids": ids, "events": events[first : first + per_job]}
            for first in range(0, len(events), per_job)
        ],
    )
    return deliveries


def deliveries_fan_out(*, account_id: int | None, webhook_ids: list[int], events: list[list[str]]) -> int:
    """A queue_deliveries job's work: queue its events' deliveries to those of its webhooks that are still active
    and subscribed (as a delivery checks again when it runs), for the events whose history rows are still there (a
    reset since deleted them, and each delivery would have found nothing to send). Returns how many."""
    webhooks = _subscribed(Webhook.objects.filter(account_id=account_id, id__in=webhook_ids), events)
    if webhooks:
        rows = MemoryHistory.objects.filter(id__in=[event_id for event_id, _ in events])
        kept = {str(row_id) for row_id in rows.values_list("id", flat=True)}
        events = [event for event in events if event[0] in kept]
    return _deliveries_defer(account_id, webhooks, events)


# Every add, update and delete asks this, and most accounts have no webhook: a fixed statement, as the ORM would write
# it, without the ORM's query building: 0.23 ms of CPU per change against 0.96 (README, "Webhooks looked up for less").
_SUBSCRIBED_SQL = (
    f"SELECT id, event_types FROM {Webhook._meta.db_table} "  # noqa: S608
    "WHERE account_id {account} AND is_active AND event_types && %s::varchar(40)[]"
)
_SUBSCRIBED_OF_ACCOUNT = _SUBSCRIBED_SQL.replace("{account}", "= %s")
_SUBSCRIBED_OF_ADMIN = _SUBSCRIBED_SQL.replace("{account}", "IS NULL")


def _subscribed_of_account(account_id: int | None, events: list[list[str]]) -> list[Webhook]:
    """The account's active webhooks subscribed to any of the events' types (the admin principal's for None), as
    _subscribed gives them (id and event_types loaded)."""
    wanted = list({event_type for _, event_type in events})
    if not wanted:
        return []
    with connection.cursor() as cursor:
        if account_id is None:
            cursor.execute(_SUBSCRIBED_OF_ADMIN, [wanted])
        else:
            cursor.execute(_SUBSCRIBED_OF_ACCOUNT, [account_id, wanted])
        rows = cursor.fetchall()
    return [Webhook.from_db(connection.alias, ["id", "event_types"], row) for row in rows]


def _subscribed(webhooks, events: list[list[str]]) -> list[Webhook]:
    wanted = list({event_type for _, event_type in events})
    if not wanted:
        return []
    return list(webhooks.filter(is_active=True, event_types__overlap=wanted).only("id", "event_types"))


def _deliveries_defer(account_id: int | None, webhooks: list[Webhook], events: list[list[str]]) -> int:
    from webhooks.tasks import deliver  # the task module imports this one

    jobs = [
        {"webhook_id": webhook.id, "event_id": event_id, "event_type": event_type}
        for event_id, event_type in events
        for webhook in webhooks
        if event_type in webhook.event_types
    ]
    _defer_fairly(deliver, account_id, jobs)
    return len(jobs)


def _defer_fairly(task, account_id: int | None, jobs: list[dict[str, Any]]) -> None:
    """One statement: all of the jobs, or none. Each is one more of the account's waiting deliveries, so another
    account's jobs take turns with them (mem0server/queueing.py) instead of waiting behind all."""
    if not jobs:
        return
    waiting = _deliveries_waiting(account_id)
    configured = deferrer(task)
    configured.job_manager.batch_defer_jobs(
        jobs=[configured.make_new_job(**job).evolve(priority=-(waiting + n)) for n, job in enumerate(jobs)]
    )


def _deliveries_waiting(account_id: int | None) -> int:
    """The account's delivery jobs queued or running (retries waiting for their time included)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'webhooks.deliver' "
            "AND status IN ('todo', 'doing') AND (args->>'webhook_id')::bigint IN "
            "(SELECT id FROM webhooks_webhook WHERE account_id IS NOT DISTINCT FROM %s)",
            [account_id],
        )
        return cursor.fetchone()[0]


def deliveries_prune(*, older_than_days: int) -> int:
    """Delete delivery-log rows older than the retention; returns how many."""
    return delete_older_than(WebhookDelivery.objects.all(), field="created_at", days=older_than_days)


def deliveries_forget() -> int:
    """Delete the whole delivery log (POST /reset): each row keeps the payload it posted, a memory's text with it.
    The webhooks stay; returns how many rows went."""
    return WebhookDelivery.objects.all().delete()[0]


def payload_build(history: MemoryHistory, event_type: str) -> dict[str, Any]:
    """The JSON body of a memory event, from its history row: Mem0's `event_details` (the memory's text after the
    change; before it, for a DELETE), plus the event's id, type and time."""
    change = history_change(history)
    deleted = history.event == MemoryHistory.Event.DELETE
    data = {"memory": history.old_memory if deleted else history.new_memory}
    if history.event == MemoryHistory.Event.UPDATE and history.old_memory is not None:
        data["previous_memory"] = history.old_memory
    return {
        "event_id": change["event_id"],
        "event_type": event_type,
        "created_at": change["created_at"],
        "event_details": {
            "id": change["memory_id"],
            "event": change["event"],
            "data": data,
            "actor_id": change["actor_id"],
            "role": change["role"],
        },
    }


def delivery_attempt(*, webhook_id: int, event_id: str, event_type: str, attempt: int) -> None:
    """Make one attempt and log it; DeliveryFailed if a later attempt may succeed. Nothing is sent (or logged)
    to a deleted or paused webhook, nor one no longer subscribed to the event's type, nor for an event whose history
    row is gone (POST /reset), nor for an account deactivated since (as if its webhooks were paused)."""
    webhook = Webhook.objects.filter(id=webhook_id, is_active=True, event_types__contains=[event_type]).first()
    history = MemoryHistory.objects.filter(id=event_id).first()
    if webhook is None or history is None or account_deactivated(webhook.account_id):
        return
    body_payload = {**payload_build(history, event_type), "webhook_id": webhook.id}
    if webhook.secret is None:  # sealed under another SECRET_KEY (mem0server/sealing.py): nothing can be signed
        outcome = delivery.Outcome(None, UNREADABLE_SIGNING_KEY_ERROR, duration_ms=0, retryable=False)
    else:
        # The receiver may take WEBHOOK_TIMEOUT_SECONDS: meanwhile this thread's database connection goes back to
        # the worker's pool (WEBHOOK_WORKER_CONCURRENCY attempts beside WORKER_CONCURRENCY jobs share it).
        if not connection.in_atomic_block:
            connection.close()
        outcome = delivery.send(
            url=webhook.url,
            secret=webhook.secret,
            event_id=event_id,
            event_type=event_type,
            attempt=attempt,
            body=delivery.body_encode(body_payload),
        )
    try:
        with transaction.atomic():  # the foreign key is checked at this commit
            WebhookDelivery.objects.create(
                webhook=webhook,
                event_id=event_id,
                event_type=event_type,
                payload=body_payload,
                attempt=attempt,
                status_code=outcome.status_code,
                error=outcome.error,
                succeeded=outcome.succeeded,
                duration_ms=outcome.duration_ms,
            )
    except IntegrityError:
        if Webhook.objects.filter(id=webhook.id).exists():
            raise
        # Deleted while this attempt was on its way: its log went with it, and it gets nothing more (no retry).
        return
    if outcome.succeeded:
        return
    logger.warning("Webhook %s: attempt %s of event %s failed: %s", webhook.id, attempt, event_id, outcome.error)
    if outcome.retryable:
        raise DeliveryFailed(outcome.error)
