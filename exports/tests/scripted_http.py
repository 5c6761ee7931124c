"""A scripted HTTP server for the tests of commands that read another service (Mem0 Platform, Qdrant)."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading


@contextlib.contextmanager
def scripted_api(answers: list[tuple[int, dict[str, str], object]]):
    """An HTTP server on 127.0.0.1 answering each request with the next of `answers` (status, headers, JSON body);
    yields (its URL, the requests it got: method, path, headers by lower-case name, JSON body or None)."""
    asked = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            sent = json.loads(self.rfile.read(length)) if length else None
            received = {name.lower(): value for name, value in self.headers.items()}
            asked.append((self.command, self.path, received, sent))
            status, headers, body = answers.pop(0)
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in {**headers, "Content-Type": "application/json"}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = answer  # noqa: N815 (http.server's names)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", asked
    finally:
        httpd.shutdown()
        httpd.server_close()
