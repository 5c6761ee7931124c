"""The job workers' log without their routine: the stalled-job check runs every WORKER_STALLED_CHECK_SECONDS
(15 s), and procrastinate writes two lines per run, about 11,500 a day of nothing to read; a job queueing a large
commit's webhook deliveries would write its up to 1,000 event ids twice (each delivery it queues logs its own)."""

from __future__ import annotations

import logging
import re

ROUTINE_TASKS = frozenset({"events.retry_stalled_jobs", "webhooks.queue_deliveries"})


# The line a stopping worker writes for each job it waits for spells out the job's arguments, and carries no job.
_WAITING = re.compile(
    rf"(Waiting for job to finish: worker: (?:{'|'.join(map(re.escape, ROUTINE_TASKS))})\[\d+\])\(.*\)"
    r"( \(started [\d.]+ s ago\))",
    re.DOTALL,
)


class RoutineJobsFilter(logging.Filter):
    """Leaves out procrastinate's start and success lines of the routine jobs, and their arguments from the line a
    stopping worker writes while it waits for one; their warnings and errors stay whole. A job that ended with an
    exception marked `routine` (a webhook receiver's failure) keeps its line, without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and getattr(record.exc_info[1], "routine", False):
            record.exc_info = record.exc_text = None
        job = getattr(record, "job", None)
        routine = isinstance(job, dict) and job.get("task_name") in ROUTINE_TASKS
        if record.levelno < logging.WARNING and isinstance(record.msg, str) and not record.args:
            record.msg = _WAITING.sub(r"\1(…)\2", record.msg)
        return not (routine and record.levelno < logging.WARNING)
