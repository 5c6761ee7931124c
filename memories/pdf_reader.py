"""A PDF's text, read by pypdf in a process of its own, started by memories/documents.py for each PDF an add carries.

A PDF is what an API user sends, and reading one may cost far more than its size: a page of 16 KB, compressed, can
hold 200,000 text operations (6 s to read here). In a process of its own, the kernel stops the reading after a
bound of CPU seconds and memory, where a thread of the server could not be stopped, and it runs at a lower priority
(NICENESS): on a busy machine the server's requests go first. No Django here: it starts fast. It is started with an
empty environment: the server's secrets stay out of a process that reads what anyone sent.

    python -I memories/pdf_reader.py CPU_SECONDS MOST_CHARACTERS MOST_PAGES NICENESS < file.pdf

Writes one JSON object: {"pages": [text, …]}, or {"error": "locked" | "pages" | "too_long" | "unreadable", "pages":
n, "why": "…"}.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import sys

MEMORY_BYTES = 1024 * 1024 * 1024


def main() -> None:
    seconds, most_characters, most_pages, niceness = (int(arg) for arg in sys.argv[1:5])
    os.nice(niceness)  # the server's requests first: a core busy reading a PDF yields to them
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))  # past it: SIGXCPU, the process ends
    with contextlib.suppress(ValueError, OSError):  # macOS refuses to bound the address space; the CPU bound holds
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    print(json.dumps(_read(sys.stdin.buffer.read(), most_characters, most_pages)))


def _read(content: bytes, most_characters: int, most_pages: int) -> dict:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            return {"error": "locked"}
        if len(reader.pages) > most_pages:
            return {"error": "pages", "pages": len(reader.pages)}
        pages = []
        for page in reader.pages:
            pages.append(page.extract_text().strip())
            most_characters -= len(pages[-1])
            if most_characters < 0:
                return {"error": "too_long"}
    except Exception as exc:  # pypdf raises errors of many kinds on a damaged file (MemoryError past the bound too)
        return {"error": "unreadable", "why": f"{type(exc).__name__}: {str(exc)[:200]}"}
    return {"pages": pages}


if __name__ == "__main__":
    main()
