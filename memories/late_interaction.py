"""Late interaction: the best fused candidates scored again, word by word, with the local MiniLM's token vectors.

How it scores (ColBERT's MaxSim): each word of the query is matched with its closest word of the memory by the
cosine of their token vectors (BERT's last layer), and those cosines are averaged over the query's words. Small
words ("what", "did", "the") are left out of the query; a memory keeps all its words. A memory that says each thing
the query asks about, in its own words, scores high; a short generic turn ("That's great!") does not.

Why the vectors are stored: computing them costs a model pass per memory (20 ms of CPU for a 65-token chat turn),
too much for each search. The model pass that embeds a memory's text when it is stored gives them at no extra
cost (the ONNX export's second output), so they are kept beside it (MemoryTokens): its word tokens only, the tokens
of its "[YYYY-MM-DD] " date prefix dropped, each vector as 384 int8 values and one float32 scale (388 bytes a
token, about 11 KB for a 29-word chat turn). int8 ranked as float32 did on both recall datasets.

A memory without stored tokens (stored before they were, or with another embedder, or its text changed since)
has them computed during the search that needs them, through the embedder's shared batches, and stored for the
next one.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from memories.models import Memory, MemoryTokens
from memories.onnx_embedding import Encoded
from memories.timestamps import dated_text

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

# How much the late-interaction score (0..1) counts beside the fused score: score = (fused + w x it) / (1 + w).
# The best of 0.1 to 5 on both recall datasets (flat from 0.7 to 2).
WEIGHT = 1.0
DIMS = 384
# A stored scale: a little-endian float32 (numpy is imported where vectors are handled: a start of the server
# or of a command does not pay for it).
_SCALE = "<f4"
_SCALE_BYTES = 4
# Query words that say how something is asked, not what about: matched, they would lift any memory with the same
# small words. (The memory's own small words stay: a query word is matched against its best memory word.)
_FUNCTION_WORDS = frozenset(
    re.findall(
        r"\w+",
        "a an the and or of to in on at for with is are was were be been did do does what when where who whom which "
        "how why i you he she it we they my your his her their this that have has had not no yes so just like about "
        "from by as but if then than",
    )
)
# Letters and digits of any script (a Cyrillic or CJK piece is a word as a Latin one is); not punctuation,
# nor [UNK] (an emoji).
_WORD_PIECE = re.compile(r"^(?:##)?\w")
# all-MiniLM-L6-v2 reads a text's first 256 tokens (its max_seq_length, with [CLS] and [SEP]).
MAX_TOKENS = 256
# At most this many candidates' tokens are computed by one search (a model pass each, up to 256 tokens: about 100 ms
# of CPU for the longest), so that a search over memories stored before tokens were kept does not hold the process's
# embedder for long; the others score as partial ones until a later search computes theirs.
FILL_MAX = 20


def words(tokens: Sequence[str], *, function_words: bool) -> list[int]:
    """Indexes of the tokens that are words or word pieces (not [CLS], [SEP] or punctuation)."""
    return [
        index
        for index, token in enumerate(tokens)
        if token not in ("[CLS]", "[SEP]")
        and _WORD_PIECE.match(token)
        and (function_words or token not in _FUNCTION_WORDS)
    ]


class Packed(NamedTuple):
    """A memory's stored tokens: `vectors` (pack's layout) and whether the model read only the start of its text."""

    vectors: bytes
    partial: bool


def pack(row: Encoded, *, dated: bool) -> Packed | None:
    """A memory's word tokens as stored: n float32 scales, then n x 384 int8 values (each token's vector divided
    by its scale). `dated`: the text was "[YYYY-MM-DD] text" (timestamps.dated_text), whose date tokens are left
    out. `partial` when the model read only the text's first MAX_TOKENS tokens. None when the row has no token
    vectors (another embedder)."""
    import numpy as np

    if row.token_vectors is None:
        return None
    tokens = list(row.tokens)
    start = tokens.index("]") + 1 if dated and "]" in tokens else 0
    kept = [start + index for index in words(tokens[start:], function_words=True)]
    vectors = np.asarray(row.token_vectors, dtype=np.float32)[kept]
    scales = np.abs(vectors).max(axis=1) / 127 if len(kept) else np.zeros(0, dtype=np.float32)
    scales[scales == 0] = 1.0
    values = np.rint(vectors / scales[:, None]).astype(np.int8)
    return Packed(scales.astype(_SCALE).tobytes() + values.tobytes(), len(tokens) >= MAX_TOKENS)


def _parts(blob: bytes | memoryview) -> tuple[np.ndarray, np.ndarray]:
    """A stored blob's n scales and n x 384 int8 values (n may be 0), as views of it."""
    import numpy as np

    count = len(blob) // (_SCALE_BYTES + DIMS)
    scales = np.frombuffer(blob, dtype=_SCALE, count=count)
    return scales, np.frombuffer(blob, dtype=np.int8, offset=count * _SCALE_BYTES).reshape(count, DIMS)


def unpack(blob: bytes | memoryview) -> np.ndarray:
    """The n x 384 float32 vectors of a stored blob (n may be 0)."""
    import numpy as np

    scales, values = _parts(blob)
    return values.astype(np.float32) * scales[:, None]


def query_vectors(row: Encoded) -> np.ndarray | None:
    """The query's words to match (its small words left out, unless it has nothing else); None without any."""
    import numpy as np

    if row.token_vectors is None:
        return None
    chosen = words(row.tokens, function_words=False) or words(row.tokens, function_words=True)
    return np.asarray(row.token_vectors, dtype=np.float32)[chosen] if chosen else None


def maxsims(asked: np.ndarray, blobs: Sequence[bytes | memoryview]) -> list[float]:
    """For each stored blob: each query word's best cosine with one of its words, averaged, within 0..1 (0 for a
    memory of no words). All the blobs' words in one product (a fifth of the time of one product per memory)."""
    import numpy as np

    parts = [_parts(blob) for blob in blobs]
    worded = [index for index, (scales, _) in enumerate(parts) if len(scales)]
    found = [0.0] * len(blobs)
    if not worded:
        return found
    scales = np.concatenate([parts[index][0] for index in worded])
    values = np.concatenate([parts[index][1] for index in worded]).astype(np.float32)
    cosines = (asked @ values.T) * scales  # query words x every memory word
    starts = np.cumsum([0] + [len(parts[index][0]) for index in worded[:-1]])
    best = np.maximum.reduceat(cosines, starts, axis=1).mean(axis=0)  # per memory: best per query word, averaged
    for index, value in zip(worded, best.tolist(), strict=True):
        found[index] = min(1.0, max(0.0, value))
    return found


def scores(asked: np.ndarray, memories: Sequence[Memory], embedder, *, floors: Sequence[float]) -> list[float]:
    """Each memory's late-interaction score against the query's words (`asked`, query_vectors).

    Stored tokens are used when they are of the memory's present text (the search statement reads them as
    `memory.tokens`, None otherwise, and `memory.tokens_partial`); the others (at most FILL_MAX) are computed with
    `embedder` (the local one, embed_rows) and stored for later searches. A memory longer than the model reads
    (partial) scores at least its `floors` value (its fused score): its words past the model's reach cannot be
    matched, so they do not count against it (its sentence vectors already give the fused score its best part).
    """
    blobs: list[bytes | None] = [getattr(memory, "tokens", None) for memory in memories]
    partial = [bool(getattr(memory, "tokens_partial", False)) for memory in memories]
    missing = [index for index, blob in enumerate(blobs) if blob is None]
    for index in missing[FILL_MAX:]:  # the lowest fused of them: scored as partial, computed by a later search
        blobs[index], partial[index] = b"", True
    missing = missing[:FILL_MAX]
    if missing:
        texts = [dated_text(memories[i].text, memories[i].occurred_at) for i in missing]
        rows = embedder.embed_rows(texts)
        if rows is None:
            raise ValueError("late interaction needs the local embedder on ONNX Runtime (EMBEDDER_RUNTIME=onnx)")
        computed = {
            i: pack(row, dated=memories[i].occurred_at is not None) for i, row in zip(missing, rows, strict=True)
        }
        for index, packed in computed.items():
            blobs[index], partial[index] = packed if packed is not None else (b"", False)
        tokens_store([(memories[i], packed) for i, packed in computed.items() if packed])
    found = maxsims(asked, blobs)  # type: ignore[arg-type]  (every blob is filled in by now)
    return [max(value, floor) if cut else value for value, cut, floor in zip(found, partial, floors, strict=True)]


def kept() -> bool:
    """Whether memories keep their token vectors when stored: late interaction is on, or is the reranker."""
    return settings.SEARCH_LATE_INTERACTION or settings.SEARCH_RERANKER == "late-interaction"


def enabled() -> bool:
    """Whether searches score their best candidates by late interaction: SEARCH_LATE_INTERACTION, and the configured
    embedder is the local one on ONNX Runtime (whose model pass gives the token vectors; as last checked, which
    the search's own embed_query has just done)."""
    from memories.configuration import server_config_snapshot
    from memories.embeddings import LocalEmbedder

    embedder = server_config_snapshot().embedder
    return settings.SEARCH_LATE_INTERACTION and isinstance(embedder, LocalEmbedder) and embedder.runtime == "onnx"


def rescored(query: Encoded, memories: list[Memory], *, threshold: float, embedder) -> list[Memory]:
    """The fused candidates scored again, those of at least `threshold` best first (ties by id, as the fusion).

    score = (fused + WEIGHT x late interaction) / (1 + WEIGHT), where `fused` is the two lists' score; for a query
    that names a time, (1 - t) x that + t x temporal, as the fusion had it (memories/search.py), so the time's
    boost keeps its weight. Late interaction is at least `fused` for a memory longer than the model reads, or
    whose tokens this search left for a later one (scores). The fused order as it was when the query has no word
    to match (punctuation only) or no token vectors (another embedder answered it).
    """
    asked = query_vectors(query)
    if asked is None or not memories:
        return memories
    fuseds = [_fused(memory) for memory in memories]
    for memory, fused, value in zip(memories, fuseds, scores(asked, memories, embedder, floors=fuseds), strict=True):
        details = memory.score_details
        timed, weight = details["temporal"], details["temporal_weight"]
        score = (fused + WEIGHT * value) / (1 + WEIGHT)
        memory.score = (1 - weight) * score + weight * timed if timed is not None else score
        details |= {"fused": fused, "late_interaction": value, "late_interaction_weight": WEIGHT}
    passing = [memory for memory in memories if memory.score >= threshold]
    return sorted(passing, key=lambda memory: (-memory.score, memory.id))


def _fused(memory: Memory) -> float:
    """The two lists' part of a fused candidate's score, without the time's (memories/search.py)."""
    timed, weight = memory.score_details["temporal"], memory.score_details["temporal_weight"]
    if timed is not None and weight < 1:
        return min(1.0, max(0.0, (memory.score - weight * timed) / (1 - weight)))
    return memory.score


def annotate(query: Encoded, memories: Sequence[Memory], *, embedder) -> None:
    """Each memory's late-interaction score in score_details["late_interaction"], its score and order left as
    they are (for the late-interaction reranker, from the query embedding the search made). Nothing when the
    query has no word to match or no token vectors."""
    asked = query_vectors(query)
    if asked is None or not memories:
        return
    values = scores(asked, memories, embedder, floors=[_fused(memory) for memory in memories])
    for memory, value in zip(memories, values, strict=True):
        memory.score_details["late_interaction"] = value


def tokens_save(memories: dict[uuid.UUID, tuple[str, Packed]]) -> None:
    """Store (or replace) these memories' tokens ({id: (text hash, pack's)}), inside the caller's write."""
    rows = [
        MemoryTokens(memory_id=memory_id, hash=text_hash, vectors=packed.vectors, partial=packed.partial)
        for memory_id, (text_hash, packed) in memories.items()
    ]
    if rows:
        MemoryTokens.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["memory_id"], update_fields=["hash", "vectors", "partial"]
        )


# The memories' rows as they are now, held until the search's savepoint's transaction ends (a write waits to
# change them), skipping those a write holds: that write stores tokens of its own.
_HOLD = f"""
SELECT id, hash, occurred_at FROM {Memory._meta.db_table} WHERE id = ANY(%s) ORDER BY id FOR SHARE SKIP LOCKED
"""  # noqa: S608  (the table name only)


def tokens_store(memories: Sequence[tuple[Memory, Packed]]) -> None:
    """tokens_save from a search, of these memories as it read them: only those whose text and day (the embedder
    saw the text dated by it) are still the ones read, as an update meanwhile stored tokens of its own which these
    must not replace. Its own savepoint; a failure (a memory deleted meanwhile) only logged."""
    if not memories:
        return
    read = {memory.id: (memory.hash, dated_text("", memory.occurred_at), packed) for memory, packed in memories}
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # A write holding the memory (an update) waits for nobody here: the search goes on without storing
            # instead of risking a deadlock with it.
            cursor.execute("SET LOCAL lock_timeout = '200ms'")
            cursor.execute(_HOLD, [sorted(read)])
            now = {memory_id: (text_hash, dated_text("", when)) for memory_id, text_hash, when in cursor.fetchall()}
            # In id order, as every writer of several memories.
            kept = {
                key: (text_hash, packed)
                for key, (text_hash, day, packed) in sorted(read.items())
                if now.get(key) == (text_hash, day)
            }
            tokens_save(kept)
            cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
    except DatabaseError as error:
        logger.info("late interaction: computed tokens not stored (%s)", str(error).splitlines()[0])
