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


# The line a stopping worker writes for each job it waits for spells out the job's arguments, and carries no job.
_WAITING = re.compile(
    rf"(Waiting for job to finish: worker: (?:{'|'.join(map(re.escape, ROUTINE_TASKS))})\[\d+\])\(.*\)"
    r"( \(started [\d.]+ s ago\))",
    re.DOTALL,
)


class RoutineJobsFilter(logging.Filter):
    """Leaves out procrastinate's start and success lines of the routine jobs, and their arguments from the line a
    stopping worker writes while it waits for one; their warnings and errors stay whole. A job that ended with an
    exception marked `routine` (a webhook receiver's failure) keeps its line, without the traceback; so do the lines
    about a worker's side task (its listener, its heartbeat) that the database's going away ended, which the job
    worker's own line explains ("job worker: stopped by the database (…)"): a PostgreSQL restart wrote four
    tracebacks of some 40 lines each, two for each of a process's workers."""

    def filter(self, record: logging.LogRecord) -> bool:
        failure = record.exc_info[1] if record.exc_info else None
        side_task = getattr(record, "action", None) in SIDE_TASK_FAILED
        if getattr(failure, "routine", False) or (side_task and lost_database(failure)):
            record.exc_info = record.exc_text = None
        job = getattr(record, "job", None)
        routine = isinstance(job, dict) and job.get("task_name") in ROUTINE_TASKS
        if record.levelno < logging.WARNING and isinstance(record.msg, str) and not record.args:
            record.msg = _WAITING.sub(r"\1(…)\2", record.msg)
        return not (routine and record.levelno < logging.WARNING)
