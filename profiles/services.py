"""User profiles (the official SDKs' get_profile, generate_profile, sample_profiles and profile settings).

A profile is one JSON object per user (entity type "user", the memories' user_id), filled in by the configured
LLM from that user's newest memories, under the JSON Schema in the project's profile settings (the same shaping
step as a schema export: exports/shaping.py, an answer outside the schema is asked for again once). Generations
run as background jobs (ProfileJob, one per request), on the task engine every job uses:
- `generate_profile` queues one user, `sample_profiles` the few users whose memories changed last;
- reading a profile that was never generated queues it (status "pending"), so profiles come without asking;
- a retried request with the same Idempotency-Key answers the job it started (`replayed`), not a second one.
The caller sees only its own account's memories, profiles and jobs (the admin principal: every memory, and the
rows with no account), as everywhere.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Max, OuterRef
from django.utils import timezone

from accounts.services import account_deactivated, job_gone
from apikeys.authentication import acting_for
from events.services import TRANSIENT_CODES, TransientFailure
from exports.services import ExportFailed, schema_check
from mem0server.database_failures import DATABASE_LOST, connection_dropped, connection_lost, database_lost_on_run
from mem0server.exceptions import Conflict, DomainError, InvalidInput, NotFound, UpstreamError
from mem0server.queueing import deferrer, fair_priority
from mem0server.retention import delete_older_than
from mem0server.rows import row_get_or_create
from mem0server.text import counted
from memories.configuration import HOW_TO_TURN_ON, configuration_checked_once, server_config_current
from memories.models import Memory
from memories.selectors import memories_matching, memories_visible
from profiles.models import Profile, ProfileJob, ProfileSettings

logger = logging.getLogger("mem0server")

ENTITY_TYPE = "user"
# The newest memories of a user shown to the model (as the Platform summary shows its newest 200).
MAX_MEMORIES = 200
SAMPLE_DEFAULT = 3
SAMPLE_MAX = 10
UNSET: Any = object()
DEACTIVATED_QUEUED = "The account was deactivated after this generation was queued; not run."
DEACTIVATED_RUNNING = "The account was deactivated while this profile was generated; it was not kept."

# Named for both official clients (Python's update_profile_settings, TypeScript's updateProfileSettings) and HTTP.
HOW_TO_ENABLE = (
    "Turn them on with the SDK's update_profile_settings (updateProfileSettings in TypeScript) giving enabled and a "
    'schema, or POST /v2/profiles/settings/ {"enabled": true, "entities": {"user": {"schema": {...}}}}.'
)
HOW_TO_SET_SCHEMA = (
    "Set one with the SDK's update_profile_settings (updateProfileSettings in TypeScript) giving a schema, or POST "
    '/v2/profiles/settings/ {"entities": {"user": {"schema": {...}}}}.'
)


# --- settings -----------------------------------------------------------------------------------------------


def settings_get(*, principal) -> ProfileSettings:
    """The caller's profile settings, created (off, no schema) on first use."""
    return row_get_or_create(ProfileSettings, account=principal.account)


def settings_update(
    *, principal, enabled: bool | None = None, schema: Any = UNSET, custom_instructions: Any = UNSET
) -> ProfileSettings:
    """Write the given settings (UNSET leaves one as it is; None clears the schema or the instructions)."""
    if schema is not UNSET:
        schema = profile_schema_check(schema)
    settings_get(principal=principal)
    with transaction.atomic():
        stored = ProfileSettings.objects.select_for_update().get(account=principal.account)
        if enabled is not None:
            stored.enabled = enabled
        if schema is not UNSET:
            stored.schema = schema
        if custom_instructions is not UNSET:
            stored.custom_instructions = custom_instructions or None
        stored.save()
    return stored


def profile_schema_check(schema: Any) -> dict | None:
    """A profile schema (None or {}: no schema), or InvalidInput naming what is wrong.

    A profile is an object whose properties the LLM fills in, so the schema describes an object with named
    properties, and each property says in its `description` what belongs there.
    """
    if schema is None or schema == {}:
        return None
    field = "entities.user.schema"
    if not isinstance(schema, dict):
        raise InvalidInput("The profile schema must be a JSON Schema object.", field=field)
    if schema.get("type", "object") != "object":
        raise InvalidInput(
            f"A profile is a JSON object, so the schema's top-level type must be object, not {schema['type']!r}.",
            field=field,
        )
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        raise InvalidInput(
            "The profile schema needs `properties`: an object naming each field of the profile.", field=field
        )
    for name, spec in properties.items():
        description = spec.get("description") if isinstance(spec, dict) else None
        if not isinstance(description, str) or not description.strip():
            raise InvalidInput(
                f"Property {str(name)[:64]!r} of the profile schema needs a `description`: it tells the LLM what "
                "belongs there.",
                field=field,
            )
    try:
        return schema_check(schema)  # a valid JSON Schema, with references that resolve
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, field=field) from None


def why_not_ready(stored: ProfileSettings) -> str | None:
    """Why profiles cannot be generated now, as a sentence; None when they can."""
    if not stored.enabled:
        return f"Profiles are not enabled for this project. {HOW_TO_ENABLE}"
    if stored.schema is None:
        return f"Profiles are enabled but have no schema to fill in. {HOW_TO_SET_SCHEMA}"
    llm = server_config_current().llm
    if llm.client is None:
        return f"Profiles are written by an LLM, and none is configured ({llm.missing}). {HOW_TO_TURN_ON}"
    return None


# --- jobs ---------------------------------------------------------------------------------------------------


def job_create(
    *,
    principal,
    operation: str,
    entity_id: str | None = None,
    limit: int | None = None,
    idempotency_key: str | None = None,
) -> tuple[ProfileJob, bool]:
    """Queue a generation: (the job, whether it is the one an earlier request with this Idempotency-Key made)."""
    digest = hashlib.sha256(
        json.dumps([operation, ENTITY_TYPE, entity_id, limit], ensure_ascii=False).encode()
    ).hexdigest()
    if idempotency_key and (earlier := _job_for_key(principal, idempotency_key, digest)):
        return earlier, True
    why = why_not_ready(settings_get(principal=principal))
    if why:
        raise InvalidInput(why)
    with transaction.atomic():
        if operation == ProfileJob.Operation.TRIGGER:
            if not _user_exists(principal, entity_id):
                raise NotFound(f"User {entity_id[:64]!r} not found: no memory has this user_id.")
            entity_ids = [entity_id]
        else:
            try:
                entity_ids = _sample_start(principal, limit=limit or SAMPLE_DEFAULT)
            except Conflict:
                # The run in progress may be this request's own, made by a concurrent retry with its key: the
                # settings row's lock, waited for above, is released when that retry's job has committed.
                if idempotency_key and (earlier := _job_for_key(principal, idempotency_key, digest)):
                    return earlier, True
                raise
        try:
            job = _queue(principal, operation, entity_ids, idempotency_key=idempotency_key or None, digest=digest)
        except IntegrityError:  # a concurrent request with the same key won
            if idempotency_key and (earlier := _job_for_key(principal, idempotency_key, digest)):
                return earlier, True
            raise
    return job, False


def _sample_start(principal, *, limit: int) -> list[str]:
    """The users a new sample run takes, or Conflict while another is in progress (inside the caller's
    transaction: the lock on the settings row lets one of concurrent requests start, and the others see it)."""
    ProfileSettings.objects.select_for_update().filter(account=principal.account).first()
    running = _jobs_of(principal).filter(
        operation=ProfileJob.Operation.SAMPLE, status__in=(ProfileJob.Status.PENDING, ProfileJob.Status.RUNNING)
    )
    if (busy := running.first()) is not None:
        raise Conflict(
            f"A sample run is already in progress (job {busy.id}); poll GET /v2/profiles/jobs/{busy.id}/ "
            "until it ends, then start another."
        )
    entity_ids = users_to_sample(principal=principal, limit=limit)
    if not entity_ids:
        raise InvalidInput("There is no user to sample: no memory has a user_id yet.")
    return entity_ids


def _jobs_of(principal):
    return ProfileJob.objects.filter(account=principal.account)


def _job_for_key(principal, key: str, digest: str) -> ProfileJob | None:
    earlier = _jobs_of(principal).filter(idempotency_key=key).first()
    if earlier is not None and earlier.request_digest != digest:
        raise Conflict(
            f"Idempotency-Key {key[:64]!r} was already used for a different profile request (job {earlier.id}); "
            "send a new key for a new request."
        )
    return earlier


def _queue(
    principal, operation: str, entity_ids: list[str], *, idempotency_key=None, digest="", mark_pending=True
) -> ProfileJob:
    """Store the job, mark its users' profiles pending (unless told not to) and queue the job (one transaction)."""
    from profiles.tasks import generate_profiles_job  # the task module imports this one

    with transaction.atomic():
        unfinished = ProfileJob.Status.PENDING, ProfileJob.Status.RUNNING
        priority = fair_priority(ProfileJob.objects.filter(account=principal.account, status__in=unfinished))
        job = ProfileJob.objects.create(
            account=principal.account,
            operation=operation,
            entity_ids=entity_ids,
            remaining=entity_ids,
            idempotency_key=idempotency_key,
            request_digest=digest,
        )
        for entity_id in entity_ids if mark_pending else ():
            Profile.objects.update_or_create(
                account=principal.account,
                entity_type=ENTITY_TYPE,
                entity_id=entity_id,
                defaults={"status": Profile.Status.PENDING},
            )
        deferrer(generate_profiles_job, priority=priority).defer(job_id=str(job.id))
    return job


def users_to_sample(*, principal, limit: int) -> list[str]:
    """The users whose memories changed last (at most `limit`), newest first."""
    users = (
        memories_visible(principal=principal)
        .exclude(user_id__isnull=True)
        .exclude(user_id="")
        .values("user_id")
        .annotate(latest=Max("updated_at"))
        .order_by("-latest", "user_id")[:limit]
    )
    return [row["user_id"] for row in users]


def _user_exists(principal, entity_id: str | None) -> bool:
    return bool(entity_id) and memories_visible(principal=principal).filter(user_id=entity_id).exists()


def job_run(*, job_id: uuid.UUID) -> ProfileJob | None:
    """Generate a job's profiles; None for an unknown id. Safe to run twice: a finished job is left as it is, and
    a run after a killed one writes only the profiles still to do. When an LLM failure that may pass (429, 5xx,
    timeout) left some, the job is PENDING again and TransientFailure asks the task engine for another run later
    (at most settings.WORKER_MAX_ATTEMPTS runs, as for async adds; the last one fails those profiles, and a run
    after that many started ones, each cut off with its worker, fails them without running)."""
    with transaction.atomic():
        job = ProfileJob.objects.select_for_update(of=("self",)).select_related("account").filter(id=job_id).first()
        if job is None or job.status in (ProfileJob.Status.SUCCEEDED, ProfileJob.Status.FAILED):
            return job
        if job.attempts >= settings.WORKER_MAX_ATTEMPTS:
            why = (
                f". Last failure: {job.last_failure}"
                if job.last_failure
                else ": its worker stopped while running it each time"
            )
            return _give_up(
                job,
                error=f"The generation was started {counted(job.attempts, 'time')} without finishing "
                f"(WORKER_MAX_ATTEMPTS){why}; see the server log. {NOT_QUEUED_AGAIN}",
            )
        if account_deactivated(job.account_id):
            return _give_up(job, error=DEACTIVATED_QUEUED)
        job.status, job.attempts = ProfileJob.Status.RUNNING, job.attempts + 1
        job.save(update_fields=["status", "attempts", "updated_at"])
    principal = acting_for(job.account, auth_type="profile")
    final = job.attempts >= settings.WORKER_MAX_ATTEMPTS
    try:
        # As a request does: the LLM stored through POST /configure counts, also in a worker started before it.
        with configuration_checked_once():
            for entity_id in list(job.remaining):
                if account_deactivated(job.account_id):
                    if not _refreshed(job):  # the counters this loop has added to
                        return None
                    return _give_up(job, error=DEACTIVATED_QUEUED)
                try:
                    outcome = profile_generate(principal=principal, entity_id=entity_id, final=final)
                except _PassingFailure:
                    continue  # stays in `remaining`, for the next run
                except Exception as exc:  # logged, and the profile says so; the job goes on with the next user
                    if connection_lost(exc):
                        raise
                    outcome = Profile.Status.FAILED
                job.remaining.remove(entity_id)
                counter = {"succeeded": "succeeded", "failed": "failed"}.get(outcome, "skipped")
                ProfileJob.objects.filter(id=job.id).update(
                    **{counter: F(counter) + 1}, remaining=job.remaining, updated_at=timezone.now()
                )
    except Exception as exc:
        if connection_lost(exc):  # not the job's fault: its next run may well succeed, and says why it waited
            _lost_database(job, final=final, exc=exc)
        raise
    if not _refreshed(job):
        return None
    if job.remaining:
        job.status = ProfileJob.Status.PENDING
        if not _saved(job, "status"):
            return None
        raise TransientFailure(f"profile job {job.id}: {len(job.remaining)} profile(s) left for another run")
    job.status = ProfileJob.Status.FAILED if job.failed else ProfileJob.Status.SUCCEEDED
    job.finished_at = timezone.now()
    return job if _saved(job, "status", "finished_at") else None


# Said by each profile a job gave up on.
NOT_QUEUED_AGAIN = (
    "It is not queued again until this user's memories change, or a generation is asked for (generate_profile)."
)


def _lost_database(job: ProfileJob, *, final: bool, exc: BaseException) -> None:
    """A run that lost its database: PENDING again, its last_failure saying why for the message of its last run;
    on that run (WORKER_MAX_ATTEMPTS), the profiles still to do fail saying so. If the database is not back yet,
    storing this fails too, and the job is retried all the same."""
    logger.warning("profile job %s: %s: %s", job.id, DATABASE_LOST, exc)
    connection_dropped()
    if not _refreshed(job):  # what this run wrote before the loss
        return
    if final:
        said = database_lost_on_run(job.attempts)
        _give_up(job, error=f"Given up: {said}; see the server log. {NOT_QUEUED_AGAIN}")
        return
    profile_job_lost_database(job_id=job.id)


def profile_job_lost_database(*, job_id: str | uuid.UUID) -> None:
    """A run of this job that lost its database, here or in a worker that stopped with it (events/worker.py
    runs_lost_database): PENDING again, its last_failure saying why for the message of its last run."""
    running = ProfileJob.objects.filter(id=job_id, status=ProfileJob.Status.RUNNING)
    for attempts in running.values_list("attempts", flat=True):
        said = database_lost_on_run(attempts)
        running.update(status=ProfileJob.Status.PENDING, last_failure=said, updated_at=timezone.now())


def _refreshed(job: ProfileJob) -> bool:
    """Read the job's row again; False (said in the log) when it is gone: its account was deleted meanwhile."""
    try:
        job.refresh_from_db()
    except ProfileJob.DoesNotExist:
        job_gone(job=f"profile job {job.id}", account_id=job.account_id)
        return False
    return True


def _saved(job: ProfileJob, *fields: str) -> bool:
    """Write these fields of the job; False (said in the log) when its row is gone: its account was deleted."""
    job.updated_at = timezone.now()
    values = {field: getattr(job, field) for field in (*fields, "updated_at")}
    if ProfileJob.objects.filter(id=job.id).update(**values):
        return True
    job_gone(job=f"profile job {job.id}", account_id=job.account_id)
    return False


def _give_up(job: ProfileJob, *, error: str) -> ProfileJob | None:
    """Fail a job without running it: every run so far was cut off with its worker (the stalled-job check queued
    it again each time; one more would likely take the next worker down too, and for ever), or its account was
    deactivated. Its profiles still to do say why (`error`), pending ones fail (a refresh's keep their status and
    content), and each counts as read now, the memories as they are: a read queues no refresh of them (which would
    be one more such job per read) until the user's memories change, and a generation asked for (job_create)
    still runs."""
    now = timezone.now()
    principal = acting_for(job.account, auth_type="profile")
    for entity_id in job.remaining:
        rows = Profile.objects.filter(account=job.account, entity_type=ENTITY_TYPE, entity_id=entity_id)
        rows.update(read_at=now, memories_read=_to_read(principal, entity_id).count(), error=error, updated_at=now)
        rows.filter(status=Profile.Status.PENDING).update(status=Profile.Status.FAILED)
    job.failed += len(job.remaining)
    job.status, job.remaining, job.finished_at = ProfileJob.Status.FAILED, [], now
    return job if _saved(job, "status", "failed", "remaining", "finished_at") else None


def jobs_prune(*, older_than_days: int) -> int:
    """Delete the profile jobs that finished more than `older_than_days` ago (their profiles stay); how many."""
    return delete_older_than(ProfileJob.objects.all(), field="finished_at", days=older_than_days)


class _PassingFailure(Exception):
    """The LLM failed in a way that may pass, and another run will try this profile again."""


def _to_read(principal, entity_id: str):
    """The memories a generation of this user's profile reads: the newest MAX_MEMORIES unexpired ones."""
    return memories_matching(principal=principal, filters={"user_id": entity_id})[:MAX_MEMORIES]


def profile_generate(*, principal, entity_id: str, final: bool = True) -> str:
    """Fill in one user's profile now; returns the profile's new status (its row says why it failed). Unless
    `final`, an LLM failure that may pass raises _PassingFailure and leaves the profile as it was."""
    from exports.shaping import memories_shape  # imports exports.services, as this module does

    stored = settings_get(principal=principal)
    row = Profile.objects.filter(account=principal.account, entity_type=ENTITY_TYPE, entity_id=entity_id)
    row.update(read_at=timezone.now())  # before the read: what changes from now on is for the next generation
    memories = list(_to_read(principal, entity_id))
    # Counted whatever comes of it: a generation that fails for good leaves reads nothing new to queue for.
    row.update(memories_read=len(memories))
    if not memories:
        row.update(status=Profile.Status.INSUFFICIENT_DATA, error=None, updated_at=timezone.now())
        return Profile.Status.INSUFFICIENT_DATA
    why = why_not_ready(stored)
    try:
        if why:
            raise ExportFailed(why)
        llm = server_config_current().llm
        value = memories_shape(
            client=llm.client, memories=memories, schema=stored.schema, instructions=stored.custom_instructions or ""
        )
    except (ExportFailed, DomainError) as exc:
        if isinstance(exc, UpstreamError) and exc.code in TRANSIENT_CODES and not final:
            raise _PassingFailure(exc.detail) from exc
        message = getattr(exc, "detail", None) or str(exc)
        row.update(status=Profile.Status.FAILED, error=message, updated_at=timezone.now())
        return Profile.Status.FAILED
    except Exception as exc:
        if connection_lost(exc):  # the profile stays as it was, for the job's next run
            raise
        logger.exception("profile of %s %s failed", ENTITY_TYPE, entity_id)
        row.update(
            status=Profile.Status.FAILED,
            error="The generation failed unexpectedly; see the server log.",
            updated_at=timezone.now(),
        )
        raise
    now = timezone.now()
    with transaction.atomic():
        # Deactivated while the LLM wrote it: not kept; else the deactivation waits for this commit.
        if account_deactivated(getattr(principal.account, "pk", None), hold=True):
            row.update(status=Profile.Status.FAILED, error=DEACTIVATED_RUNNING, updated_at=now)
            return Profile.Status.FAILED
        row.update(
            status=Profile.Status.SUCCEEDED,
            profile=value,
            error=None,
            generation_count=F("generation_count") + 1,
            generated_at=now,
            updated_at=now,
        )
    return Profile.Status.SUCCEEDED


def profiles_forget_users_gone(*, account_id: int | None) -> int:
    """Delete the profiles of users with no memory left: the account's own, and the admin principal's (which
    read every account's memories); returns how many."""
    gone = 0
    if account_id is not None:
        own = Memory.objects.filter(user_id=OuterRef("entity_id"), account_id=account_id)
        gone += Profile.objects.filter(account_id=account_id).filter(~Exists(own)).delete()[0]
    anyone = Memory.objects.filter(user_id=OuterRef("entity_id"))
    gone += Profile.objects.filter(account__isnull=True).filter(~Exists(anyone)).delete()[0]
    return gone


def profiles_forget_all() -> int:
    """Delete every profile (POST /reset): what the LLM wrote of memories that are all gone. Settings and jobs
    stay; returns how many."""
    return Profile.objects.all().delete()[0]


# --- reads --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileState:
    """What GET /v2/entities/user/{id}/profile/ answers."""

    entity_id: str
    status: str  # a Profile.Status, or "not_enabled"
    profile: dict
    updated_at: datetime | None
    generation_count: int
    error: str | None
    entity_type: str = ENTITY_TYPE


def profile_get(*, principal, entity_id: str) -> ProfileState:
    """A user's profile and where its generation stands; NotFound for a user the caller has no memory of.

    When profiles are on and can be generated, a user whose profile was never generated gets one queued now
    (status "pending"), and a profile whose user's memories were added or changed since its last generation
    gets a refresh queued, keeping its status and content until the refresh is done (so a reader polling for
    "succeeded" is not kept waiting by the memories it keeps adding). After a refresh given up for its dead
    workers, none is queued until the memories change again, and `error` says why (status and content kept).
    """
    rows = Profile.objects.filter(account=principal.account, entity_type=ENTITY_TYPE, entity_id=entity_id)
    if not _user_exists(principal, entity_id):
        rows.delete()  # written by a generation that ran through a reset (memories_wiped): it goes too
        raise NotFound(f"User {entity_id[:64]!r} not found: no memory has this user_id.")
    row = rows.first()
    stored = settings_get(principal=principal)
    if not stored.enabled:
        return _state(entity_id, row, status="not_enabled", error=f"Profiles are not enabled. {HOW_TO_ENABLE}")
    if row is None:
        why = why_not_ready(stored)
        if why:
            return _state(entity_id, row, status="not_enabled", error=why)
        with transaction.atomic():
            # Concurrent first reads: the one whose insert wins queues the generation, the others see its row.
            _, created = Profile.objects.get_or_create(
                account=principal.account,
                entity_type=ENTITY_TYPE,
                entity_id=entity_id,
                defaults={"status": Profile.Status.PENDING},
            )
            if created:
                _queue(principal, ProfileJob.Operation.AUTO, [entity_id], mark_pending=False)
        return _state(entity_id, row, status=Profile.Status.PENDING, error=None)
    if row.status != Profile.Status.PENDING and why_not_ready(stored) is None and _news(principal, row):
        with transaction.atomic():
            # Concurrent reads after a change: the row lock lets the first queue the refresh and the others see it.
            Profile.objects.select_for_update().filter(pk=row.pk).first()
            if _news(principal, row):
                _queue(principal, ProfileJob.Operation.AUTO, [entity_id], mark_pending=False)
                # A refresh given up before left its error (_give_up): this one is on its way, so it goes.
                rows.filter(status__in=(Profile.Status.SUCCEEDED, Profile.Status.INSUFFICIENT_DATA)).update(error=None)
                if row.status != Profile.Status.FAILED:
                    row.error = None
    # Succeeded or insufficient_data with an error: the last refresh was given up (_give_up), and none is queued.
    return _state(entity_id, row, status=row.status, error=row.error if row.status != Profile.Status.PENDING else None)


def _news(principal, row: Profile) -> bool:
    """Whether the user's memories changed since the last generation read them, and no generation is on its way.

    Changed: one was added or updated since, or another number are there to read than that generation read (one
    was deleted or expired; or imported, keeping its older dates); a deletion or import among a user's newest
    MAX_MEMORIES that leaves at least MAX_MEMORIES goes unnoticed until the next change.
    """
    mine = memories_visible(principal=principal).filter(user_id=row.entity_id)
    if row.read_at is None:
        changed = mine.exists()
    else:
        changed = mine.filter(updated_at__gt=row.read_at).exists()
        changed = changed or row.memories_read != _to_read(principal, row.entity_id).count()
    in_flight = _jobs_of(principal).filter(
        status__in=(ProfileJob.Status.PENDING, ProfileJob.Status.RUNNING), entity_ids__contains=[row.entity_id]
    )
    return changed and not in_flight.exists()


def _state(entity_id: str, row: Profile | None, *, status: str, error: str | None) -> ProfileState:
    return ProfileState(
        entity_id=entity_id,
        status=status,
        profile=row.profile if row is not None else {},
        updated_at=row.generated_at if row is not None else None,
        generation_count=row.generation_count if row is not None else 0,
        error=error,
    )
