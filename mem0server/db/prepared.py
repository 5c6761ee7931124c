"""Statements PostgreSQL plans once per connection: SQL `PREPARE` and `EXECUTE` through Django's client-side cursors.

A search's two statements take PostgreSQL about 1.5 ms (vectors and fusion) and 0.4 ms (keywords) to plan, every
time, though their shape never changes between searches of a scope; run as prepared statements on their generic
plan they took 2-3 ms less of PostgreSQL's CPU per search (bench/api_bench.py, README "Benchmarks"). Django's
cursors bind values on the client and cannot prepare, so the statement is prepared in SQL: its first execution on a
connection sends `PREPARE name AS <the statement, with $1, $2 ...>` in the same query string as its `EXECUTE`, later
ones only `EXECUTE name(<the values>)`, each behind the caller's settings (`SET LOCAL`s), in one round trip.

The name is a hash of the statement and its settings (planner settings shape the plan, which is made under the first
execution's). A connection keeps at most KEPT statements (about 260 KB of PostgreSQL's memory each), the least
recently used deallocated. Outside a transaction, a statement the connection does not have (a pooler in transaction
mode hands out another server connection) is prepared again, and one it has that this process did not know of is
used. Inside a transaction (an atomic block) the statement runs unprepared: a failure there could not be retried.
"""

from __future__ import annotations

import functools
import hashlib
import re
import weakref
from collections import OrderedDict

from django.db import DatabaseError, connection

# Prepared statements each connection keeps (a search scope of another shape, or other settings, is another one).
KEPT = 8
# SQLSTATEs: a statement name already prepared on the connection, and one it does not have.
DUPLICATE, MISSING = "42P05", "26000"
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# Per psycopg connection: the names of the statements prepared on it, least recently used first.
_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def execute(cursor, sets: str, sql: str, params: dict, *, prepare: bool) -> None:
    """Run `sql` (pyformat placeholders, `%(name)s`) with `params` behind `sets` (SET LOCAL statements) in one
    round trip, the cursor left at the statement's result: with `prepare`, as a prepared statement on its generic
    plan; without (or inside a transaction), planned for its values."""
    if not prepare or connection.in_atomic_block:
        return _run(cursor, f"{sets}; {sql}", params)
    name, declare, call = _statement(sets, sql)
    known = _prepared.setdefault(connection.connection, OrderedDict())
    run = f"{sets}; SET LOCAL plan_cache_mode = force_generic_plan; {call}"
    held = name in known
    for _ in range(2):
        try:
            _run(cursor, run if held else f"{_evicted(known)}{declare}; {run}", params)
        except DatabaseError as error:
            if _sqlstate(error) not in (DUPLICATE, MISSING):
                raise
            # The connection has it (prepared by another client of a pooler's server connection, or by a statement
            # that failed after it): execute it. It lacks it (a pooler's other server connection): prepare it.
            held = _sqlstate(error) == DUPLICATE
            known.pop(name, None)
            continue
        known[name] = None
        known.move_to_end(name)
        return None
    return _run(cursor, f"{sets}; {sql}", params)  # a pooler handed each attempt another server connection


def forget() -> None:
    """Forget which statements this process prepared (its connections keep them): the next execution of each
    prepares it again, finds it there and uses it."""
    _prepared.clear()


def _evicted(known: OrderedDict) -> str:
    """DEALLOCATE statements for the least recently used beyond KEPT - 1, forgotten here."""
    dropped = []
    while len(known) >= KEPT:
        dropped.append(known.popitem(last=False)[0])
    return "".join(f"DEALLOCATE {name}; " for name in dropped)


def _sqlstate(error: DatabaseError) -> str | None:
    return getattr(error.__cause__, "sqlstate", None)


@functools.lru_cache(maxsize=256)
def _statement(sets: str, sql: str) -> tuple[str, str, str]:
    """The statement's name, its PREPARE and its EXECUTE (pyformat placeholders, each value once, in order)."""
    names: list[str] = []

    def positional(match: re.Match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    body = _PLACEHOLDER.sub(positional, sql)
    name = "m0_" + hashlib.blake2b(f"{sets}\0{sql}".encode(), digest_size=12).hexdigest()
    values = ", ".join(f"%({value})s" for value in names)
    return name, f"PREPARE {name} AS {body}", f"EXECUTE {name}({values})" if names else f"EXECUTE {name}"


def _run(cursor, sql: str, params: dict) -> None:
    cursor.execute(sql, params)
    while cursor.description is None and cursor.nextset():  # the other statements' empty results come first
        pass
