"""A webhook receiver for the benchmarks: answers every POST at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def answering_receiver(on_post: Callable[[Message], object]) -> tuple[str, ThreadingHTTPServer]:
    """A URL on 127.0.0.1 whose server reads each POST, calls `on_post` with its headers, then answers 200; the server,
    to shut down."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802  (http.server's naming)
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            on_post(self.headers)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/hook", server
