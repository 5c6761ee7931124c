"""Accounts: reads."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import User
from mem0server.exceptions import InvalidInput, NotFound


def users_by_email(*, email: str) -> list[User]:
    """The account holding this email exactly, else every account holding it in other case: several only in a
    database from before emails were stored in lower case (the Django admin stored them as typed)."""
    holding = list(User.objects.filter(email__iexact=email).order_by("email"))
    return [user for user in holding if user.email == email] or holding


def user_by_email(*, email: str) -> User:
    """The one account an email names (users_by_email); NotFound for none, InvalidInput for several."""
    holding = users_by_email(email=email)
    if not holding:
        raise NotFound(f"No account with email {email}.")
    if len(holding) > 1:
        held = ", ".join(user.email for user in holding)
        raise InvalidInput(
            f"{len(holding)} accounts have the email {email}, in other case ({held}): give the one you mean exactly "
            "as it is written there."
        )
    return holding[0]


@dataclass(frozen=True)
class UserPage:
    count: int
    results: list[User]
    next_page: int | None


def users_page(*, page: int = 1, page_size: int = 50) -> UserPage:
    """One page of every account, admins first, then by email (the admin's user management), and how many in all."""
    users = User.objects.order_by("role", "email", "pk")
    count = users.count()
    start = (page - 1) * page_size
    results = list(users[start : start + page_size])
    return UserPage(count=count, results=results, next_page=page + 1 if start + page_size < count else None)
