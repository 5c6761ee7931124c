"""Row helpers shared by services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import IntegrityError, connection, models, transaction


def row_get_or_create(model: type[models.Model], **lookup) -> models.Model:
    """The one row with these values (a unique constraint says so), created on first use; when a concurrent
    request creates it between the read and the insert, that request's row."""
    try:
        with transaction.atomic():
            return model.objects.get_or_create(**lookup)[0]
    except IntegrityError:
        return model.objects.get(**lookup)


@contextmanager
def one_moment() -> Iterator[None]:
    """A transaction (a savepoint inside a caller's) whose statements all read the database as it was at the first
    (REPEATABLE READ): counts and the rows beside them agree while other requests write. Inside a caller's
    transaction, as that one reads."""
    own = not connection.in_atomic_block
    with transaction.atomic():
        if own:  # before any other statement of the transaction, as PostgreSQL requires
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


@contextmanager
def transaction_waiting(*, snapshot: bool = False) -> Iterator[None]:
    """A transaction (a savepoint inside a caller's) that waits on something outside the database between its
    statements (an LLM, a slow reader), so exempt from idle_in_transaction_session_timeout, which would end it; inside
    a caller's transaction that one's rules stay. A transaction, not a session, so that a pooler in transaction mode
    (PgBouncer) keeps what it holds on one server connection. `snapshot`: its statements all read the database as it
    was at the first (REPEATABLE READ), not each as it is when it runs; inside a caller's transaction, as that one
    reads."""
    own = not connection.in_atomic_block
    with transaction.atomic():
        if own:
            with connection.cursor() as cursor:
                if snapshot:  # before any other statement of the transaction, as PostgreSQL requires
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute("SELECT set_config('idle_in_transaction_session_timeout', '0', true)")
        yield


@contextmanager
def rows_streamed(
    queryset: models.QuerySet, *, chunk_size: int, snapshot: bool = False
) -> Iterator[Iterator[models.Model]]:
    """The queryset's rows read `chunk_size` at a time through a server-side cursor, inside a transaction_waiting.

    Outside one, Django declares the cursor WITH HOLD, which lives in the database session; behind a pooler in
    transaction mode (PgBouncer) the next FETCH went to another server connection and failed ("cursor ... does not
    exist"), and PostgreSQL copied the whole result aside before the first row. The transaction keeps the cursor
    on one server connection and streams it, waiting on whoever reads the rows (an export written to a pipe).
    Leaving the block ends it. `snapshot`: what else the block reads is of the same moment (transaction_waiting)."""
    with transaction_waiting(snapshot=snapshot):
        yield queryset.iterator(chunk_size=chunk_size)
