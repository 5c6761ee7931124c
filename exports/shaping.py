"""The LLM step of an export: shape memories into a caller's JSON Schema, and check the answer against it.

A JSON answer that does not validate is sent back to the model once, with the validation error; a second
invalid answer fails the export with that error. (Text that is not JSON at all is retried by the LLM client.)
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import referencing.exceptions

from exports.services import ENDLESS_REF, ExportFailed, schema_cost_check, unresolvable
from mem0server.exceptions import InvalidInput
from mem0server.text import unstorable_json
from memories.llm import LLMClient
from memories.models import Memory

# Characters of one memory shown to the model.
MAX_MEMORY_CHARS = 1000

SYSTEM = """\
You fill in a JSON Schema from what an assistant's memory store knows about someone. You are given the schema \
and the memories, one per line, newest first, each with the date it was stored. Reply with one JSON value that \
validates against the schema, and nothing else. Use only what the memories say: when they say nothing about a \
field, leave an optional field out or use null where the schema allows it. When memories contradict each other, \
prefer the newer one. Keep names, numbers and dates exact."""


def _error_text(error: jsonschema.ValidationError) -> str:
    where = "/".join(str(part) for part in error.absolute_path) or "the top level"
    return f"{error.message[:300]} (at {where})"


def schema_errors(value: Any, schema: dict) -> str | None:
    """The first way `value` fails the schema, as a sentence; None when it validates."""
    try:  # a schema stored before schema_check refused what could cost without bound
        schema_cost_check(schema)
    except InvalidInput as exc:
        raise ExportFailed(f"The schema cannot be used: {exc.detail.removeprefix('schema: ')}") from None
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        error = jsonschema.exceptions.best_match(validator_class(schema).iter_errors(value))
    except referencing.exceptions.Unresolvable as exc:
        raise ExportFailed(f"The schema cannot be used: {unresolvable(exc)}") from None
    except RecursionError:
        raise ExportFailed(f"The schema cannot be used: {ENDLESS_REF}") from None
    return None if error is None else _error_text(error)


def memories_shape(*, client: LLMClient, memories: list[Memory], schema: dict, instructions: str = "") -> Any:
    """The memories shaped by the LLM into a value valid under `schema`, or ExportFailed saying why not."""
    lines = [f"- [{m.created_at.date().isoformat()}] {' '.join(m.text.split())[:MAX_MEMORY_CHARS]}" for m in memories]
    system = SYSTEM + (f"\n\nInstructions from the user:\n{instructions}" if instructions else "")
    user = (
        f"JSON Schema:\n{json.dumps(schema, ensure_ascii=False)}\n\n"
        f"Memories:\n{chr(10).join(lines) if lines else '(none)'}"
    )
    problem = ""
    for _ in range(2):
        value = client.complete_json(system=system, user=user, parse=lambda reply: reply)
        if isinstance(value, dict):
            problem = schema_errors(value, schema)
            if problem is None and (unstorable := unstorable_json(value)):
                problem = f"the answer contains {unstorable}, which cannot be stored"
        else:
            problem = f"the answer must be a JSON object, not {type(value).__name__}"
        if problem is None:
            return value
        user += (
            f"\n\nYour previous answer did not validate against the schema: {problem}. "
            "Reply again with a value that does."
        )
    raise ExportFailed(
        f"The LLM ({client.describe()}) answered twice with JSON that does not match the schema: {problem}."
    )
