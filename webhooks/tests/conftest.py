"""Fixtures for the webhook tests: a local receiver (the outside world's edge, on 127.0.0.1), the delivery jobs
run in-process, and the Platform tests' live server and SDK clients."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from platform_api.tests.conftest import llm_on, sdk, sdk_key, server  # noqa: F401  (fixtures, reused as they are)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; answers with the queued statuses first, then 200; while held, answers nothing (a
    receiver that hangs) until released."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    answering: threading.Event = field(default_factory=threading.Event)

    def answer_next(self, *statuses: int) -> None:
        with self.lock:
            self.statuses.extend(statuses)

    def hold(self) -> None:
        self.answering.clear()

    def release(self) -> None:
        self.answering.set()

    def by_type(self, event_type: str) -> list[Received]:
        return [r for r in self.requests if r.headers.get("X-Mem0-Event-Type") == event_type]


@pytest.fixture
def receiver():
    state = Receiver()
    state.release()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802  (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.requests.append(Received(self.path, dict(self.headers.items()), body))
                status = state.statuses.pop(0) if state.statuses else 200
            state.answering.wait()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    yield state
    state.release()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def private_targets(settings):
    """The receiver lives on 127.0.0.1, so private targets are allowed; retries are not delayed."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.WEBHOOK_MAX_ATTEMPTS = 3
