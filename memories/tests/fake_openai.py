"""A small server speaking the OpenAI wire format, for tests and bench/llm_bench.py.

It serves /v1/chat/completions and /v1/embeddings on 127.0.0.1 from a thread (stdlib only), answers
each request from what it contains (a tiny rule-based "model"), or from replies queued by a test
(errors, delays, malformed text), and records every call. The real `openai` client talks to it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer: assistant text, or an HTTP error; optionally after a delay."""

    content: str | None = None
    # Sent as the whole HTTP body instead of an OpenAI response (a proxy page, another API).
    raw: str | None = None
    status: int = 200
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def text(content: str, *, delay: float = 0.0) -> Reply:
    return Reply(content=content, delay=delay)


def as_json(payload: Any) -> Reply:
    return Reply(content=json.dumps(payload))


def error(status: int, message: str = "scripted failure", headers: dict[str, str] | None = None) -> Reply:
    return Reply(status=status, error=message, headers=headers or {})


@dataclass
class Call:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    kind: str  # extract, decide, categorize, procedural, rerank, describe (chat calls) or embed


def default_facts(messages: list[tuple[str, str]]) -> list[str]:
    """Each user message is one fact."""
    return [content for role, content in messages if role == "user"]


def _key(text: str) -> str:
    return " ".join(text.lower().split()[:2])


def default_decide(stored: list[dict[str, str]], facts: list[str]) -> list[dict[str, Any]]:
    """Same text → NONE; "No longer X" → DELETE X; same first two words → UPDATE; otherwise ADD."""
    operations: list[dict[str, Any]] = []
    for fact in facts:
        same = next((m for m in stored if m["text"].lower() == fact.lower()), None)
        if same:
            operations.append({"event": "NONE", "id": same["id"]})
            continue
        if fact.lower().startswith("no longer "):
            gone = fact[len("no longer ") :].lower()
            target = next((m for m in stored if m["text"].lower() == gone), None)
            if target:
                operations.append({"event": "DELETE", "id": target["id"]})
                continue
        related = next((m for m in stored if _key(m["text"]) == _key(fact)), None)
        if related:
            operations.append({"event": "UPDATE", "id": related["id"], "text": fact})
        else:
            operations.append({"event": "ADD", "text": fact})
    return operations


def fake_vector(text: str, dims: int) -> list[float]:
    """A deterministic bag-of-words vector: texts sharing words are close, equal texts identical."""
    vector = [0.0] * dims
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.md5(word.encode(), usedforsecurity=False).digest()
        vector[int.from_bytes(digest[:4], "big") % dims] += 1.0 if digest[4] % 2 else -1.0
    norm = math.sqrt(sum(x * x for x in vector))
    if not norm:
        vector[0], norm = 1.0, 1.0
    return [x / norm for x in vector]


class FakeOpenAI:
    def __init__(self, *, dims: int = 64, api_key: str | None = None) -> None:
        self.dims = dims
        self.api_key = api_key  # when set, other keys get a 401
        self.calls: list[Call] = []
        self.chat_queue: deque[Reply] = deque()
        self.embed_queue: deque[Reply] = deque()
        self.facts: Callable[[list[tuple[str, str]]], list[str]] = default_facts
        self.decide: Callable[[list[dict[str, str]], list[str]], list[dict[str, Any]]] = default_decide
        self.summary: Callable[[str], str] = lambda conversation: "Procedure: " + conversation.splitlines()[-1]
        # An image's URL -> its description (a "model" that reads images); by default its file name.
        self.describe: Callable[[str], str] = default_description
        # (catalog [{"name", "description"?}], memory texts) -> each memory's category names; none by default.
        self.categorize: Callable[[list[dict[str, str]], list[str]], list[list[str]]] = lambda catalog, texts: [
            [] for _ in texts
        ]
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._seq = 0

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def release(self) -> None:
        """Answer the replies waiting out their delay now."""
        self._release.set()

    def stop(self) -> None:
        self._release.set()  # wake delayed replies
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    # --- what happened -------------------------------------------------------------------------

    def chat_calls(self, kind: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.kind != "embed" and (kind is None or c.kind == kind)]

    def described(self) -> list[str]:
        """The URL of each image the server asked this model to describe (memories/vision.py), in order."""
        return [call.body["messages"][0]["content"][1]["image_url"]["url"] for call in self.chat_calls("describe")]

    def embed_calls(self) -> list[Call]:
        return [c for c in self.calls if c.kind == "embed"]

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    # --- answering -----------------------------------------------------------------------------

    def answer(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any], Reply]:
        if path.endswith("/embeddings"):
            kind, queue = "embed", self.embed_queue
        elif path.endswith("/chat/completions"):
            kind, queue = _chat_kind(body), self.chat_queue
        else:
            return 404, {"error": {"message": f"no route {path}"}}, Reply()
        with self._lock:
            self.calls.append(Call(path, body, headers, kind))
            self._seq += 1
            scripted = queue.popleft() if queue else None
        presented = headers.get("authorization", "").removeprefix("Bearer ")
        if self.api_key and presented != self.api_key:
            scripted = error(401, f"Incorrect API key provided: {presented}.")  # as some servers do
        if scripted is not None and scripted.status != 200:
            return scripted.status, {"error": {"message": scripted.error, "type": "scripted"}}, scripted
        reply = scripted or Reply()
        if reply.raw is not None:
            return 200, {}, reply
        if kind == "embed":
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            dims = body.get("dimensions") or self.dims
            data = [
                {"object": "embedding", "index": i, "embedding": fake_vector(t, dims)} for i, t in enumerate(inputs)
            ]
            return 200, {"object": "list", "data": data, "model": body["model"], "usage": _usage()}, reply
        content = reply.content if reply.content is not None else self._think(kind, body)
        message = {"role": "assistant", "content": content}
        return 200, _completion(self._seq, body["model"], message), reply

    def _think(self, kind: str, body: dict[str, Any]) -> str:
        user = body["messages"][-1]["content"]
        if kind == "describe":
            [image] = [part for part in user if part.get("type") == "image_url"]
            return self.describe(image["image_url"]["url"])
        if kind == "decide":
            payload = json.loads(user)
            return json.dumps({"operations": self.decide(payload["stored_memories"], payload["new_facts"])})
        if kind == "procedural":
            return self.summary(user)
        if kind == "categorize":
            payload = json.loads(user)
            return json.dumps({"categories": self.categorize(payload["categories"], payload["memories"])})
        if kind == "rerank":  # memories/rerank.py's listwise prompt: keep the order it was given
            count = len(json.loads(user.split("\n\nMemories:\n", 1)[1]))
            return json.dumps({"ranking": list(range(count))})
        new = user.split("New messages:\n", 1)[-1]
        messages = [tuple(line.split(": ", 1)) for line in new.splitlines() if ": " in line]
        return json.dumps({"facts": self.facts(messages)}, ensure_ascii=False)


def default_description(url: str) -> str:
    if url.startswith("data:"):
        return "A picture sent inline"
    return "A picture of " + url.rsplit("/", 1)[-1].split(".")[0].replace("-", " ")


def _chat_kind(body: dict[str, Any]) -> str:
    user = body["messages"][-1]["content"]
    if isinstance(user, list):  # content parts: an image to describe (memories/vision.py)
        return "describe"
    if user.startswith("Conversation:"):
        return "procedural"
    if user.startswith("{") and '"new_facts"' in user:
        return "decide"
    if user.startswith('{"categories": ') and '"memories": ' in user:
        return "categorize"
    if user.startswith("Query: ") and "\n\nMemories:\n" in user:
        return "rerank"
    return "extract"


def _usage() -> dict[str, int]:
    return {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}


def _completion(seq: int, model: str, message: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{seq}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
        "usage": _usage(),
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    # Headers and body go out in two writes; without this, Nagle + delayed ACK add ~40 ms a reply.
    disable_nagle_algorithm = True
    fake: FakeOpenAI

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {key.lower(): value for key, value in self.headers.items()}
        status, payload, reply = self.fake.answer(self.path, json.loads(raw or b"{}"), headers)
        if reply.delay:
            self.fake._release.wait(reply.delay)
        data = (reply.raw if reply.raw is not None else json.dumps(payload)).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/html" if reply.raw is not None else "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def llm_configured(*, vision: bool = False) -> Iterator[FakeOpenAI]:
    """The scripted fake running, and the server's LLM set to it as POST /configure would: inference on (and, with
    `vision`, describing images)."""
    from memories import configuration

    with FakeOpenAI() as fake:
        config = {"model": "fake", "api_key": "sk-test", "openai_base_url": fake.url, "enable_vision": vision}
        configuration.server_config_set(changes={"llm": {"provider": "openai", "config": config}})
        yield fake
