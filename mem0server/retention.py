"""Rows kept for a retention period: deleted a batch at a time, so no statement holds its locks for long (the
request log, webhook deliveries, exports, async-add events)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone


def delete_older_than(rows: QuerySet, *, field: str, days: int, batch: int = 10_000) -> int:
    """Delete the rows whose `field` is more than `days` old, `batch` at a time; returns how many."""
    try:
        cutoff = timezone.now() - timedelta(days=days)
    except OverflowError:  # a retention reaching back before year 1 (a large number meaning "keep them"): none is
        return 0
    old = rows.filter(**{f"{field}__lt": cutoff})
    total = 0
    while True:
        ids = list(old.values_list("pk", flat=True)[:batch])
        if not ids:
            return total
        total += rows.model.objects.filter(pk__in=ids).delete()[0]
