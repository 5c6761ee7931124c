"""Mem0's filter language, translated into one Django Q that runs inside PostgreSQL.

`{"key": value}` is equality; `{"key": {"op": value}}` applies an operator; `"*"` means "has any
value"; `AND` / `OR` / `NOT` take lists of filters (`NOT` also one filter object, as Mem0's docs write it).
Scope ids and actor/role are columns, as are the time keys (TIME_COLUMNS) and `expiration_date`; `categories`
is the memory's list of categories (eq and contains: has that one; in: has one of these), every other key is a
metadata (JSONB) key, except the three fields of Mem0's v2 filters that are not: `keywords` (text in the
memory: contains, icontains), `memory_ids` (a list of ids, or in / nin) and `metadata` (an object of metadata
conditions, `{"metadata": {"topic": "food"}}`, which is also how to name a metadata key called like one of
these). A range (gt/gte/lt/lte) on a metadata list needs one element within all of that key's bounds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, ExpressionWrapper, F, Lookup, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce

from mem0server.exceptions import InvalidInput
from memories.models import SCOPE_FIELDS, SCOPE_NAMES
from memories.timestamps import is_bare_date, parse_timestamp, utc_day

COLUMNS = (*SCOPE_FIELDS, "actor_id", "role")
CATEGORIES = "categories"
# Mem0's v2 filter fields that are neither columns nor metadata keys (see _special).
KEYWORDS, MEMORY_IDS, METADATA = "keywords", "memory_ids", "metadata"
# Time keys: `timestamp` (when the conversation happened), created_at and updated_at; values are unix seconds
# or ISO 8601. They are columns, not metadata keys.
TIME_COLUMNS = {"timestamp": "occurred_at", "created_at": "created_at", "updated_at": "updated_at"}
# The day a memory expires (the add's expiration_date), a date column: compared with dates (YYYY-MM-DD).
EXPIRATION = "expiration_date"
OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "icontains")
LOGICAL = ("AND", "OR", "NOT")
_JSONPATH_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
# The filter fields as a JavaScript caller may spell them: the TypeScript SDK turns its options' names into snake_case
# but sends the filters' keys as written, and {"userId": "alice"} would be a metadata key (matching nothing).
CAMEL_CASE_FIELDS = {
    "".join(part.capitalize() if i else part for i, part in enumerate(name.split("_"))): name
    for name in (*COLUMNS, *TIME_COLUMNS, EXPIRATION, MEMORY_IDS)
    if "_" in name
}
# "Has any value". Hence never a scope id: a memory stored under user_id "*" could not be found by that id.
WILDCARD = "*"


def wildcard_refusal(field: str) -> str:
    """Why "*" cannot be the scope id `field`, and what to send instead."""
    return (
        f'Must not be "*": in filters "*" means any value, so it cannot name one {field}. '
        f'To match any {field}, use filters {{"{field}": "*"}}.'
    )


# Ids that a URL path cannot carry: clients resolve "." and ".." as dot segments before sending
# (DELETE /v2/entities/user/../ reaches /v2/entities/), so such a user could never be deleted or read by id.
DOT_SEGMENTS = (".", "..")


def dot_segment_refusal(field: str) -> str:
    """Why "." or ".." cannot be the scope id `field`."""
    return (
        f'Must not be "." or "..": HTTP clients drop those from URL paths, so this {field} could never be named '
        "in /entities/… or /v2/entities/… (deleting or reading it by id)."
    )


def scope_id_refusal(field: str, value: str) -> str | None:
    """Why `value` cannot be the scope id `field`, or None: a memory stored under it could not be found by it."""
    if any(ch.isspace() for ch in value):
        return "Must not contain whitespace."
    if value == WILDCARD:
        return wildcard_refusal(field)
    if value in DOT_SEGMENTS:
        return dot_segment_refusal(field)
    return None


def filter_check_size(filters: Any) -> None:
    """Refuse a filter whose cost has no sensible bound, naming the limit and its setting: too many
    conditions (MAX_FILTER_CONDITIONS), AND/OR/NOT nested too deep (MAX_FILTER_DEPTH), too many values
    in its in/nin lists, all of them together (MAX_FILTER_LIST), or too many characters in its contains/icontains
    texts, all of them together (MAX_FILTER_CONTAINS_CHARS). An `in` of 60,000 values took 97 s, an OR of
    20,000 clauses 25 s, and 99 lists of 1,000 values each about 10 s. A text sought (Holds) costs up to the two
    lengths multiplied when it repeats itself ('b' + 'a' * 255 in memories of 'a's): with LIKE, a text of 1,001
    characters sought in 20 memories of 100,000 took 8.3 s, one of 10,001 the whole statement timeout."""
    conditions, max_depth, max_list, max_chars = (
        settings.MAX_FILTER_CONDITIONS,
        settings.MAX_FILTER_DEPTH,
        settings.MAX_FILTER_LIST,
        settings.MAX_FILTER_CONTAINS_CHARS,
    )
    count = values = chars = 0
    stack: list[tuple[Any, int]] = [(filters, 1)]  # (filter object, AND/OR/NOT nesting level)
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict):
            continue  # build_filter names the wrong shape
        for key, value in item.items():
            if key in CAMEL_CASE_FIELDS:
                raise InvalidInput(camel_case_refusal(key), field="filters")
            if key in LOGICAL:
                if depth > max_depth:
                    raise InvalidInput(
                        f"filters nest AND/OR/NOT deeper than {max_depth} levels (MAX_FILTER_DEPTH).", field="filters"
                    )
                stack.extend((child, depth + 1) for child in logical_items(key, value))
                continue
            for name, condition in _conditions_of(key, value):
                operators = condition if isinstance(condition, dict) and condition else {"eq": condition}
                if not (depth == 1 and name in SCOPE_FIELDS):  # every search has one: not the caller's doing
                    count += len(operators)
                for op, operand in operators.items():
                    if op in ("contains", "icontains") and isinstance(operand, str):
                        chars += len(operand)
                        if chars > max_chars:
                            raise InvalidInput(
                                f"filters.{name}.{op} brings the texts of the filter's contains/icontains conditions "
                                f"to {chars} characters; at most {max_chars} are allowed in all "
                                "(MAX_FILTER_CONTAINS_CHARS): look for a shorter part of the text.",
                                field="filters",
                            )
                    if op not in ("in", "nin") or not isinstance(operand, list):
                        continue
                    values += len(operand)
                    if values > max_list:
                        raise InvalidInput(
                            f"filters.{name}.{op} brings the values of the filter's in/nin lists to {values}; at "
                            f"most {max_list} are allowed in all (MAX_FILTER_LIST).",
                            field="filters",
                        )
                if count > conditions:
                    raise InvalidInput(
                        f"filters have more than {conditions} conditions (MAX_FILTER_CONDITIONS).", field="filters"
                    )


def camel_case_named(filters: dict[str, Any] | None) -> str | None:
    """The refusal of the first camelCase key `filters` sets a condition on (camel_case_refusal); None when none does.
    For a 400 that would otherwise say only that a scope is missing ({"userId": …} names none)."""
    camel_case = sorted(filter_keys(filters) & CAMEL_CASE_FIELDS.keys())
    return camel_case_refusal(camel_case[0]) if camel_case else None


def camel_case_refusal(key: str) -> str:
    """Why the filter key `key` (userId, createdAt …) is refused, and what to write instead."""
    name = CAMEL_CASE_FIELDS[key]
    return (
        f"filters.{key}: write {name}. Filters are read as written (the TypeScript SDK converts its options to "
        f"snake_case, not the filters' keys), so {key} would be a metadata key; for a metadata key of that name, "
        f'give filters {{"metadata": {{"{key}": ...}}}}.'
    )


def _conditions_of(key: str, value: Any) -> list[tuple[str, Any]]:
    """The (key, condition) pairs one filter entry counts as: `metadata` holds one per metadata key, and a plain
    `memory_ids` list is an `in`."""
    if key == METADATA and isinstance(value, dict):
        return list(value.items())
    if key == MEMORY_IDS and isinstance(value, list):
        return [(key, {"in": value})]
    return [(key, value)]


def build_filter(filters: dict[str, Any]) -> Q:
    """A Q for a whole filter object (its top-level keys are ANDed), within the size limits."""
    filter_check_size(filters)
    return _build(filters)


def _build(filters: dict[str, Any]) -> Q:
    if not isinstance(filters, dict):
        raise InvalidInput("filters must be a JSON object.")
    q = Q()
    for key, value in filters.items():
        if key in LOGICAL:
            q &= _logical(key, value)
        else:
            q &= _condition(key, value)
    return q


def required_scope(filters: dict[str, Any] | None) -> dict[str, str]:
    """The scope ids every match of `filters` must have: plain (or `eq`) string values of scope keys, at the top
    level or inside `AND` lists, however deep. `{"AND": [{"user_id": "alice"}]}` → `{"user_id": "alice"}`."""
    scope: dict[str, str] = {}
    if not isinstance(filters, dict):
        return scope
    for key, value in filters.items():
        if key == "AND" and isinstance(value, list):
            for item in value:
                scope.update(required_scope(item))
        elif key in SCOPE_FIELDS:
            if isinstance(value, dict) and list(value) == ["eq"]:
                value = value["eq"]
            if isinstance(value, str) and value and value != "*":
                scope[key] = value
    return scope


def scope_named(filters: dict[str, Any] | None) -> dict[str, str] | None:
    """The scope ids `filters` names when it names nothing else (as required_scope reads them: `{"user_id": "alice"}`,
    `{"user_id": {"eq": "alice"}}`, `{"AND": [{"user_id": "alice"}]}` → `{"user_id": "alice"}`): its matches are every
    memory of that scope. None when it says more, or gives one id two values (nothing matches)."""
    if not isinstance(filters, dict):
        return None
    scope: dict[str, str] = {}
    for key, value in filters.items():
        named = [scope_named(item) for item in value] if key == "AND" and isinstance(value, list) else [{key: value}]
        for part in named:
            if part is None:
                return None
            for field, given in part.items():
                if isinstance(given, dict) and list(given) == ["eq"]:
                    given = given["eq"]
                if field not in SCOPE_FIELDS or not isinstance(given, str) or given in ("", WILDCARD):
                    return None
                if scope.setdefault(field, given) != given:
                    return None
    return scope


# What a search's filters must name (scope_part), for the 400 that says so.
SEARCH_SCOPE_HELP = (
    f"give {SCOPE_NAMES} (at the top level or in filters: a value, an `in` list, inside AND, or in every branch "
    "of an OR)."
)


def scope_part(filters: Any) -> dict[str, Any]:
    """The part of `filters` that bounds its matches to scope ids: their scope id conditions (a value, `eq` or an
    `in` list), in AND lists, and OR lists every branch of which has some. Every match of `filters` matches it
    (it may match more); {} when nothing bounds them. `{"OR": [{"user_id": "a"}, {"user_id": "b", "topic": "x"}]}`
    → `{"OR": [{"user_id": "a"}, {"user_id": "b"}]}`: a search's scope, which its plan is sized by."""
    if not isinstance(filters, dict):
        return {}
    part: dict[str, Any] = {}
    within: list[dict[str, Any]] = []
    for key, value in filters.items():
        if key in SCOPE_FIELDS and _scope_ids_condition(value):
            part[key] = value
        elif key == "AND" and isinstance(value, list):
            within.extend(found for found in map(scope_part, value) if found)
        elif key == "OR" and isinstance(value, list) and value:
            branches = [scope_part(item) for item in value]
            if all(branches):
                within.append({"OR": branches})
    if within:
        part["AND"] = within
    return part


def _scope_ids_condition(value: Any) -> bool:
    """A condition naming scope ids: a non-empty id (not the "*" wildcard), {"eq": id} or {"in": [id, ...]}."""
    if isinstance(value, dict) and len(value) == 1:
        [(op, value)] = value.items()
        if op == "in":
            return isinstance(value, list) and bool(value) and all(_scope_ids_condition(item) for item in value)
        if op != "eq":
            return False
    return isinstance(value, str) and bool(value) and value != WILDCARD


def filter_keys(filters: dict[str, Any] | None) -> set[str]:
    """Every key that `filters` sets a condition on, through AND/OR/NOT (build_filter says what is malformed)."""
    keys: set[str] = set()
    stack = [filters if isinstance(filters, dict) else {}]
    while stack:
        for key, value in stack.pop().items():
            if key not in LOGICAL:
                keys.add(key)
            else:
                stack.extend(item for item in logical_items(key, value) if isinstance(item, dict))
    return keys


def logical_items(op: str, value: Any) -> list[Any]:
    """The filters an AND / OR / NOT holds: its list, or for NOT also one filter object (`{"NOT": {...}}`, as
    Mem0's docs and clients write it), which is a list of one. Anything else: [] (_logical names the wrong shape)."""
    if isinstance(value, list):
        return value
    if op == "NOT" and isinstance(value, dict) and value:
        return [value]
    return []


def _logical(op: str, value: Any) -> Q:
    items = logical_items(op, value)
    if not items or not all(isinstance(item, dict) for item in items):
        either = " (or, for NOT, one filter object)" if op == "NOT" else ""
        raise InvalidInput(f"filters.{op} must be a non-empty list of filter objects{either}.")
    parts = [_build(item) for item in items]
    if op == "OR":
        q = Q()
        for part in parts:
            q |= part
        return q
    combined = Q()
    for part in parts:
        combined &= part
    return negate(combined) if op == "NOT" else combined


def negate(q: Q) -> Q:
    """NOT that treats "unknown" as false first, so a missing key or NULL metadata counts as "not equal"."""
    known = Coalesce(ExpressionWrapper(q, output_field=BooleanField()), Value(False), output_field=BooleanField())
    return ~Q(known)


def _condition(key: str, value: Any, *, metadata_only: bool = False) -> Q:
    if not isinstance(key, str) or not key:
        raise InvalidInput("Filter keys must be non-empty strings.")
    if not metadata_only and key in _special:
        return _special[key](value)
    if value == WILDCARD:
        if metadata_only:
            return _meta_set(key)
        if key == CATEGORIES:
            return ~Q(categories=[])
        if key in TIME_COLUMNS:
            return Q(**{f"{TIME_COLUMNS[key]}__isnull": False})
        if key == EXPIRATION:
            return Q(expiration_date__isnull=False)
        return Q(**{f"{key}__isnull": False}) if key in COLUMNS else _meta_set(key)
    if not isinstance(value, dict):
        return _operator(key, "eq", value, metadata_only=metadata_only)
    if not value:
        raise InvalidInput(f"filters.{key} is an empty object; give a value or an operator such as eq.")
    q = Q()
    metadata_key = metadata_only or key not in (*COLUMNS, *TIME_COLUMNS, EXPIRATION, CATEGORIES)
    bounds: dict[str, Any] = {}  # a metadata key's gt/gte/lt/lte: one jsonpath test (_meta_range)
    for op, operand in value.items():
        if op not in OPERATORS:
            raise InvalidInput(f"Unknown filter operator {op!r} on {key!r}; use one of: {', '.join(OPERATORS)}.")
        if metadata_key and op in _JSONPATH_OPS:
            bounds[op] = _require(key, op, operand, _is_scalar, "a number or a string")
        else:
            q &= _operator(key, op, operand, metadata_only=metadata_only)
    return q & _meta_range(key, bounds) if bounds else q


def _operator(key: str, op: str, value: Any, *, metadata_only: bool = False) -> Q:
    if metadata_only:
        return _metadata_ops[op](key, value)
    if key in TIME_COLUMNS:
        return _time_op(key, op, value)
    if key == EXPIRATION:
        return _expiration_op(op, value)
    if key == CATEGORIES:
        if op not in _category_ops:
            raise InvalidInput(f"filters.categories takes {', '.join(_category_ops)}, not {op}.")
        return _category_ops[op](key, value)
    builder = _column_ops if key in COLUMNS else _metadata_ops
    return builder[op](key, value)


_TIME_LOOKUPS = {"eq": "exact", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}


def _time_op(key: str, op: str, value: Any) -> Q:
    column = TIME_COLUMNS[key]
    if op in ("in", "nin"):
        values = _require(key, op, value, lambda v: isinstance(v, list), "a list of times or dates")
        q = Q(pk__in=[])
        for item in values:
            q |= _time_compare(column, "eq", item, label=f"{key}.{op}")
        return negate(q) if op == "nin" else q
    if op not in (*_TIME_LOOKUPS, "ne"):
        raise InvalidInput(
            f"filters.{key} takes eq, ne, gt, gte, lt, lte, in or nin (unix seconds or ISO 8601), not {op}."
        )
    return _time_compare(column, op, value, label=f"{key}.{op}")


def _time_compare(column: str, op: str, value: Any, *, label: str) -> Q:
    try:
        moment = parse_timestamp(value)
    except ValueError as error:
        raise InvalidInput(f"filters.{label}: {error}") from None
    if is_bare_date(value):
        return _day_op(column, op, value)
    if op == "ne":
        return negate(Q(**{column: moment}))
    return Q(**{f"{column}__{_TIME_LOOKUPS[op]}": moment})


def _day_op(column: str, op: str, day: str) -> Q:
    """`op` against a bare date, which is that whole UTC day: `lte "2024-07-01"` keeps 2024-07-01T15:00Z, `gt`
    starts at the next day's midnight, equality is anywhere in the day."""
    start, end = utc_day(day)
    from_start = Q(**{f"{column}__gte": start})
    # The day after 9999-12-31 holds no time, so nothing is after it and every time is before its end.
    from_end = Q(**{f"{column}__gte": end}) if end else Q(pk__in=[])
    before_end = Q(**{f"{column}__lt": end}) if end else Q(**{f"{column}__isnull": False})
    if op in ("eq", "ne"):
        within = from_start & before_end
        return within if op == "eq" else negate(within)
    return {
        "gt": from_end,
        "gte": from_start,
        "lt": Q(**{f"{column}__lt": start}),
        "lte": before_end,
    }[op]


def _expiration_op(op: str, value: Any) -> Q:
    """`op` on the day a memory expires; memories without an expiration date are "not equal" to every day."""
    if op in ("in", "nin"):
        values = _require(EXPIRATION, op, value, lambda v: isinstance(v, list), "a list of dates (YYYY-MM-DD)")
        q = Q(expiration_date__in=[_expiration_day(op, item) for item in values])
        return negate(q) if op == "nin" else q
    if op not in (*_TIME_LOOKUPS, "ne"):
        raise InvalidInput(f"filters.{EXPIRATION} takes eq, ne, gt, gte, lt, lte, in or nin (dates), not {op}.")
    day = _expiration_day(op, value)
    if op == "ne":
        return negate(Q(expiration_date=day))
    return Q(**{f"expiration_date__{_TIME_LOOKUPS[op]}": day})


def _expiration_day(op: str, value: Any) -> date:
    # A time of day would have to be rounded to a day one way or the other: asked for instead.
    if not is_bare_date(value):
        raise InvalidInput(
            f"filters.{EXPIRATION}.{op} takes a date, YYYY-MM-DD (a memory expires on a day, not at a moment), "
            f"got {json.dumps(value)[:100]}."
        )
    return date.fromisoformat(value.strip())


def _require(key: str, op: str, value: Any, check: Callable[[Any], bool], what: str) -> Any:
    if not check(value):
        raise InvalidInput(f"filters.{key}.{op} needs {what}, got {json.dumps(value)[:100]}.")
    return value


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# --- scope / identity columns: plain SQL comparisons ------------------------------------------------


def _col_eq(key: str, value: Any) -> Q:
    return Q(**{key: _require(key, "eq", value, _is_str, "a string")})


def _col_in(key: str, value: Any) -> Q:
    return Q(**{f"{key}__in": _require(key, "in", value, _is_str_list, "a list of strings")})


class Holds(Lookup):
    """The text holds the operand (contains): STRPOS, a Boyer-Moore-Horspool search that skips ahead on a mismatch.
    LIKE '%…%' matched the operand forward from every place of the text: a crafted operand ('a' * 255 + 'b') cost the
    two lengths multiplied (20 memories of 100,000 'a's: 1.8-2.9 s); STRPOS skips past such places (22 ms).
    The answers are LIKE's, NULL included (an operand holds no wildcard)."""

    lookup_name = "holds"
    case = "{}"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"STRPOS({self.case.format(lhs)}, {self.case.format(rhs)}) > 0", [*lhs_params, *rhs_params]


class HoldsAnyCase(Holds):
    """icontains: both sides upper-cased first, as Django's icontains does on PostgreSQL."""

    lookup_name = "holds_any_case"
    case = "UPPER({})"


TEXT_LOOKUPS: dict[str, type[Holds]] = {"contains": Holds, "icontains": HoldsAnyCase}


def _col_compare(op: str) -> Callable[[str, Any], Q]:
    if op in TEXT_LOOKUPS:
        return lambda key, value: Q(TEXT_LOOKUPS[op](F(key), _require(key, op, value, _is_str, "a string")))
    return lambda key, value: Q(**{f"{key}__{op}": _require(key, op, value, _is_str, "a string")})


_column_ops: dict[str, Callable[[str, Any], Q]] = {
    "eq": _col_eq,
    "ne": lambda key, value: negate(_col_eq(key, value)),
    "in": _col_in,
    "nin": lambda key, value: negate(_col_in(key, value)),
    **{op: _col_compare(op) for op in ("gt", "gte", "lt", "lte", "contains", "icontains")},
}


# --- categories: the memory's list of category names ----------------------------------------------


def _category_has(key: str, value: Any) -> Q:
    return Q(categories__contains=[_require(key, "contains", value, _is_str, "a category name (a string)")])


def _category_any(key: str, value: Any) -> Q:
    return Q(categories__overlap=_require(key, "in", value, _is_str_list, "a list of category names"))


_category_ops: dict[str, Callable[[str, Any], Q]] = {
    "eq": _category_has,
    "contains": _category_has,
    "ne": lambda key, value: negate(_category_has(key, value)),
    "in": _category_any,
    "nin": lambda key, value: negate(_category_any(key, value)),
}


# --- metadata keys: JSONB operators ----------------------------------------------------------------


def _meta_eq(key: str, value: Any) -> Q:
    # Containment (@>) compares JSON types exactly and can use the GIN index. For a scalar inside an object it is
    # equality; for a list or an object it is containment ({"tags": ["a"]} @> would match ["a", "b"]), so those
    # are also compared whole, the @> kept so that the GIN index still narrows the rows.
    q = Q(metadata__contains={key: value})
    if isinstance(value, list | dict):
        q &= Q(RawSQL("metadata -> %s = %s::jsonb", (key, json.dumps(value)), output_field=BooleanField()))
    return q


def _meta_set(key: str) -> Q:
    # "*": any non-null value (Mem0's docs), as on the columns; a key stored as JSON null has none.
    return Q(metadata__has_key=key) & ~Q(metadata__contains={key: None})


def _meta_in(key: str, value: Any) -> Q:
    values = _require(key, "in", value, lambda v: isinstance(v, list), "a list")
    q = Q(pk__in=[])
    for item in values:
        q |= _meta_eq(key, item)
    return q


def _meta_range(key: str, bounds: dict[str, Any]) -> Q:
    """The key's value within all these bounds ({"gte": 1, "lt": 5}); of a list, one element within all of them,
    so `{"gte": 5, "lte": 5}` is not met by [1, 9] (each bound by a different element) but is by [5, 9]."""
    # jsonpath compares numbers with numbers and strings with strings; other pairs are simply false,
    # so a stray string value can never make the query fail. Its lax mode tests a list's elements one by one.
    test = " && ".join(f"@ {_JSONPATH_OPS[op]} ${op}" for op in bounds)
    sql = RawSQL(
        "jsonb_path_exists(metadata, %s::jsonpath, %s::jsonb)",
        (f"$.{json.dumps(key)} ? ({test})", json.dumps(bounds)),
        output_field=BooleanField(),
    )
    return Q(sql)


def _meta_compare(op: str) -> Callable[[str, Any], Q]:
    def build(key: str, value: Any) -> Q:
        return _meta_range(key, {op: _require(key, op, value, _is_scalar, "a number or a string")})

    return build


def _meta_text(op: str) -> Callable[[str, Any], Q]:
    lookup = TEXT_LOOKUPS[op]

    def build(key: str, value: Any) -> Q:
        return Q(lookup(KeyTextTransform(key, "metadata"), _require(key, op, value, _is_str, "a string")))

    return build


_metadata_ops: dict[str, Callable[[str, Any], Q]] = {
    "eq": _meta_eq,
    "ne": lambda key, value: negate(_meta_eq(key, value)),
    "in": _meta_in,
    "nin": lambda key, value: negate(_meta_in(key, value)),
    **{op: _meta_compare(op) for op in _JSONPATH_OPS},
    "contains": _meta_text("contains"),
    "icontains": _meta_text("icontains"),
}


# --- Mem0's v2 filter fields that are not metadata keys ---------------------------------------------


def _keywords(value: Any) -> Q:
    """`{"keywords": {"contains" | "icontains": "text"}}`: the memory's text holds that text."""
    if not isinstance(value, dict) or not value or not set(value) <= {"contains", "icontains"}:
        raise InvalidInput(
            'filters.keywords looks for text in the memory: {"keywords": {"contains": "..."}} or "icontains" '
            '(any case). For a metadata key named keywords, write {"metadata": {"keywords": ...}}.'
        )
    q = Q()
    for op, operand in value.items():
        q &= Q(TEXT_LOOKUPS[op](F("text"), _require(KEYWORDS, op, operand, _is_str, "a string")))
    return q


def _memory_ids(value: Any) -> Q:
    """`{"memory_ids": [id, ...]}` or `{"memory_ids": {"in" | "nin": [id, ...]}}`: these memories (or not)."""
    if isinstance(value, list):
        op, ids = "in", value
    elif isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("in", "nin"):
        op, ids = next(iter(value.items()))
    else:
        raise InvalidInput(
            'filters.memory_ids takes a list of memory ids, {"memory_ids": ["…"]}, or {"in": [...]} / {"nin": [...]}.'
        )
    _require(MEMORY_IDS, op, ids, _is_str_list, "a list of memory ids")
    parsed = []
    for item in ids:
        try:
            parsed.append(uuid.UUID(item))
        except ValueError:
            raise InvalidInput(f"filters.memory_ids.{op}: {item[:64]!r} is not a memory id (a UUID).") from None
    q = Q(id__in=parsed)
    return negate(q) if op == "nin" else q


def _metadata(value: Any) -> Q:
    """`{"metadata": {"key": value, ...}}`: each key a metadata condition, as a top-level metadata key would be."""
    if not isinstance(value, dict) or not value:
        raise InvalidInput('filters.metadata takes an object of metadata keys and values, e.g. {"topic": "food"}.')
    q = Q()
    for key, condition in value.items():
        q &= _condition(key, condition, metadata_only=True)
    return q


_special: dict[str, Callable[[Any], Q]] = {KEYWORDS: _keywords, MEMORY_IDS: _memory_ids, METADATA: _metadata}
