"""Texts kept from what adds carried, for the same thing sent again (ImageDescription, DocumentText): which users'
adds read each, and forgetting them once those users are gone, as a user's profile is (profiles/receivers.py)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain

from django.contrib.postgres.fields import ArrayField
from django.db.models import F, Func, TextField, Value

from memories.models import DocumentText, ImageDescription, Memory

KEPT_TEXTS = (ImageDescription, DocumentText)


def kept_read_by(model, keys: Iterable[str], user_id: str | None) -> None:
    """Note that an add of `user_id`'s (its scope's; None: of no user) read the kept texts of these keys."""
    keys = list(keys)
    if not user_id or not keys:
        return
    appended = Func(F("user_ids"), Value(user_id), function="array_append", output_field=ArrayField(TextField()))
    model.objects.filter(key__in=keys).exclude(user_ids__contains=[user_id]).update(user_ids=appended)


def kept_forget_users_gone(*, account_id: int | None) -> int:
    """Delete the account's kept texts that an add of a user with no memory left in it read (a deleted user: what was
    read from their documents and images goes with their memories, though another user's add read it too: it is read
    again when sent again); returns how many."""
    gone = 0
    for model in KEPT_TEXTS:
        kept = model.objects.filter(account_id=account_id) if account_id else model.objects.filter(account__isnull=True)
        users = set(chain.from_iterable(kept.exclude(user_ids=[]).values_list("user_ids", flat=True)))
        if not users:
            continue
        memories = Memory.objects.filter(user_id__in=users)
        memories = memories.filter(account_id=account_id) if account_id else memories
        left = set(memories.values_list("user_id", flat=True).distinct())
        if users - left:
            gone += kept.filter(user_ids__overlap=list(users - left)).delete()[0]
    return gone
