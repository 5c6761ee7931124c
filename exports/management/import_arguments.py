"""What manage.py import_memories and import_from_mem0 share: the arguments that place and pace an import."""

from __future__ import annotations

from django.core.management.base import CommandError

from accounts.models import User
from accounts.selectors import user_by_email
from mem0server.exceptions import DomainError, NotFound


def add_import_arguments(parser, *, account_help: str) -> None:
    parser.add_argument("--account", help=account_help)
    parser.add_argument("--dry-run", action="store_true", help="Read and check, write nothing")
    parser.add_argument("--batch-size", type=int, help="Memories embedded and written per transaction")


def import_owner(account: str | None, batch_size: int | None) -> User | None:
    """The account --account names (None without it); CommandError for an unknown email or a batch size below 1."""
    if batch_size is not None and batch_size < 1:
        raise CommandError("--batch-size must be 1 or more.")
    if not account:
        return None
    email = account.strip()
    try:
        return user_by_email(email=email)
    except NotFound:
        raise CommandError(
            f"No account with email {email} here; create it first (manage.py createuser --email {email}), then import "
            "again."
        ) from None
    except DomainError as exc:  # several in other case, and not one exactly
        raise CommandError(exc.detail) from None
