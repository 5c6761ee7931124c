"""Reading the request log."""

from __future__ import annotations

from requestlog.models import RequestLog
from requestlog.writer import writer


def requests_list(*, principal, limit: int) -> list[RequestLog]:
    """The newest `limit` calls the caller may see: all for admins, the account's own for members."""
    writer.flush()  # include this process's calls that are still queued
    rows = RequestLog.objects.all()
    if not principal.is_admin:
        rows = rows.filter(account=principal.account)
    return list(rows.order_by("-created_at", "-id")[:limit])
