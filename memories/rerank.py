"""Reranking the best search candidates with the configured LLM, as one listwise call.

The store asks; the provider layer (memories/llm.py through the runtime configuration) answers. A search
that asked for reranking always says what happened (RerankOutcome), never silently returns the fused order.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from mem0server.exceptions import UpstreamError
from memories.configuration import server_config_current
from memories.llm import MalformedReply
from memories.models import Memory

logger = logging.getLogger(__name__)

# Each candidate is shown cut to this many characters: enough to judge, bounded prompt.
PASSAGE_CHARS = 600

_INSTRUCTIONS = """You rank stored memories by how well each one answers a search query.
You get the query and numbered memories. Judge what each memory says, not how many words it shares with the
query: the memory holding the answer comes first, even if it is long and talks about other things too; short
reactions or questions that hold no facts come last.
Reply with a JSON object only: {"ranking": [numbers of the memories, best first]}. List every number once."""


@dataclass
class RerankOutcome:
    applied: bool
    by: str | None = None
    detail: str | None = None


def reranker_name() -> str | None:
    """The configured reranker ("llm"), or None when SEARCH_RERANKER is empty."""
    return settings.SEARCH_RERANKER or None


def parse_ranking(payload: Any, count: int) -> list[int]:
    """Candidate indexes best first: the model's order, then any it left out in their earlier order."""
    if not isinstance(payload, dict) or not isinstance(payload.get("ranking"), list):
        raise MalformedReply('expected {"ranking": [...]}')
    order: list[int] = []
    for item in payload["ranking"]:
        if isinstance(item, bool) or not isinstance(item, int | str):
            continue
        try:
            index = int(item)
        except ValueError:
            continue
        if 0 <= index < count and index not in order:
            order.append(index)
    if not order:
        raise MalformedReply("the ranking names none of the memories")
    return order + [index for index in range(count) if index not in order]


def rerank(*, query: str, memories: Sequence[Memory]) -> tuple[list[Memory], RerankOutcome]:
    """The memories in the reranker's order (each gets score_details["rerank_rank"]) and what happened.

    Without a usable reranker, or when it fails, the order is kept and the outcome says why.
    """
    name = reranker_name()
    if name is None:
        return list(memories), RerankOutcome(
            applied=False, detail="No reranker is configured (SEARCH_RERANKER); results are in fused order."
        )
    if not memories:
        return [], RerankOutcome(applied=True, by=name)
    client = server_config_current().llm.client
    if client is None:
        return list(memories), RerankOutcome(
            applied=False, by=name, detail="SEARCH_RERANKER=llm, but no LLM is configured; results are in fused order."
        )
    passages = [{"n": index, "memory": memory.text[:PASSAGE_CHARS]} for index, memory in enumerate(memories)]
    user = "Query: " + query + "\n\nMemories:\n" + json.dumps(passages, ensure_ascii=False)
    try:
        order = client.complete_json(
            system=_INSTRUCTIONS, user=user, parse=lambda payload: parse_ranking(payload, len(memories))
        )
    except UpstreamError as error:
        logger.warning("rerank failed, fused order kept: %s", error)
        return list(memories), RerankOutcome(applied=False, by=name, detail=f"The reranker failed: {error}")
    ranked = [memories[index] for index in order]
    for rank, memory in enumerate(ranked, start=1):
        details = getattr(memory, "score_details", None)
        if isinstance(details, dict):
            details["rerank_rank"] = rank
    return ranked, RerankOutcome(applied=True, by=name)
