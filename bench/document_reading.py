"""What reading a document an add carries costs (memories/documents.py: Mem0's pdf_url and txt_url parts).

Times, best and median of --repeat runs each, documents built here (memories/tests/files.py), each read as the server
reads one it has not read before (in a process of its own, memories/document_reader.py, which costs a process start a
document; one sent again is kept: bench/resent_documents.py) and by the same reader in this process, which is what the
process start adds to:

  - a one-page PDF, and one of --pages pages of text (about 160 characters a page);
  - --busy-pages "busy" pages of 16 KB, each holding --operations text operations that show nothing: in this process
    (no bound: what a thread of the server would spend) and as the server reads it (stopped after READ_SECONDS
    of CPU);
  - a web page holding a highlighted program of --lines lines (each a few <span>s), a Word document of --pages
    paragraphs of about 160 characters, and an Excel workbook of --rows rows (a text, an amount, a date, a share);
  - a photo of --photo-side x 3/4 of it pixels (a JPEG of noise over a gradient, as large as a phone's), made the JPEG
    of at most 2,048 pixels a side a vision model is handed (memories/vision.py: its outcome, that JPEG's base64); one
    of each side, given more than one.

  - with --beside N: a fixed piece of Python work in this process (a stand-in for the server's requests), timed
    alone, then while N readers read the busy pages at niceness 0, then at READER_NICENESS (as the server starts
    them): what the readers take from the server's requests.

    .venv/bin/python bench/document_reading.py
    .venv/bin/python bench/document_reading.py --beside 2
    .venv/bin/python bench/document_reading.py --pages 1000 --operations 200000 --busy-pages 3 --lines 60000 \\
        --rows 10000 --repeat 5
"""

from __future__ import annotations

import argparse
import base64
import datetime
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")


def timed(action, repeat: int) -> tuple[float, float, str]:
    from mem0server.exceptions import InvalidInput

    times, outcome = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            outcome = f"{len(action())} characters"
        except InvalidInput as exc:  # the server's refusal, shown as the outcome
            outcome = f"refused: {str(exc)[:90]}"
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), outcome


def work() -> float:
    """Seconds a fixed piece of pure-Python work takes here."""
    start = time.perf_counter()
    total = 0
    for number in range(3_000_000):
        total += number * number % 7
    return time.perf_counter() - start


def beside(readers: int, pdf: bytes, niceness: int, repeat: int) -> float:
    """The median time of `work` while `readers` processes read `pdf` as the server starts them, at `niceness`."""
    import subprocess

    from memories import documents, reading

    limits = (reading.READ_SECONDS, 10**8, documents.PDF_MAX_PAGES, niceness, -1, reading.MEMORY_BYTES)
    command = reading.reader_command("pdf", *limits)
    running = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL) for _ in range(readers)]  # noqa: S603
    for process in running:
        process.stdin.write(pdf)
        process.stdin.close()
    time.sleep(0.5)  # the readers started and reading
    times = [work() for _ in range(repeat)]
    for process in running:
        process.kill()
        process.wait()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--operations", type=int, default=200_000)
    parser.add_argument("--busy-pages", type=int, default=3)
    parser.add_argument("--lines", type=int, default=60_000, help="the highlighted program's lines (53 bytes each)")
    parser.add_argument("--rows", type=int, default=10_000, help="the workbook's rows")
    parser.add_argument(
        "--photo-side", type=int, nargs="+", default=[4032], help="the photo's width (its height: 3/4 of it)"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--beside", type=int, default=0, help="readers running beside a piece of work (0: none)")
    args = parser.parse_args()

    import django

    django.setup()
    import docx
    import xlsxwriter
    from PIL import Image

    from memories import document_reader, documents, reading, vision
    from memories.tests.files import pdf_busy, pdf_of

    def in_process(kind: str, content: bytes):
        if kind == "image":
            # One within PICTURE_SIDE is handed as it was sent ({"small": true}), as as_served below hands it
            sent = base64.b64encode(content).decode()
            return lambda: document_reader.read(kind, content, 0, 0).get("picture") or sent
        return lambda: "\n\n".join(document_reader.read(kind, content, 10**8, documents.PDF_MAX_PAGES)["pages"])

    def as_served(kind: str, content: bytes):
        if kind == "image":
            return lambda: vision.image_handed(f"data:image/jpeg;base64,{base64.b64encode(content).decode()}")[23:]
        way = documents.reading_way(content, "")  # as a document in base64 alone, not read before (not kept)
        return lambda: documents.content_read(content, way, "The document", 10**8)[0]

    line = "Line {} of the minutes: the meeting in Lisbon moved to Thursday, the budget to the next quarter. " * 2
    program = '<span class="k">def</span> <span class="n">f{}</span>(): <span class="k">pass</span>\n'
    page = (
        f"<!DOCTYPE html><html><body><pre>{''.join(program.format(n) for n in range(args.lines))}</pre></body></html>"
    )
    word = docx.Document()
    for n in range(args.pages):
        word.add_paragraph(line.format(n, n))
    written = io.BytesIO()
    word.save(written)
    sheet = io.BytesIO()
    workbook = xlsxwriter.Workbook(sheet)
    day, share = workbook.add_format({"num_format": "dd/mm/yyyy"}), workbook.add_format({"num_format": "0.0%"})
    rows = workbook.add_worksheet("Payments")
    for n in range(args.rows):
        rows.write_string(n, 0, f"Payment {n} for the flat in Lisbon")
        rows.write_number(n, 1, 950 + n % 100)
        rows.write_datetime(n, 2, datetime.date(2026, 1, 1) + datetime.timedelta(days=n % 365), day)
        rows.write_number(n, 3, (n % 100) / 100, share)
    workbook.close()
    photos = []
    for width in args.photo_side:
        side = (width, width * 3 // 4)
        gradient, noise = Image.linear_gradient("L").resize(side), Image.effect_noise(side, 40)
        shot = io.BytesIO()
        Image.merge("RGB", (gradient, noise, gradient)).save(shot, "JPEG", quality=90)
        photos.append((f"a photo of {side[0]} x {side[1]} pixels", "image", shot.getvalue()))
    cases = [
        ("one page", "pdf", pdf_of("The rent is 950 euros a month")),
        (f"{args.pages} pages", "pdf", pdf_of(*[line.format(n, n) for n in range(args.pages)])),
        (
            f"{args.busy_pages} busy pages of {args.operations} operations",
            "pdf",
            pdf_busy(args.operations, args.busy_pages),
        ),
        (f"a web page of a program of {args.lines} lines", "html", page.encode()),
        (f"a Word document of {args.pages} paragraphs", "office", written.getvalue()),
        (f"an Excel workbook of {args.rows} rows", "office", sheet.getvalue()),
        *photos,
    ]
    print(f"READ_SECONDS={reading.READ_SECONDS}, {os.cpu_count()} cores, best / median of {args.repeat}")
    for name, kind, content in cases:
        repeat = 1 if "busy" in name else args.repeat
        inside = timed(in_process(kind, content), repeat)
        served = timed(as_served(kind, content), repeat)
        print(f"{name} ({len(content):,} bytes):")
        print(f"  in this process   {inside[0]:8.3f} s / {inside[1]:8.3f} s   {inside[2]}")
        print(f"  as served         {served[0]:8.3f} s / {served[1]:8.3f} s   {served[2]}")
        print(f"  ratio (served / in process, best)  {served[0] / inside[0]:.2f}")
    if args.beside:
        busy = cases[2][2]  # the busy PDF
        alone = statistics.median(work() for _ in range(args.repeat))
        print(f"a piece of work here, median of {args.repeat}: alone {alone:.3f} s")
        for niceness in (0, reading.READER_NICENESS):
            took = beside(args.beside, busy, niceness, args.repeat)
            print(f"  beside {args.beside} readers at niceness {niceness:2}: {took:.3f} s (x{took / alone:.2f} alone)")


if __name__ == "__main__":
    main()
