"""An LLM-written summary of a set of memories (the Platform API's POST /v1/summary/).

The memories are chosen in SQL (the caller's, passing the filters, newest first, at most MAX_MEMORIES), and
the configured chat model writes the summary; without an LLM it is a 400 that says how to configure one.
"""

from __future__ import annotations

from dataclasses import dataclass

from mem0server.exceptions import InvalidInput, UpstreamError
from memories.configuration import HOW_TO_TURN_ON, server_config_current
from memories.selectors import memories_matching

# The newest memories shown to the model; older ones are counted but not summarised.
MAX_MEMORIES = 200
# Characters of one memory shown to the model.
MAX_MEMORY_CHARS = 1000

SYSTEM = """\
You summarise what an assistant's memory store knows. You are given memories, one per line, newest first, \
each with the date it was stored. Write a short summary in plain prose: group related facts by topic, keep \
names, numbers and dates exact, and when memories contradict each other prefer the newer one. Write in the \
language of the memories. Use only what the memories say; never add anything. If there are no memories, say so \
in one sentence."""


@dataclass(frozen=True)
class Summary:
    summary: str
    memories_summarized: int
    total_memories: int


def memories_summarize(*, principal, filters: dict | None) -> Summary:
    """Summarise the caller's unexpired memories that pass `filters`, newest first (one LLM call)."""
    llm = server_config_current().llm
    if llm.client is None:
        raise InvalidInput(f"Summaries need an LLM, and inference is off ({llm.missing}). {HOW_TO_TURN_ON}")
    matching = memories_matching(principal=principal, filters=filters)
    total = matching.count()
    memories = list(matching.only("text", "created_at")[:MAX_MEMORIES])
    if not memories:
        return Summary(summary="There are no memories matching these filters.", memories_summarized=0, total_memories=0)
    lines = [f"- [{m.created_at.date().isoformat()}] {' '.join(m.text.split())[:MAX_MEMORY_CHARS]}" for m in memories]
    summary = llm.client.complete_text(system=SYSTEM, user="Memories:\n" + "\n".join(lines))
    if not summary:  # e.g. nothing but a reasoning block
        raise UpstreamError(
            f"The LLM ({llm.client.describe()}) returned an empty summary.", code="provider_unavailable"
        )
    return Summary(summary=summary, memories_summarized=len(memories), total_memories=total)
