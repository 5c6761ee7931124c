"""Documents in an add's messages (Mem0's txt_url, mdx_url and pdf_url parts): read by the server, their text stored
in passages, with the real database and local embedder; with inference, the scripted OpenAI-wire server."""

from __future__ import annotations

import base64
import functools
import importlib.util
import io
import logging
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import docx
import odf.dc
import odf.draw
import odf.office
import odf.opendocument
import odf.table
import odf.text
import olefile
import pptx
import pytest
import xlsxwriter
from django.utils import timezone
from docx.shared import Inches
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from PIL import Image
from pypdf import PdfWriter

from memories import documents, reading
from memories.document_reader import _page
from memories.document_reader import read as read_document
from memories.documents import DOCUMENT_PASSAGE_CHARS, DOCUMENT_TEXTS_KEPT_DAYS
from memories.models import DocumentText, ImageDescription, Memory
from memories.tasks import prune_document_texts
from memories.tests.adds import THINGS, add, stored
from memories.tests.conftest import configure, llm_section
from memories.tests.files import (
    CONTACTS,
    CONTACTS_TEXT,
    EPUB_BOOK_TEXT,
    IN_MEMORY,
    INVITATION,
    INVITATION_TEXT,
    OPENDOCUMENT_BUDGET_PAGES,
    OPENDOCUMENT_LEASE_TEXT,
    PRESENTATION_TRIP_TEXT,
    TEXTEDIT_NOTE,
    TEXTEDIT_NOTE_TEXT,
    WORD_LEASE_TEXT,
    WORD_REVIEWED_TEXT,
    WORKBOOK_BUDGET_PAGES,
    FileHost,
    compound_of,
    compressed_rtf,
    epub_book,
    grey_png,
    jpeg_2000_claiming,
    locked,
    older_document,
    older_presentation,
    older_workbook,
    opendocument_budget,
    opendocument_lease,
    opendocument_trip,
    outlook_message,
    pdf_busy,
    pdf_claiming,
    pdf_drawing,
    pdf_image,
    pdf_of,
    pdf_of_inline_images,
    pdf_showing,
    pdf_showing_a_form,
    pdf_showing_copies,
    pdf_with,
    presentation_trip,
    scan,
    scan_shade,
    word_lease,
    word_reviewed,
    workbook_budget,
    workbook_of,
    written,
    zip_of,
)

# A boat's logbook: the fact asked for sits in its fourth paragraph, far past what an embedding reads of one text.
LOGBOOK = "\n\n".join(
    paragraph.strip()
    for paragraph in [
        "Logbook of the Albatross, summer season. " + "Winds were light and the crew kept to the harbour. " * 8,
        "Second week: new sails were fitted and the hull was cleaned at the yard in Porto. " * 5,
        "Third week: a storm kept us ashore; the crew played cards and repaired the galley stove. " * 5,
        "The boat's registration number is KX-4471, painted on the stern in white letters.",
        "Last week: we sailed to Vigo and back in four days, the engine never used. " * 4,
    ]
)


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def document(kind: str, url: str) -> dict:
    return {"type": kind, kind: {"url": url}}


def file_part(data: bytes | str, name: str, kind: str = "") -> dict:
    """A file in an LLM's context as OpenAI's API takes it: its content as a data URL (of `kind`), and its name."""
    return {"type": "file", "file": {"file_data": f"data:{kind};base64,{b64(data)}", "filename": name}}


def node_bytes(data: bytes, form: str) -> dict:
    """Bytes as JavaScript's JSON.stringify writes a Node Buffer or a Uint8Array: Mem0's Vercel AI SDK provider sends
    an AI SDK file part's data so, when it is a file's content read into memory."""
    if form == "Buffer":
        return {"type": "Buffer", "data": list(data)}
    return {str(index): byte for index, byte in enumerate(data)}


def search(client, query: str) -> list[str]:
    answer = client.post("/search", {"query": query, "user_id": "alice"}, format="json")
    return [r["memory"] for r in answer.json()["results"]]


def test_a_text_document_in_base64_is_stored_in_passages_and_found_by_what_its_middle_says(api_client, embedder):
    # Mem0's docs send a local file's content in base64 as the part's url.
    message = {"role": "user", "content": [{"type": "text", "text": "My logbook"}, document("txt_url", b64(LOGBOOK))]}
    memories = stored(add(api_client, message))
    assert memories[0] == "My logbook"
    assert "\n\n".join(memories[1:]) == LOGBOOK  # every word kept, cut only between paragraphs
    assert len(memories) >= 3 and all(len(m) <= DOCUMENT_PASSAGE_CHARS for m in memories)
    assert "KX-4471" in search(api_client, "What is the boat's registration number?")[0]


def test_a_markdown_document_as_a_data_url_and_a_pdf_are_read(api_client, embedder):
    notes = "# Allergies\n\nAllergic to peanuts and shellfish."
    pdf = pdf_of("Lease for the flat on Rua Augusta", "", "The rent is 950 euros a month")
    messages = [
        {"role": "user", "content": document("mdx_url", f"data:text/markdown;base64,{b64(notes)}")},
        {"role": "user", "content": {"type": "pdf_url", "pdf_url": b64(pdf)}},  # the url alone, as some send it
        {"role": "user", "content": document("txt_url", b64(pdf_of("Deposit: two months")))},  # a PDF, called text
    ]
    assert stored(add(api_client, *messages)) == [
        notes,
        "Lease for the flat on Rua Augusta\n\nThe rent is 950 euros a month",  # its empty page left out
        "Deposit: two months",
    ]
    assert search(api_client, "How much is the rent?")[0].endswith("950 euros a month")


def test_a_documents_bytes_as_javascript_writes_a_buffer_or_a_uint8array_are_read(api_client, embedder):
    lease = pdf_of("The rent is 950 euros a month")
    messages = [
        {"role": "user", "content": {"type": "pdf_url", "pdf_url": {"url": node_bytes(lease, "Buffer")}}},
        {"role": "user", "content": {"type": "mdx_url", "mdx_url": node_bytes(b"# Allergies\n\nNuts", "Uint8Array")}},
        {"role": "user", "content": [{"type": "text", "text": "Nothing"}, document("txt_url", {})]},  # empty: no file
    ]
    assert stored(add(api_client, *messages)) == ["The rent is 950 euros a month", "# Allergies\n\nNuts", "Nothing"]
    for url in ({"type": "Buffer", "data": [37, 300]}, {"0": 37, "2": 80}, {"0": "%"}, {"type": "Buffer", "data": "%"}):
        refused = add(api_client, {"role": "user", "content": document("pdf_url", url)})
        assert refused.status_code == 400, (url, refused.json())
        says = "a document (pdf_url.url) must be a string, or bytes as JavaScript writes a Buffer or Uint8Array."
        assert refused.json()["detail"].endswith(f"Part 0: {says}")


def test_with_inference_facts_are_drawn_from_the_documents_text(api_client, llm):
    pdf = pdf_of("Alice works at the Lisbon aquarium")
    answer = add(api_client, {"role": "user", "content": document("pdf_url", b64(pdf))}, infer=True)
    assert stored(answer) == ["Alice works at the Lisbon aquarium"]  # the fake's facts: each user message's text
    [extraction] = llm.chat_calls("extract")
    assert "user: Alice works at the Lisbon aquarium" in extraction.body["messages"][-1]["content"]


def test_with_inference_a_long_document_is_read_whole_in_runs_past_the_50_facts_of_one_call(api_client, llm, settings):
    # 62 passages of about 560 characters, each holding one fact (the fake draws its first sentence): one call read
    # them all and gave at most 50 facts (MAX_FACTS), and a model with a small context window read part of them.
    lockers = [f"Locker {n} holds the {thing}" for n, thing in enumerate(THINGS)]
    text = "\n\n".join(f"{fact}. " + "The room is swept every evening by the staff. " * 11 for fact in lockers)
    llm.facts = lambda messages: [content.split(".")[0] for role, content in messages if role == "user"]
    answer = add(api_client, {"role": "user", "content": document("txt_url", b64(text))}, infer=True)
    assert sorted(stored(answer)) == sorted(lockers)
    runs = [call.body["messages"][-1]["content"] for call in llm.chat_calls("extract")]
    runs.sort(key=lambda run: int(run.split("New messages:\nuser: Locker ", 1)[1].split()[0]))  # asked side by side
    assert len(runs) == 3  # 35,000 characters in runs of at most LLM_EXTRACTION_CHUNK_CHARS (12,000)
    for run in runs:
        assert len(run.split("New messages:\n", 1)[1]) <= settings.LLM_EXTRACTION_CHUNK_CHARS + 21 * len("user: \n")
    # A later run's context is what came just before it: the last passages of the run before, within a quarter of a
    # run (5 of about 540 characters), so the document is read once and a quarter at most.
    assert "Earlier in this conversation" not in runs[0]
    first = re.findall(r"^user: (Locker \d+) ", runs[0].split("New messages:\n", 1)[1], re.MULTILINE)
    earlier = re.findall(r"^user: (Locker \d+) ", runs[1].split("New messages:\n", 1)[0], re.MULTILINE)
    assert len(first) > 5 and earlier == first[-5:]


# A web page: its title and text are what a reader sees; markup, scripts, styles and menus are not.
WEB_PAGE = b"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Kayak notes</title>
<style>p { color: red; }</style><script>var tracking = "hidden";</script></head>
<body><nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<h1>Buying a kayak</h1>
<p>Bought a <b>red kayak</b> in <i>May</i>, for 300&nbsp;euros &amp; a pump.</p>
<p>It weighs
   20 kg.<br>The paddle was extra.</p>
<footer>Copyright 2026</footer></body></html>"""
WEB_PAGE_TEXT = (
    "Kayak notes\n\nBuying a kayak\n\nBought a red kayak in May, for 300 euros & a pump.\n\n"
    "It weighs 20 kg.\nThe paddle was extra."
)


def test_a_web_page_is_read_as_its_text_without_markup_scripts_or_menus(api_client, embedder, document_host, settings):
    settings.FETCH_HOSTS = ["127.0.0.1"]
    page = document("txt_url", f"{document_host}/kayak.html")
    inline = document("mdx_url", b64(WEB_PAGE))  # sent as itself: known by how it starts
    assert stored(add(api_client, {"role": "user", "content": [page, inline]})) == [WEB_PAGE_TEXT, WEB_PAGE_TEXT]
    # A part of a page, known by its media type: a data URL's, or a framework's file part's.
    part = b"<h2>Repairs</h2><p>The hull was <em>patched</em> in June.</p>"
    typed = [
        document("txt_url", f"data:text/html;base64,{b64(part)}"),
        {"type": "file_base64", "file": {"file_data": b64(part), "mime_type": "text/html; charset=utf-8"}},
    ]
    assert (
        stored(add(api_client, {"role": "user", "content": typed})) == ["Repairs\n\nThe hull was patched in June."] * 2
    )


@pytest.mark.parametrize(
    ("part", "named"),
    [
        (
            document("txt_url", "data:text/html;base64," + b64(("<p>" + "word " * 200 + "</p>\n") * 150)),
            "The document sent as txt_url could not be read as a web page",
        ),
        (
            document(
                "txt_url",
                "data:text/csv;base64," + b64(("Name,City,Note\n" + "Ada,Porto," + "word " * 30 + "\n") * 1000),
            ),
            "The document sent as txt_url could not be read as a CSV file",
        ),
    ],
)
def test_a_document_past_the_readers_memory_is_a_400_saying_so_in_words(api_client, embedder, monkeypatch, part, named):
    # Past the reader's bound of memory a web page was refused as "could not be read as a web page (MemoryError: )",
    # a MemoryError having no words of its own, and a CSV's reader ended with a traceback: a 500.
    # Below what the reader holds once started (~17 MB): what reading 150 KB of a page's paragraphs adds is refused.
    monkeypatch.setattr(reading, "MEMORY_BYTES", 12 * 1024 * 1024)
    refused = add(api_client, {"role": "user", "content": [part]})
    assert refused.status_code == 400, refused.json()
    assert refused.json()["detail"].startswith(named)
    assert refused.json()["detail"].endswith(
        " (it needs more than the 12 MB of memory the reader may take: send it in parts, or smaller)."
    )
    small = document("txt_url", f"data:text/html;base64,{b64(b'<p>The hull was patched in June.</p>')}")
    assert stored(add(api_client, {"role": "user", "content": small})) == ["The hull was patched in June."]
    assert not Memory.objects.exclude(text="The hull was patched in June.").exists()


NEWS_PAGE = """<!DOCTYPE html><html><head><title>Red kayaks sell out | Paddle News</title></head><body>
<div class="masthead">Paddle News <a href="/subscribe">Subscribe</a></div>
<div id="consent">We use cookies to improve your experience. <button>Accept</button></div>
<main><article><h1>Red kayaks sell out</h1><p>Shops in <b>Porto</b> sold their last red kayaks on Saturday.</p>
<p>Blue ones are still in stock.</p></article></main>
<div class="most-read">Most read: 1. Canoe prices 2. River levels</div></body></html>"""
# A blog whose post lies in <div>s and whose one comment is an <article>: read whole.
BLOG_PAGE = """<!DOCTYPE html><html><head><title>My trip</title></head><body><div><h1>Down the Douro</h1>
<p>We paddled down the Douro for three days in May and slept in Pinhao.</p></div>
<article class="comment">Lovely!</article></body></html>"""


def test_a_web_page_marking_its_main_content_is_read_as_its_title_and_that_content(api_client, embedder):
    pages = [document("txt_url", b64(NEWS_PAGE)), document("txt_url", b64(BLOG_PAGE))]
    assert stored(add(api_client, {"role": "user", "content": pages})) == [
        "Red kayaks sell out | Paddle News\n\nRed kayaks sell out\n\nShops in Porto sold their last red kayaks on "
        "Saturday.\n\nBlue ones are still in stock.",
        "My trip\n\nDown the Douro\n\nWe paddled down the Douro for three days in May and slept in Pinhao.\n\nLovely!",
    ]


def page_in(charset: str, meta: str, text: str) -> bytes:
    page = f"<!DOCTYPE html><html><head>{meta}<title>Menu</title></head><body><p>{text}</p></body></html>"
    return page.encode(charset)


def test_a_web_page_in_another_character_set_is_read_in_the_one_its_meta_names(
    api_client, embedder, document_host, settings
):
    # Saved from a browser, or served without a charset: a page names its character set in a <meta>.
    settings.FETCH_HOSTS = ["127.0.0.1"]
    older = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
    older = page_in("cp1252", older, "“Crème” – 4 €")
    latin = page_in("cp1252", "<meta charset='ISO-8859-1'>", "“Café” – São Paulo")  # as browsers read it: windows-1252
    parts = [
        document("txt_url", f"{document_host}/menu-1252.html"),
        document("txt_url", b64(older)),
        document("txt_url", f"data:text/html;base64,{b64(latin)}"),
        document("txt_url", f"{document_host}/quotes.txt"),  # its host names ISO-8859-1: windows-1252 too
    ]
    assert stored(add(api_client, {"role": "user", "content": parts})) == [
        "Menu\n\n“Crème” – 4 €",
        "Menu\n\n“Crème” – 4 €",
        "Menu\n\n“Café” – São Paulo",
        "“Quoted” – text",
    ]
    for meta, says in [
        ('<meta charset="klingon">', "is text in klingon, its page says: a character set this server does not know."),
        ('<meta charset="utf-8">', "is not text in utf-8, as its page says."),
        (
            '<meta charset="utf-16">',
            "is neither UTF-8 text, a PDF nor a Word, PowerPoint, Excel or OpenDocument file.",
        ),  # a browser leaves it aside too
    ]:
        refused = add(api_client, {"role": "user", "content": document("txt_url", b64(page_in("cp1252", meta, "é")))})
        assert refused.status_code == 400 and says in refused.json()["detail"], refused.json()


def test_a_web_page_is_read_whatever_markup_it_holds_and_a_program_keeps_its_lines(api_client, embedder):
    # A marked section html.parser does not know (a browser's comment) ended the reading with a 500.
    page = (
        b"<html><h1>Fizz</h1><![foo[ internal ]]><pre><span class=k>for</span> n <span class=k>in</span> range(9):\n"
        b"    print(<span class=s>'fizz'</span>)\n</pre><p>Done.</p></html>"
    )
    assert stored(add(api_client, {"role": "user", "content": document("txt_url", b64(page))})) == [
        "Fizz\n\nfor n in range(9):\nprint('fizz')\n\nDone."
    ]


PAGE_PIECES = st.sampled_from(
    ["<", "<!", "<![", "<![CDATA[", "<![if", "<![foo[", "]]>", ">", "</", "<?", "<!--", "-->", "<p>", "</p>", "<br/>"]
    + ["<pre>", "</pre>", "<script>", "</script>", "<nav>", "&", "&#", "&#x", "&#99999999;", '"', "=", "x", " ", "\n"]
    + ["<!DOCTYPE", "<!ELEMENT", "[", "]", "<![endif]>", "<![ x", "\x00", "é"]
)


@examples(max_examples=300, deadline=None, derandomize=True)
@given(pieces=st.lists(PAGE_PIECES, max_size=16))
def test_any_markup_is_read_by_the_web_page_reader(pieces):
    assert "pages" in _page(("<html>" + "".join(pieces)).encode(), 1_000_000)


CARD_PIECES = st.sampled_from(
    ["BEGIN:VEVENT", "BEGIN:VCARD", "END:VEVENT", "END:VCARD", "BEGIN:VALARM", "END:VALARM", "BEGIN:", "END:"]
    + ["DTSTART", "DTEND", "DUE", ";TZID=", ";VALUE=DATE", ":", ";", '"', "=", "20260305", "T100000", "Z", "2026133"]
    + ["SUMMARY", "ATTENDEE", "ORGANIZER;CN=", "mailto:", "N", "ADR", "TEL;TYPE=", "item1.", "BDAY", "STATUS"]
    + ["\\", "\\n", "\\,", "\r\n", "\n", "\n ", " ", "x", "é", "\x00"]
)


@examples(max_examples=300, deadline=None, derandomize=True)
@given(pieces=st.lists(CARD_PIECES, max_size=24), kind=st.sampled_from(["calendar", "contacts"]))
def test_any_lines_are_read_by_the_calendar_and_contacts_reader(pieces, kind):
    assert "pages" in read_document(kind, "".join(pieces).encode(), 1_000_000, 1)


@pytest.mark.parametrize(
    "kind",
    [
        "Outlook message",
        "Outlook message of Rich Text",
        "Word 97-2003 document",
        "PowerPoint 97-2003 presentation",
        "PowerPoint 97-2003 presentation of pictures",
        "Word 97-2003 document of pictures",
    ],
)
@examples(max_examples=200, deadline=None, derandomize=True)
@given(changes=st.lists(st.tuples(st.integers(0, 2**20), st.integers(0, 255)), min_size=1, max_size=8))
def test_any_damaged_older_office_file_is_read_or_refused(kind, changes):
    # Bytes of an Outlook message, a .doc or a .ppt changed anywhere (its directory, its properties, FIB or records, its
    # piece table or persist directory, an attachment's name or content, its text, its compressed Rich Text): read, or
    # refused saying why (too long: a damaged piece table may say it holds 4 billion characters).
    damaged = bytearray(OLDER_OFFICE_FILES[kind])
    for at, value in changes:
        damaged[at % len(damaged)] = value
    read = read_document("office", bytes(damaged), 1_000_000, 10, 5)  # its pictures made for a vision model too
    assert "pages" in read or read.get("error") in ("unreadable", "damaged", "older", "locked", "too_long"), read


RICH_TEXT_PIECES = st.sampled_from(
    [b"{", b"}", b"\\*", b"\\htmltag64 ", b"\\mhtmltag1 ", b"\\htmlrtf ", b"\\htmlrtf0 ", b"\\u", b"\\u-3913?"]
    + [b"\\u99999999 ", b"\\'e3", b"\\'zz", b"\\ansicpg99999 ", b"\\ansicpg1252 ", b"\\par ", b"\\tab", b"\\fonttbl "]
    + [b"<p>", b"</p>", b"text", b"\\", b"\\\\", b"\\{", b"\r\n", b"\xff\xfe", b"&amp;"]
)


@examples(max_examples=200, deadline=None, derandomize=True)
@given(pieces=st.lists(RICH_TEXT_PIECES, max_size=24), html=st.booleans())
def test_any_rich_text_of_an_outlook_message_is_read(pieces, html):
    # An Outlook message's only text: its Rich Text, an HTML message's (\fromhtml) or its own, whatever it holds.
    rtf = b"{\\rtf1\\ansi" + b"\\fromhtml1 " * html + b"".join(pieces)
    assert "pages" in read_document("office", outlook_message("Rich", "", rtf=compressed_rtf(rtf)), 1_000_000, 1)


FORMAT_PIECES = st.sampled_from(
    ["0", "#", "?", ".", ",", "%", "@", '"', '"€"', "\\", "[$€-407]", "[Red]", "[h]", "[", "]", "$", "-", "_", "*"]
    + [";", "E+", "/", "h", "mm", "ss", "yyyy", "d", "General", " ", "(", ")"]
)


@examples(max_examples=300, deadline=None, derandomize=True)
@given(
    pieces=st.lists(FORMAT_PIECES, max_size=12),
    number=st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**6), 10**6)),
)
def test_any_number_format_shows_a_cells_number(pieces, number):
    # As a workbook's cell shows it: never an error, and something shown, whatever its format says.
    def write(file) -> None:
        workbook = xlsxwriter.Workbook(file, IN_MEMORY)
        workbook.add_worksheet().write_number(0, 0, number, workbook.add_format({"num_format": "".join(pieces)}))
        workbook.close()

    [shown] = read_document("office", written(write), 1_000_000, 1)["pages"]
    assert shown


def test_a_word_document_is_read_as_its_paragraphs_and_table_rows(api_client, embedder, document_host, settings):
    # Sent as Mem0's document part, as a file part of an LLM's context (OpenAI's), and by its URL.
    settings.FETCH_HOSTS = ["127.0.0.1"]
    lease = word_lease()
    word = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    parts = [
        document("txt_url", b64(lease)),
        file_part(lease, "lease.docx", word),
        document("txt_url", f"{document_host}/lease.docx"),
    ]
    assert stored(add(api_client, {"role": "user", "content": parts})) == [WORD_LEASE_TEXT] * 3
    assert search(api_client, "How much is the deposit?")[0] == WORD_LEASE_TEXT


def test_a_word_documents_comments_are_read_after_its_text_each_naming_its_author(api_client, embedder):
    # A reviewer's comment in the margin ("the landlord agreed to 900 euros") was left out.
    reviewed = document("txt_url", b64(word_reviewed()))
    assert stored(add(api_client, {"role": "user", "content": [reviewed]})) == [WORD_REVIEWED_TEXT]


def test_a_workbooks_cell_comments_are_read_after_its_rows_each_naming_its_cell_and_author(api_client, embedder):
    # A note on a cell ("the landlord agreed to 1,800") was left out. Excel's threaded comment is kept for older Excels
    # as a note with words before it, left out here.
    def write(file) -> None:
        workbook = xlsxwriter.Workbook(file, IN_MEMORY)
        sheet = workbook.add_worksheet("Budget")
        sheet.write_row(0, 0, ["Rent", 1900])
        sheet.write_comment("B1", "The landlord agreed to 1,800 from May.", {"author": "Ana Lima"})
        threaded = (
            "[Threaded comment]\n\nYour version of Excel allows you to read this threaded comment; however, any edits "
            "to it will get removed if the file is opened in a newer version of Excel. Learn more: "
            "https://go.microsoft.com/fwlink/?linkid=870924\n\nComment:\n    Paid on the first.\nReply:\n    Noted."
        )
        sheet.write_comment("A1", threaded, {"author": "tc={1B2C}"})
        workbook.close()

    assert stored(add(api_client, {"role": "user", "content": [file_part(written(write), "budget.xlsx")]})) == [
        "Rent | 1900\n\nComment on A1: Paid on the first. Reply: Noted.\n"
        "Comment on B1 (Ana Lima): The landlord agreed to 1,800 from May."
    ]


def test_an_opendocument_texts_comments_are_read_after_its_text_each_naming_its_author(api_client, embedder):
    # LibreOffice's comments in the margin, as Word's are: they were left out.
    document = odf.opendocument.OpenDocumentText()
    rent = odf.text.P(text="The rent is 950 euros a month.")
    comment = odf.office.Annotation()
    comment.addElement(odf.dc.Creator(text="Ana Lima"))
    comment.addElement(odf.dc.Date(text="2026-03-01T10:00:00"))
    comment.addElement(odf.text.P(text="The landlord agreed to 900 euros."))
    rent.addElement(comment)
    document.text.addElement(rent)
    read = add(api_client, {"role": "user", "content": [file_part(written(document.save), "lease.odt")]})
    assert stored(read) == ["The rent is 950 euros a month.\n\nComment by Ana Lima: The landlord agreed to 900 euros."]


def test_an_opendocument_spreadsheets_cell_comments_are_read_after_its_rows_as_a_workbooks(api_client, embedder):
    # LibreOffice's comments on cells, as Excel's are: they were left out. Each names its cell, counted past rows
    # repeated (three empty rows written as one).
    document = odf.opendocument.OpenDocumentSpreadsheet()
    sheet = odf.table.Table(name="Budget")
    for cells, said, repeated in [
        (["Item", "Amount"], ("", "Amounts in euros"), 1),
        ([""], None, 3),
        (["Rent", "1900"], ("Ana  Lima", "The landlord agreed to 1,800 from May."), 1),
    ]:
        row = odf.table.TableRow(numberrowsrepeated=repeated)
        for column, text in enumerate(cells):
            cell = odf.table.TableCell()
            cell.addElement(odf.text.P(text=text))
            if said and column == len(cells) - 1 - bool(not said[0]):  # on its last cell; the first's by no one
                comment = odf.office.Annotation()
                if said[0]:
                    comment.addElement(odf.dc.Creator(text=said[0]))
                comment.addElement(odf.text.P(text=said[1]))
                cell.addElement(comment)
            row.addElement(cell)
        sheet.addElement(row)
    document.spreadsheet.addElement(sheet)
    read = add(api_client, {"role": "user", "content": [file_part(written(document.save), "budget.ods")]})
    assert stored(read) == [
        "Item | Amount\nRent | 1900\n\nComment on A1: Amounts in euros\n"
        "Comment on B5 (Ana Lima): The landlord agreed to 1,800 from May."
    ]


def test_a_powerpoint_presentation_is_read_as_its_slides_in_their_order(api_client, embedder):
    # Sent as Mem0's document part, and as a file part of an LLM's context (OpenAI's).
    trip = presentation_trip()
    slides = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    parts = [
        document("mdx_url", b64(trip)),
        file_part(trip, "trip.pptx", slides),
    ]
    # Each slide's title, text and table rows, its speaker's notes after them (not the notes page's slide number).
    assert stored(add(api_client, {"role": "user", "content": parts})) == [PRESENTATION_TRIP_TEXT] * 2
    assert search(api_client, "What does the boat cost?")[0] == PRESENTATION_TRIP_TEXT


def test_an_opendocument_text_or_presentation_is_read_as_a_word_document_or_presentation_is(api_client, embedder):
    # LibreOffice's files: a text sent as Mem0's document part, a presentation as a file part by its name.
    parts = [
        document("txt_url", b64(opendocument_lease())),
        file_part(opendocument_trip(), "trip.odp"),
    ]
    assert stored(add(api_client, {"role": "user", "content": parts})) == [
        OPENDOCUMENT_LEASE_TEXT,  # its footnote's mark, and the note at the end
        "Kayak trip\n\nDown the Douro in May\n\nBudget\n\nBoat: 300 euros\n\nNotes: Ask about the deposit",
    ]


def test_an_excel_workbook_or_an_opendocument_spreadsheet_is_read_as_its_sheets_rows(api_client, embedder):
    # Excel's as Mem0's document part and as a file part by its media type; LibreOffice's as a file part by its name.
    budget = workbook_budget()
    sheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    parts = [
        document("txt_url", b64(budget)),
        file_part(budget, "budget", sheet),
        file_part(opendocument_budget(), "budget.ods"),
    ]
    # Each shown sheet's rows, their columns in place; dates as dates whatever format a sheet shows them in; the hidden
    # sheet left out; LibreOffice's empty rest of a sheet (one row repeated a million times) not written out.
    assert stored(add(api_client, {"role": "user", "content": parts})) == [
        "\n\n".join(WORKBOOK_BUDGET_PAGES),
        "\n\n".join(WORKBOOK_BUDGET_PAGES),
        "\n\n".join(OPENDOCUMENT_BUDGET_PAGES),
    ]
    assert "Rent | 1" in (found := search(api_client, "When is the rent due?")[0]) and "2026-03-01" in found


def test_a_workbooks_numbers_are_shown_as_their_formats_show_them(api_client, embedder):
    # A number was its stored digits whatever its format: 1900 for "1,900.00 €", 2134 for the ZIP code "02134"; an
    # elapsed time of 26 hours and a half was the clock time 02:30.
    def write(file) -> None:
        workbook = xlsxwriter.Workbook(file, IN_MEMORY)
        sheet = workbook.add_worksheet("Numbers")
        for row, (value, pattern) in enumerate(
            [
                (1900, "#,##0.00\\ [$€-407]"),  # Excel's euros in German
                (-1234.5, "[$$-409]#,##0.00;[Red]-[$$-409]#,##0.00"),
                (-1900, "#,##0.00;[Red](#,##0.00)"),  # an accountant's negative
                (12.5, '0.0" kg"'),
                (2134, "00000"),
                (1234567, '#,##0,"K"'),
                (1.5, "0.##"),
                (1 / 3, "0.00"),  # built-in 2
                (0.1 + 0.2, "General"),
                (0.75, "# ?/?"),  # a fraction: as stored
                (26.5 / 24, "[h]:mm"),  # an elapsed time: was 02:30, the clock time
                (5415 / 86400, "[mm]:ss"),
            ]
        ):
            sheet.write_number(row, 0, value, workbook.add_format({"num_format": pattern}))
        workbook.close()

    [text] = stored(add(api_client, {"role": "user", "content": document("txt_url", b64(written(write)))}))
    assert text.split("\n") == [
        "1,900.00 €",
        "-$1,234.50",
        "(1,900.00)",
        "12.5 kg",
        "02134",
        "1,235K",
        "1.5",
        "0.33",
        "0.3",
        "0.75",
        "26:30",
        "90:15",
    ]


def test_an_excel_97_2003_workbook_is_read_as_a_workbook_is(api_client, embedder):
    # An .xls (BIFF8 in a compound file), as a document part and as a file part by its name and by its type. It was
    # refused as neither text nor an Office file, and left out as a file part.
    older = older_workbook()
    parts = [
        document("txt_url", b64(older)),
        file_part(older, "budget.xls"),
        file_part(older, "budget", "application/vnd.ms-excel"),
    ]
    pages = [
        "Budget\nItem | Amount | Due | Share\nRent | 1,900.00 € | 2026-03-01 | 62.5%\nKayak | | 2026-05-15 | 12.5%\n"
        "| 0.3 | TRUE",
        "Notes\nCall the landlord about the heating\n14:30",
    ]
    assert stored(add(api_client, {"role": "user", "content": parts})) == ["\n\n".join(pages)] * 3


WORD_97_LEASE = [
    ("Lease of the flat\rThe rent is 950 euros a month.\r", True),
    ("Tenant: Jo\u00e3o \u0141\u00f3d\u017a \u2013 deposit 1,900 \u20ac\r", False),  # what Windows-1252 lacks
    ("Deposit\x071,900 euros\x07\x07Notice\x07two months\x07\x07", True),  # a table of two rows
    ('Signed on \x13 DATE \\@ "d MMMM yyyy" \x141 May 2026\x15\x0bin Porto\x01\r', True),  # a field, a picture
]
WORD_97_LEASE_TEXT = (
    "Lease of the flat\n\nThe rent is 950 euros a month.\n\n"
    "Tenant: Jo\u00e3o \u0141\u00f3d\u017a \u2013 deposit 1,900 \u20ac\n\n"
    "Deposit | 1,900 euros\n\nNotice | two months\n\nSigned on 1 May 2026\nin Porto"
)


# A Word 97-2003 document as reviewed: a tenant's name changed in tracked changes, a footnote, an endnote, a comment,
# a text box.
WORD_97_REVIEWED = older_document(
    [
        ("The rent is 950 euros a month.\x02\x05\r", True),
        ("Tenant:\t", True),
        ("Bob", True, True),  # deleted
        ("Jo\u00e3o \u0141\u00f3d\u017a\x02\r", False),
        ("\x08Signed on 1 May 2026\r", True),  # a text box anchored to the paragraph
    ],
    notes=[("footnote", "Paid on the first day of each month."), ("endnote", "Signed in Porto.")],
    comments=[("Ana  Lima", "The landlord agreed to 900 euros on the phone.")],
    boxes=["Pets allowed\rNo smoking"],
)
WORD_97_REVIEWED_TEXT = (
    "The rent is 950 euros a month.[1]\n\nTenant: Jo\u00e3o \u0141\u00f3d\u017a[2]\n\n"
    "Pets allowed\n\nNo smoking\n\nSigned on 1 May 2026\n\n"
    "[1] Paid on the first day of each month.\n\n[2] Signed in Porto.\n\n"
    "Comment by Ana Lima: The landlord agreed to 900 euros on the phone."
)


def test_a_word_97_2003_documents_tracked_deletions_are_left_out_and_its_notes_and_comments_read(api_client, embedder):
    # As a .docx is read: the name a tracked change deleted ("Bob") was stored beside the one that replaced it, and the
    # notes, the reviewer's comment and the text box were left out (their marks too). A tab is a space, as in a .docx.
    read = add(api_client, {"role": "user", "content": [file_part(WORD_97_REVIEWED, "lease.doc")]})
    assert stored(read) == [WORD_97_REVIEWED_TEXT]


def sent_three_ways(content: bytes, name: str, subtype: str) -> list[dict]:
    """A file sent as Mem0's document part, as a file part by its name, and attached to an email (by its media type,
    application/`subtype`)."""
    letter = EmailMessage()
    letter["From"], letter["Subject"] = "ada@example.com", "Files"
    letter.set_content("The file.")
    letter.add_attachment(content, maintype="application", subtype=subtype, filename=name)
    return [document("txt_url", b64(content)), file_part(content, name), file_part(letter.as_bytes(), "files.eml")]


def read_three_ways(name: str, text: str) -> list[str]:
    """What is stored of a file sent_three_ways: its text, its text, and the email with its text as an attachment's."""
    email = f"From: ada@example.com\nSubject: Files\n\nThe file.\n\nAttachments: {name}\n\nAttachment {name}:\n\n{text}"
    return [text, text, email]


def test_a_word_97_2003_document_is_read_as_its_paragraphs_and_table_rows(api_client, embedder):
    # Word's .doc: a 400 asking for it saved as .docx. Its text in pieces of 8-bit and UTF-16 characters, as Word keeps
    # it; sent as a document, as a file part, and attached to an email.
    parts = sent_three_ways(older_document(WORD_97_LEASE), "lease.doc", "msword")
    assert stored(add(api_client, {"role": "user", "content": parts})) == read_three_ways(
        "lease.doc", WORD_97_LEASE_TEXT
    )


# Three slides of PowerPoint 97-2003, the first's title changed in a later, fast save.
POWERPOINT_97_TRIP = older_presentation(
    [
        (["Kayak trip", "Down the Douro in May"], [], ""),
        (
            ["Days", "Day one: Porto\rDay two: R\u00e9gua\x0bby train"],
            ["Budget: 300 \u20ac, \u0141\u00f3d\u017a"],
            "Book the train",
        ),
        (["Costs"], [], "Ask about the deposit"),
    ],
    tables={2: [["Boat", "300 euros"], ["Food", "120 euros"]]},
    edited={0: ["Kayak trip on the Douro", "Down the Douro in May"]},
)
POWERPOINT_97_TRIP_TEXT = (
    "Kayak trip on the Douro\n\nDown the Douro in May\n\n"
    "Days\n\nDay one: Porto\n\nDay two: R\u00e9gua\nby train\n\nBudget: 300 \u20ac, \u0141\u00f3d\u017a\n\n"
    "Notes: Book the train\n\n"
    "Costs\n\nBoat | 300 euros\n\nFood | 120 euros\n\nNotes: Ask about the deposit"
)


def test_a_powerpoint_97_2003_presentation_is_read_as_its_slides_with_their_notes(api_client, embedder):
    # PowerPoint's .ppt: a 400 asking for it saved as .pptx. Its slides in order, their placeholders' texts (kept
    # apart from the slides, in the document's list), a text box's own text (in UTF-16: what 8 bits lack), a table's
    # rows, each slide's notes after it (not the notes page's number); its latest edit's text, not the earlier one a
    # fast save left in the file. Sent as a document, as a file part, and attached to an email.
    parts = sent_three_ways(POWERPOINT_97_TRIP, "trip.ppt", "vnd.ms-powerpoint")
    read = read_three_ways("trip.ppt", POWERPOINT_97_TRIP_TEXT)
    assert stored(add(api_client, {"role": "user", "content": parts})) == read


# Older Office files as LibreOffice 7.4 (Debian 12's) saves them, with `soffice --headless --convert-to doc|ppt|xls`:
# lease.doc and reviewed.doc from word_lease() and word_reviewed(), box.doc from a text of three paragraphs, a text box
# of two anchored to the second (a flat OpenDocument text), trip.ppt from presentation_trip() (its PowerPoint
# Document and Current User streams, without the 590 KB picture of its first slide that it keeps besides), budget.xls
# from the spreadsheet of test_an_opendocument_spreadsheets_cell_comments_are_read_after_its_rows_as_a_workbooks,
# pictures.ppt from two slides of photos (scan(90); scan(50) and scan(90) again), its picture store too; pictures.doc
# from a Word document of two paragraphs and the same photos in its text. pictures-ppt.pdf and pictures-doc.pdf are
# those two saved as PDFs (`--convert-to pdf`). pictures.xls from a workbook (xlsxwriter) of three sheets: Budget's rows
# and a photo (scan(90)), Rooms' row, a photo (scan(50)) and the first again, and Notes. floating.doc from an
# OpenDocument text of two paragraphs, the first with a photo (scan(90)) in a frame anchored to it.
SAVED_BY_LIBREOFFICE = Path(__file__).parent / "office"


def test_older_office_files_saved_by_libreoffice_are_read_as_the_files_they_were_saved_from(api_client, embedder):
    # Another writer's files than the tests': each read as its .docx, .pptx or .ods is. LibreOffice wrote the lease's
    # text box as no text and its field (a DATE code without Word's marks) as text, so those two differ.
    saved = [file_part((SAVED_BY_LIBREOFFICE / name).read_bytes(), name) for name in ("lease.doc", "reviewed.doc")]
    saved += [file_part((SAVED_BY_LIBREOFFICE / "box.doc").read_bytes(), "box.doc")]
    saved += [file_part((SAVED_BY_LIBREOFFICE / name).read_bytes(), name) for name in ("trip.ppt", "budget.xls")]
    assert stored(add(api_client, {"role": "user", "content": saved})) == [
        WORD_LEASE_TEXT.replace("Pets allowed\n\n", "").replace("Signed on ", "Signed on DATE"),
        WORD_REVIEWED_TEXT,
        "Lease of the flat\n\nPets allowed\n\nNo smoking\n\nThe rent is 950 euros a month.\n\nSigned in Porto.",
        PRESENTATION_TRIP_TEXT,
        "Item | Amount\nRent | 1900\n\nComment on A1: Amounts in euros\n"
        "Comment on B5 (Ana Lima): The landlord agreed to 1,800 from May.",
    ]


def test_older_powerpoint_and_word_files_and_files_locked_by_a_password_are_refused_saying_so(api_client):
    # Each was "neither UTF-8 text, a PDF nor a Word, PowerPoint, Excel or OpenDocument file", which is no help.
    for content, said in [
        (
            older_document([("Lease\r", True)], version=0x0065),
            "is a Word 6 or 95 document (.doc), which this server does not read: save it as .docx or as a PDF.",
        ),
        (older_document([("Lease\r", True)], encrypted=True), "is locked by a password: send it unlocked."),
        (
            compound_of("PP40"),
            "is a PowerPoint 95 presentation (.ppt), which this server does not read: save it as .pptx or as a PDF.",
        ),
        (older_presentation([(["Trip"], [], "")], encrypted=True), "is locked by a password: send it unlocked."),
        (locked(word_lease()), "is locked by a password: send it unlocked."),
    ]:
        refused = add(api_client, {"role": "user", "content": document("txt_url", b64(content))})
        assert refused.status_code == 400, refused.json()
        assert refused.json()["detail"] == f"The document sent as txt_url {said}"


def test_a_long_sheets_passages_each_begin_with_its_first_row(api_client, embedder):
    # 200 contacts: stored in passages of rows, each saying what its columns are, as an agent reading one needs.
    header = ["Name", "Phone", "City", "Birthday"]
    people = [[f"Person {n}", f"+351 912 000 {n:03}", "Lisbon", f"1990-04-{n % 28 + 1:02}"] for n in range(200)]
    people[150] = ["Ada Lovelace", "+44 20 7946 0000", "London", "1815-12-10"]
    passages = stored(
        add(api_client, {"role": "user", "content": document("txt_url", b64(workbook_of([header, *people])))})
    )
    assert len(passages) > 5 and all(p.startswith("Name | Phone | City | Birthday\nPerson ") for p in passages[1:])
    assert all(len(p) <= DOCUMENT_PASSAGE_CHARS for p in passages)
    rows = [line for p in passages for line in p.splitlines() if not line.startswith("Name |")]
    assert rows == [" | ".join(person) for person in people]  # every row once, in order
    found = search(api_client, "When is Ada Lovelace's birthday?")[0]
    assert found.startswith("Name | Phone | City | Birthday\n") and "Ada Lovelace | +44 20 7946 0000 | London" in found


def test_a_spreadsheets_repeated_or_distant_cells_are_refused_as_too_long_before_they_are_made(api_client, embedder):
    # A cell a million times wider than a sheet's, and one value repeated 10⁹ times: each would take gigabytes and more
    # than READ_SECONDS to write out; the characters they would make are counted first.
    workbook = {
        "xl/workbook.xml": b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r='
        b'"http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="A" r:id="s1"/>'
        b"</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'relationships"><Relationship Id="s1" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>far</t></is></c><c r="ZZZZZZZ1" t="inlineStr"><is><t>'
        b"away</t></is></c></row></sheetData></worksheet>",
    }
    for content in (zip_of(workbook), opendocument_budget(cells_repeated=10**9)):
        refused = add(api_client, {"role": "user", "content": document("txt_url", b64(content))})
        assert refused.status_code == 400 and "MAX_ADD_CHARS" in refused.json()["detail"], refused.json()
    workbook["xl/worksheets/sheet1.xml"] = workbook["xl/worksheets/sheet1.xml"].replace(b"ZZZZZZZ1", b"D1")
    assert stored(add(api_client, {"role": "user", "content": document("txt_url", b64(zip_of(workbook)))})) == [
        "far | | | away"
    ]


def test_a_csv_or_tsv_file_is_read_as_a_sheet_is_by_its_type_or_name(api_client, embedder):
    # 120 contacts, a value quoted for its comma and line break: as text, a long CSV was one paragraph, cut into
    # passages at spaces in the middle of its rows.
    rows = [f'Person {n},+351 912 000 {n:03},Lisbon,"Likes tea, not coffee"' for n in range(120)]
    rows[100] = 'Ada Lovelace,+44 20 7946 0000,London,"Wrote the first program;\nloved poetry"'
    contacts = "\r\n".join(["Name,Phone,City,Note", *rows]) + "\r\n"
    part = file_part(contacts, "contacts.csv")
    passages = stored(add(api_client, {"role": "user", "content": [part]}))
    assert len(passages) > 3 and all(p.startswith("Name | Phone | City | Note\nPerson ") for p in passages[1:])
    assert [line for p in passages for line in p.splitlines()].count("Name | Phone | City | Note") == len(passages)
    found = search(api_client, "What did Ada Lovelace write?")[0]
    assert "Ada Lovelace | +44 20 7946 0000 | London | Wrote the first program; loved poetry" in found
    # A TSV as a data URL of its type; a text naming neither stays text.
    items = b64("Item\tAmount\nRent\t1900\n")
    tsv = document("txt_url", f"data:text/tab-separated-values;base64,{items}")
    plain = document("txt_url", b64("a,b\nc,d"))
    assert stored(add(api_client, {"role": "user", "content": [tsv, plain]})) == [
        "Item | Amount\nRent | 1900",
        "a,b\nc,d",
    ]


def test_a_csv_value_longer_than_the_add_takes_is_a_400_saying_so(api_client, embedder, settings):
    # One quoted value longer than the add's characters: csv's own bound (set to them) said "could not be read as a
    # CSV file (Error: field larger than field limit (100))", naming neither the document's length nor MAX_ADD_CHARS.
    settings.MAX_ADD_CHARS = 100
    content = b64('Note\n"' + "a" * 150 + '"\n')
    table = document("txt_url", f"data:text/csv;base64,{content}")
    refused = add(api_client, {"role": "user", "content": [table]})
    assert refused.status_code == 400
    assert refused.json()["detail"] == (
        "The document sent as txt_url holds more text than an add takes with its messages (100 characters, "
        "MAX_ADD_CHARS): send it in parts."
    )
    assert not Memory.objects.exists()


def test_a_sheets_first_row_is_repeated_in_each_passage_only_when_it_names_columns(api_client, embedder):
    # A bank's export without a header: its first payment was repeated at the top of every passage, as if it named
    # the columns, and a search for it found every passage. A first row of years names a yearly budget's columns.
    payments = [f"2026-{n // 28 + 1:02}-{n % 28 + 1:02},Payment {n} for the flat,{900 + n}" for n in range(120)]
    budget = [["Item", "2025", "2026"], *[[f"Item {n}", f"{n * 10}", f"{n * 11}"] for n in range(120)]]
    parts = [file_part("\n".join(payments), "payments.csv"), file_part(workbook_of(budget), "budget.xlsx")]
    passages = stored(add(api_client, {"role": "user", "content": parts}))
    first = "2026-01-01 | Payment 0 for the flat | 900"
    kept = [p for p in passages if "Payment" in p]
    assert len(kept) > 3 and [line for p in kept for line in p.splitlines()].count(first) == 1
    yearly = [p for p in passages if "Item" in p]
    assert len(yearly) > 2 and all(p.startswith("Item | 2025 | 2026\n") for p in yearly)


def test_an_email_is_read_as_its_sender_recipients_date_subject_text_and_attachments(api_client, embedder):
    # A mail program's saved message (.eml): a plain and an HTML text, a PDF attached; and one with an HTML text alone,
    # in ISO-8859-1, quoted-printable. As text, it was stored as its headers and its parts' encodings.
    letter = EmailMessage()
    letter["From"], letter["To"] = "Ada Lovelace <ada@example.com>", "Charles Babbage <charles@example.com>"
    letter["Date"], letter["Subject"] = "Sun, 01 Mar 2026 14:30:00 +0000", "The engine's notes"
    letter.set_content("Dear Charles,\n\nThe notes on the engine are attached.\n\nAda")
    letter.add_alternative("<p>Dear Charles,</p><p>The notes on the <b>engine</b> are attached.</p><p>Ada</p>", "html")
    letter.add_attachment(pdf_of("Note G"), maintype="application", subtype="pdf", filename="note-g.pdf")
    reply = EmailMessage()
    reply["From"], reply["Subject"] = "charles@example.com", "Re: The engine's notes"
    html = "<html><body><p>Merci, chère Ada.</p><script>x()</script></body></html>"
    reply.set_content(html, "html", "iso-8859-1", cte="quoted-printable")
    parts = [
        file_part(letter.as_bytes(), "notes.eml"),
        document("txt_url", f"data:message/rfc822;base64,{b64(reply.as_bytes())}"),
    ]
    assert stored(add(api_client, {"role": "user", "content": parts})) == [
        "From: Ada Lovelace <ada@example.com>\nTo: Charles Babbage <charles@example.com>\n"
        "Date: Sun, 01 Mar 2026 14:30:00 +0000\nSubject: The engine's notes\n\n"
        "Dear Charles,\n\nThe notes on the engine are attached.\n\nAda\n\nAttachments: note-g.pdf\n\n"
        "Attachment note-g.pdf:\n\nNote G",
        "From: charles@example.com\nSubject: Re: The engine's notes\n\nMerci, chère Ada.",
    ]


def test_an_email_sent_without_a_type_is_known_by_its_header(api_client, embedder):
    # Mem0's document part in base64 alone names no type, and a host may serve an .eml as plain text: such an email was
    # stored as its headers and its parts' encodings (a PDF attached as base64). A note that only starts as an email's
    # header does (no date, no field a mail program writes) stays a note.
    letter = EmailMessage()
    letter["From"], letter["Date"], letter["Subject"] = "ada@example.com", "Sun, 01 Mar 2026 14:30:00 +0000", "Notes"
    letter.set_content("The notes are attached.")
    letter.add_attachment(pdf_of("Note G"), maintype="application", subtype="pdf", filename="note-g.pdf")
    read = (
        "From: ada@example.com\nDate: Sun, 01 Mar 2026 14:30:00 +0000\nSubject: Notes\n\nThe notes are attached.\n\n"
        "Attachments: note-g.pdf\n\nAttachment note-g.pdf:\n\nNote G"
    )
    note = "From: the landlord\nSubject: the heating\n\nIt is mended."
    parts = [
        document("txt_url", b64(letter.as_bytes())),
        document("txt_url", f"data:text/plain;base64,{b64(letter.as_bytes())}"),
        document("txt_url", b64(note)),
    ]
    assert stored(add(api_client, {"role": "user", "content": parts})) == [read, read, note]


def test_with_vision_on_an_emails_attached_pictures_are_described_after_it(
    api_client, embedder, vision, settings, monkeypatch
):
    # A photo of a door (a PNG, handed as it is) and a scan of a receipt (a 300 dpi JPEG, made smaller): each was only
    # named. At most MAX_IMAGES_PER_ADD, less the add's images: a third picture stays named.
    settings.MAX_IMAGES_PER_ADD = 2
    said = {90: "A red front door with the number 12", 200: "A receipt for 950 euros of rent"}
    vision.describe = lambda url: said[scan_shade(url)]
    letter = EmailMessage()
    letter["From"], letter["Subject"] = "ada@example.com", "The flat"
    letter.set_content("Photos of the flat.")
    for name, picture in [("door.png", scan(90)), ("receipt.jpg", scan(200, "RGB", dpi=300)), ("hall.png", scan(50))]:
        kind = "jpeg" if name.endswith(".jpg") else "png"
        letter.add_attachment(
            written(lambda out, picture=picture, kind=kind: picture.save(out, kind.upper())),
            maintype="image",
            subtype=kind,
            filename=name,
        )
    kinds_read = []
    read_apart = reading.read_apart
    monkeypatch.setattr(reading, "read_apart", lambda kind, *more: kinds_read.append(kind) or read_apart(kind, *more))
    [passage] = stored(add(api_client, {"role": "user", "content": [file_part(letter.as_bytes(), "flat.eml")]}))
    assert kinds_read == ["email"]  # the reader made the pictures for the model: no process more for each
    assert passage == (
        "From: ada@example.com\nSubject: The flat\n\nPhotos of the flat.\n\n"
        "Attachments: door.png, receipt.jpg, hall.png\n\n"
        "Attachment door.png:\n\nA red front door with the number 12\n\n"
        "Attachment receipt.jpg:\n\nA receipt for 950 euros of rent"
    )
    # The door as it was sent; the receipt's scan of 2,550 x 3,300 pixels as a JPEG of 2,048 pixels a side at most.
    urls = [call.body["messages"][0]["content"][1]["image_url"]["url"] for call in vision.chat_calls("describe")]
    handed = {
        url[5:].split(";")[0]: Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size for url in urls
    }
    assert len(urls) == 2 and handed["image/png"] == (1275, 1650) and max(handed["image/jpeg"]) == 2048
    # With vision off, the pictures are named only, as before.
    configure(api_client, llm=llm_section(vision, enable_vision=False))
    [named] = stored(
        add(api_client, {"role": "user", "content": [file_part(letter.as_bytes(), "again.eml")]}, user_id="bob")
    )
    assert named.endswith("Attachments: door.png, receipt.jpg, hall.png")


def test_with_vision_on_a_word_documents_and_a_presentations_pictures_are_described_after_their_text(
    api_client, embedder, vision, settings
):
    # A photo in a Word document, an OpenDocument text or on a slide was left out: the model describes each after the
    # text (a picture shown twice once, not an icon), at most MAX_IMAGES_PER_ADD. A Word document that is a scan pasted
    # in is read as the model reads its page. With vision off, as before: the text alone.
    settings.MAX_IMAGES_PER_ADD = 4
    said = {90: "A red front door with the number 12", 50: "A hall", 120: "Rent: 950", 70: "A garden"}
    vision.describe = lambda url: said[scan_shade(url)]

    def png(picture: Image.Image) -> io.BytesIO:
        return io.BytesIO(written(lambda out: picture.save(out, "PNG")))

    flat = docx.Document()
    flat.add_paragraph("The flat, seen from the street:")
    for picture in (scan(90), Image.new("RGB", (16, 16), "blue"), scan(90), scan(50)):
        flat.add_picture(png(picture), width=Inches(2))
    receipt = docx.Document()
    receipt.add_picture(png(scan(120)), width=Inches(6))
    garden = odf.opendocument.OpenDocumentText()
    frame = odf.draw.Frame(width="5cm", height="5cm")
    frame.addElement(odf.draw.Image(href=garden.addPicture("Pictures/garden.png", "image/png", png(scan(70)).read())))
    paragraph = odf.text.P(text="The garden:")
    paragraph.addElement(frame)
    garden.text.addElement(paragraph)
    trip = pptx.Presentation()
    slide = trip.slides.add_slide(trip.slide_layouts[5])
    slide.shapes.title.text = "The flat"
    slide.shapes.add_picture(png(scan(50)), 0, 0)
    trip.slides.add_slide(trip.slide_layouts[5]).shapes.title.text = "The end"
    parts = [
        file_part(written(flat.save), "flat.docx"),
        file_part(written(receipt.save), "receipt.docx"),
        file_part(written(garden.save), "garden.odt"),
        file_part(written(trip.save), "flat.pptx"),
    ]
    assert stored(add(api_client, {"role": "user", "content": parts})) == [
        "The flat, seen from the street:\n\nPicture 1:\n\nA red front door with the number 12\n\nPicture 2:\n\nA hall",
        "Rent: 950",
        "The garden:\n\nPicture 1:\n\nA garden",
        "The flat\n\nThe end",  # the add's 4 pictures were handed to the model before it
    ]
    assert len(vision.chat_calls("describe")) == 4
    configure(api_client, llm=llm_section(vision, enable_vision=False))
    again = add(api_client, {"role": "user", "content": parts[:1]}, user_id="bob")
    assert stored(again) == ["The flat, seen from the street:"]


def test_with_vision_on_a_sheets_pictures_are_described_after_its_rows(api_client, embedder, vision):
    # A photo on a sheet of an Excel workbook or an OpenDocument spreadsheet was left out, as a Word document's was.
    vision.describe = lambda url: {90: "A red front door with the number 12", 50: "A hall"}[scan_shade(url)]

    def write(file) -> None:
        workbook = xlsxwriter.Workbook(file, IN_MEMORY)
        budget = workbook.add_worksheet("Budget")
        budget.write_row(0, 0, ["Item", "Amount"])
        budget.insert_image(
            "D2", "door.png", {"image_data": io.BytesIO(written(lambda out: scan(90).save(out, "PNG")))}
        )
        workbook.add_worksheet("Notes").write(0, 0, "Nothing")
        workbook.close()

    sheets = odf.opendocument.OpenDocumentSpreadsheet()
    hall = sheets.addPicture("Pictures/hall.png", "image/png", written(lambda out: scan(50).save(out, "PNG")))
    frame = odf.draw.Frame(width="5cm", height="5cm", x="1cm", y="1cm")
    frame.addElement(odf.draw.Image(href=hall))
    shapes, row, cell = odf.table.Shapes(), odf.table.TableRow(), odf.table.TableCell()
    shapes.addElement(frame)
    cell.addElement(odf.text.P(text="Hall"))
    row.addElement(cell)
    sheet = odf.table.Table(name="Rooms")
    sheet.addElement(shapes)
    sheet.addElement(row)
    sheets.spreadsheet.addElement(sheet)
    parts = [file_part(written(write), "budget.xlsx"), file_part(written(sheets.save), "rooms.ods")]
    assert stored(add(api_client, {"role": "user", "content": parts})) == [
        "Budget\nItem | Amount\n\nPicture on sheet Budget:\n\nA red front door with the number 12\n\nNotes\nNothing",
        "Hall\n\nPicture on sheet Rooms:\n\nA hall",
    ]


def test_with_vision_on_older_powerpoint_and_word_files_pictures_are_described_as_newer_ones_are(
    api_client, embedder, vision
):
    # As a .pptx's and a .docx's are: each slide's photo (from the presentation's store of pictures), and each photo in
    # a .doc's text (in its Data stream), was left out; one shown again is described once, where it is first.
    said = {90: "A red front door with the number 12", 50: "A hall"}
    vision.describe = lambda url: said[scan_shade(url)]
    parts = [file_part((SAVED_BY_LIBREOFFICE / name).read_bytes(), name) for name in ("pictures.ppt", "pictures.doc")]
    assert stored(add(api_client, {"role": "user", "content": parts})) == [
        "The flat\n\nPicture on slide 1:\n\nA red front door with the number 12\n\n"
        "The hall\n\nPicture on slide 2:\n\nA hall",
        "The flat, seen from the street:\n\nThe hall:\n\n"
        "Picture 1:\n\nA red front door with the number 12\n\nPicture 2:\n\nA hall",
    ]


def test_with_vision_on_a_pdfs_photos_are_described_after_the_text_of_their_pages(
    api_client, embedder, vision, settings
):
    # A PDF's pages of text were read without the photos they show, where the same document as a Word file or a
    # presentation had its pictures described. LibreOffice's PDFs of pictures.ppt and pictures.doc read as those do,
    # the door shown again on the second slide described once, where it is first.
    said = {90: "A red front door with the number 12", 50: "A hall", 160: "A kayak on a beach", 250: "A typed page"}
    vision.describe = lambda url: said[scan_shade(url)]
    names = ("pictures-ppt.pdf", "pictures-doc.pdf")
    parts = [file_part((SAVED_BY_LIBREOFFICE / name).read_bytes(), name) for name in names]
    assert stored(add(api_client, {"role": "user", "content": parts})) == [
        "The flat\n\nPicture on page 1:\n\nA red front door with the number 12\n\n"
        "The hall\n\nPicture on page 2:\n\nA hall",
        "The flat, seen from the street:\nThe hall:\n\nPicture on page 1:\n\nA red front door with the number 12\n\n"
        "Picture on page 1:\n\nA hall",
    ]
    described = len(vision.chat_calls("describe"))
    # A scan made searchable (OCR's text, not shown, over the page's picture) is its text, not a photo to describe; an
    # icon is not a photo; a photo past the pictures the add may hand the model (MAX_IMAGES_PER_ADD) is left out.
    settings.MAX_IMAGES_PER_ADD = 1
    searchable = pdf_showing("Rent: 950 euros a month", scan(250), searchable=True)
    photos = pdf_showing("The kayak", Image.new("L", (48, 48), 90), scan(160), scan(90))
    parts = [file_part(searchable, "rent.pdf"), file_part(photos, "kayak.pdf")]
    assert stored(add(api_client, {"role": "user", "content": parts}, user_id="bob")) == [
        "Rent: 950 euros a month",
        "The kayak\n\nPicture on page 1:\n\nA kayak on a beach",
    ]
    assert len(vision.chat_calls("describe")) == described + 1
    configure(api_client, llm=llm_section(vision, enable_vision=False))
    assert stored(add(api_client, {"role": "user", "content": parts[1:]}, user_id="carol")) == ["The kayak"]


def test_a_pdfs_damaged_photo_is_left_out_and_its_text_and_other_photos_read():
    content = pdf_showing("The flat", scan(90), scan(50))
    start = content.index(b"\xff\xd8")  # the first photo's JPEG: its header overwritten, its length kept
    content = content[: start + 2] + b"\0" * 20 + content[start + 22 :]
    read = read_document("pdf", content, 1_000_000, 10, 5)
    assert read["pages"] == ["The flat", "Picture on page 1:"] and scan_shade(read["images"]["1"]) == 50, read


def test_with_vision_on_an_epub_books_pictures_are_described_after_their_chapters(api_client, embedder, vision):
    # A book's pictures (an <img>, an SVG's <image> as a cover is shown) were left out, as a Word document's were.
    said = {90: "A red front door with the number 12", 50: "A hall"}
    vision.describe = lambda url: said[scan_shade(url)]
    book = file_part(epub_book(pictured=True), "albatross.epub")
    assert stored(add(api_client, {"role": "user", "content": [book]})) == [
        "The Albatross\nAna Sousa\n\nThe harbour\n\nWe sailed from Porto in May.\n\n"
        "Picture 1:\n\nA red front door with the number 12\n\n"
        "The storm\n\nA storm kept us in Vigo for a week.\n\nPicture 1:\n\nA hall"
    ]
    assert len(vision.chat_calls("describe")) == 2  # the door shown again, and the picture outside the book: none
    configure(api_client, llm=llm_section(vision, enable_vision=False))
    assert stored(add(api_client, {"role": "user", "content": [book]}, user_id="bob")) == [EPUB_BOOK_TEXT]


def test_with_vision_on_an_excel_97_2003_workbooks_pictures_are_described_after_their_sheets(
    api_client, embedder, vision
):
    # As an .xlsx's are (its sheets' drawings, the workbook's store of pictures): an .xls's were left out. The door
    # shown again on the second sheet is described once, where it is first.
    vision.describe = lambda url: {90: "A red front door with the number 12", 50: "A hall"}[scan_shade(url)]
    workbook = file_part((SAVED_BY_LIBREOFFICE / "pictures.xls").read_bytes(), "pictures.xls")
    assert stored(add(api_client, {"role": "user", "content": [workbook]})) == [
        "Budget\nItem | Amount\nRent | 950\n\nPicture on sheet Budget:\n\nA red front door with the number 12\n\n"
        "Rooms\nHall\n\nPicture on sheet Rooms:\n\nA hall\n\nNotes\nNothing"
    ]
    assert len(vision.chat_calls("describe")) == 2


def test_with_vision_on_a_word_97_2003_documents_floating_picture_is_described_as_one_in_its_text_is(
    api_client, embedder, vision
):
    # A picture anchored beside the text (wrapped), not in it: kept in the document's drawings, its bytes in the
    # WordDocument stream. It was left out where one in the text was described.
    vision.describe = lambda url: {90: "A red front door with the number 12"}[scan_shade(url)]
    document = file_part((SAVED_BY_LIBREOFFICE / "floating.doc").read_bytes(), "floating.doc")
    assert stored(add(api_client, {"role": "user", "content": [document]})) == [
        "The flat, seen from the street:\n\nThe rent is 950 euros.\n\nPicture 1:\n\nA red front door with the number 12"
    ]


def test_a_pdf_forms_photo_is_the_one_its_own_resources_name():
    # A form (a figure one PDF took from another) names its photo in its own resources, perhaps as the page names
    # another (/Im0 both): the page's photo was taken for the form's, and the form's photo never described.
    for form_first in (False, True):
        content = pdf_showing_a_form("The flat", Image.new("L", (300, 200), 90), scan(160), form_first=form_first)
        read = read_document("pdf", content, 1_000_000, 10, 5)
        shades = [scan_shade(url) for url in read["images"].values()]
        assert read["pages"] == ["The flat", "Picture on page 1:", "Picture on page 1:"], read["pages"]
        assert shades == ([160, 90] if form_first else [90, 160])


def test_a_pdfs_same_photo_kept_twice_is_described_once():
    # PDFs joined into one (pypdf's append, a "combine PDFs" tool) each keep their own copy of a logo or a photo: the
    # same picture was described after both pages, and counted twice against MAX_IMAGES_PER_ADD for one LLM call.
    writer = PdfWriter()
    for text in ("Page A", "Page B"):
        writer.append(io.BytesIO(pdf_showing(text, scan(90))))
    read = read_document("pdf", written(writer.write), 1_000_000, 10, 5)
    assert read["pages"] == ["Page A", "Picture on page 1:", "Page B"] and len(read["images"]) == 1, read["pages"]


def test_a_pdfs_drawings_are_not_read_operation_by_operation_with_vision_on_unless_a_page_may_show_a_photo(
    monkeypatch,
):
    # With vision on, every operation of a page and of the forms it draws was looked at to find the photos it shows,
    # where with vision off pypdf leaves drawings without text unparsed: a page of text drawing a form of 100,000
    # lines (a map, a chart; 2 KB compressed) took 0.016 s of CPU with vision off, 3.8 s with vision on, and a few
    # such pages passed the reader's 10 s (a 400). A page whose XObjects hold no picture of a photo's size is now read
    # as with vision off: no operation is looked at. (Counted, not timed.)
    from memories import document_reader

    looked = []
    see = document_reader._Drawn.see
    monkeypatch.setattr(document_reader._Drawn, "see", lambda self, *args: looked.append(args[0]) or see(self, *args))
    assert read_document("pdf", pdf_drawing("The map", 1_000), 1_000_000, 10, 5) == {"pages": ["The map"]}
    assert looked == []
    read = read_document("pdf", pdf_showing("The flat", scan(90)), 1_000_000, 10, 5)
    assert read["pages"] == ["The flat", "Picture on page 1:"] and b"Do" in looked


def test_a_word_documents_damaged_picture_is_left_out_and_its_text_and_other_pictures_read():
    # A picture whose bytes are damaged in its archive (its CRC no longer matches) made the whole document unreadable.
    flat = docx.Document()
    flat.add_paragraph("The flat:")
    for shade in (90, 50):
        flat.add_picture(io.BytesIO(written(lambda out, shade=shade: scan(shade).save(out, "PNG"))), width=Inches(2))
    content = bytearray(written(flat.save))
    with zipfile.ZipFile(io.BytesIO(bytes(content))) as archive:
        pictures = [info for info in archive.infolist() if info.filename.startswith("word/media/")]
    first = min(pictures, key=lambda info: info.filename)  # image1.png, the first shown
    content[first.header_offset + 30 + len(first.filename) + len(first.extra) + 20] ^= 0xFF  # inside its data
    read = read_document("office", bytes(content), 1_000_000, 10, 5)
    assert read["pages"] == ["The flat:", "Picture 1:"] and len(read["images"]) == 1, read["pages"]


def test_a_documents_picture_of_more_pixels_than_read_is_logged_and_a_document_of_nothing_else_refused(
    api_client, embedder, vision, caplog
):
    # A picture of 13,000 x 13,000 pixels in a Word document was left out with nothing said: the add stored the rest;
    # a document of such pictures alone was "holds no text".
    caplog.set_level(logging.INFO, logger="mem0server")
    vision.describe = lambda url: "A floor plan"
    huge = base64.b64decode(grey_png(13_000, 13_000, zlib.compress(b"\0" * 100)).split(",", 1)[1])
    flat = docx.Document()
    flat.add_paragraph("The flat:")
    flat.add_picture(io.BytesIO(huge), width=Inches(2))
    flat.add_picture(io.BytesIO(written(lambda out: scan(90).save(out, "PNG"))), width=Inches(2))
    [passage] = stored(add(api_client, {"role": "user", "content": document("txt_url", b64(written(flat.save)))}))
    assert passage == "The flat:\n\nPicture 1:\n\nA floor plan"
    assert (
        "The document sent as txt_url: a picture left out, more than 52 megapixels: word/media/image1.png, 13,000 x "
        "13,000 pixels"
    ) in caplog.text
    scanned = docx.Document()
    scanned.add_picture(io.BytesIO(huge), width=Inches(2))
    refused = add(api_client, {"role": "user", "content": document("txt_url", b64(written(scanned.save)))})
    assert refused.status_code == 400
    assert refused.json()["detail"] == (
        "The document sent as txt_url holds no text, and its pictures hold more than the 52 megapixels read: "
        "word/media/image1.png, 13,000 x 13,000 pixels. Send smaller pictures."
    )
    assert len(vision.chat_calls("describe")) == 1


def test_a_pdfs_picture_of_more_pixels_than_read_is_logged_and_a_scanned_pdf_of_nothing_else_refused(
    api_client, embedder, vision, caplog
):
    # A PDF's picture was not held to the 52 megapixels a Word document's is: one whose dictionary claims 20,000 x
    # 20,000 pixels (a stream of a few bytes) was left out with nothing said, and a scanned page of it alone was "holds
    # no text"; one of 8,000 x 8,000 pixels (64 megapixels) was decoded whole (0.19 GB of the reader) and handed on.
    caplog.set_level(logging.INFO, logger="mem0server")
    vision.describe = lambda url: "A floor plan"
    content = pdf_claiming("The flat", 20_000, 20_000, photo=scan(90))
    [passage] = stored(add(api_client, {"role": "user", "content": document("pdf_url", b64(content))}))
    assert passage == "The flat\n\nPicture on page 1:\n\nA floor plan"
    assert (
        "The document sent as pdf_url: a picture left out, more than 52 megapixels: a picture on page 1, 20,000 x "
        "20,000 pixels"
    ) in caplog.text
    scanned = b64(pdf_claiming("", 8_000, 8_000))
    refused = add(api_client, {"role": "user", "content": document("pdf_url", scanned)})
    assert refused.status_code == 400
    assert refused.json()["detail"] == (
        "The document sent as pdf_url holds no text, and its pictures hold more than the 52 megapixels read: "
        "a picture on page 1, 8,000 x 8,000 pixels. Send smaller pictures."
    )
    assert len(vision.chat_calls("describe")) == 1


def test_a_pdfs_picture_whose_jpeg_2000_or_mask_holds_more_pixels_than_read_is_left_out_by_its_size_undecoded():
    # A JPEG 2000 (JPXDecode) is decoded by its own header, not the dictionary's /Width and /Height: one claiming 8,000
    # x 8,000 pixels in a dictionary of 200 x 200 took the reader 0.57 GB before it was dropped with nothing said, and a
    # scanned page of it alone was "holds no text"; a mask (/SMask) of 20,000 x 20,000 was dropped so too.
    grey = zlib.compress(b"\x80" * 200 * 200)
    mask = (
        b"<< /Type /XObject /Subtype /Image /Width 20000 /Height 20000 /ColorSpace /DeviceGray /BitsPerComponent 8 "
        b"/Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream" % (len(grey), grey)
    )
    for content, size in [
        (pdf_image("", b"/Filter /JPXDecode", jpeg_2000_claiming(8_000, 8_000)), "8,000 x 8,000"),
        (pdf_image("The flat", b"/Filter /JPXDecode", jpeg_2000_claiming(8_000, 8_000)), "8,000 x 8,000"),
        (pdf_image("The flat", b"/Filter /FlateDecode /SMask 5 0 R", grey, mask), "20,000 x 20,000"),
    ]:
        read = read_document("pdf", content, 1_000_000, 10, 5)
        assert read["left_out"] == [f"a picture on page 1, {size} pixels"], read


def test_a_scanned_pdf_pages_inline_images_of_more_pixels_than_read_are_left_out_undecoded(monkeypatch):
    # pypdf decodes every inline image of a page (BI … EI in its drawings) as soon as its images are listed: a page of
    # 3,000 inline images of 500 x 500 pixels (1 MB) took the reader 0.8 GB and 6.6 s of CPU, and 6,000 of them (2 MB)
    # filled its 1 GB: "could not be read as a PDF (MemoryError: )". Their size is read from the page's drawings first;
    # a page whose inline images hold more than 52 megapixels in all has them left out, not one decoded.
    from pypdf.generic import _image_xobject

    decoded = []
    to_image = _image_xobject._xobj_to_image
    monkeypatch.setattr(_image_xobject, "_xobj_to_image", lambda *args: decoded.append(1) or to_image(*args))
    read = read_document("pdf", pdf_of_inline_images(3_000, 500), 1_000_000, 10, 5)
    assert read == {"pages": [""], "left_out": ["3,000 pictures in page 1's drawings (inline), 750 megapixels in all"]}
    assert decoded == []
    read = read_document("pdf", pdf_of_inline_images(1, 8_000), 1_000_000, 10, 5)
    assert read == {"pages": [""], "left_out": ["a picture in page 1's drawings (inline), 8,000 x 8,000 pixels"]}
    assert decoded == []
    read = read_document("pdf", pdf_of_inline_images(2, 500), 1_000_000, 10, 5)  # a scan in strips, as some make it
    assert read["pages"] == [""] and len(read["scans"]) == 1 and len(decoded) == 2


def test_a_pdfs_copies_of_one_picture_are_not_each_decoded(monkeypatch):
    # Each copy of a picture a PDF keeps (as its own object) was decoded to be found the same as the first: a page of
    # text drawing 1,000 copies of a picture of 1,000 x 1,000 pixels (1.2 MB) took the reader 9.3 s of its 10 s of CPU
    # and its 1 GB of memory (pypdf keeps what it decoded). Now at most 20 are decoded for nothing.
    from pypdf.generic import _image_xobject

    decoded = []
    to_image = _image_xobject._xobj_to_image
    monkeypatch.setattr(_image_xobject, "_xobj_to_image", lambda *args: decoded.append(1) or to_image(*args))
    read = read_document("pdf", pdf_showing_copies("The flat", 200), 1_000_000, 10, 5)
    assert read["pages"] == ["The flat", "Picture on page 1:"] and len(read["images"]) == 1
    assert len(decoded) == 1 + 20  # the picture, then PHOTOS_WASTED copies


def test_a_scanned_pdf_pages_largest_image_alone_is_decoded(monkeypatch):
    # To find a scanned page's picture, each of its first 10 images was decoded and the largest kept: a page of 10
    # images of 7,000 x 7,000 pixels (0.5 MB) took the reader 4.3 s of its 10 s of CPU and 0.6 GB, and two such pages
    # were past the reader's bounds. The largest is now known by its size, undecoded, and it alone is decoded.
    from pypdf.generic import _image_xobject

    decoded = []
    to_image = _image_xobject._xobj_to_image
    monkeypatch.setattr(_image_xobject, "_xobj_to_image", lambda *args: decoded.append(1) or to_image(*args))
    read = read_document("pdf", pdf_showing_copies("", 10), 1_000_000, 10, 5)
    assert read["pages"] == [""] and len(read["scans"]) == 1
    assert len(decoded) == 1


def test_with_vision_on_an_emails_attached_scanned_pdfs_are_read_as_their_pages(api_client, embedder, vision, settings):
    # What a scanner's "scan to email" sends, a receipt scanned to a PDF: such an attachment holds no text, and it was
    # only named. Its scanned pages count toward MAX_IMAGES_PER_ADD: a PDF of more than the add has left stays named.
    settings.MAX_IMAGES_PER_ADD = 3
    vision.describe = lambda url: f"Page of shade {scan_shade(url)}"
    letter = EmailMessage()
    letter["From"], letter["Subject"] = "ada@example.com", "Signed"
    letter.set_content("The signed lease and the receipt.")
    for name, pdf in [
        ("lease.pdf", pdf_with("Lease between Ada and Charles", scan(40))),
        ("receipt.pdf", pdf_with(scan(120))),
        ("extra.pdf", pdf_with(scan(200), scan(220))),
    ]:
        letter.add_attachment(pdf, maintype="application", subtype="pdf", filename=name)
    email = file_part(letter.as_bytes(), "signed.eml")
    [passage] = stored(add(api_client, {"role": "user", "content": [email]}))
    assert passage == (
        "From: ada@example.com\nSubject: Signed\n\nThe signed lease and the receipt.\n\n"
        "Attachments: lease.pdf, receipt.pdf, extra.pdf\n\n"
        "Attachment lease.pdf:\n\nLease between Ada and Charles\n\n"
        "Attachment lease.pdf, page 2:\n\nPage of shade 40\n\n"
        "Attachment receipt.pdf:\n\nPage of shade 120"
    )
    assert len(vision.chat_calls("describe")) == 2
    # With vision off, the scanned pages are left out, as before.
    configure(api_client, llm=llm_section(vision, enable_vision=False))
    [text_only] = stored(add(api_client, {"role": "user", "content": [email]}, user_id="bob"))
    assert text_only.endswith(
        "Attachments: lease.pdf, receipt.pdf, extra.pdf\n\nAttachment lease.pdf:\n\nLease between Ada and Charles"
    )


OUTLOOK_VIEWING = (
    "From: Ada Lovelace <ada@example.com>\nTo: Charles Babbage <charles@example.com>\n"
    "Cc: Bob <bob@example.com>, Cy\nDate: Sun, 01 Mar 2026 14:30:00 +0000\n"
    "Subject: Flat viewing\n\nDear Charles,\nThe viewing is on Thursday at 10.\nAda\n\n"
    "Attachments: notes.txt, lease.pdf, Re: keys.msg\n\n"
    "Attachment notes.txt:\n\nBring the keys for the cellar.\n\n"
    "Attachment lease.pdf:\n\nRent 950 euros\n\n"
    "Attachment Re: keys.msg:\n\nSubject: Re: keys\n\nThe keys are at the front desk."
)


def outlook_viewing() -> bytes:
    return outlook_message(
        "Flat viewing",
        "Dear Charles,\r\nThe viewing is on Thursday at 10.\r\nAda",
        attachments=[
            ("notes.txt", "text/plain", b"Bring the keys for the cellar."),
            ("lease.pdf", "application/pdf", pdf_of("Rent 950 euros")),
        ],
        embedded=[("Re: keys", "The keys are at the front desk.")],
        # As Outlook keeps them: To, and Cc (one by an Exchange server's own address, shown by its name).
        recipients=[
            ("Charles Babbage", "charles@example.com", 1),
            ("Bob", "bob@example.com", 2 | 0x10000000),
            ("Cy", "/O=EXCHANGELABS/OU=EXCHANGE/CN=RECIPIENTS/CN=CY", 2),
        ],
    )


# An HTML message as Outlook keeps it in its Rich Text: its tags in \htmltag groups, what is RTF's alone in \htmlrtf.
RICH_TEXT_HTML = rb"""{\rtf1\ansi\ansicpg1252\fromhtml1 \deff0{\fonttbl{\f0\fswiss Arial;}}
{\colortbl\red0\green0\blue0;\red0\green0\blue255;}
\uc1\pard\plain\deftab360 \f0\fs24 {\*\htmltag19 <html>}{\*\htmltag34 <head>}
{\*\htmltag241 <style>}{\*\htmltag241 p \{margin:0\}}{\*\htmltag249 </style>}{\*\htmltag50 </head>}
{\*\htmltag114 <body>}\htmlrtf {\htmlrtf0
{\*\htmltag64 <p>}\htmlrtf {\htmlrtf0 The deposit is {\*\htmltag84 <b>}\htmlrtf {\b \htmlrtf0 1,900\htmlrtf }\htmlrtf0
{\*\htmltag92 </b>} euros.{\*\htmltag72 </p>}\htmlrtf \par }\htmlrtf0
{\*\htmltag64 <p>}\htmlrtf {\htmlrtf0 Jo\'e3o \u321?\'f3d\u378? has the keys{\*\htmltag148 &amp;}the deposit.
{\*\htmltag72 </p>}\htmlrtf \par }\htmlrtf0
{\*\htmltag58 </body>}{\*\htmltag27 </html>}}"""


# Fuzzed by test_any_damaged_older_office_file_is_read_or_refused.
OLDER_OFFICE_FILES = {
    "Outlook message": outlook_viewing(),
    "Word 97-2003 document": WORD_97_REVIEWED,
    "PowerPoint 97-2003 presentation": POWERPOINT_97_TRIP,
    "Outlook message of Rich Text": outlook_message("Deposit", "", rtf=compressed_rtf(RICH_TEXT_HTML)),
    "PowerPoint 97-2003 presentation of pictures": (Path(__file__).parent / "office" / "pictures.ppt").read_bytes(),
    "Word 97-2003 document of pictures": (Path(__file__).parent / "office" / "pictures.doc").read_bytes(),
}


def test_an_outlook_message_is_read_as_an_email_with_its_attachments_and_embedded_messages(api_client, embedder):
    # Outlook saves a message dragged out of it as a .msg: it was a 400 asking for it saved as .eml. Sent as a document,
    # as a file part, and attached to an email; one with only an HTML text is read as a web page's.
    viewing = outlook_viewing()
    letter = EmailMessage()
    letter["From"], letter["Subject"] = "charles@example.com", "Fwd: viewing"
    letter.set_content("See the message attached.")
    letter.add_attachment(viewing, maintype="application", subtype="vnd.ms-outlook", filename="viewing.msg")
    html = outlook_message("Deposit", "", html="<html><body><p>The deposit is <b>1,900</b> euros.</p></body></html>")
    parts = [
        document("txt_url", b64(viewing)),
        file_part(viewing, "viewing.msg"),
        file_part(letter.as_bytes(), "forwarded.eml"),
        file_part(html, "deposit.msg", "application/vnd.ms-outlook"),
    ]
    assert stored(add(api_client, {"role": "user", "content": parts})) == [
        OUTLOOK_VIEWING,
        OUTLOOK_VIEWING,
        "From: charles@example.com\nSubject: Fwd: viewing\n\nSee the message attached.\n\nAttachments: viewing.msg\n\n"
        f"Attachment viewing.msg:\n\n{OUTLOOK_VIEWING}",
        "From: Ada Lovelace <ada@example.com>\nTo: Charles Babbage <charles@example.com>\n"
        "Date: Sun, 01 Mar 2026 14:30:00 +0000\nSubject: Deposit\n\nThe deposit is 1,900 euros.",
    ]


def test_an_outlook_message_with_only_rich_text_is_read_with_its_text(api_client, embedder):
    # Outlook keeps a message's text as compressed Rich Text, an HTML message's HTML inside it; one with no plain text
    # beside it was read as its header alone. The first is [MS-OXRTFCP]'s own example of compressed Rich Text.
    example = bytes.fromhex(
        "2d 00 00 00 2b 00 00 00 4c 5a 46 75 f1 c5 c7 a7 03 00 0a 00 72 63 70 67 31 32 35 42 32 0a f3 20 68 65 6c 09 00"
        "20 62 77 05 b0 6c 64 7d 0a 80 0f a0"
    )
    header = "From: Ada Lovelace <ada@example.com>\nTo: Charles Babbage <charles@example.com>\n"
    header += "Date: Sun, 01 Mar 2026 14:30:00 +0000\n"
    parts = [
        file_part(outlook_message("Hello", "", rtf=example), "hello.msg"),
        file_part(outlook_message("Deposit", "", rtf=compressed_rtf(RICH_TEXT_HTML)), "deposit.msg"),
    ]
    assert stored(add(api_client, {"role": "user", "content": parts})) == [
        f"{header}Subject: Hello\n\nhello world",
        f"{header}Subject: Deposit\n\nThe deposit is 1,900 euros.\n\n"
        "Jo\u00e3o \u0141\u00f3d\u017a has the keys&the deposit.",
    ]


def test_an_events_repeat_rule_is_read_in_words_with_the_days_it_skips(api_client, embedder):
    # A team's calendar: its repeat rules were read as written or in part (the last weekday of the month was "on
    # Monday, Tuesday, …"), and the days an event skips (a holiday) were left out.
    events = [
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=10", "", "every 2 weeks on Monday, Wednesday, 10 times"),
        (
            "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20261231T235959Z",
            "",
            "monthly on the last Friday, until 2026-12-31 23:59:59 UTC",
        ),
        ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "", "monthly on the last weekday"),
        ("FREQ=MONTHLY;BYDAY=SA,SU;BYSETPOS=1", "", "monthly on the first Saturday or Sunday"),
        ("FREQ=YEARLY;BYMONTH=3;BYDAY=2SU", "", "yearly on the second Sunday, in March"),
        (
            "FREQ=WEEKLY;BYDAY=TU",
            "EXDATE;TZID=Europe/Lisbon:20260407T090000,20260414T090000\r\nEXDATE;VALUE=DATE:20261222\r\n",
            "weekly on Tuesday\nExcept: 2026-04-07 09:00 (Europe/Lisbon), 2026-04-14 09:00 (Europe/Lisbon), 2026-12-22",
        ),
    ]
    calendar = "BEGIN:VCALENDAR\r\n" + "".join(
        f"BEGIN:VEVENT\r\nSUMMARY:Meeting {n}\r\nRRULE:{rule}\r\n{skipped}END:VEVENT\r\n"
        for n, (rule, skipped, _) in enumerate(events)
    )
    calendar += "END:VCALENDAR\r\n"
    [read] = stored(add(api_client, {"role": "user", "content": [file_part(calendar, "team.ics")]}))
    assert read == "\n\n".join(f"Event: Meeting {n}\nRepeats: {said}" for n, (_, _, said) in enumerate(events))


def test_a_vcard_2_1_as_androids_contacts_export_it_is_read_with_its_names_and_types(api_client, embedder):
    # A name that is not ASCII in quoted-printable (a long value going on after a soft line break), and types as
    # parameters without a name (TEL;CELL): they were stored as written ("J=C3=BCrgen") and without their types.
    exported = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\n"
        "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen;;;\r\n"
        "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen M=C3=BCller\r\n"
        "TEL;CELL;PREF:+49 151 2345678\r\nEMAIL;HOME:juergen@example.de\r\n"
        "NOTE;ENCODING=QUOTED-PRINTABLE:Met at the caf=C3=A9 in Porto.=0D=0ALikes kay=\r\naks and long walks.\r\n"
        "ADR;WORK;CHARSET=ISO-8859-1;QUOTED-PRINTABLE:;;Stra=DFe 1;K=F6ln;;50667;Germany\r\n"
        "END:VCARD\r\n"
    )
    assert stored(add(api_client, {"role": "user", "content": [file_part(exported, "contacts.vcf")]})) == [
        "Name: Jürgen Müller\nPhone (cell): +49 151 2345678\nEmail (home): juergen@example.de\n"
        "Note: Met at the café in Porto.\nLikes kayaks and long walks.\nAddress (work): Straße 1, Köln, 50667, Germany"
    ]


def test_with_vision_on_an_outlook_messages_attached_picture_is_described(api_client, embedder, vision):
    vision.describe = lambda url: f"A door of shade {scan_shade(url)}"
    door = written(lambda out: scan(90).save(out, "PNG"))
    message = outlook_message("The flat", "Photo of the door.", attachments=[("door.png", "image/png", door)])
    [passage] = stored(add(api_client, {"role": "user", "content": [file_part(message, "flat.msg")]}))
    assert passage.endswith("Photo of the door.\n\nAttachments: door.png\n\nAttachment door.png:\n\nA door of shade 90")


def test_an_email_of_8_bit_text_in_another_character_set_than_utf_8_is_read_in_it(api_client, embedder):
    # As a mail program may save a message its server delivered so: its text's bytes as they are, in the character set
    # its part names. It was refused as not UTF-8 (a file part left out, a document part a 400).
    latin = (
        "From: charles@example.com\nSubject: Re: notes\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\nMerci, chère Ada.\n"
    ).encode("iso-8859-1")
    parts = [file_part(latin, "reply.eml"), document("txt_url", f"data:message/rfc822;base64,{b64(latin)}")]
    assert (
        stored(add(api_client, {"role": "user", "content": parts}))
        == ["From: charles@example.com\nSubject: Re: notes\n\nMerci, chère Ada."] * 2
    )
    # Bytes that are no email, in no character set, are refused as before, by their type too.
    garbage = document("txt_url", "data:message/rfc822;base64," + b64(b"\xff\xfe binary"))
    refused = add(api_client, {"role": "user", "content": garbage})
    assert refused.status_code == 400 and "is neither UTF-8 text" in str(refused.json()), refused.json()


def test_an_epub_book_is_read_as_its_title_authors_and_chapters_in_reading_order(api_client, embedder):
    # As a document part and as a file part by its name: its chapters as web pages are, in its spine's order (not
    # their names'), its styles left out. It was "a ZIP archive that is no Word document …", and left out as a file.
    book = epub_book()
    parts = [document("txt_url", b64(book)), file_part(book, "albatross.epub")]
    assert stored(add(api_client, {"role": "user", "content": parts})) == [EPUB_BOOK_TEXT] * 2


def test_a_rich_text_format_file_is_read_as_its_text(api_client, embedder):
    # TextEdit's and WordPad's files (.rtf), as a document part in base64 alone (known by how it starts), a file part
    # by its name and by its type, and WordPad's 8-bit one in its code page. Each was stored as its markup
    # ("{\\rtf1\\ansi\\ansicpg1252…"), or refused as not UTF-8, or left out as a file part.
    wordpad = b"{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0 Calibri;}}\\pard Caf\xe9 au lait\\par}"
    parts = [
        document("txt_url", b64(TEXTEDIT_NOTE)),
        file_part(TEXTEDIT_NOTE, "lease.rtf"),
        file_part(TEXTEDIT_NOTE, "lease", "application/rtf"),
        document("txt_url", b64(wordpad)),
    ]
    assert stored(add(api_client, {"role": "user", "content": parts})) == [TEXTEDIT_NOTE_TEXT] * 3 + ["Café au lait"]


def test_an_invitation_is_read_as_its_events_and_a_contacts_file_as_its_contacts(api_client, embedder):
    # An iCalendar file (.ics) and a vCard file (.vcf) as file parts, as data URLs of their types, and an invitation
    # attached to an email. As text they were their lines as written (folded, escaped, "DTSTART;TZID=…:20260305T1000").
    invite = EmailMessage()
    invite["From"], invite["Subject"] = "ada@example.com", "Invitation: Flat viewing"
    invite.set_content("You are invited.")
    invite.add_alternative(INVITATION, subtype="calendar", params={"method": "REQUEST"})  # as Google's: read once
    invite.add_attachment(INVITATION.encode(), maintype="text", subtype="calendar", filename="invite.ics")
    outlook = EmailMessage()  # as Outlook sends one: the calendar an alternative to the text, no attachment
    outlook["From"], outlook["Subject"] = "ada@example.com", "Flat viewing"
    outlook.set_content("Flat viewing with the landlord.")
    outlook.add_alternative("<p>Flat viewing with the landlord.</p>", subtype="html")
    outlook.add_alternative(INVITATION, subtype="calendar", params={"method": "REQUEST"})
    parts = [
        file_part(INVITATION, "invite.ics", "text/calendar"),
        document("txt_url", f"data:text/vcard;base64,{b64(CONTACTS)}"),
        file_part(CONTACTS, "contacts.vcf"),
        file_part(invite.as_bytes(), "invite.eml"),
        file_part(outlook.as_bytes(), "outlook.eml"),
    ]
    passages = stored(add(api_client, {"role": "user", "content": parts}))
    email = "From: ada@example.com\nSubject: Invitation: Flat viewing\n\nYou are invited.\n\nAttachments: invite.ics"
    assert passages == [
        INVITATION_TEXT,
        CONTACTS_TEXT,
        CONTACTS_TEXT,
        f"{email}\n\nAttachment invite.ics:\n\n{INVITATION_TEXT}",
        "From: ada@example.com\nSubject: Flat viewing\n\nFlat viewing with the landlord.\n\n"
        f"Invitation:\n\n{INVITATION_TEXT}",
    ]
    assert "When: 2026-03-05 10:00 – 11:00 (Europe/Lisbon)" in search(api_client, "When is the flat viewing?")[0]
    assert "Birthday: 1815-12-10" in search(api_client, "When is Ada Lovelace's birthday?")[0]


def test_an_emails_attached_documents_are_read_after_it_each_under_its_name(api_client, embedder, settings):
    # A flat's papers forwarded by email: its lease (Word), a CSV of payments, the landlord's email (with a text file
    # of its own attached) and a photo. They were only named; the photo still is.
    keys = EmailMessage()
    keys["From"], keys["Subject"] = "landlord@example.com", "Keys"
    keys.set_content("The spare key is with the neighbour at number 12.")
    keys.add_attachment("Gate code: 4471", filename="codes.txt")
    letter = EmailMessage()
    letter["From"], letter["Subject"] = "ada@example.com", "Fwd: the flat"
    letter.set_content("Everything about the flat.")
    word = "vnd.openxmlformats-officedocument.wordprocessingml.document"
    letter.add_attachment(word_lease(), maintype="application", subtype=word, filename="lease.docx")
    letter.add_attachment("Month,Paid\nMarch,950\n", subtype="csv", filename="payments.csv")
    letter.add_attachment(keys, filename="keys.eml")
    photo = written(lambda out: scan(90).save(out, "PNG"))
    letter.add_attachment(photo, maintype="image", subtype="png", filename="door.png")
    passages = stored(add(api_client, {"role": "user", "content": [file_part(letter.as_bytes(), "flat.eml")]}))
    assert "\n\n".join(passages) == (
        "From: ada@example.com\nSubject: Fwd: the flat\n\nEverything about the flat.\n\n"
        "Attachments: lease.docx, payments.csv, keys.eml, door.png\n\n"
        f"Attachment lease.docx:\n\n{WORD_LEASE_TEXT}\n\n"
        "Attachment payments.csv:\n\nMonth | Paid\nMarch | 950\n\n"
        "Attachment keys.eml:\n\nFrom: landlord@example.com\nSubject: Keys\n\n"
        "The spare key is with the neighbour at number 12.\n\nAttachments: codes.txt\n\n"
        "Attachment codes.txt:\n\nGate code: 4471"
    )
    assert "Gate code: 4471" in search(api_client, "What is the gate code?")[0]

    # An attachment longer than what the add has left is said to be left out; the email is stored.
    settings.MAX_ADD_CHARS = 300
    long = EmailMessage()
    long["Subject"] = "Minutes"
    long.set_content("The minutes are attached.")
    long.add_attachment("The meeting began at noon. " * 20, filename="minutes.txt")
    [passage] = stored(add(api_client, {"role": "user", "content": [file_part(long.as_bytes(), "minutes.eml")]}))
    assert re.fullmatch(
        r"Subject: Minutes\n\nThe minutes are attached\.\n\nAttachments: minutes\.txt\n\n"
        r"Attachment minutes\.txt: not read, longer than the \d+ characters the add has left\.",
        passage,
    ), passage


def test_a_workbook_in_offices_strict_form_with_cells_not_naming_their_place_is_read(api_client, embedder):
    # Office's "strict" form names its parts in other namespaces; a cell may leave out its reference ("A1"): it is the
    # one after the cell before it, an empty one too.
    workbook = {
        "xl/workbook.xml": b'<workbook xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main" xmlns:r="http://purl.'
        b'oclc.org/ooxml/officeDocument/relationships"><sheets><sheet name="A" r:id="s1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'relationships"><Relationship Id="s1" Target="/xl/worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": b'<worksheet xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"><sheetData>'
        b'<row><c t="inlineStr"><is><t>far</t></is></c><c/><c t="inlineStr"><is><t>away</t></is></c></row>'
        b'<row><c t="b"><v>1</v></c></row></sheetData></worksheet>',
    }
    added = add(api_client, {"role": "user", "content": document("txt_url", b64(zip_of(workbook)))})
    assert stored(added) == ["far | | away\nTRUE"], added.json()


def test_a_zip_archive_that_is_no_word_document_or_a_damaged_one_is_refused_saying_so(api_client, embedder, settings):
    lease = word_lease()
    # 210 MB of spaces in its text, packed into 200 KB: not unpacked.
    spaces = zip_of({"word/document.xml": b" " * (210 * 2**20)})
    for content, says in [
        (
            zip_of({"notes.txt": b"Hello"}),
            "OpenDocument file (a ZIP archive that is no Word document, PowerPoint presentation, Excel workbook, "
            "OpenDocument text, presentation or spreadsheet, or EPUB book)",
        ),
        (lease[: len(lease) // 2], "is damaged, or is not a Word document (.docx): the list of its parts, at its end"),
        (spaces, "(its text (word/document.xml) unpacks to 210 MB, more than the 200 MB read)"),
    ]:
        refused = add(api_client, {"role": "user", "content": document("txt_url", b64(content))})
        assert refused.status_code == 400 and says in refused.json()["detail"], refused.json()
    refused = add(api_client, {"role": "user", "content": document("pdf_url", b64(lease))})
    assert refused.status_code == 400 and "is not a PDF" in refused.json()["detail"]
    settings.MAX_ADD_CHARS = 100
    refused = add(api_client, {"role": "user", "content": document("txt_url", b64(lease))})
    assert refused.status_code == 400 and "MAX_ADD_CHARS" in refused.json()["detail"]
    assert Memory.objects.count() == 0


def rezipped(archive: bytes, part: str, content: bytes) -> bytes:
    """An Office file's ZIP archive with one part's content replaced."""
    written = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as source, zipfile.ZipFile(written, "w", zipfile.ZIP_DEFLATED) as copy:
        for name in source.namelist():
            copy.writestr(name, content if name == part else source.read(name))
    return written.getvalue()


def changed_in_archive(archive: bytes, part: str) -> bytes:
    """An Office file's ZIP archive with a byte of a part's compressed content changed (a bad disk, a bad copy)."""
    with zipfile.ZipFile(io.BytesIO(archive)) as source:
        info = source.getinfo(part)
    damaged = bytearray(archive)
    damaged[info.header_offset + 30 + len(info.filename) + len(info.extra) + 5] ^= 0xFF
    return bytes(damaged)


def bad_sector_size(compound: bytes) -> bytes:
    """An older Office file whose header names sectors of 2^65535 bytes (a compound file's are 512 or 4,096)."""
    return compound[:30] + b"\xff\xff" + compound[32:]


# A Word document's text cut short: its second line's 83 characters end before its elements do (column 84).
CUT_WORD_XML = (
    b'<?xml version="1.0"?>\n<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
)


def renamed(compound: bytes, stream: str, name: str) -> bytes:
    """An older Office file whose directory names a stream otherwise (a name of as many characters)."""
    return compound.replace(stream.encode("utf-16-le"), name.encode("utf-16-le"), 1)


FIX_IT = (
    ". Send the whole file, or open it in the program that made it (which may repair it) and save it again, or as a "
    "PDF."
)


@pytest.mark.parametrize(
    ("damage", "says", "logged"),
    [
        (
            lambda: word_lease()[: len(word_lease()) // 2],
            "is damaged, or is not a Word document (.docx): the list of its parts, at its end, is missing or damaged: "
            "it is cut short, or not a whole file",
            True,
        ),
        (
            lambda: rezipped(word_lease(), "word/document.xml", CUT_WORD_XML),
            "is damaged, or is not a Word document (.docx): its part word/document.xml is not well-formed XML (line 2, "
            "column 84): cut short or changed",
            True,
        ),
        (
            lambda: changed_in_archive(presentation_trip(), "ppt/slides/slide1.xml"),
            "is damaged, or is not a PowerPoint presentation (.pptx): its part ppt/slides/slide1.xml cannot be "
            "unpacked: its bytes were cut short or changed",
            True,
        ),
        (
            lambda: bad_sector_size((SAVED_BY_LIBREOFFICE / "lease.doc").read_bytes()),
            "is damaged, or is not a Word 97-2003 document (.doc): its header or its directory of streams is damaged, "
            "or it is cut short",
            True,
        ),
        (
            lambda: bad_sector_size((SAVED_BY_LIBREOFFICE / "budget.xls").read_bytes()),
            "is damaged, or is not an Excel 97-2003 workbook (.xls): its header or its directory of streams is "
            "damaged, or it is cut short",
            True,
        ),
        (
            lambda: renamed((SAVED_BY_LIBREOFFICE / "lease.doc").read_bytes(), "1Table", "9Table"),
            # It was "could not be read as a Word, PowerPoint, Excel or OpenDocument file (its table stream (1Table)
            # is missing)".
            "is damaged, or is not a Word 97-2003 document (.doc): its 1Table stream, which says where its text lies, "
            "is missing",
            False,
        ),
        (
            lambda: renamed((SAVED_BY_LIBREOFFICE / "trip.ppt").read_bytes(), "Current User", "Current Usex"),
            "is damaged, or is not a PowerPoint 97-2003 presentation (.ppt): its Current User stream, naming its "
            "slides, is missing",
            False,
        ),
    ],
    ids=[
        "docx cut short",
        "docx of broken XML",
        "pptx changed",
        "doc of a bad header",
        "xls of a bad header",
        "doc without its table stream",
        "ppt without its Current User stream",
    ],
)
def test_a_damaged_office_file_is_refused_saying_which_part_and_what_to_do(
    api_client, embedder, caplog, damage, says, logged
):
    # These were 400s in the libraries' words: "(BadZipFile: File is not a zip file)", "(ParseError: unclosed token:
    # …)", "(error: Error -3 while decompressing data: invalid code lengths set)", "(ValueError: Exceeds the limit
    # (4300 digits) for integer string conversion; use sys.set_int_max_str_digits() to increase the limit)".
    caplog.set_level(logging.INFO, logger="mem0server")
    refused = add(api_client, {"role": "user", "content": document("txt_url", b64(damage()))})
    assert refused.status_code == 400
    assert refused.json()["detail"] == f"The document sent as txt_url {says}{FIX_IT}"
    # The library's words, for the operator (none where the reader's own found what is wrong).
    assert ("The document sent as txt_url is damaged: " in caplog.text) == logged
    assert Memory.objects.count() == 0


def sector_looped(compound: bytes, stream: str) -> bytes:
    """An older Office file whose table of sectors (FAT) has the first sector of a stream point to itself."""
    with olefile.OleFileIO(io.BytesIO(compound)) as ole:
        entry = next(entry for entry in ole.direntries if entry is not None and entry.name == stream)
        assert entry.size >= ole.minisectorcutoff  # in the FAT, not the mini FAT
    first = entry.isectStart
    fat_sector = struct.unpack_from("<I", compound, 0x4C + 4 * (first // 128))[0]  # where that part of the FAT lies
    at = (fat_sector + 1) * 512 + first % 128 * 4
    return compound[:at] + struct.pack("<I", first) + compound[at + 4 :]


@pytest.mark.parametrize(("file", "stream"), [("lease.doc", "WordDocument"), ("trip.ppt", "PowerPoint Document")])
def test_an_older_office_file_whose_sectors_loop_is_refused_not_stored_as_garbage(api_client, embedder, file, stream):
    # Its stream was read as its first sector over and over: the .doc was stored as 3,000 characters of garbage
    # ("ꗬā⁍Љ\x00ደ¿…") taken for its text.
    looped = sector_looped((SAVED_BY_LIBREOFFICE / file).read_bytes(), stream)
    refused = add(api_client, {"role": "user", "content": document("txt_url", b64(looped))})
    assert refused.status_code == 400, refused.json()
    what = "a Word 97-2003 document (.doc)" if file == "lease.doc" else "a PowerPoint 97-2003 presentation (.ppt)"
    assert refused.json()["detail"] == (
        f"The document sent as txt_url is damaged, or is not {what}: its table of sectors is damaged: its {stream} "
        f"stream runs into sectors already read{FIX_IT}"
    )
    assert Memory.objects.count() == 0


def emails_within(depth: int) -> bytes:
    """An email carrying an email as an attachment, which carries another, `depth` emails deep."""
    email = b"From: ada@example.com\r\nSubject: The last\r\nContent-Type: text/plain\r\n\r\nThe bottom.\r\n"
    for level in range(depth):
        boundary = b"level-%d" % level
        email = (
            b"From: ada@example.com\r\nDate: Sun, 1 Mar 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            b"Subject: Level %d\r\nContent-Type: multipart/mixed; boundary=%s\r\n\r\n--%s\r\n"
            b"Content-Type: text/plain\r\n\r\nSee the attached.\r\n--%s\r\nContent-Type: message/rfc822\r\n"
            b"Content-Disposition: attachment; filename=level-%d.eml\r\n\r\n%s\r\n--%s--\r\n"
        ) % (level, boundary, boundary, boundary, level, email, boundary)
    return email


def test_a_document_nested_or_unpacking_past_what_is_read_is_a_400_naming_the_limit(api_client, embedder):
    # An email of 500 emails each attached to the one before (137 KB): Python's recursion ran out in the email
    # package, a 400 saying "RecursionError: maximum recursion depth exceeded" (as did an .xls whose directory holds
    # itself). A PDF page that unpacks to 82 MB (80 KB): pypdf stops at 75 MB, a 400 saying
    # "LimitReachedError: Limit reached while decompressing".
    for content, says in [
        (
            emails_within(500),
            "The document sent as txt_url nests its parts (attachments, objects, storages) inside one another deeper "
            "than the reader follows (a few hundred levels: Python's limit of 1,000 calls inside one another): send "
            "its parts apart.",
        ),
        (
            pdf_busy(2_500_000),
            "The document sent as txt_url holds more than a PDF is read (LimitReachedError: Limit reached while "
            "decompressing",
        ),
    ]:
        refused = add(api_client, {"role": "user", "content": document("txt_url", b64(content))})
        assert refused.status_code == 400 and refused.json()["detail"].startswith(says), refused.json()
    assert (
        "a stream unpacks to at most 75 MB, an array or a dictionary holds at most 100,000 items): send it in "
        in (refused.json()["detail"])
    )
    assert stored(add(api_client, {"role": "user", "content": document("txt_url", b64(emails_within(3)))}))
    assert Memory.objects.count() == 1


@pytest.fixture
def document_host():
    files = {
        "/notes.txt": (200, "text/plain; charset=utf-8", b"Bought a kayak in May"),
        "/lease.pdf": (200, "application/pdf", pdf_of("The lease ends in June 2027")),
        "/photo.jpg": (200, "image/jpeg", b"\xff\xd8\xff\xe0 not text"),
        "/moved.pdf": (302, "application/pdf", b""),
        "/big.txt": (200, "text/plain", b"x" * 100),
        "/busy.txt": (503, "text/plain", b"try later"),
        "/kayak.html": (200, "text/html; charset=utf-8", WEB_PAGE),
        "/cafe.txt": (200, "text/plain; charset=ISO-8859-1", "Café in São Paulo".encode("latin-1")),
        "/odd.txt": (200, "text/plain; charset=klingon", b"Qapla\xff"),
        # UTF-8 text its host says is ISO-8859-1 (a default some hosts send for any text): read as what it is.
        "/menu.txt": (200, "text/plain; charset=ISO-8859-1", "Crème brûlée".encode()),
        "/menu-1252.html": (200, "text/html", page_in("cp1252", '<meta charset="windows-1252">', "“Crème” – 4 €")),
        "/quotes.txt": (200, "text/plain; charset=ISO-8859-1", "“Quoted” – text".encode("cp1252")),
        "/lease.docx": (200, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", word_lease()),
    }
    with FileHost(files) as url:
        yield url


def test_a_document_on_a_host_the_operator_named_is_fetched_and_other_hosts_are_refused(
    api_client, embedder, document_host, settings, monkeypatch
):
    refused = add(api_client, {"role": "user", "content": document("txt_url", f"{document_host}/notes.txt")})
    assert refused.status_code == 400
    assert "is on 127.0.0.1, a host this server does not fetch from" in refused.json()["detail"]
    assert "FETCH_HOSTS" in refused.json()["detail"]

    settings.FETCH_HOSTS = ["127.0.0.1"]
    fetched = [document("txt_url", f"{document_host}/notes.txt"), document("pdf_url", f"{document_host}/lease.pdf")]
    fetched.append(document("txt_url", f"{document_host}/cafe.txt"))  # in the character set its host names
    fetched.append(document("txt_url", f"{document_host}/menu.txt"))
    assert stored(add(api_client, {"role": "user", "content": fetched})) == [
        "Bought a kayak in May",
        "The lease ends in June 2027",
        "Café in São Paulo",
        "Crème brûlée",
    ]
    monkeypatch.setattr("memories.documents.FETCHED_DOCUMENT_MAX_BYTES", 50)
    for path, kind, says in [
        ("/photo.jpg", "txt_url", "is neither UTF-8 text, a PDF nor a Word, PowerPoint, Excel or OpenDocument file"),
        ("/notes.txt", "pdf_url", "is not a PDF"),
        ("/gone.txt", "txt_url", "its host answered 404, not a document"),
        ("/moved.pdf", "pdf_url", "its host answered 302, not a document"),  # never followed
        ("/big.txt", "txt_url", "is larger than 50 bytes"),
        ("/odd.txt", "txt_url", "is text in klingon, its host says: a character set this server does not know."),
    ]:
        refused = add(api_client, {"role": "user", "content": document(kind, document_host + path)})
        assert refused.status_code == 400 and says in refused.json()["detail"], (path, refused.json())
        assert document_host + path in refused.json()["detail"]
    # The host's own trouble is the server's to report (a 502: a queued add is tried again), not the caller's.
    busy = add(api_client, {"role": "user", "content": document("txt_url", f"{document_host}/busy.txt")})
    assert busy.status_code == 502 and "its host answered 503" in busy.json()["detail"], busy.json()
    assert Memory.objects.count() == 4


def test_with_any_host_allowed_a_document_is_fetched_from_public_addresses_only(
    api_client, embedder, document_host, settings, monkeypatch
):
    # FETCH_HOSTS=*: Mem0's docs send documents by their public URLs. This host is on loopback, so refused...
    settings.FETCH_HOSTS = ["*"]
    notes = document("txt_url", f"{document_host}/notes.txt")
    refused = add(api_client, {"role": "user", "content": notes})
    assert refused.status_code == 400, refused.json()
    says = "is not fetched: its host '127.0.0.1' resolves to 127.0.0.1, a loopback address; with FETCH_HOSTS=* only"
    assert says in refused.json()["detail"]
    # ...until its address counts as public: then it is fetched at the address checked.
    monkeypatch.setattr("webhooks.targets.address_refusal", lambda address: None)
    assert stored(add(api_client, {"role": "user", "content": notes})) == ["Bought a kayak in May"]
    # A #fragment (a PDF viewer's "#page=2") is the reader's, never sent to the host: fetched as without it.
    lease = document("pdf_url", f"{document_host}/lease.pdf#page=1")
    assert stored(add(api_client, {"role": "user", "content": lease})) == ["The lease ends in June 2027"]


def test_with_any_host_allowed_a_host_trickling_a_document_is_cut_off_at_fetch_timeout(
    api_client, embedder, settings, monkeypatch
):
    # FETCH_TIMEOUT bounded each read only: a public host sending its document a byte at a time, each within the
    # timeout, held the add's worker thread for as long as it liked (20 MiB at 9 s a byte: years).
    from webhooks.tests.test_delivery import Trickler

    settings.FETCH_HOSTS = ["*"]
    settings.FETCH_TIMEOUT = 0.5
    monkeypatch.setattr("webhooks.targets.address_refusal", lambda address: None)  # loopback taken for public
    trickler = Trickler(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 80\r\n\r\n")
    answer = add(api_client, {"role": "user", "content": document("txt_url", f"{trickler.url}notes.txt")})
    assert trickler.join() < 20  # the fetch ended within its 0.5 s, not after the host's 80 bytes (8 s)
    assert answer.status_code == 504, answer.json()
    assert "did not arrive within 0.5 s (FETCH_TIMEOUT)" in answer.json()["detail"]
    assert not Memory.objects.exists()


def test_a_document_that_cannot_be_read_is_a_400_saying_why_and_nothing_is_stored(api_client, embedder, settings):
    hello = {"role": "user", "content": "Hello"}
    for part, says in [
        (document("txt_url", "not base64 at all!"), "must be the document's content in base64, a data: URL"),
        (document("txt_url", b64(b"\xff\xfe\x00broken")), "Part 0: a document (txt_url.url) is neither UTF-8 text"),
        (document("pdf_url", b64("Just some text")), "is not a PDF: it does not start as one"),
        (document("pdf_url", "data:application/pdf"), "is a data: URL without a comma"),
        (document("mdx_url", "ftp://example.com/notes.md"), "must be the document's content in base64"),
        (document("pdf_url", "http://[broken/lease.pdf"), "is an http(s) URL naming no host that can be read."),
        ({"type": "txt_url", "txt_url": {"url": 42}}, "Part 0: a document (txt_url.url) must be a string, or bytes"),
        (
            document("pdf_url", b64(b"%PDF-1.4\n garbage, no objects")),
            # It quoted pypdf: "could not be read as a PDF (PdfStreamError: Stream has ended unexpectedly)".
            "is damaged, or is not a PDF: it ends before its objects do, or its end, which says where they lie, is "
            "missing: it is cut short. Send the whole file, or open it in the program that made it (which may repair "
            "it) and save it again.",
        ),
        (
            # It was "(PdfReadError: startxref not found)".
            document("pdf_url", b64(pdf_of("The lease").replace(b"startxref", b"startref"))),
            "is damaged, or is not a PDF: it ends before its objects do",
        ),
        (document("pdf_url", b64(pdf_of("", ""))), "holds no text (a scanned PDF's pages are pictures of text:"),
        (document("txt_url", b64("   \n")), "holds no text."),
    ]:
        refused = add(api_client, hello, {"role": "user", "content": part})
        assert refused.status_code == 400, (part, refused.json())
        assert says in refused.json()["detail"], (part, refused.json())
    settings.MAX_DOCUMENTS_PER_ADD = 1
    two = [document("txt_url", b64("One")), document("txt_url", b64("Two"))]
    refused = add(api_client, {"role": "user", "content": two})
    assert refused.status_code == 400 and "MAX_DOCUMENTS_PER_ADD" in refused.json()["detail"]
    settings.MAX_ADD_CHARS = 100
    for kind, content in [("txt_url", "word " * 30), ("pdf_url", pdf_of(*["word " * 10] * 3))]:
        refused = add(api_client, hello, {"role": "user", "content": document(kind, b64(content))})
        assert refused.status_code == 400 and "MAX_ADD_CHARS" in refused.json()["detail"], refused.json()
    assert Memory.objects.count() == 0


def test_what_the_database_cannot_hold_is_left_out_of_a_documents_text(api_client, embedder):
    # A NUL in a text file or a page (PostgreSQL's text cannot hold one): it was a 400 naming no document.
    parts = [
        document("txt_url", b64(b"Bought a kayak\x00 in May")),
        document("txt_url", b64(b"<html><p>A red\x00 canoe")),
    ]
    assert stored(add(api_client, {"role": "user", "content": parts})) == ["Bought a kayak in May", "A red canoe"]


def test_a_locked_pdf_and_one_with_too_many_pages_are_refused_saying_so(api_client, embedder, monkeypatch):
    writer = PdfWriter(clone_from=io.BytesIO(pdf_of("The safe's code is 1234")))
    writer.encrypt(user_password="secret", algorithm="AES-128")
    locked = io.BytesIO()
    writer.write(locked)
    refused = add(api_client, {"role": "user", "content": document("pdf_url", b64(locked.getvalue()))})
    assert refused.status_code == 400 and "is locked by a password: send it unlocked." in refused.json()["detail"]
    monkeypatch.setattr("memories.documents.PDF_MAX_PAGES", 2)
    refused = add(api_client, {"role": "user", "content": document("pdf_url", b64(pdf_of("One", "Two", "Three")))})
    assert refused.status_code == 400 and "has 3 pages; at most 2 are read" in refused.json()["detail"]
    assert stored(add(api_client, {"role": "user", "content": document("pdf_url", b64(pdf_of("One", "Two")))})) == [
        "One\n\nTwo"
    ]


def test_with_vision_on_a_pdfs_scanned_pages_are_read_by_the_llm(api_client, embedder, vision):
    # A PDF of a typed page and three scans: grey (a JPEG), black and white, colour at 300 dpi.
    said = {40: "Lease of the flat on Rua Augusta", 250: "The rent is 950 euros a month", 120: "Signed by Ana"}
    vision.describe = lambda url: said[scan_shade(url)]  # the stand-in model "reads" a page by its shade
    lease = pdf_with("Page one is typed", scan(40), scan(250, "1"), scan(120, "RGB", dpi=300))
    text = "Page one is typed\n\nLease of the flat on Rua Augusta\n\nThe rent is 950 euros a month\n\nSigned by Ana"
    assert stored(add(api_client, {"role": "user", "content": document("pdf_url", b64(lease))})) == [text]
    # Each scanned page was handed to the model as a picture, with the detail configured, and asked for its text.
    calls = vision.chat_calls("describe")
    assert len(calls) == 3
    for call in calls:
        ask, picture = call.body["messages"][0]["content"]
        assert "scanned page of a document" in ask["text"] and picture["image_url"]["detail"] == "high"
        sent = Image.open(io.BytesIO(base64.b64decode(picture["image_url"]["url"].split(",", 1)[1])))
        assert sent.format == "JPEG" and max(sent.size) <= 2048  # the 300 dpi scan (2550 x 3300) made smaller
    assert search(api_client, "How much is the rent?")[0] == text
    # Sent again (a framework re-sends its context): its pages are not read again.
    add(api_client, {"role": "user", "content": document("pdf_url", b64(lease))}, user_id="bob")
    assert len(vision.chat_calls("describe")) == 3


def test_a_pdfs_scanned_pages_past_the_images_an_add_takes_or_with_vision_off_are_refused_saying_so(
    api_client, embedder, vision, settings
):
    settings.MAX_IMAGES_PER_ADD = 3
    scans = document("pdf_url", b64(pdf_with(scan(40), scan(120), scan(200))))
    photo = {"type": "image_url", "image_url": {"url": "https://example.com/photos/kayak.jpg"}}
    refused = add(api_client, {"role": "user", "content": [photo, scans]})
    assert refused.status_code == 400, refused.json()
    assert (
        "has 3 scanned pages (pictures of text); at most 2 are read in this add, one LLM call each "
        "(MAX_IMAGES_PER_ADD, less the add's images): send it in parts." in refused.json()["detail"]
    )
    assert Memory.objects.count() == 0
    vision.describe = lambda url: f"Page of shade {scan_shade(url)}" if url.startswith("data:") else "A kayak"
    assert stored(add(api_client, {"role": "user", "content": scans})) == [
        "Page of shade 40\n\nPage of shade 120\n\nPage of shade 200"
    ]
    configure(api_client, llm=llm_section(vision, enable_vision=False))
    refused = add(api_client, {"role": "user", "content": document("pdf_url", b64(pdf_with(scan(90))))})
    assert refused.status_code == 400
    assert (
        "holds no text (a scanned PDF's pages are pictures of text: with vision on, enable_vision or LLM_VISION, its "
        in (refused.json()["detail"])
    )


def test_a_document_sent_again_is_not_read_again_and_its_scanned_pages_cost_no_llm_call(
    api_client, member_client, vision, settings, monkeypatch, tmp_path
):
    # A framework re-sends its context, files included, with each turn. Each was read again: a process started, a
    # scanned page made a picture again (0.1 s of CPU each), its pages counted against the add's images.
    settings.MAX_IMAGES_PER_ADD = 2
    vision.describe = lambda url: f"Page of shade {scan_shade(url)}" if url.startswith("data:") else "A kayak"
    scans = document("pdf_url", b64(pdf_with(scan(40), scan(120))))
    lease = document("txt_url", b64(word_lease()))
    assert stored(add(api_client, {"role": "user", "content": [scans, lease]})) == [
        "Page of shade 40\n\nPage of shade 120",
        WORD_LEASE_TEXT,
    ]
    # From now on the reader crashes on whatever it is given: what was read is not read again.
    crash = tmp_path / "reader.py"
    crash.write_text("import os, signal, sys\nsys.stdin.buffer.read()\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    monkeypatch.setattr("memories.reading.READER", crash)
    photo = {"type": "image_url", "image_url": {"url": "https://example.com/photos/kayak.jpg"}}
    # With a photo: the scans' pages were "2 scanned pages (pictures of text); at most 1 are read in this add".
    again = add(api_client, {"role": "user", "content": [photo, scans, lease]}, user_id="bob")
    assert stored(again) == ["A kayak", "Page of shade 40\n\nPage of shade 120", WORD_LEASE_TEXT]
    assert len(vision.chat_calls("describe")) == 3  # the two pages once, the photo
    # A document changed, or another account's add of the same one, is read.
    changed = document("txt_url", b64(word_lease() + b"\0"))
    for client, part in ((api_client, changed), (member_client, lease)):
        refused = add(client, {"role": "user", "content": [part]})
        assert refused.status_code == 400 and "(the reader ended with SIGSEGV)" in refused.json()["detail"], refused
    # Kept DOCUMENT_TEXTS_KEPT_DAYS: the hourly prune drops older ones, and such a document is read again.
    DocumentText.objects.update(created_at=timezone.now() - timedelta(days=DOCUMENT_TEXTS_KEPT_DAYS, minutes=1))
    prune_document_texts(timestamp=0)
    refused = add(api_client, {"role": "user", "content": [lease]})
    assert refused.status_code == 400 and "(the reader ended with SIGSEGV)" in refused.json()["detail"], refused


@pytest.mark.django_db(transaction=True)  # they go once the deletion commits
def test_a_deleted_users_kept_document_texts_and_image_descriptions_go_with_their_last_memory(
    member_client, vision, monkeypatch, tmp_path
):
    # What was read of a user's lease and photos stayed kept for 7 days after the user was deleted (delete_users,
    # DELETE /memories?user_id=…): a copy of their data the deletion left behind.
    vision.describe = lambda url: f"Page of shade {scan_shade(url)}" if url.startswith("data:") else "A kayak"
    lease = document("txt_url", b64(word_lease()))
    scans = document("pdf_url", b64(pdf_with(scan(40))))
    photo = {"type": "image_url", "image_url": {"url": "https://example.com/photos/kayak.jpg"}}
    notes = document("txt_url", b64(word_reviewed()))
    assert stored(add(member_client, {"role": "user", "content": [photo, lease, scans]})) == [
        "A kayak",
        WORD_LEASE_TEXT,
        "Page of shade 40",
    ]
    assert stored(add(member_client, {"role": "user", "content": [lease]}, user_id="bob")) == [WORD_LEASE_TEXT]
    assert stored(add(member_client, {"role": "user", "content": [notes]}, user_id="bob")) == [WORD_REVIEWED_TEXT]
    assert sorted(sorted(row) for row in DocumentText.objects.values_list("user_ids", flat=True)) == [
        ["alice"],
        ["alice", "bob"],
        ["bob"],
    ]
    deleted = member_client.delete("/v1/memories/?user_id=alice")  # the SDK's delete_all(user_id="alice")
    assert deleted.status_code == 200, deleted.json()
    # Alice's lease, her scan's page and her photo's description are gone; Bob's notes stay kept.
    assert list(DocumentText.objects.values_list("user_ids", flat=True)) == [["bob"]]
    assert not ImageDescription.objects.exists()
    # Bob sending the lease again has it read again: the reader (crashing on anything now) is run.
    crash = tmp_path / "reader.py"
    crash.write_text("import os, signal, sys\nsys.stdin.buffer.read()\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    monkeypatch.setattr("memories.reading.READER", crash)
    refused = add(member_client, {"role": "user", "content": [lease]}, user_id="bob")
    assert refused.status_code == 400 and "(the reader ended with SIGSEGV)" in refused.json()["detail"], refused
    assert stored(add(member_client, {"role": "user", "content": [notes]}, user_id="bob")) == [WORD_REVIEWED_TEXT]


@pytest.mark.parametrize("library", ["pypdf", "striprtf"])
def test_a_document_kept_is_read_again_once_a_library_it_is_read_with_is_upgraded(
    api_client, embedder, monkeypatch, tmp_path, library
):
    # A new pypdf reads more of a PDF (a font map it did not know): its text kept for 7 days stayed as the older read.
    lease = document("txt_url", b64(word_lease()))
    assert stored(add(api_client, {"role": "user", "content": [lease]})) == [WORD_LEASE_TEXT]
    crash = tmp_path / "reader.py"
    crash.write_text("import os, signal, sys\nsys.stdin.buffer.read()\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    monkeypatch.setattr("memories.reading.READER", crash)
    assert stored(add(api_client, {"role": "user", "content": [lease]}, user_id="bob")) == [WORD_LEASE_TEXT]  # kept
    installed = documents.version
    monkeypatch.setattr(documents, "version", lambda name: "99.0" if name == library else installed(name))
    monkeypatch.setattr(documents, "_reader_code", functools.cache(documents._reader_code.__wrapped__))
    refused = add(api_client, {"role": "user", "content": [lease]}, user_id="cy")
    assert refused.status_code == 400 and "(the reader ended with SIGSEGV)" in refused.json()["detail"], refused


def test_a_pdf_or_a_web_page_that_takes_long_to_read_is_stopped_and_refused(api_client, embedder, monkeypatch):
    # A page of 16 KB (compressed) holding 200,000 operations: seconds of reading, stopped after the bound.
    monkeypatch.setattr("memories.reading.READ_SECONDS", 1)
    busy = pdf_busy(200_000)
    assert len(busy) < 20_000
    refused = add(api_client, {"role": "user", "content": document("pdf_url", b64(busy))})
    assert refused.status_code == 400, refused.json()
    assert "takes more than 1 s to read; the most one PDF may take" in refused.json()["detail"]
    # A web page of 200 KB of unclosed tags: Python 3.11's html.parser takes the square of its length (18 s here).
    tangled = b"<html>" + b"<a" * 100_000
    refused = add(api_client, {"role": "user", "content": document("txt_url", b64(tangled))})
    assert refused.status_code == 400, refused.json()
    assert "takes more than 1 s to read; the most one web page may take" in refused.json()["detail"]


def test_the_document_reader_runs_without_the_servers_environment(api_client, embedder, monkeypatch, tmp_path):
    # A reader that tells what it was given: the variables it sees, as a PDF's one page.
    spy = tmp_path / "reader.py"
    spy.write_text(
        "import json, os, sys\n"
        "sys.stdin.buffer.read()\n"
        "print(json.dumps({'pages': [f'variables {sorted(os.environ)}']}))\n"
    )
    monkeypatch.setattr("memories.reading.READER", spy)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-a-secret-of-the-server")
    answer = add(api_client, {"role": "user", "content": document("pdf_url", b64(pdf_of("Hello")))})
    [seen] = stored(answer)
    assert seen.startswith("variables [") and "OPENAI_API_KEY" not in seen and "SECRET_KEY" not in seen


def test_the_document_reader_imports_zipfile_only_to_read_an_archive(monkeypatch):
    # zipfile (pathlib, shutil, bz2 and lzma with it) was imported by every reader's start: ~15 ms of CPU of a web
    # page's, a table's or an email's read, of ~45.
    monkeypatch.setitem(sys.modules, "zipfile", None)  # importing it fails
    spec = importlib.util.spec_from_file_location("reader", reading.READER)
    reader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reader)
    assert reader.read("html", b"<p>Hello</p>", 100, 10) == {"pages": ["Hello"]}
    assert reader.read("csv", b"a,b\n1,2\n", 100, 10) == {"pages": ["a | b\n1 | 2"]}


def test_the_document_reader_runs_from_its_compiled_code_kept_beside_it(monkeypatch, tmp_path):
    # Run as a script, the reader's 3,000 lines were compiled again by each process started: ~45 ms of CPU per read.
    spy = tmp_path / "reader.py"
    spy.write_text(
        "import json, os, sys\n"
        "print(json.dumps({'pages': [__cached__, os.path.exists(__cached__), __name__, sys.argv[1:3]]}))\n"
    )
    monkeypatch.setattr("memories.reading.READER", spy)
    cached = str(tmp_path / "__pycache__" / f"reader.{sys.implementation.cache_tag}.pyc")
    for _ in range(2):  # compiled and kept by the first, read by the second
        assert reading.read_apart("pdf", b"", 0, 0, 10, -1) == {"pages": [cached, True, "__main__", ["pdf", "10"]]}


def test_a_reader_that_crashes_on_what_it_reads_is_a_400_or_the_image_as_sent_not_a_500(
    api_client, vision, monkeypatch, tmp_path, caplog
):
    # Pillow's C code (reading a scanned page or an image) may crash on a crafted file: the reader's process then ends
    # by a signal. It was a 500 (a RuntimeError); a document is now refused saying so, an image handed as it was sent.
    crash = tmp_path / "reader.py"
    crash.write_text("import os, signal, sys\nsys.stdin.buffer.read()\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    monkeypatch.setattr("memories.reading.READER", crash)
    refused = add(api_client, {"role": "user", "content": document("pdf_url", b64(pdf_of("Hello")))})
    assert refused.status_code == 400, refused.json()
    assert "could not be read as a PDF (the reader ended with SIGSEGV)." in refused.json()["detail"]
    photo = io.BytesIO()
    Image.new("RGB", (3000, 2000), "red").save(photo, "PNG")
    url = f"data:image/png;base64,{b64(photo.getvalue())}"
    with caplog.at_level(logging.INFO, logger="mem0server"):
        assert stored(add(api_client, {"role": "user", "content": {"type": "image_url", "image_url": {"url": url}}}))
    assert vision.described() == [url]
    assert "handed to the model as it was sent: Pillow cannot read it: the reader ended with SIGSEGV" in caplog.text


def test_macro_enabled_office_files_in_an_llms_context_are_read_by_their_type_or_name(api_client, embedder):
    # Word, PowerPoint and Excel files that may hold macros (.docm, .pptm, .xlsm) are the same XML as their plain
    # forms (the macros are never run, nor read); they were left out as files of no known kind.
    sheet = "application/vnd.ms-excel.sheet.macroEnabled.12"
    parts = [
        file_part(workbook_of([["Item", "Amount"], ["Rent", 1900]]), "budget.xlsm", sheet),
        file_part(word_lease(), "lease.docm"),
        file_part(presentation_trip(), "trip.pptm", "application/vnd.ms-powerpoint.presentation.macroEnabled.12"),
    ]
    assert stored(add(api_client, {"role": "user", "content": parts})) == [
        "Item | Amount\nRent | 1900",
        WORD_LEASE_TEXT,
        PRESENTATION_TRIP_TEXT,
    ]


def test_office_slide_shows_and_templates_in_an_llms_context_are_read_by_their_type_or_name(api_client, embedder):
    # A slide show (.ppsx, .pps: a presentation that opens as a show) and a template (.dotx, .xltx) are the same files
    # as a presentation, a document and a workbook: they were left out as files of no known kind.
    show = "application/vnd.openxmlformats-officedocument.presentationml.slideshow"
    parts = [
        file_part(presentation_trip(), "trip.ppsx", show),
        file_part(POWERPOINT_97_TRIP, "trip.pps"),
        file_part(word_lease(), "lease.dotx"),
        file_part(workbook_of([["Item", "Amount"], ["Rent", 1900]]), "budget.xltx", "application/octet-stream"),
    ]
    assert stored(add(api_client, {"role": "user", "content": parts})) == [
        PRESENTATION_TRIP_TEXT,
        POWERPOINT_97_TRIP_TEXT,
        WORD_LEASE_TEXT,
        "Item | Amount\nRent | 1900",
    ]


def test_files_in_an_llms_context_are_read_when_they_are_pdfs_or_text_and_left_out_otherwise(
    api_client, embedder, document_host, settings, caplog
):
    # As OpenAI's chat format and Pipecat's context carry files; frameworks send their context as it is.
    settings.FETCH_HOSTS = ["127.0.0.1"]
    lease = f"data:application/pdf;base64,{b64(pdf_of('The lease ends in June 2027'))}"
    parts = [
        {"type": "text", "text": "Here are my papers"},
        {"type": "file", "file": {"file_data": lease, "filename": "lease.pdf"}},  # OpenAI
        {"type": "file_base64", "file": {"file_data": f"data:text/markdown;base64,{b64('# Garden')}", "filename": ""}},
        {"type": "file_url", "file": {"url": f"{document_host}/notes.txt", "mime_type": "text/plain"}},  # Pipecat
        {"type": "file", "file": {"file_id": "file-abc123"}},  # uploaded to OpenAI: nothing here to read
        {"type": "file_url", "file": {"url": "https://papers.example/cv.pdf", "mime_type": "application/pdf"}},
        {"type": "file_base64", "file": {"file_data": f"data:audio/wav;base64,{b64(b'RIFF....WAVE')}"}},
    ]
    assert stored(add(api_client, {"role": "user", "content": parts})) == [
        "Here are my papers",
        "The lease ends in June 2027",
        "# Garden",
        "Bought a kayak in May",
    ]
    # One that cannot be read is left out too: a framework re-sends its context, a 400 would refuse every later add.
    broken = {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{b64('not a pdf')}"}}
    damaged = {"type": "file_base64", "file": {"file_data": f"data:application/pdf;base64,{b64(b'%PDF-1.4 junk')}"}}
    said = {"role": "user", "content": [{"type": "text", "text": "And these"}, broken, damaged]}
    with caplog.at_level(logging.INFO, logger="mem0server"):
        assert stored(add(api_client, said)) == ["And these"]
    # The operator is told what was left out and why.
    assert (
        "An add left out a file it could not read: The document in a file_base64 part is damaged, or is not a PDF: "
        in (caplog.text)
    )


def test_a_document_part_without_a_url_is_left_out_and_a_system_messages_document_is_not_read(api_client, embedder):
    empty = {"role": "user", "content": [{"type": "text", "text": "See attached"}, {"type": "pdf_url"}]}
    system = {"role": "system", "content": document("txt_url", b64("Be brief"))}
    assert stored(add(api_client, system, empty, {"role": "user", "content": document("mdx_url", "")})) == [
        "See attached"
    ]


def test_the_document_reading_bench_reads_each_document_both_ways():
    bench = Path(__file__).resolve().parents[2] / "bench" / "document_reading.py"
    small = [
        "--pages",
        "3",
        "--operations",
        "100",
        "--busy-pages",
        "1",
        "--lines",
        "10",
        "--rows",
        "3",
        "--repeat",
        "1",
    ]
    small += ["--photo-side", "2100", "200"]  # a photo made a JPEG, and one handed as it was sent
    done = subprocess.run(  # noqa: S603  (this interpreter, the repository's script)
        [sys.executable, str(bench), *small], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 pages (" in done.stdout and "1 busy pages of 100 operations (" in done.stdout
    # Each document read alike in this process and as served (a PDF of nothing but busy pages: refused as served).
    for outcome, count in [
        ("29 characters", 2),
        ("577 characters", 4),
        ("149 characters", 2),
        ("170 characters", 2),
        ("holds no text", 1),
    ]:
        assert done.stdout.count(outcome) == count, (outcome, done.stdout)
    assert done.stdout.count("ratio (served / in process, best)") == 8
    # Each photo the same both ways (as long in base64): a JPEG of fewer bytes than the large one, the small as sent.
    for photo_side in (2100, 200):
        photo = done.stdout.split(f"a photo of {photo_side} x {photo_side * 3 // 4} pixels (")[1].splitlines()
        sent, inside = int(photo[0].split(" bytes")[0].replace(",", "")), photo[1].split()[-2]
        assert inside == photo[2].split()[-2], photo
        assert int(inside) * 3 // 4 < sent if photo_side > 2048 else int(inside) == -(-sent // 3) * 4, photo
