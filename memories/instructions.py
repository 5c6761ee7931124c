"""Custom extraction instructions drafted from a use case (Mem0's dashboard setup calls POST /generate-instructions).

With an LLM, it drafts them; without one, a fixed template names the use case, so the setup flow still works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from memories.configuration import server_config_current
from memories.llm import MalformedReply

DEFAULT_TEST_MESSAGE = "I prefer short answers, and I am usually free on Thursday afternoons."

SYSTEM = """You help set up a long-term memory service for an AI assistant.
From the use case the operator describes, write:
- "custom_instructions": 2 to 5 sentences telling the fact extractor which facts, preferences and context
  matter for this use case, and what to leave out.
- "test_message": one sentence a user of this use case might say that contains a fact worth remembering.
Answer with a JSON object with exactly these two string keys."""


@dataclass(frozen=True)
class Instructions:
    custom_instructions: str
    test_message: str


def _parse(payload: Any) -> Instructions:
    if not isinstance(payload, dict):
        raise MalformedReply("not a JSON object")
    instructions, message = payload.get("custom_instructions"), payload.get("test_message")
    if not isinstance(instructions, str) or not instructions.strip():
        raise MalformedReply("custom_instructions missing")
    if not isinstance(message, str) or not message.strip():
        message = DEFAULT_TEST_MESSAGE
    return Instructions(instructions.strip(), message.strip())


def instructions_generate(*, use_case: str) -> Instructions:
    """Draft extraction instructions and a test message for `use_case` (UpstreamError if the LLM fails)."""
    client = server_config_current().llm.client
    if client is None:
        return Instructions(
            custom_instructions=(
                f"This memory serves this use case: {use_case.strip()}. Remember stable facts, preferences, "
                "goals and constraints the user states that matter for it; skip greetings, small talk and "
                "anything only true for the moment."
            ),
            test_message=DEFAULT_TEST_MESSAGE,
        )
    return client.complete_json(system=SYSTEM, user=f"Use case: {use_case}", parse=_parse)
