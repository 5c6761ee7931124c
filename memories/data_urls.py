"""Content given in the URL itself, as Mem0's clients send images and documents: a data: URL (RFC 2397), or the
content in base64 alone."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes


@dataclass(frozen=True)
class DataURL:
    media_type: str  # as it names it, lower case ("image/png"); "" when it names none
    base64: bool
    payload: str

    def content(self) -> bytes:
        """The bytes it holds; ValueError when it says base64 and is not."""
        return base64_content(self.payload) if self.base64 else unquote_to_bytes(self.payload)


def is_data_url(url: str) -> bool:
    return url[:5].lower() == "data:"


def data_url(url: str) -> DataURL | None:
    """A data: URL's parts; None for any other URL, and for one without the comma before its content."""
    header, comma, payload = url[5:].partition(",") if is_data_url(url) else ("", "", "")
    if not comma:
        return None
    return DataURL(header.split(";", 1)[0].strip().lower(), header.lower().endswith(";base64"), payload)


def base64_content(text: str) -> bytes:
    """Base64 as sent, perhaps over lines, decoded; ValueError when it is not base64 (binascii.Error is one)."""
    return base64.b64decode("".join(text.split()), validate=True)
