"""Chunked request bodies (`Transfer-Encoding: chunked`, no Content-Length), read for Django.

Django reads a body only as far as CONTENT_LENGTH says, and a chunked request has none: its body was
silently empty ("query: This field is required."). This WSGI wrapper reads such a body, at most one byte
past its limit (MAX_REQUEST_BYTES, or mem0server.uploads' for the Import page), and hands Django the bytes
with their length, so the usual limit (a 413) applies.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any


def read_chunked_bodies(app: Callable) -> Callable:
    def wrapped(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH"):
            from mem0server import uploads

            limit = uploads.body_limit(environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("HTTP_COOKIE", ""))
            body = environ["wsgi.input"].read(limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return app(environ, start_response)

    return wrapped
