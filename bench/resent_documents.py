"""What a document costs when its client sends it again with each turn, as frameworks do with the files of an LLM's
context (Mem0's Vercel AI SDK provider, Pipecat): the first add reads it, the next ones find its text kept
(memories/documents.py, DocumentText) and read nothing.

Starts its own server (gunicorn, one worker, its own embedded PostgreSQL in a temporary folder:
mem0server/tests/server_process.py) with the scripted OpenAI-wire server as its LLM, vision on, and adds each document
--turns times in a conversation (POST /memories, infer=true, answered when stored), each turn sending the conversation
so far, the document first, and a new question, as Pipecat's Mem0 memory service sends its context:

  - a scanned PDF of --scans pages (each a picture of typed lines, as a scanner makes it; the scripted model "reads" a
    page at once, so what is timed is the server's own work: each page's scan made a JPEG, base64, hashed);
  - a PDF of --pages pages of text;
  - a Word document of --pages paragraphs.

Prints the first add's time (it reads the document), the median of the others', and their ratio.

    .venv/bin/python bench/resent_documents.py
    .venv/bin/python bench/resent_documents.py --scans 20 --pages 1000 --turns 10
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def scanned(pages: int) -> bytes:
    """A PDF of `pages` scans of typed lines (grey, 1,700 x 2,200 pixels: A4 at 200 dpi)."""
    from PIL import Image, ImageDraw

    scans = []
    for page in range(pages):
        scan = Image.new("L", (1700, 2200), 255)
        draw = ImageDraw.Draw(scan)
        for y in range(100, 2100, 40):
            draw.text((100, y), f"Page {page}, line {y}: the lease of the flat on Rua Augusta, rent 950 euros " * 2)
        scans.append(scan)
    written = io.BytesIO()
    scans[0].save(written, "PDF", save_all=True, append_images=scans[1:], resolution=200)
    return written.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scans", type=int, default=10, help="the scanned PDF's pages")
    parser.add_argument("--pages", type=int, default=300, help="the text PDF's pages, the Word document's paragraphs")
    parser.add_argument("--turns", type=int, default=6, help="how many times each document is added (2 or more)")
    args = parser.parse_args()
    if args.turns < 2 or args.scans < 1 or args.pages < 1:
        parser.error("--turns must be at least 2, --scans and --pages at least 1")

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")
    django.setup()
    import docx

    from mem0server.tests.server_process import ServerProcess
    from memories.tests.fake_openai import FakeOpenAI
    from memories.tests.files import pdf_of

    line = "Line {0} of the minutes: the meeting in Lisbon moved to Thursday, the budget to the next quarter. " * 2
    word = docx.Document()
    for n in range(args.pages):
        word.add_paragraph(line.format(n))
    written = io.BytesIO()
    word.save(written)
    documents = [
        (f"a scanned PDF of {args.scans} pages", "pdf_url", scanned(args.scans)),
        (f"a PDF of {args.pages} pages of text", "pdf_url", pdf_of(*[line.format(n) for n in range(args.pages)])),
        (f"a Word document of {args.pages} paragraphs", "txt_url", written.getvalue()),
    ]

    with FakeOpenAI(dims=384) as model:
        model.describe = lambda url: "The lease of the flat on Rua Augusta, rent 950 euros a month."
        env = {
            "OPENAI_BASE_URL": model.url,
            "OPENAI_API_KEY": "sk-bench",
            "LLM_MODEL": "fake-model",
            "LLM_VISION": "true",
            "MAX_IMAGES_PER_ADD": str(max(args.scans, 10)),
            "MAX_REQUEST_BYTES": str(64 * 1024 * 1024),  # a scanned page is about 200 KB
        }
        server = ServerProcess(Path(tempfile.mkdtemp(prefix="mem0-bench-")), env=env)
        print("starting a server (the scripted LLM, vision on) …", flush=True)
        server.start()
        try:
            server.add("warm-up", "Warm-up: likes tea")
            print(f"each document added {args.turns} times, infer=true, {os.cpu_count()} cores")
            for number, (name, kind, content) in enumerate(documents):
                part = {"type": kind, kind: {"url": base64.b64encode(content).decode()}}
                conversation = [{"role": "user", "content": [part]}]
                times = []
                for turn in range(args.turns):  # the conversation so far, the document first, one question more
                    conversation.append({"role": "user", "content": f"Question {turn}: what does page {turn} say?"})
                    body = {"messages": conversation, "user_id": f"reader-{number}", "infer": True}
                    response = server.call("POST", "/memories", body)
                    if response.status != 200:
                        raise SystemExit(f"{name}: {response!r}")
                    times.append(response.elapsed)
                first, again = times[0], statistics.median(times[1:])
                print(f"{name} ({len(content):,} bytes):")
                print(f"  first add (read)       {first:8.3f} s")
                print(f"  sent again (median)    {again:8.3f} s   first / again {first / again:.1f}")
            print(f"the model read {len(model.described())} scanned pages in all")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
