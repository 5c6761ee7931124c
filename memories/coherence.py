"""The same-conversation bonus: a result scores a little more for each better result from its conversation.

Why: the turns that answer a question often sit in one conversation (what was planned, then how it went), and a
turn that shares few words with the question is more likely the answer when another turn of its conversation
already ranks above it. A memory's conversation is its `run_id` (a session, in Mem0's terms), else its
`timestamp` (the turns of one stored conversation share it); a memory with neither has none.

bonus = SEARCH_SESSION_BONUS (0.01) x the number of better candidates of its conversation, for at most CAP of them:
small beside the scores' spread, it reorders near-ties only. `bench/recall.py` over the 40 candidates late
interaction scores (README, Search): REALTALK R@10 0.624 against 0.617 without it, our own dataset 0.980 against
0.979 (0.612 and 0.977 with 20 candidates and no bonus).
"""

from __future__ import annotations

from collections.abc import Hashable

from memories.models import Memory

CAP = 2


def conversation(memory: Memory) -> Hashable | None:
    """The conversation a memory is of: its run_id, else its timestamp; None with neither."""
    return ("run", memory.run_id) if memory.run_id else ("at", memory.occurred_at) if memory.occurred_at else None


def boosted(memories: list[Memory], *, bonus: float) -> list[Memory]:
    """The candidates (best first, each with `score` and `score_details`) with their bonus added to `score`
    (at most 1) and shown as score_details["session_bonus"], best first again (ties by id)."""
    better: dict[Hashable, int] = {}
    for memory in memories:
        key = conversation(memory)
        count = better.get(key, 0) if key is not None else 0
        added = bonus * min(CAP, count)
        memory.score = min(1.0, memory.score + added)
        memory.score_details["session_bonus"] = added
        if key is not None:
            better[key] = count + 1
    return sorted(memories, key=lambda memory: (-memory.score, memory.id))
