"""Reads of events: within the caller's account (another account's event is as unknown as a made-up id), but for an
admin asking for every account's (`every_account`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, F, Func, IntegerField, Q, QuerySet
from django.db.models.fields.json import KeyTransform
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateWorker

from events.models import Event
from mem0server.answer_size import json_bytes, page_refuse_beyond
from mem0server.exceptions import Forbidden, NotFound

# The error code of an add failed because its scope's memories were deleted after it was queued (a delete of the scope:
# services.events_cancel_in_scope; or failed before it, not queued again yet). Never queued again: it would store
# what that delete removed.
SCOPE_DELETED = "scope_deleted"
# The failed adds that can be queued again, once each.
QUEUEABLE_AGAIN = Q(status=Event.Status.FAILED, queued_again_as__isnull=True) & ~Q(error_code=SCOPE_DELETED)


def events_visible(*, principal, every_account: bool = False) -> QuerySet[Event]:
    """The caller's own events (the admin key's are those of no account); `every_account`: every account's, for an
    admin only (Forbidden for anyone else)."""
    if not every_account:
        return Event.objects.filter(account=principal.account)
    if not principal.is_admin:
        raise Forbidden("Only an admin sees every account's queued adds.")
    return Event.objects.all()


def events_to_queue_again(*, principal, every_account: bool = False) -> QuerySet[Event]:
    """The failed adds not queued again yet that can be: a deactivated account's are not run (events/tasks.py), nor one
    whose scope was deleted after it was queued."""
    failed = events_visible(principal=principal, every_account=every_account).filter(QUEUEABLE_AGAIN)
    return failed.filter(Q(account__isnull=True) | Q(account__is_active=True)) if every_account else failed


def events_failed_accounts() -> list[int | None]:
    """The accounts (their ids; None: the admin key's adds) with failed adds not queued again, for an operator's
    command (events/management/commands/queue_failed_adds.py): the one read across accounts."""
    failed = Event.objects.filter(QUEUEABLE_AGAIN)
    return list(failed.order_by("account_id").values_list("account_id", flat=True).distinct())


def parse_event_id(value: str) -> uuid.UUID:
    """NotFound for anything that is not a UUID (no event has such an id)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"Event {str(value)[:64]!r} not found.") from None


def event_get(*, principal, event_id: uuid.UUID, for_update: bool = False, every_account: bool = False) -> Event:
    """One of the caller's events (of any account's: `every_account`, an admin's), or NotFound; `for_update`: locked
    until the transaction ends."""
    events = events_visible(principal=principal, every_account=every_account)
    try:
        return (events.select_for_update() if for_update else events).get(id=event_id)
    except Event.DoesNotExist:
        raise NotFound(
            f"Event {event_id} not found (events are kept {settings.EVENT_RETENTION_DAYS} days after they finish: "
            "EVENT_RETENTION_DAYS)."
        ) from None


@dataclass(frozen=True)
class EventPage:
    count: int
    results: list[Event]
    next_page: int | None


def events_list(*, principal, page: int = 1, page_size: int = 50, status: str | None = None) -> EventPage:
    """The caller's events, newest first, one page of them (and how many there are in all)."""
    return _page(_filtered(principal, status, None), page, page_size, check=_page_size_check)


def _filtered(
    principal, status: str | None, scope: dict[str, str] | None, *, every_account: bool = False
) -> QuerySet[Event]:
    """The caller's events (every account's: `every_account`) of that status (any: None) and to that scope (each id
    given; any: None)."""
    events = events_visible(principal=principal, every_account=every_account)
    if status:
        events = events.filter(status=status)
    for field, value in (scope or {}).items():
        events = events.filter(**{f"payload__scope__{field}": value})
    return events


def _page(events: QuerySet[Event], page: int, page_size: int, *, check=None) -> EventPage:
    """One page of the events, newest first, and how many there are in all; `check` sees the page's rows unread."""
    count = events.count()
    start = (page - 1) * page_size
    if start >= count:  # past the last page, nothing to read (its OFFSET read every event to find none)
        return EventPage(count=count, results=[], next_page=None)
    rows = events.order_by("-created_at", "-id")[start : start + page_size]
    if check is not None:
        check(rows)
    return EventPage(count=count, results=list(rows), next_page=page + 1 if start + page_size < count else None)


def _page_size_check(rows: QuerySet[Event]) -> None:
    """InvalidInput when a page's events hold more bytes of payload and results (as JSON text) than one answer carries
    (LIST_MAX_BYTES): each payload is an add as queued, up to MAX_REQUEST_BYTES (an image sent as a data URL fills
    it), and 100 such events made an answer of 100 MB (0.65 s and 300 MB of Python memory to build). Weighed in
    PostgreSQL before they are read."""
    page_refuse_beyond(
        rows,
        json_bytes("payload") + json_bytes("results"),
        noun="events",
        ask="ask for fewer at a time (page_size) and page through them",
        of="payloads and results",
    )


def events_overview(
    *,
    principal,
    page: int = 1,
    page_size: int = 50,
    status: str | None = None,
    scope: dict[str, str] | None = None,
    every_account: bool = False,
) -> EventPage:
    """The caller's events, newest first, one page of them, without their payloads and results (an add as queued
    may be a megabyte): each carries its `scope` ({"user_id": …}), how many `messages` it holds and whether it `infers`,
    and how many `changes` it made (memories added, updated or deleted; None until it succeeds), and how long it
    `took` from being queued to its end (None until then), read in PostgreSQL. `scope`: only the adds to it (each id
    given, {"user_id": "sam"}: an add to user sam and agent x is one). `every_account` (an admin's): every account's
    events, each with its account's `account_email` (None for the admin key's), where another caller's are its own."""
    events = _filtered(principal, status, scope, every_account=every_account)
    if every_account:  # and whether its adds are run (a deactivated account's are not)
        events = events.annotate(account_email=F("account__email"), account_active=F("account__is_active"))
    events = events.defer("payload", "results")
    counted = Func(KeyTransform("messages", "payload"), function="jsonb_array_length", output_field=IntegerField())
    events = events.annotate(
        scope=KeyTransform("scope", "payload"),
        infers=KeyTransform("infer", "payload"),
        messages=counted,
        changes=Func(F("results"), function="jsonb_array_length", output_field=IntegerField()),
        took=F("finished_at") - F("created_at"),
    )
    return _page(events, page, page_size)


def events_counts(*, principal, every_account: bool = False) -> dict[str, int | None]:
    """How many of the caller's (or every account's) queued adds `failed` in the last day (not those a delete of their
    scope dropped, as asked), how many are `waiting` (queued or running), and how many failed and can be queued again
    (`to_queue_again`); while some wait, how many job workers are alive to run them (`workers_alive`, else None)."""
    unfinished = [Event.Status.PENDING, Event.Status.RUNNING]
    events = events_visible(principal=principal, every_account=every_account)
    day = timezone.now() - timedelta(days=1)
    counts = events.aggregate(
        failed=Count("id", filter=Q(status=Event.Status.FAILED, finished_at__gte=day) & ~Q(error_code=SCOPE_DELETED)),
        waiting=Count("id", filter=Q(status__in=unfinished)),
    )
    counts["to_queue_again"] = events_to_queue_again(principal=principal, every_account=every_account).count()
    # Read only while adds wait: whether any job worker will run them (the dashboard says so when none does).
    counts["workers_alive"] = job_workers_alive() if counts["waiting"] else None
    return counts


def job_workers_alive() -> int:
    """Job workers (two in a worker process: its jobs', its webhook deliveries') whose heartbeat is recent: within
    WORKER_STALLED_SECONDS, past which the stalled-job check takes a worker for dead."""
    recent = timezone.now() - timedelta(seconds=settings.WORKER_STALLED_SECONDS)
    return ProcrastinateWorker.objects.filter(last_heartbeat__gte=recent).count()
