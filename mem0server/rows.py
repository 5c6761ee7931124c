"""Row helpers shared by services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import IntegrityError, connection, models, transaction
from django.db.models import signals
from django.db.models.base import ModelState
from django.db.models.query import ModelIterable


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


def rows_loaded(queryset: models.QuerySet) -> list[models.Model]:
    """The queryset's rows as its model's instances, made as Model.from_db makes them but with their values set
    straight into each one's __dict__ (as memories/search.py makes a search's memories): Model.__init__ checks its
    arguments, sets each field in turn and sends pre_init and post_init, and from_db first spreads a row over every
    field, deferred ones included. A list's page of 100 memories: 1.07 ms of CPU against
    1.95 (README, "Lists loaded for less")."""
    loaded = queryset._chain()
    loaded._iterable_class = _LoadedIterable
    return list(loaded)


class _LoadedIterable(ModelIterable):
    """ModelIterable making each instance without Model.__init__; as ModelIterable itself where that would differ: a
    select_related or known related objects to attach, or a receiver of the model's pre_init or post_init."""

    def __iter__(self):
        queryset = self.queryset
        model = queryset.model
        if (
            queryset.query.select_related
            or queryset._known_related_objects
            or signals.pre_init.has_listeners(model)
            or signals.post_init.has_listeners(model)
        ):
            yield from super().__iter__()
            return
        db = queryset.db
        compiler = queryset.query.get_compiler(using=db)
        results = compiler.execute_sql(chunked_fetch=self.chunked_fetch, chunk_size=self.chunk_size)
        select, klass_info, annotations = compiler.select, compiler.klass_info, compiler.annotation_col_map
        model_cls = klass_info["model"]
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        # The loaded fields' names; a deferred field stays out of __dict__, as Model.__init__ leaves it.
        names = [column[0].target.attname for column in select[start:end]]
        for row in compiler.results_iter(results):
            instance = model_cls.__new__(model_cls)
            instance.__dict__.update(zip(names, row[start:end], strict=True))
            instance._state = state = ModelState()
            state.adding, state.db = False, db
            if annotations:
                for name, position in annotations.items():
                    setattr(instance, name, row[position])
            yield instance
