"""Another add of a scope deciding, as a test needs it: the scope's decision lock held by a second thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from memories.services import scope_decision_lock

# A failure bound only: how long the holding thread may take to start and take the lock on a loaded machine.
START_SLACK = 30


@contextmanager
def another_add_deciding(account, scope: dict[str, str]) -> Iterator[None]:
    """Inside the block, `scope` of `account` is held as by an inferring add between its comparison and write."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with scope_decision_lock(account, scope, wait=START_SLACK):
                held.set()
                release.wait(START_SLACK * 4)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(START_SLACK), "the holding thread did not take the scope's decision lock"
        yield
    finally:
        release.set()
        holder.join(START_SLACK)
