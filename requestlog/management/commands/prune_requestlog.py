"""Delete request-log rows past the retention (REQUEST_LOG_RETENTION_DAYS, or --days)."""

from django.conf import settings
from django.core.management.base import CommandError

from mem0server.commands import DatabaseCommand
from mem0server.text import counted
from requestlog.writer import prune


class Command(DatabaseCommand):
    help = "Delete request log rows older than REQUEST_LOG_RETENTION_DAYS (servers also do this hourly)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.REQUEST_LOG_RETENTION_DAYS)

    def handle(self, *args, days: int, **options):
        if days < 1:
            raise CommandError("--days must be at least 1.")
        deleted = prune(older_than_days=days)
        self.stdout.write(
            f"Deleted {counted(deleted, 'request log row')} older than {days} day{'' if days == 1 else 's'}."
        )
