"""A small Cohere/Jina-style rerank API on 127.0.0.1, for tests and bench/rerank_latency.py (stdlib only).

POST any path with {model, query, documents, top_n} → {"results": [{"index", "relevance_score"}]}. By default
it scores each document by how many of the query's words it holds (a tiny "model"); a test can queue scripted
answers instead (a status, a raw body, a hold until released). Every request is recorded.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Scripted:
    status: int = 200
    body: Any = None  # a JSON value, or a str sent as it is
    headers: dict[str, str] = field(default_factory=dict)
    # The answer waits until this event is set (or 30 s): a reranker timing out, without a sleep in the test.
    hold: threading.Event | None = None


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: Any


def word_overlap_scores(query: str, documents: list[str]) -> list[float]:
    words = set(re.findall(r"\w+", query.lower()))
    return [len(words & set(re.findall(r"\w+", doc.lower()))) / (1 + len(words)) for doc in documents]


class FakeRerankAPI:
    def __init__(self) -> None:
        self.queue: deque[Scripted] = deque()
        self.requests: list[Request] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> FakeRerankAPI:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, name="fake-rerank", daemon=True).start()
        return self

    def stop(self) -> None:
        for scripted in self.queue:
            if scripted.hold is not None:
                scripted.hold.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/rerank"

    def answer(self, body: Any) -> Scripted:
        if self.queue:
            return self.queue.popleft()
        documents = body.get("documents") or []
        scores = word_overlap_scores(str(body.get("query", "")), [str(doc) for doc in documents])
        ranked = sorted(range(len(scores)), key=lambda index: -scores[index])[: body.get("top_n") or len(scores)]
        return Scripted(body={"results": [{"index": i, "relevance_score": scores[i]} for i in ranked]})


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_POST(self) -> None:
        fake: FakeRerankAPI = self.server.fake  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        fake.requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        scripted = fake.answer(body if isinstance(body, dict) else {})
        if scripted.hold is not None:
            scripted.hold.wait(30)
        payload = scripted.body if isinstance(scripted.body, str) else json.dumps(scripted.body)
        data = payload.encode()
        try:
            self.send_response(scripted.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in scripted.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (a timeout test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


TINY = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32}


def tiny_cross_encoder(folder: Path, *, seed: int = 0, tokens: list[str] | None = None, **shape: int) -> Path:
    """A randomly initialised BERT cross-encoder written to `folder` with transformers (offline): what
    SEARCH_RERANK_MODEL_PATH loads, for tests and benches; its scores mean nothing but are deterministic.
    One small layer over characters unless `tokens` (a word vocabulary) and `shape` (BertConfig sizes) say else."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    tokens = tokens if tokens is not None else list("abcdefghijklmnopqrstuvwxyz0123456789:-.,?!'()")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *tokens]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab), max_position_embeddings=512, num_labels=1, **(shape or TINY))
    BertForSequenceClassification(config).save_pretrained(folder)
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    return folder
