"""Sentence vectors: a long memory is also embedded sentence by sentence, and search gives it the similarity of
its closest sentence when that is closer than its whole text's.

Why: one vector for a long memory is the mean of everything it says, so the sentence that answers a question
is diluted by the others. A long turn holding the answer sat at cosine 0.26-0.36 while short generic turns
("That's great!") sat at 0.6 against many questions. Measured with bench/recall.py --timestamps, side by side
on one machine, R@1 / R@10 / R@50:
- bench/data: 0.786 / 0.934 / 0.953 -> 0.797 / 0.959 / 0.997;
- REALTALK (real chats, bench/data/realtalk.py): 0.319 / 0.583 / 0.724 -> 0.319 / 0.590 / 0.721. There most
  missed answers are one sentence long, which splitting cannot change.
Variants measured offline alongside (on a copy of this ranking) and left out: every multi-sentence memory (not
only long ones) gained less on both; blending the best sentence's similarity with the whole's gained less;
windows of two sentences gained nothing more for about twice the vectors; the speaker's name on the first
sentence only gained half.

Which memories: at least MIN_CHARS characters (without a leading "Name: ") and at least two sentences. A memory of
more than MAX_SENTENCES sentences gets MAX_SENTENCES vectors all the same: its consecutive sentences are joined
into that many runs of near-equal count, so its last sentences are found too (the whole text's vector is cut at
the model's 256 tokens, about 1,000 characters). Each sentence is embedded as the whole is (dated_text: its day,
when known), with the memory's leading "Name: " if it has one, as a chat turn stored as "Maya: ..." has. On
bench/data's and REALTALK's turns that is 0.6 extra vectors per memory; a short extracted fact has none.

The rows carry the hash of the text they were cut from, and search uses only those whose hash is the memory's
own: a text changed by a path that did not renew them is scored by its whole vector, never by stale sentences.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from memories import late_interaction
from memories.embeddings import embed_rows
from memories.models import MemorySentence
from memories.timestamps import dated_text

MIN_CHARS = 150
MAX_SENTENCES = 16
# A sentence ends at . ! ? and whitespace, or at the full-width 。！？ of Chinese and Japanese, which none follows.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])\s*")
# A chat turn's speaker, "Maya: ": up to four words (no sentence end) before a colon at the very start.
_SPEAKER = re.compile(r"^([^\s:.!?][^:\n.!?]{0,40}?):\s+")


def sentences(text: str) -> list[str]:
    """The sentences `text` is also embedded as (each with its leading "Name: "); [] if short or one sentence."""
    speaker = _SPEAKER.match(text)
    prefix, body = (
        (f"{speaker.group(1)}: ", text[speaker.end() :])
        if speaker and len(speaker.group(1).split()) <= 4
        else ("", text)
    )
    body = body.strip()
    if len(body) < MIN_CHARS:
        return []
    # A sentence said twice is embedded and stored once.
    parts = list(dict.fromkeys(part for part in (piece.strip() for piece in _SENTENCE_END.split(body)) if part))
    if len(parts) < 2:
        return []
    return [prefix + part for part in _runs(parts, MAX_SENTENCES)]


def _runs(parts: list[str], most: int) -> list[str]:
    """`parts` as at most `most` runs of consecutive parts, their counts differing by one at most (longer first)."""
    if len(parts) <= most:
        return parts
    size, longer = divmod(len(parts), most)
    runs, start = [], 0
    for index in range(most):
        end = start + size + (index < longer)
        runs.append(" ".join(parts[start:end]))
        start = end
    return runs


@dataclass(frozen=True)
class MemoryVectors:
    whole: list[float] | None  # None: not asked for (embed_memories' whole=False)
    sentences: list[list[float]]
    # The whole text's word tokens, packed (memories/late_interaction.py); None from an embedder without them.
    tokens: late_interaction.Packed | None = None


def embed_memories(embedder, items: list[tuple[str, datetime | None]], *, whole: bool = True) -> list[MemoryVectors]:
    """Each (text, occurred_at) embedded whole (unless `whole` is false) and sentence by sentence, in one call to
    the embedder (each distinct input once); the whole text's token vectors come from the same call, packed when
    memories keep them (late_interaction.kept)."""
    cut = [sentences(text) for text, _ in items]
    wholes = [dated_text(text, when) for text, when in items]
    parts = [[dated_text(part, when) for part in pieces] for pieces, (_, when) in zip(cut, items, strict=True)]
    distinct = list(dict.fromkeys([*(wholes if whole else []), *(text for pieces in parts for text in pieces)]))
    rows = dict(zip(distinct, embed_rows(embedder, distinct), strict=True)) if distinct else {}
    tokens = whole and late_interaction.kept()
    return [
        MemoryVectors(
            rows[text].vector if whole else None,
            [rows[part].vector for part in pieces],
            late_interaction.pack(rows[text], dated=when is not None) if tokens else None,
        )
        for text, pieces, (_, when) in zip(wholes, parts, items, strict=True)
    ]


def vectors_save(memories: dict[uuid.UUID, tuple[str, MemoryVectors]], *, replace: bool) -> None:
    """Store the sentence vectors and tokens of these memories ({id: (text hash, vectors)}) inside their write;
    `replace` first deletes the sentences they had (a changed text, a new embedder), which new memories have not.
    Tokens are stored where there are some (the local embedder), replacing any a memory had."""
    if replace and memories:
        MemorySentence.objects.filter(memory_id__in=list(memories)).delete()
    rows = [
        MemorySentence(memory_id=memory_id, hash=text_hash, embedding=vector)
        for memory_id, (text_hash, vectors) in memories.items()
        for vector in vectors.sentences
    ]
    if rows:
        MemorySentence.objects.bulk_create(rows)
    late_interaction.tokens_save(
        {
            memory_id: (text_hash, vectors.tokens)
            for memory_id, (text_hash, vectors) in memories.items()
            if vectors.tokens is not None
        }
    )
