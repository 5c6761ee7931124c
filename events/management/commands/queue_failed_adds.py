"""Queue again the failed queued adds (the Platform API's adds, as Mem0's SDKs send them by default) of every account,
or of one: after an outage (the LLM's, a document host's), what the dashboard's "Queue the failed adds again" does for
the account logged in. `manage.py queue_failed_adds [--email …]`."""

from __future__ import annotations

from accounts.models import User
from apikeys.authentication import AdminPrincipal
from events.selectors import events_failed_accounts
from events.services import events_add_again_failed
from mem0server.commands import DatabaseCommand, active_account


class Command(DatabaseCommand):
    help = (
        "Queue again every failed queued add not queued again yet (each once, oldest first, checked as a new add), of "
        "every account and of the admin key, or of one account with --email. A job worker runs them (make serve starts "
        "one)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", default="", help="Only this account's failed adds")

    def handle(self, *args, email: str, **options):
        if email:
            user = active_account(email)
            principals = [user]
        else:  # a deactivated account's adds are not run (events/tasks.py): not queued again either
            ids = events_failed_accounts()
            users = User.objects.filter(is_active=True).in_bulk([pk for pk in ids if pk is not None])
            principals = [AdminPrincipal(auth_type="command") if pk is None else users.get(pk) for pk in ids]
            principals = [principal for principal in principals if principal is not None]
        total = 0
        for principal in principals:
            queued, refused = self._queue_again(principal)
            if not queued and not refused:
                continue  # nothing failed (--email): the line below says so
            whose = principal.email if principal.account is not None else "the admin key"
            self.stdout.write(f"{whose}: queued {queued} failed add{'s' if queued != 1 else ''} again.")
            for why in refused:
                self.stdout.write(f"  not queued again: {why}")
            total += queued
        if not total:
            self.stdout.write(f"No failed add{f' of {user.email}' if email else ''} was queued again.")

    def _queue_again(self, principal) -> tuple[int, list[str]]:
        """All of its failed adds, a bounded number at a time (events_add_again_failed), until none is left or none
        more can be (an add the input check refuses now stays failed)."""
        queued, refused = 0, []
        while True:
            done, left, why = events_add_again_failed(principal=principal)
            queued, refused = queued + done, refused + [reason for reason in why if reason not in refused]
            if not done or not left:
                return queued, refused
