"""The job workers' log without their routine: the stalled-job check runs every WORKER_STALLED_CHECK_SECONDS
(15 s), and procrastinate writes two lines per run, about 11,500 a day of nothing to read; a job queueing a large
commit's webhook deliveries would write its up to 1,000 event ids twice (each delivery it queues logs its own)."""

from __future__ import annotations

import logging

ROUTINE_TASKS = frozenset({"events.retry_stalled_jobs", "webhooks.queue_deliveries"})


class RoutineJobsFilter(logging.Filter):
    """Leaves out procrastinate's start and success lines of the routine jobs; their warnings and errors stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        job = getattr(record, "job", None)
        routine = isinstance(job, dict) and job.get("task_name") in ROUTINE_TASKS
        return not (routine and record.levelno < logging.WARNING)
