"""The job workers' log without their routine: the stalled-job check runs every WORKER_STALLED_CHECK_SECONDS
(15 s), and procrastinate writes two lines per run, about 11,500 a day of nothing to read; a job queueing a large
commit's webhook deliveries would write its up to 1,000 event ids twice (each delivery it queues logs its own)."""

from __future__ import annotations

import logging
import re

from mem0server.database_failures import lost_database

ROUTINE_TASKS = frozenset({"events.retry_stalled_jobs", "webhooks.queue_deliveries"})
# The `action` of procrastinate's records about a worker's side task that failed: while it ran, or when it was
# stopped (cancel_and_capture_errors names it after the task); a job's failure ("job_error") is not one of them.
SIDE_TASKS = ("listener", "update_heartbeats", "deferrer", "poll_jobs_to_abort")
SIDE_TASK_FAILED = frozenset({"side_task_failed", *(f"{task}_error" for task in SIDE_TASKS)})
JOB_FAILED = frozenset({"job_error", "job_error_retry"})
# asyncio's line for a job whose end procrastinate could not save (the database gone): nobody reads its task's failure.
_UNSAVED_JOB = re.compile(r"^Task exception was never retrieved\nfuture: <Task finished name='process job ")


# The line a stopping worker writes for each job it waits for spells out the job's arguments, and carries no job.
_WAITING = re.compile(
    rf"(Waiting for job to finish: worker: (?:{'|'.join(map(re.escape, ROUTINE_TASKS))})\[\d+\])\(.*\)"
    r"( \(started [\d.]+ s ago\))",
    re.DOTALL,
)


def one_line(said: object) -> str:
    return " ".join(str(said).split())


class RoutineJobsFilter(logging.Filter):
    """Leaves out procrastinate's start and success lines of the routine jobs, and their arguments from the line a
    stopping worker writes while it waits for one; their warnings and errors stay whole. A job that ended with an
    exception marked `routine` (a webhook receiver's failure, an add's LLM failure) keeps its line, which says why,
    without the traceback; so do the lines about a worker's side task (its listener, its heartbeat) that the
    database's going away ended, which the job worker's own line explains ("job worker: stopped by the database
    (…)"): one line for each of a process's workers, where a PostgreSQL restart wrote two lines and two tracebacks
    of some 40 lines each for each. A job
    that failed because the database went away keeps its line, saying so, without its traceback; asyncio's line for
    a job whose end could not be saved then ("Task exception was never retrieved", 50 lines) is left out: once the
    database is back, the stalled-job check says it queued the job again."""

    def filter(self, record: logging.LogRecord) -> bool:
        failure = record.exc_info[1] if record.exc_info else None
        action = getattr(record, "action", None)
        if action in SIDE_TASK_FAILED and lost_database(failure):
            if action != "side_task_failed":
                return False  # "listener error: ConnectorException(...)": the line beside it says the same
            record.exc_info = record.exc_text = None
            record.msg, record.args = one_line(record.getMessage()), None  # the exception's own line breaks
        if getattr(failure, "routine", False):
            if action in JOB_FAILED:  # the job's end line says why, in one line
                record.msg, record.args = f"{record.getMessage()} ({one_line(failure)})", None
            record.exc_info = record.exc_text = None
        elif action in JOB_FAILED and lost_database(failure):
            # A job the database's going away stopped: its 90-line traceback said only that.
            record.msg, record.args = f"{record.getMessage()} (the database went away: {one_line(failure)})", None
            record.exc_info = record.exc_text = None
        elif record.name == "asyncio" and lost_database(failure) and _UNSAVED_JOB.search(str(record.msg)):
            return False
        job = getattr(record, "job", None)
        routine = isinstance(job, dict) and job.get("task_name") in ROUTINE_TASKS
        if record.levelno < logging.WARNING and isinstance(record.msg, str) and not record.args:
            record.msg = _WAITING.sub(r"\1(…)\2", record.msg)
        return not (routine and record.levelno < logging.WARNING)


# psycopg_pool's warnings for each connection it fails to make or remake (several a second for each pool), and for
# each it finds closed.
_CONNECTION_RETRIES = frozenset(
    {
        "error connecting in %r: %s",
        "reconnection attempt in pool %r failed after %s sec",
        "discarding closed connection: %s",
        "discarding broken connection: %s",
    }
)


class ConnectionRetriesFilter(logging.Filter):
    """On psycopg_pool's logger (settings.LOGGING): leaves out its warnings for each connection it could not make or
    found closed: fourteen in the 5 seconds a job worker took to find its database gone, above its own line saying so
    ("job worker: stopped by the database (…)"), and some twenty in the web processes for a 6-second outage, beside
    their requests' ("database unavailable: …", "healthz: …"). Its other warnings (a connection returned in a
    transaction) stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in _CONNECTION_RETRIES
