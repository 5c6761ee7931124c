"""Reranking the best search candidates: the configured LLM (listwise), a local cross-encoder, a rerank API, or
late interaction with the bundled MiniLM's token vectors.

SEARCH_RERANKER picks one. The store asks; the providers answer (the LLM through memories/llm.py, the
cross-encoder from a folder on disk, the API over HTTP). A search that asked for reranking always says what
happened (RerankOutcome), never silently returns the fused order: a reranker that is not configured, cannot
load or fails leaves the fused order and says why, never a 500.

The LLM, the cross-encoder and the API see each memory as "<date>: <text>", the date being when it happened
(`occurred_at`, the Platform add's `timestamp`) or else when it was stored: a turn that says "yesterday" only
answers a "when" question together with its date. Late interaction compares words with words
(memories/late_interaction.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from mem0server.exceptions import UpstreamError
from mem0server.metrics import requests_in_flight
from mem0server.text import mask_urls, redact_secret_echoes, url_secrets
from memories import late_interaction
from memories.configuration import server_config_current
from memories.embedding_batch import EmbeddingBatcher
from memories.embeddings import BATCH_CHARS, EmbedderUnavailable, local_embedder
from memories.llm import MalformedReply
from memories.models import Memory

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)

# Each candidate is shown cut to this many characters: enough to judge, a bounded prompt or model input.
PASSAGE_CHARS = 600
# The cross-encoder reads at most this many tokens of query and passage together.
CROSS_ENCODER_MAX_TOKENS = 256

_INSTRUCTIONS = """You rank stored memories by how well each one answers a search query.
You get the query and numbered memories, each with the date it happened. Judge what each memory says, not how
many words it shares with the query: the memory holding the answer comes first, even if it is long and talks
about other things too; short reactions or questions that hold no facts come last. For "when" questions, a
memory that tells of the event answers it together with its date, even if it says "yesterday".
Reply with a JSON object only: {"ranking": [numbers of the memories, best first]}. List every number once."""


@dataclass
class RerankOutcome:
    applied: bool
    by: str | None = None
    detail: str | None = None


class RerankUnavailable(Exception):
    """The configured reranker cannot answer this search; the message says why (shown to the caller)."""


def reranker_name() -> str | None:
    """The configured reranker ("llm", "cross-encoder", "api", "late-interaction"), or None when SEARCH_RERANKER
    is empty."""
    return settings.SEARCH_RERANKER or None


def passage(memory: Memory) -> str:
    """What a reranker sees of a memory: the day it happened, then its text, cut to PASSAGE_CHARS."""
    when = memory.occurred_at or memory.created_at
    prefix = f"{when:%Y-%m-%d} ({when:%A}): " if when else ""
    return prefix + memory.text[:PASSAGE_CHARS]


def rerank(*, query: str, memories: Sequence[Memory]) -> tuple[list[Memory], RerankOutcome]:
    """The memories in the reranker's order (each gets score_details["rerank_rank"], and "rerank_score" when
    the reranker gives scores) and what happened. Without a usable reranker the order is kept, and the
    outcome says why."""
    name = reranker_name()
    if name is None:
        return list(memories), RerankOutcome(
            applied=False, detail="No reranker is configured (SEARCH_RERANKER); results are in fused order."
        )
    if not memories:
        return [], RerankOutcome(applied=True, by=name)
    passages = [passage(memory) for memory in memories]
    scores: list[float] | None = None
    try:
        if name == "llm":
            order = llm_order(query, passages)
        elif name == "late-interaction":
            scores = late_interaction_scores(query, memories)
            if all("late_interaction_weight" in getattr(memory, "score_details", {}) for memory in memories):
                order = list(range(len(memories)))  # the search ranked them by it already: its score holds both
            else:
                # Added to the fused score, not in its place: alone it ranks no better than the fusion (README).
                combined = [
                    float(memory.score) + late_interaction.WEIGHT * score
                    for memory, score in zip(memories, scores, strict=True)
                ]
                order = sorted(range(len(memories)), key=lambda index: -combined[index])
        else:
            scores = cross_encoder_scores(query, passages) if name == "cross-encoder" else api_scores(query, passages)
            # Best score first; ties keep the fused order.
            order = sorted(range(len(memories)), key=lambda index: -scores[index])
    except RerankUnavailable as error:
        logger.warning("rerank (%s) not applied, fused order kept: %s", name, error)
        return list(memories), RerankOutcome(applied=False, by=name, detail=f"{error} Results are in fused order.")
    ranked = [memories[index] for index in order]
    for rank, index in enumerate(order, start=1):
        details = getattr(memories[index], "score_details", None)
        if isinstance(details, dict):
            details["rerank_rank"] = rank
            if scores is not None:
                details["rerank_score"] = scores[index]
    return ranked, RerankOutcome(applied=True, by=name)


# --- the LLM, listwise --------------------------------------------------------------------------------


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


def llm_order(query: str, passages: list[str]) -> list[int]:
    """The configured LLM's ranking of the passages (indexes, best first), in one call."""
    client = server_config_current().llm.client
    if client is None:
        raise RerankUnavailable("SEARCH_RERANKER=llm, but no LLM is configured.")
    numbered = [{"n": index, "memory": text} for index, text in enumerate(passages)]
    user = "Query: " + query + "\n\nMemories:\n" + json.dumps(numbered, ensure_ascii=False)
    try:
        return client.complete_json(
            system=_INSTRUCTIONS, user=user, parse=lambda payload: parse_ranking(payload, len(passages))
        )
    except UpstreamError as error:
        raise RerankUnavailable(f"The reranker failed: {error}") from error


# --- a local cross-encoder ----------------------------------------------------------------------------


class CrossEncoderReranker:
    """One sentence-transformers CrossEncoder from a folder on disk, loaded once (lazily, under a lock).

    Concurrent searches share its model calls through an EmbeddingBatcher, as the local embedder does: one
    call at a time (HF fast tokenizers are not thread-safe), at most EMBEDDER_BATCH_SIZE (query, passage)
    pairs and BATCH_CHARS characters per call (each pair counted as long as the call's longest), shared out
    round-robin, so one search's pairs never hold the model for long while another waits. A folder that is
    missing or does not load is remembered: later searches say why at no cost.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._model = None
        self._error: str | None = None
        self._lock = threading.Lock()
        # The batcher moves (query, passage) pairs and one-score rows instead of texts and vectors.
        self.batcher = EmbeddingBatcher(
            self._score_batch,  # type: ignore[arg-type]
            max_batch=settings.EMBEDDER_BATCH_SIZE,
            max_wait_ms=settings.EMBEDDER_BATCH_WAIT_MS,
            company=lambda: requests_in_flight() != 1,
            # 32 pairs of a top_k 1000 search (650 characters each) made one call, which another account's reranked
            # search waited for: 1.1-2.3 s p50 (4.3-7.9 s at most), now 0.6-0.7 s (0.6-1.1 s; bench/heavy_rerank.py).
            max_chars=BATCH_CHARS,
        )

    def load(self):
        """The model, or RerankUnavailable saying why it cannot be had."""
        if self._model is None and self._error is None:
            with self._lock:
                if self._model is None and self._error is None:
                    try:
                        self._model = self._load()
                    except Exception as exc:  # noqa: BLE001  (any load failure: the model is unusable)
                        self._error = f"the cross-encoder at SEARCH_RERANK_MODEL_PATH={self.path!r} did not load: {exc}"
                        logger.error("reranker: %s; rerank=true answers with applied=false", self._error)
        if self._error is not None:
            raise RerankUnavailable(self._error[0].upper() + self._error[1:] + ".")
        return self._model

    def _load(self):
        if not self.path:
            raise ValueError("SEARCH_RERANK_MODEL_PATH is empty; give the folder of a CrossEncoder model")
        if not Path(self.path).is_dir():
            raise ValueError("no such folder")
        # Never a download: the folder is all there is.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import CrossEncoder

        model = CrossEncoder(self.path, device="cpu", local_files_only=True, max_length=CROSS_ENCODER_MAX_TOKENS)
        if model.num_labels != 1:
            raise ValueError(f"it gives {model.num_labels} scores per pair; a reranker gives one")
        logger.info("reranker: cross-encoder loaded from %s", self.path)
        return model

    def warm_up(self) -> None:
        """Load now (servers do this in a background thread at start); a failure is logged and remembered."""
        with contextlib.suppress(RerankUnavailable):
            self.load()

    def scores(self, query: str, passages: list[str]) -> list[float]:
        self.load()
        try:
            rows = self.batcher.embed([(query, text) for text in passages])  # type: ignore[list-item]
        except Exception as exc:  # noqa: BLE001  (a model error fails this search's reranking only)
            raise RerankUnavailable(f"The cross-encoder failed: {exc}.") from exc
        return [float(row[0]) for row in rows]

    def _score_batch(self, pairs: list[tuple[str, str]]) -> list[list[float]]:
        scores = self._model.predict(pairs, batch_size=len(pairs), show_progress_bar=False, convert_to_numpy=True)
        return [[float(score)] for score in scores]


_cross_encoders: dict[str, CrossEncoderReranker] = {}
_cross_encoders_lock = threading.Lock()


def cross_encoder() -> CrossEncoderReranker:
    """This process's cross-encoder for SEARCH_RERANK_MODEL_PATH (one per path, created once)."""
    path = settings.SEARCH_RERANK_MODEL_PATH
    with _cross_encoders_lock:
        if path not in _cross_encoders:
            _cross_encoders[path] = CrossEncoderReranker(path)
        return _cross_encoders[path]


def cross_encoder_scores(query: str, passages: list[str]) -> list[float]:
    return cross_encoder().scores(query, passages)


# --- late interaction: the bundled MiniLM's token vectors ----------------------------------------------


def late_interaction_scores(query: str, memories: Sequence[Memory]) -> list[float]:
    """Each memory's late-interaction score (memories/late_interaction.py): the search's own when it scored them
    already (SEARCH_LATE_INTERACTION, or with the query embedding it made), else from the stored token vectors
    and the query embedded again by the local embedder (when another embedder is configured)."""
    done = [getattr(memory, "score_details", {}).get("late_interaction") for memory in memories]
    if all(value is not None for value in done):
        return done  # type: ignore[return-value]
    embedder = local_embedder()
    try:
        rows = embedder.embed_rows([query])
        if rows is None:
            raise RerankUnavailable(
                "Late interaction needs the local embedder on ONNX Runtime (EMBEDDER_RUNTIME=onnx)."
            )
        # Shown as the search's own would be (explain); none when the query has no word to match.
        late_interaction.annotate(rows[0], memories, embedder=embedder)
    except EmbedderUnavailable as error:
        raise RerankUnavailable(str(error)) from error
    return [memory.score_details.get("late_interaction", 0.0) for memory in memories]


# --- a rerank API (Cohere- or Jina-compatible) --------------------------------------------------------

_http: tuple[int, httpx.Client] | None = None


def _http_client() -> httpx.Client:
    # One pooled client per process (kept-alive connections; rebuilt in a forked worker). httpx is imported here,
    # by the first call, not by every start (~0.1 s of CPU).
    import httpx

    global _http
    if _http is None or _http[0] != os.getpid():
        _http = (os.getpid(), httpx.Client(follow_redirects=False))
    return _http[1]


def api_scores(query: str, passages: list[str]) -> list[float]:
    """Scores from POST SEARCH_RERANK_URL {model, query, documents, top_n} → {results: [{index, relevance_score}]}.

    The key goes as Bearer to that URL only: redirects are not followed. Passages the answer leaves out rank
    after the others, in their fused order.
    """
    import httpx

    url, key = settings.SEARCH_RERANK_URL, settings.SEARCH_RERANK_API_KEY
    where = mask_urls(url)
    if not url:
        raise RerankUnavailable("SEARCH_RERANKER=api, but SEARCH_RERANK_URL is not set.")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"model": settings.SEARCH_RERANK_MODEL, "query": query, "documents": passages, "top_n": len(passages)}
    timeout = settings.SEARCH_RERANK_TIMEOUT
    try:
        response = _http_client().post(url, json=body, headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        raise RerankUnavailable(f"The rerank API at {where} did not answer within {timeout:g} s.") from None
    except httpx.HTTPError as exc:
        reason = redact_secret_echoes(str(exc), key, url, *url_secrets(url))
        raise RerankUnavailable(f"The rerank API at {where} could not be reached: {reason}.") from None
    if response.status_code != 200:
        # Redacted before it is cut: a key cut in two at the end was no longer found, and its middle showed.
        said = redact_secret_echoes(response.text[:1000], key, *url_secrets(url))[:200]
        raise RerankUnavailable(f"The rerank API at {where} answered {response.status_code}: {said}")
    try:
        return parse_api_scores(response.json(), len(passages))
    except (ValueError, MalformedReply) as exc:
        raise RerankUnavailable(f"The rerank API at {where} answered in an unexpected shape: {exc}.") from None


def parse_api_scores(payload: Any, count: int) -> list[float]:
    """One score per passage from {"results": [{"index", "relevance_score"}]}; -inf for those not listed."""
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list):
        raise MalformedReply('expected {"results": [...]}')
    scores = [-math.inf] * count
    for row in results:
        index = row.get("index") if isinstance(row, dict) else None
        score = row.get("relevance_score") if isinstance(row, dict) else None
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
            raise MalformedReply(f"a result's index is not one of the {count} documents sent")
        if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
            raise MalformedReply("a result's relevance_score is not a number")
        scores[index] = float(score)
    if count and all(score == -math.inf for score in scores):
        raise MalformedReply("no results")
    return scores


# --- what a server says at start ----------------------------------------------------------------------


def announce_reranker(*, quiet: bool = False) -> None:
    """Log the configured reranker (with `quiet`, only a misconfiguration), and start loading a cross-encoder in the
    background (see startup)."""
    name = reranker_name()
    said = None
    if name is None:
        said = "none (SEARCH_RERANKER is empty; rerank=true says so)"
    elif name == "llm":
        said = f"the configured LLM, listwise, best {settings.SEARCH_RERANK_CANDIDATES} results"
    elif name == "api":
        said = f"rerank API at {mask_urls(settings.SEARCH_RERANK_URL)} (model {settings.SEARCH_RERANK_MODEL})"
    elif name == "late-interaction":
        said = (
            f"late interaction with all-MiniLM-L6-v2's token vectors, best {settings.SEARCH_RERANK_CANDIDATES} results"
        )
    else:
        path = settings.SEARCH_RERANK_MODEL_PATH
        if not path or not Path(path).is_dir():
            logger.error(
                "reranker: SEARCH_RERANKER=cross-encoder, but SEARCH_RERANK_MODEL_PATH=%r is not a folder; "
                "rerank=true answers with applied=false and this reason",
                path,
            )
        else:
            said = f"cross-encoder from {path} (loading in the background)"
            threading.Thread(target=cross_encoder().warm_up, name="reranker-warm-up", daemon=True).start()
    if said:
        logger.log(logging.DEBUG if quiet else logging.INFO, "reranker: %s", said)
