"""Writes of an async add: queue it (event row and job commit together), then run it in a worker.

A run marks the event RUNNING (own transaction), calls the same Platform add as a synchronous request, and
stores the results and SUCCEEDED inside the memories' write transaction: a run killed before that commit
leaves no memory, and a second run of a finished event does nothing.
"""

from __future__ import annotations

import json
import logging
import operator
import uuid
from collections.abc import Sequence
from functools import reduce
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Q, TextField, Value, When
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone

from accounts.services import account_deactivated, job_gone
from apikeys.authentication import AdminPrincipal, acting_for
from events.models import Event
from events.selectors import QUEUEABLE_AGAIN, SCOPE_DELETED, event_get, events_to_queue_again
from mem0server.database_failures import DATABASE_LOST, connection_dropped, connection_lost, database_lost_on_run
from mem0server.exceptions import DomainError, InvalidInput, UpstreamError, refused_by_database
from mem0server.queueing import deferrer, fair_priority
from mem0server.retention import delete_older_than
from mem0server.text import counted
from memories import services as memories_services
from memories.configuration import configuration_checked_once
from memories.services import ScopeBusy
from memories.vision import images_size_check
from platform_api import services as platform_services

logger = logging.getLogger("mem0server")

# Provider failures worth another run later (429, 5xx, unreachable, timeout); other 4xx fail the event.
TRANSIENT_CODES = frozenset({"provider_rate_limited", "provider_unavailable", "provider_timeout"})
# An event whose job is queued or running.
UNFINISHED = (Event.Status.PENDING, Event.Status.RUNNING)
# The most failed adds one call queues again (events_add_again_failed): each is checked as a new add and queued in a
# transaction of its own, so a click after an outage of hours does a bounded amount of work, and says how many are left.
AGAIN_AT_ONCE = 100

# A job runs as a principal rebuilt from the event: its account, or the admin key's "nobody" for NULL.
JOB_PRINCIPAL = AdminPrincipal(auth_type="event")


class TransientFailure(Exception):
    """This run failed for a reason that may pass (the LLM's 429/5xx/timeout): the job is run again later."""

    # Its reason is stored (the event's error_code and error_message) and said on the job's end line: the worker log
    # leaves out its traceback (events/logs.py), some 60 lines of the LLM client's own for each failed run.
    routine = True


class EventFailed(Exception):
    """The event is FAILED for good; raised so the job is recorded as failed too."""

    routine = True  # as TransientFailure's


class _AlreadyFinished(Exception):
    """Another run finished the event first: this run's writes roll back."""


class _EventGone(Exception):
    """The event's row was deleted while the add ran (with its account): its writes roll back."""


class _AccountDeactivated(Exception):
    """The event's account was deactivated while the add ran: its writes roll back."""


DEACTIVATED = "The account was deactivated after this add was queued; nothing was stored."


def event_add_create(*, principal, payload: dict[str, Any]) -> Event:
    """Queue a Platform add (platform_api.services.add_payload form); its job commits with the event or not at all.

    Input errors are raised here, before anything is queued, as for a synchronous add.
    """
    from events.tasks import run_add_event  # tasks.py calls back into this module

    messages = memories_services.memories_add_check(
        account=principal.account,
        messages=[memories_services.Message(**message) for message in payload["messages"]],
        scope=payload["scope"],
        metadata=payload.get("metadata"),
        deduced=payload.get("deduced_memories"),
    )
    if not payload.get("deduced_memories"):  # deduced facts are stored instead: no image is read (nor a system one)
        images_size_check([url for message in messages for url in message.images], principal.account)
    with transaction.atomic():
        unfinished = Event.objects.filter(account=principal.account, status__in=UNFINISHED)
        priority = fair_priority(unfinished)
        event = Event.objects.create(account=principal.account, event_type=Event.Type.ADD, payload=payload)
        deferrer(run_add_event, priority=priority, lock=_scope_lock(principal, payload)).defer(event_id=str(event.id))
    return event


def event_add_again(*, principal, event_id: uuid.UUID, every_account: bool = False) -> Event:
    """Queue a failed add of the caller's again, as it was sent (a new event of the same account; the failed one stays
    as it ended and names it), once what failed it is mended (an LLM's key, a host that was down); `every_account`:
    an admin's, of any account. Once only: a second click, or two at once, must not add its memories twice. NotFound
    for an event not the caller's, InvalidInput for one that did not fail, was queued again already, or is of a
    deactivated account (its adds are not run)."""
    with transaction.atomic():
        event = event_get(principal=principal, event_id=event_id, for_update=True, every_account=every_account)
        if event.status != Event.Status.FAILED:
            state = {Event.Status.PENDING: "is waiting", Event.Status.RUNNING: "is running"}.get(
                event.status, "succeeded"
            )
            raise InvalidInput(f"Event {event.id} {state}: only a failed add is queued again.")
        if event.queued_again_as_id:
            raise InvalidInput(f"Event {event.id} was queued again already, as event {event.queued_again_as_id}.")
        if event.error_code == SCOPE_DELETED:
            raise InvalidInput(
                f"Event {event.id} was dropped when its scope's memories were deleted: queued again, it would store "
                "what that delete removed. Send the add again if it is still wanted."
            )
        owner = acting_for(event.account, auth_type="queued again")  # whose the add is: only its account is read
        if not owner.is_active:
            raise InvalidInput(f"Event {event.id} is of a deactivated account ({owner.email}): its adds are not run.")
        again = event_add_create(principal=owner, payload=event.payload)
        Event.objects.filter(id=event.id).update(queued_again_as=again)
    return again


def events_add_again_failed(*, principal, every_account: bool = False) -> tuple[int, int, list[str]]:
    """Queue again the caller's (or, `every_account`, every active account's) failed adds not queued again yet, oldest
    first (as they came), at most AGAIN_AT_ONCE in one call, each as event_add_again does: how many were queued, how
    many are left, and why any could not be (an add the input check refuses now)."""
    failed = events_to_queue_again(principal=principal, every_account=every_account)
    queued, refused = 0, []
    for event_id in failed.order_by("created_at", "id").values_list("id", flat=True)[:AGAIN_AT_ONCE]:
        try:
            event_add_again(principal=principal, event_id=event_id, every_account=every_account)
        except InvalidInput as exc:  # queued again by another click meanwhile, or refused as an add now
            refused.append(exc.detail)
        else:
            queued += 1
    return queued, failed.count(), refused


def _scope_lock(principal, payload: dict[str, Any]) -> str | None:
    """One inferring add of a scope at a time, in the order queued (procrastinate's job lock): each then decides
    against what the one before it stored. Run side by side, four adds of "Lives in Berlin", "… Munich", "… Paris",
    "… Rome" each decided against the scope as it was and left three contradictory memories, not "Lives in Rome"."""
    if not payload.get("infer", True):
        return None  # stored as given: nothing to decide, so nothing to wait for
    account = principal.account.pk if principal.account is not None else "admin"
    return "add:" + json.dumps([account, payload["scope"]], sort_keys=True)


def events_prune(*, older_than_days: int) -> int:
    """Delete the events that finished (SUCCEEDED or FAILED) more than `older_than_days` ago; returns how many."""
    return delete_older_than(Event.objects.all(), field="finished_at", days=older_than_days)


def events_forget() -> int:
    """Delete every event (POST /reset): a finished add's results hold the memories' text, and a queued or running
    add, sent before the reset, would store its memories after it. A queued one's job then finds nothing to run; a
    running one finds its event gone as it commits and stores nothing. Returns how many."""
    return Event.objects.all().delete()[0]


def events_cancel_in_scope(*, principal, scopes: Sequence[dict[str, str]], any_of: Sequence[str] = ()) -> int:
    """Fail the caller's adds (an admin's: every account's) queued or running into a scope whose memories are being
    deleted (memories.signals.scope_deleted, inside the delete's transaction): those whose scope has every id of each
    of `scopes`, and one of the fields `any_of` names. A queued add would otherwise have stored its memories after the
    delete, though sent before it. One running commits first (the delete waited for its write), or finds its event
    failed as it commits and stores nothing (succeed in _run). A failed one that could be queued again (the LLM's
    key mended, say) is marked so too: queued again after the delete, it stored what was sent before it. Returns
    how many."""
    dropped = Event.objects.filter(Q(status__in=UNFINISHED) | QUEUEABLE_AGAIN)
    if not principal.is_admin:
        dropped = dropped.filter(account=principal.account)
    for scope in scopes:
        dropped = dropped.filter(**{f"payload__scope__{field}": value for field, value in scope.items()})
    if any_of:
        dropped = dropped.filter(reduce(operator.or_, (Q(payload__scope__has_key=field) for field in any_of)))
    # Locked first, in id order as every multi-row writer locks them: a member's and an admin's delete of one scope hold
    # different keys (memories.services.scope_delete_lock), so they may get here side by side.
    ids = list(dropped.order_by("id").select_for_update().values_list("id", flat=True))
    now = timezone.now()
    said = "The memories of this scope were deleted after this add was queued; nothing was stored."
    return Event.objects.filter(id__in=ids).update(
        status=Event.Status.FAILED,
        error_code=SCOPE_DELETED,
        # A failed one keeps when it failed, and why.
        error_message=Case(
            When(status=Event.Status.FAILED, then=Concat(Value(f"{said} It had failed before: "), "error_message")),
            default=Value(said),
            output_field=TextField(),
        ),
        finished_at=Coalesce("finished_at", Value(now)),
        updated_at=now,
    )


def _set(event_id: uuid.UUID | str, **fields: Any) -> None:
    Event.objects.filter(id=event_id).update(updated_at=timezone.now(), **fields)


def _start(event_id: str) -> Event | None:
    """Mark the event RUNNING and count the run; None when there is nothing (more) to do."""
    with transaction.atomic():
        event = Event.objects.select_for_update().filter(id=event_id).first()
        if event is None or event.status in (Event.Status.SUCCEEDED, Event.Status.FAILED):
            return None  # done by an earlier run, or its account was deleted
        now = timezone.now()
        if event.attempts >= settings.WORKER_MAX_ATTEMPTS:
            event.status, event.finished_at = Event.Status.FAILED, now
            event.error_code = "too_many_attempts"
            event.error_message = (
                f"The add was started {counted(event.attempts, 'time')} without finishing (WORKER_MAX_ATTEMPTS); "
                f"nothing was stored. Last failure: {event.error_message or 'its worker stopped while running it.'}"
            )
            event.save()
            return None
        event.status, event.attempts = Event.Status.RUNNING, event.attempts + 1
        event.started_at = event.started_at or now
        event.save()
    return event


def event_add_run(*, event_id: str) -> None:
    """Run a queued add once; TransientFailure asks for another run later, EventFailed means FAILED for good."""
    with configuration_checked_once():
        _run(event_id)


def _run(event_id: str) -> None:
    event = _start(event_id)
    if event is None:
        return
    final = event.attempts >= settings.WORKER_MAX_ATTEMPTS
    if account_deactivated(event.account_id):
        _fail_or_retry(event, "account_deactivated", DEACTIVATED, transient=False, final=True)
        return

    def succeed(results: list[dict[str, Any]]) -> None:
        # Inside the memories' write transaction: the results and the memories commit together.
        status = Event.objects.select_for_update().values_list("status", flat=True).filter(id=event_id).first()
        if status is None:
            raise _EventGone
        if status in (Event.Status.SUCCEEDED, Event.Status.FAILED):
            raise _AlreadyFinished
        if account_deactivated(event.account_id, hold=True):
            raise _AccountDeactivated  # deactivated while this add ran: its writes are rolled back
        _set(
            event_id,
            status=Event.Status.SUCCEEDED,
            results=results,
            error_code="",
            error_message="",
            finished_at=timezone.now(),
        )

    try:
        # Said when the request came: "yesterday" is the day before that, however long the add waited in the queue.
        platform_services.memories_add_payload(
            principal=event.account or JOB_PRINCIPAL,
            payload=event.payload,
            before_commit=succeed,
            said_at=event.created_at,
        )
    except _AlreadyFinished:
        logger.info("event %s was finished by another run, or its scope deleted; its writes were undone", event_id)
    except _EventGone:
        job_gone(job=f"event {event_id}", account_id=event.account_id)
    except _AccountDeactivated:
        _fail_or_retry(event, "account_deactivated", DEACTIVATED, transient=False, final=True)
    except UpstreamError as exc:
        _fail_or_retry(event, exc.code, exc.detail, transient=exc.code in TRANSIENT_CODES, final=final)
    except ScopeBusy as exc:  # a synchronous add of the scope was deciding: this one's turn comes later
        _fail_or_retry(event, "scope_busy", exc.detail, transient=True, final=final)
    except DomainError as exc:  # the input, or the server's configuration (e.g. no usable embedder)
        _fail_or_retry(event, _code_of(exc), exc.detail, transient=False, final=final)
    except Exception as exc:  # a bug or a database blip: logged, and tried again like a provider failure
        if connection_lost(exc):  # not the add's fault: its next run may well succeed, and it says why it waits
            logger.warning("event %s: %s: %s", event_id, DATABASE_LOST, exc)
            connection_dropped()  # if the database is not back yet, storing this fails too: the job is retried
            _fail_or_retry(event, DATABASE_UNAVAILABLE, _lost_database(event.attempts), transient=True, final=final)
            return  # its row was gone (its account deleted): _fail_or_retry said so
        if not Event.objects.filter(id=event_id).exists():  # its account was deleted meanwhile
            job_gone(job=f"event {event_id}", account_id=event.account_id)
            return
        if (refusal := refused_by_database(exc)) is not None:  # the input's own data: it would fail again
            logger.warning("event %s: the database refused the add: %s", event_id, exc)
            _fail_or_retry(event, "invalid_input", refusal, transient=False, final=final)
            return
        logger.exception("event %s: the add failed", event_id)
        _fail_or_retry(
            event,
            "internal_error",
            f"The add failed on the server ({type(exc).__name__}).",
            transient=True,
            final=final,
        )


DATABASE_UNAVAILABLE = "database_unavailable"


def _lost_database(attempts: int) -> str:
    said = database_lost_on_run(attempts)
    return f"{said[0].upper()}{said[1:]}; nothing was stored."


def event_lost_database(*, event_id: str) -> None:
    """A run of this add that its worker left when the database went away (events/worker.py runs_lost_database):
    PENDING again, saying why until its next run, and in the message of its last one (WORKER_MAX_ATTEMPTS)."""
    running = Event.objects.filter(id=event_id, status=Event.Status.RUNNING)
    for attempts in running.values_list("attempts", flat=True):
        message = _lost_database(attempts)
        now = timezone.now()
        running.update(
            status=Event.Status.PENDING, error_code=DATABASE_UNAVAILABLE, error_message=message, updated_at=now
        )


def _code_of(exc: DomainError) -> str:
    name = type(exc).__name__
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _fail_or_retry(event: Event, code: str, message: str, *, transient: bool, final: bool) -> None:
    """Store why this run failed: PENDING and TransientFailure (another run later), or FAILED and EventFailed. Nothing
    (said in the log) when the event's row is gone: its account was deleted meanwhile, nobody is left to tell."""
    again = transient and not final  # back in the queue, with the reason this run failed for whoever is polling
    now = timezone.now()
    changes = {"status": Event.Status.PENDING} if again else {"status": Event.Status.FAILED, "finished_at": now}
    # Never over an outcome another run has stored meanwhile.
    unfinished = Event.objects.filter(id=event.id).exclude(status__in=[Event.Status.SUCCEEDED, Event.Status.FAILED])
    stored = unfinished.update(error_code=code, error_message=message, updated_at=now, **changes)
    if not stored and not Event.objects.filter(id=event.id).exists():
        job_gone(job=f"event {event.id}", account_id=event.account_id)
        return
    raise (TransientFailure if again else EventFailed)(f"{code}: {message}")
