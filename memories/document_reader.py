"""A document's text, read in a process of its own, started by memories/reading.py for each document an add carries: a
PDF's by pypdf, a web page's (HTML) by the standard library's parser, a Word document's, a PowerPoint presentation's, an
Excel workbook's, an OpenDocument's or an EPUB book's (.docx, .pptx, .xlsx, .odt, .odp, .ods, .epub: ZIP archives of
XML) by the standard library's zipfile and ElementTree, an Excel 97-2003 workbook's by xlrd (olefile telling the older
Office files apart), an Outlook message's (.msg) by olefile, a Word 97-2003 document's (.doc) and a PowerPoint 97-2003
presentation's (.ppt) by olefile and this module, a Rich Text Format file's by striprtf, an email's by the standard
library's email package, a table's (CSV, TSV), a calendar's and contacts' (.ics, .vcf) by this module; and an image as
a vision model is handed it, by Pillow.

Each is what an API user sends, and reading one may cost far more than its size: a PDF page of 16 KB, compressed, can
hold 200,000 text operations (6 s to read here), and 200 KB of unclosed tags ("<a<a<a…") took Python 3.11's html.parser
18 s (its time grows with the square of such input); a Word document of 1 MB may unpack to gigabytes, and a PNG of a
few kilobytes to a picture of gigapixels. In a process of its own, the kernel stops the reading after a bound of CPU
seconds and memory, where a thread of the server could not be stopped, and it runs at a lower priority (NICENESS): on a
busy machine the server's requests go first. No Django here: it starts fast. It is started with an empty environment:
the server's secrets stay out of a process that reads what anyone sent.

    python -I memories/document_reader.py pdf|html|office|rtf|csv|tsv|email|calendar|contacts|image|image_size \\
        CPU_SECONDS MOST_CHARACTERS MOST_PAGES NICENESS PICTURES <file

Writes one JSON object: {"pages": [text, …]} (a web page or a Word document is one, a presentation's slides and a
workbook's sheets are its pages), unless PICTURES (the most pictures a vision model is handed) is -1 with "images":
{page index: a data URL} of the pictures a document shows, each on a page of its own after the one showing it (an
Office file's, a PDF's photos, an email's attached pictures), and "scans": {page index: a data URL} of its scanned
pages (a PDF's pages without text that show a picture, an email's attached PDFs', a Word document of scans); for an
image {"picture": a JPEG in base64} or {"small": true}, and its size by its header {"width", "height"} (image_size);
or {"error": "locked" | "older" | "pages" | "pictures" | "too_long" | "unreadable" | "damaged", "pages": n, "why": "…",
"what": "…", "instead": "…", "detail": "…"}.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import datetime
import io
import json
import os
import posixpath
import re
import resource
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from functools import partial
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import unquote
from xml.etree import ElementTree

if TYPE_CHECKING:  # imported where an archive is opened (_archive): ~15 ms of a start that reads no archive
    import zipfile

# The most a Word document's text part (word/document.xml), or a presentation's slides, may unpack to, by what its
# archive says (and zipfile holds it to): a document of 1,000 pages is about 5 MB.
OFFICE_XML_MAX_BYTES = 200 * 1024 * 1024
# A scanned page's picture, as a vision model is handed it: at most this many pixels a side (what OpenAI's models read
# of an image in high detail), as a JPEG.
PICTURE_SIDE = 2048
# An Office file's picture smaller than this a side is not handed to a vision model: an icon, a bullet, a line.
PICTURE_LEAST = 100
# A PDF's image covering this share of its page or more, on a page whose text is not shown (the text layer OCR lays
# over a scan to make it searchable), is that scan, whose text is read, not a photo to describe.
SCAN_LEAST_PAGE = 0.8
# A passage of a document as the server stores it (memories/documents.py): a sheet's rows are read in blocks of this
# many characters at most, each beginning with the sheet's first row.
PASSAGE_CHARS = 1_000
# An image handed to a vision model as it was sent when it is this small and within PICTURE_SIDE a side, in a format
# every model's API takes; another as a JPEG within PICTURE_SIDE.
IMAGE_MOST_BYTES = 1024 * 1024
# The most pixels an image may hold to be read (a phone's photo of 48 or 50 megapixels: 8,000 x 6,000, 8,160 x
# 6,120): a PNG of a few hundred kilobytes can claim 169 million (13,000 x 13,000), whose pixels alone fill most of
# the reader's 1 GB (memories/reading.py's MEMORY_BYTES). Known from its header, before a pixel is decoded; decoded,
# a PNG with transparency of this many pixels took the reader 0.2 GB.
IMAGE_MOST_PIXELS = 52_000_000
HANDED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP"})
# The images of one page looked at for its picture (a page of many small images is no scan).
PICTURE_CANDIDATES = 10
# The most images of a PDF decoded for nothing looking for the photos its pages of text show (a copy of a picture
# already found, one PDF may keep 1,000 copies each its own object; one that cannot be read): pypdf keeps what it
# decoded, and 1,000 copies of a picture of 1,000 x 1,000 pixels took the reader 9.3 s and 1 GB.
PHOTOS_WASTED = 20
# An email attached to an email is read, and one attached to it, this many deep in all; a deeper one is named.
EMAIL_DEPTH = 3
# The entries of an iCalendar file (.ics) and of a vCard file (.vcf) read: events and to-dos, contacts.
_CARD_ENTRIES = {"calendar": frozenset({"VEVENT", "VTODO"}), "contacts": frozenset({"VCARD"})}
_CARD_TIMES = frozenset({"DTSTART", "DTEND", "DUE"})
# A repeat rule's words (_card_repeats).
_REPEAT_UNITS = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
_REPEAT_ADVERBS = {"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly"}
_REPEAT_DAYS = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}
_REPEAT_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last", -2: "second last"}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November")
_MONTHS += ("December",)
_MONTH_NUMBERS = frozenset(str(number) for number in range(1, 13))
# A contact's lines read, by their label; a type that says nothing of a phone or an address is not shown.
_CONTACT_LABELS = {
    "FN": "Name",
    "N": "Name",
    "ORG": "Organization",
    "TITLE": "Title",
    "TEL": "Phone",
    "EMAIL": "Email",
    "ADR": "Address",
    "BDAY": "Birthday",
    "URL": "Web",
    "NOTE": "Note",
}
_CONTACT_PLAIN = frozenset({"", "pref", "voice", "internet", "x400"})
# vCard 2.1's encodings, given as a parameter without a name; quoted-printable's names.
_CARD_ENCODINGS = frozenset({"QUOTED-PRINTABLE", "BASE64", "8BIT", "7BIT", "B", "Q"})
_CARD_QUOTED = re.compile(r"QUOTED-PRINTABLE|Q", re.IGNORECASE)
_CARD_QUOTED_LINE = re.compile(r"(?:ENCODING=|;)(?:QUOTED-PRINTABLE|Q)(?:;|$)", re.IGNORECASE)  # a line's name part


def main() -> None:
    kind = sys.argv[1]
    seconds, most_characters, most_pages, niceness, pictures, memory = (int(arg) for arg in sys.argv[2:8])
    os.nice(niceness)  # the server's requests first: a core busy reading a PDF yields to them
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))  # past it: SIGXCPU, the process ends
    with contextlib.suppress(ValueError, OSError):  # macOS refuses to bound the address space; the CPU bound holds
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        found = read(kind, sys.stdin.buffer.read(), most_characters, most_pages, pictures)
    except MemoryError:  # wherever it ran out (a library's import, its own code): what was read is let go by now
        found = {"error": "unreadable", "why": _out_of_memory()}
    print(json.dumps(found))


def _out_of_memory() -> str:
    """Why a document was not read when the reader ran out of memory (a MemoryError says nothing: its text is empty),
    naming the bound main set."""
    bound, _ = resource.getrlimit(resource.RLIMIT_AS)
    if bound == resource.RLIM_INFINITY:
        return "it needs more memory than the reader has"
    return f"it needs more than the {bound / 2**20:,.0f} MB of memory the reader may take: send it in parts, or smaller"


# The pictures a document shows that were left out for their size (more than IMAGE_MOST_PIXELS), each named with it:
# what read() writes as "left_out", for the server to say (memories/documents.py). One reading per process.
_LEFT_OUT: list[str] = []


def read(kind: str, content: bytes, most_characters: int, most_pages: int, pictures: int = -1) -> dict:
    """What main writes, unbounded: bench/document_reading.py compares reading in this process with the server's."""
    _LEFT_OUT.clear()
    found = _read(kind, content, most_characters, most_pages, pictures)
    return found | {"left_out": list(_LEFT_OUT)} if _LEFT_OUT and "pages" in found else found


def _read(kind: str, content: bytes, most_characters: int, most_pages: int, pictures: int) -> dict:
    if kind == "html":
        return _page(content, most_characters)
    if kind == "office":
        return _office(content, most_characters, most_pages, pictures)
    if kind == "image":
        return _image(content)
    if kind == "image_size":
        return _image_size(content)
    if kind in ("csv", "tsv"):
        return _delimited(content, most_characters, "," if kind == "csv" else "\t")
    if kind == "email":
        return _email(content, most_characters, most_pages, pictures=pictures)
    if kind in ("calendar", "contacts"):
        return _cards(content, most_characters, kind)
    if kind == "rtf":
        return _rtf(content, most_characters)
    return _pdf(content, most_characters, most_pages, pictures)


class _PageText(HTMLParser):
    """A web page's text as a reader sees it: its paragraphs (block elements) apart, a line break where the page
    breaks one or a <pre> (a program) holds one, other white space as one space; scripts, styles, menus, asides and
    footers left out. A page that marks its main content (<main>, <article>) is read as its title and that content,
    when it holds MAIN_SHARE of the page's text: what lies around it (a site's header, banners, "most read" lists) is
    the site's, not the page's."""

    MAIN = frozenset({"main", "article"})
    # The least share of a page's text its marked main content holds to be read alone: a page whose <article>s are
    # its comments, its post in <div>s, is read whole.
    MAIN_SHARE = 0.3
    HIDDEN = frozenset({"script", "style", "noscript", "template", "svg", "nav", "footer", "aside"})
    BLOCKS = frozenset(
        {"address", "article", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure", "header", "hr", "li"}
        | {"main", "ol", "p", "pre", "section", "table", "td", "th", "title", "tr", "ul"}
        | {f"h{level}" for level in range(1, 7)}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        # Paragraphs of lines, each line its pieces of text (joined once at the end: a line of 100,000 inline
        # elements, a highlighted program in a <pre>, would be copied again with each piece added to a string).
        self.paragraphs: list[list[list[str]]] = [[[]]]
        self.kinds = [""]  # each paragraph's place: "title", "main" (inside a <main> or an <article>), or ""
        self.hidden = 0
        self.preformatted = 0
        self.main = 0
        self.title = False

    def parse_marked_section(self, i: int, report: int = 1) -> int:
        """A marked section html.parser does not know ("<![foo[", "<![ x") is a comment to a browser, ending at the
        next ">"; html.parser (3.11) raises an AssertionError at it."""
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            end = self.rawdata.find(">", i)
            return -1 if end < 0 else end + 1

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
            return
        self.preformatted += tag == "pre"
        self.main += tag in self.MAIN
        self.title = self.title or tag == "title"
        if tag == "br":
            self.paragraphs[-1].append([])
        elif tag in self.BLOCKS:
            self._paragraph()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
            return
        self.preformatted = max(0, self.preformatted - (tag == "pre"))
        self.main = max(0, self.main - (tag in self.MAIN))
        self.title = self.title and tag != "title"
        if tag in self.BLOCKS:
            self._paragraph()

    def _paragraph(self) -> None:
        self.paragraphs.append([[]])
        self.kinds.append("title" if self.title else "main" if self.main else "")

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        first, *lines = data.split("\n") if self.preformatted else (data,)
        self.paragraphs[-1][-1].append(first)  # an inline element's text runs on: "in <b>April</b>." is "in April."
        self.paragraphs[-1].extend([line] for line in lines)

    def text(self, *, title: bool = True) -> str:
        lines = ([" ".join("".join(line).split()) for line in paragraph] for paragraph in self.paragraphs)
        paragraphs = [
            ("\n".join(line for line in paragraph if line), kind)
            for paragraph, kind in zip(lines, self.kinds, strict=True)
            if title or kind != "title"
        ]
        main = sum(len(text) for text, kind in paragraphs if kind == "main")
        if main and main >= self.MAIN_SHARE * sum(len(text) for text, _ in paragraphs):
            paragraphs = [(text, kind) for text, kind in paragraphs if kind]
        return "\n\n".join(text for text, _ in paragraphs if text)


# An object's repr in an error's words: Pillow names the file it was given ("<_io.BytesIO object at 0x7f…>"), an
# address in this process that says nothing of what is wrong.
_REPR = re.compile(r"\s*<[^<>]* at 0x[0-9a-fA-F]+>")


def _failed(exc: Exception) -> dict:
    """What the reader writes of an error reading a document: "nested" when its parts (an email's, a compound file's
    directory, a PDF's objects) nest deeper than Python's recursion reaches; "limit" when pypdf refuses to unpack more
    (a stream of more than 75 MB unpacked, an array or a dictionary of more than 100,000 items); else "unreadable",
    each with "why" (the error's own words, or for a MemoryError, whose words are none, the reader's bound)."""
    if isinstance(exc, MemoryError):
        return {"error": "unreadable", "why": _out_of_memory()}
    why = f"{type(exc).__name__}: {_REPR.sub('', str(exc))[:200]}"
    if isinstance(exc, RecursionError):
        return {"error": "nested", "why": why}
    if type(exc).__name__ == "LimitReachedError":  # pypdf's, imported only where a PDF is read
        return {"error": "limit", "why": why}
    return {"error": "unreadable", "why": why}


def _page(content: bytes, most_characters: int) -> dict:
    try:
        text = _page_text(content.decode("utf-8-sig"))  # UTF-8: made so by the server before
    except Exception as exc:  # none known (the fuzzing of tests/test_documents.py finds none): a 400, not a 500
        return _failed(exc)
    return {"error": "too_long"} if len(text) > most_characters else {"pages": [text]}


def _email(content: bytes, most_characters: int, most_pages: int, depth: int = 0, pictures: int = -1) -> dict:
    """An email as a mail program saves it (.eml: RFC 822 with MIME parts): its sender, recipients, date and subject,
    its text (the plain one, else the HTML one as a web page's) and its attachments' names, then its attachments and an
    invitation sent beside its text (_attachments_read)."""
    import email
    import email.policy

    try:
        message = email.message_from_bytes(content, policy=email.policy.default)
        fields = [(field, str(message[field])) for field in _EMAIL_FIELDS if message[field] is not None]
        body = message.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
        if body is not None and body.get_content_type() == "text/html":
            text = _page_text(text)
        attachments = [
            _Attached(name, part.get_content_type(), partial(_part_bytes, part))
            for part in message.iter_attachments()
            if (name := part.get_filename())
        ]
        # An invitation as Outlook sends it: a calendar beside the text (an alternative to it), not an attachment;
        # Google Calendar's sends both (the attached one is read).
        beside = [
            _Attached("", "text/calendar", partial(_part_bytes, part))
            for part in message.walk()
            if part.get_content_type() == "text/calendar" and not part.get_filename()
        ]
    except Exception as exc:  # a header or a part the email package cannot decode (an unknown character set)
        return _failed(exc)
    if not any(attached.kind == "text/calendar" for attached in attachments):
        attachments += beside[:1]
    return _attachments_read(fields, text, attachments, most_characters, most_pages, depth, pictures)


# An email's header fields read, in this order.
_EMAIL_FIELDS = ("From", "To", "Cc", "Date", "Subject")


class _Attached(NamedTuple):
    name: str  # "" for an invitation sent beside an email's text
    kind: str  # its media type, as the email names it
    # Its bytes; for an Outlook message's embedded message (`embedded`), its read given the characters left.
    content: Callable[..., Any]
    embedded: bool = False


def _part_bytes(part) -> bytes:
    return _bytes(part.get_content())


def _attachments_read(
    fields: list[tuple[str, str]],
    text: str,
    attachments: list[_Attached],
    most_characters: int,
    most_pages: int,
    depth: int,
    pictures: int,
) -> dict:
    """An email's pages (.eml or Outlook's .msg): its header `fields` ("From", …) each on a line, its `text`, its
    attachments' names, then, each a page of its own after a line naming it, the text of each attachment that is a
    document read here (_attachment), and of an invitation sent beside its text; one longer than what the add has left
    is said to be left out. With `pictures` (the most pictures a vision model may be handed), each attached picture up
    to that many is a page naming it, and "images" its data URL as the model is handed it (_image) by the page's index,
    for the server to add what the model says it shows; and so is each scanned page of an attached PDF (as many in
    all), in "scans", for the server to add its text as the model reads it."""
    names = [attached.name for attached in attachments if attached.name]
    paragraphs = [
        "\n".join(f"{field}: {' '.join(value.split())}" for field, value in fields if value.strip()),
        text.strip(),
        f"Attachments: {', '.join(names)}" if names else "",
    ]
    pages = ["\n\n".join(paragraph for paragraph in paragraphs if paragraph)]
    left = most_characters - len(pages[0])  # each page after it takes its length and the blank line before it
    if left < 0:
        return {"error": "too_long"}
    images: dict[str, str] = {}
    scans: dict[str, str] = {}
    for attached in attachments:
        name = attached.name
        heading = f"Attachment {name}:\n\n" if name else "Invitation:\n\n"
        unused = pictures - len(images) - len(scans) if pictures >= 0 else -1
        budget = left - len(heading) - 2
        try:
            if attached.embedded:  # an Outlook message's embedded message, read where it lies
                read = attached.content(budget) if depth + 1 < EMAIL_DEPTH else {}
            else:
                read = _attachment(attached.kind, name, attached.content(), budget, most_pages, depth, unused) or {}
            wanted = not read and unused > 0 and attached.kind.startswith("image/")
            picture = _picture_url(attached.content(), attached.kind, f"attachment {name}") if wanted else None
        except Exception:  # noqa: S112  (an attachment the email package cannot decode is named, not read)
            continue
        if picture and len(heading) <= left:  # named here; what the model says it shows is added by the server
            images[str(len(pages))] = picture
            pages.append(heading.rstrip())
            left -= len(pages[-1]) + 2
            continue
        attached_text = "\n\n".join(page for page in read.get("pages", []) if page)
        scanned = read.get("scans", {})  # an attached PDF's scanned pages, pictured
        if read.get("error") == "too_long" or len(heading) + len(attached_text) + 2 > left:  # said to be left out
            text, scanned = f"{heading[:-3]}: not read, longer than the {left} characters the add has left.", {}
        elif not attached_text and not scanned:
            continue  # not a document read here, or one without text (a scanned PDF not pictured): named only
        else:
            text = heading + attached_text if attached_text else ""
        if text and len(text) + 2 <= left:
            pages.append(text)
            left -= len(text) + 2
        for index, picture in scanned.items():
            named = f"{heading[:-3]}, page {int(index) + 1}:" if len(read["pages"]) > 1 else heading.rstrip()
            if len(named) + 2 <= left:  # what the model reads on it is added by the server
                scans[str(len(pages))] = picture
                pages.append(named)
                left -= len(named) + 2
    found = {"images": images, "scans": scans}
    return {"pages": pages, **{key: urls for key, urls in found.items() if urls}}


def _picture_url(content: bytes, media_type: str, named: str = "a picture") -> str | None:
    """An attached picture as a vision model is handed it (_image): a data URL of it as it is, or of its JPEG; None
    when Pillow cannot read it, or when it holds more than IMAGE_MOST_PIXELS (then noted in _LEFT_OUT as `named`)."""
    picture = _image(content)
    if picture.get("error") == "pixels":
        width, height = picture["width"], picture["height"]
        _LEFT_OUT.append(f"{named}, {width:,} x {height:,} pixels")
    if picture.get("small"):
        return f"data:{media_type};base64,{base64.b64encode(content).decode()}"
    return f"data:image/jpeg;base64,{picture['picture']}" if "picture" in picture else None


def _attachment(
    kind: str, name: str, content: bytes, most_characters: int, most_pages: int, depth: int, pictures: int = -1
) -> dict | None:
    """An email's attachment read as the document it is, by its content (a PDF's text, an Office document's, an Outlook
    message's, a Rich Text Format file's) or else its type or name (an email, up to EMAIL_DEPTH emails deep; a CSV or
    TSV file, a web page, an invitation, contacts, a text): what _pdf, _office, _rtf, _delimited, _page, _cards or
    _email return; None for another (a picture, an archive), which is only named. A PDF's scanned pages are pictured
    when there are at most `pictures` of them, else left without text."""
    extension = posixpath.splitext(name.lower())[1]
    if kind == "message/rfc822" or extension == ".eml":
        return _email(content, most_characters, most_pages, depth + 1) if depth + 1 < EMAIL_DEPTH else None
    if content.startswith(b"%PDF"):
        read = _pdf(content, most_characters, most_pages, pictures, photos=False)
        return _pdf(content, most_characters, most_pages, -1) if read.get("error") == "pictures" else read
    if content.startswith(COMPOUND_FILE):
        return _compound(content, most_characters, most_pages, depth + 1)
    if content.startswith(b"PK\x03\x04"):
        return _office(content, most_characters)
    if content.startswith(RTF_START) or extension == ".rtf":
        return _rtf(content, most_characters)
    try:
        content.decode("utf-8")  # a text part's content is decoded by its character set, another's must be UTF-8
    except UnicodeDecodeError:
        return None
    if kind == "text/csv" or extension == ".csv":
        return _delimited(content, most_characters, ",")
    if kind == "text/tab-separated-values" or extension == ".tsv":
        return _delimited(content, most_characters, "\t")
    if kind == "text/html" or extension in (".html", ".htm"):
        return _page(content, most_characters)
    if kind == "text/calendar" or extension == ".ics":
        return _cards(content, most_characters, "calendar")
    if kind in ("text/vcard", "text/x-vcard") or extension == ".vcf":
        return _cards(content, most_characters, "contacts")
    if kind in ("text/plain", "text/markdown") or extension in (".txt", ".md"):
        text = content.decode("utf-8-sig").strip()
        return {"error": "too_long"} if len(text) > most_characters else {"pages": [text]}
    return None


def _bytes(content) -> bytes:
    """A MIME part's content as the email package gives it (a text part's as text, UTF-8; an email's as its message)
    in bytes."""
    if isinstance(content, str):
        return content.encode()
    return content if isinstance(content, bytes) else content.as_bytes()


def _rtf(content: bytes, most_characters: int) -> dict:
    """A Rich Text Format file's text (.rtf: TextEdit's and WordPad's files), by striprtf: its lines each a paragraph,
    a tab or a table's cell apart by a space or a bar. Its text as ASCII with escapes ("Jos\\'e9"), or 8-bit in the
    code page it names, or UTF-8 as some programs write it."""
    from striprtf.striprtf import rtf_to_text

    try:
        try:
            source = content.decode("utf-8")
        except UnicodeDecodeError:
            source = content.decode("cp1252", errors="replace")
        text = rtf_to_text(source, errors="replace")
    except Exception as exc:  # a damaged file (striprtf's IndexError on an unbalanced group, a code page unknown)
        return _failed(exc)
    text = "\n\n".join(paragraph for paragraph in (" ".join(line.split()) for line in text.splitlines()) if paragraph)
    return {"error": "too_long"} if len(text) > most_characters else {"pages": [text]}


def _cards(content: bytes, most_characters: int, kind: str) -> dict:
    """An iCalendar file (.ics: an invitation, a calendar's export) or a vCard file (.vcf: contacts), UTF-8, as a
    paragraph of labelled lines for each event or to-do (_event) or each contact (_contact); its other entries (time
    zones, alarms) left out."""
    try:
        entries = _entries(content.decode("utf-8-sig"), kind)  # UTF-8: made so by the server before
        paragraphs = [_event(entry) if kind == "calendar" else _contact(entry) for entry in entries]
    except Exception as exc:  # none known (the fuzzing of tests/test_documents.py finds none): a 400, not a 500
        return _failed(exc)
    text = "\n\n".join(paragraph for paragraph in paragraphs if paragraph)
    return {"error": "too_long"} if len(text) > most_characters else {"pages": [text]}


def _entries(text: str, kind: str) -> list[tuple[str, list[tuple[str, dict[str, str], str]]]]:
    """The entries of an iCalendar or a vCard file that are read (events and to-dos, or contacts), each its kind and
    its lines as (name, parameters, value), its long lines unfolded; the lines of an entry inside it (an event's alarm)
    are the inner entry's."""
    wanted = _CARD_ENTRIES[kind]
    entries, stack = [], []
    lines: list[str] = []
    for line in re.sub(r"\r?\n[ \t]", "", text).splitlines():
        if lines and lines[-1].endswith("=") and _CARD_QUOTED_LINE.search(lines[-1].partition(":")[0]):
            lines[-1] = lines[-1][:-1] + line  # vCard 2.1's quoted-printable value goes on after a soft line break
        else:
            lines.append(line)
    for line in lines:
        name, parameters, value = _card_line(line)
        if _CARD_QUOTED.fullmatch(parameters.get("ENCODING", "")):
            value = _quoted_printable(value, parameters.get("CHARSET", ""))
        if name == "BEGIN":
            stack.append((value.upper(), []))
        elif name == "END" and stack:
            entry = stack.pop()
            if entry[0] in wanted:
                entries.append(entry)
        elif stack and name:
            stack[-1][1].append((name, parameters, value))
    return entries


def _card_line(line: str) -> tuple[str, dict[str, str], str]:
    """An iCalendar or vCard line, "NAME;PARAM=value;…:value", as its name (upper case, without a group's "item1."),
    its parameters and its value; a colon or a semicolon inside a quoted parameter is the parameter's."""
    quoted, at = False, len(line)
    for index, character in enumerate(line):
        quoted = quoted != (character == '"')
        if character == ":" and not quoted:
            at = index
            break
    parts = re.findall(r'(?:"[^"]*"|[^;"])+', line[:at])
    head = parts[0].rpartition(".")[2].strip().upper() if parts else ""
    parameters: dict[str, str] = {}
    for part in parts[1:]:
        key, equals, value = part.partition("=")
        key, value = key.strip().upper(), value.strip().strip('"')
        if not equals:  # vCard 2.1's parameter without a name: a type (TEL;CELL) or an encoding (QUOTED-PRINTABLE)
            key, value = ("ENCODING", key) if key in _CARD_ENCODINGS else ("TYPE", key)
        if key == "TYPE" and parameters.get("TYPE"):  # TYPE=CELL;TYPE=VOICE, as one list
            value = f"{parameters['TYPE']},{value}"
        parameters[key] = value
    return head, parameters, line[at + 1 :]


def _quoted_printable(value: str, charset: str) -> str:
    """A vCard 2.1 value in quoted-printable (as Android's contacts export a name that is not ASCII: M=C3=BCller), in
    the character set it names (UTF-8 when it names none, or one unknown)."""
    import quopri

    raw = quopri.decodestring(value.encode("utf-8"))
    try:
        return raw.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return raw.decode("utf-8", errors="replace")


def _card_text(value: str) -> str:
    """A text value with its escapes undone (\\n a line break, \\, \\; \\\\), without empty lines (a paragraph of its
    own would part it from its entry's)."""
    value = re.sub(r"\\([nN,;\\])", lambda escape: {"n": "\n", "N": "\n"}.get(escape[1], escape[1]), value)
    return "\n".join(line.strip() for line in value.splitlines() if line.strip())


def _card_when(value: str, parameters: dict[str, str]) -> str:
    """An iCalendar date or date and time as ISO: "20260305" 2026-03-05, "20260305T100000Z" 2026-03-05 10:00 UTC, one
    with a time zone's name (TZID) with the name."""
    found = re.fullmatch(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?", value.strip())
    if not found:
        return value.strip()
    year, month, day, hour, minute, second, utc = found.groups()
    try:
        day_text = datetime.date(int(year), int(month), int(day)).isoformat()
    except ValueError:  # a day of no calendar's (month 13): as written
        return value.strip()
    if hour is None:
        return day_text
    clock = f"{hour}:{minute}" + (f":{second}" if second != "00" else "")
    zone = " UTC" if utc else f" ({parameters['TZID']})" if parameters.get("TZID") else ""
    return f"{day_text} {clock}{zone}"


def _card_span(start: tuple[dict[str, str], str], end: tuple[dict[str, str], str] | None) -> str:
    """When an event is, from its start to its end: "2026-03-05 10:00 – 11:00 (Europe/Lisbon)" within a day, a day's
    event (its end the next day, not its own) as its day, "2026-04-01 – 2026-04-03" over days."""
    first = _card_when(start[1], start[0])
    if end is None:
        return first
    last = _card_when(end[1], end[0])
    if len(first) == len(last) == 10:  # whole days: the end is the day after the last
        try:
            last = (datetime.date.fromisoformat(last) - datetime.timedelta(days=1)).isoformat()
        except ValueError:
            return f"{first} – {last}"
        return first if last <= first else f"{first} – {last}"
    day, _, rest = first.partition(" ")
    clock, zone = rest.partition(" ")[::2]
    if last.startswith(f"{day} ") and last.endswith(zone):  # the same day and zone: the end's time alone
        return f"{day} {clock} – {last[len(day) + 1 :]}"
    return f"{first} – {last}"


def _card_repeats(rule: str) -> str:
    """An event's repeat rule (RRULE) in words: "FREQ=MONTHLY;BYMONTHDAY=1" monthly on day 1, "FREQ=WEEKLY;INTERVAL=2;
    BYDAY=MO,WE;COUNT=10" every 2 weeks on Monday, Wednesday, 10 times, "BYDAY=-1FR" on the last Friday; a rule
    without a frequency as written."""
    parts = dict(part.partition("=")[::2] for part in rule.strip().upper().split(";") if "=" in part)
    unit = _REPEAT_UNITS.get(parts.get("FREQ", ""))
    if unit is None:
        return rule.strip()
    interval = parts.get("INTERVAL", "1")
    every = f"every {interval} {unit}s" if interval.isdigit() and int(interval) > 1 else _REPEAT_ADVERBS[unit]
    days = []
    for day in parts.get("BYDAY", "").split(","):
        if found := re.fullmatch(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)", day):
            nth = _ordinal(found[1]) if found[1] else ""
            days.append(f"the {nth} {_REPEAT_DAYS[found[2]]}" if nth else _REPEAT_DAYS[found[2]])
    positions = [_ordinal(at) for at in parts.get("BYSETPOS", "").split(",") if re.fullmatch(r"[+-]?\d{1,3}", at)]
    if positions and days:  # BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1: the last of those days in each period
        weekdays = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}
        named = "weekday" if set(days) == weekdays else " or ".join(days)
        days = [f"the {' and '.join(positions)} {named}"]
    when = [every, f"on {', '.join(days)}" if days else ""]
    when.append(f"on day {parts['BYMONTHDAY'].replace(',', ', ')}" if parts.get("BYMONTHDAY") else "")
    months = [_MONTHS[int(month) - 1] for month in parts.get("BYMONTH", "").split(",") if month in _MONTH_NUMBERS]
    more = [f"in {', '.join(months)}" if months else ""]
    more.append(f"{parts['COUNT']} times" if parts.get("COUNT", "").isdigit() else "")
    more.append(f"until {_card_when(parts['UNTIL'], {})}" if parts.get("UNTIL") else "")
    return ", ".join([" ".join(word for word in when if word), *(word for word in more if word)])


def _ordinal(number: str) -> str:
    """A repeat rule's position in words: "1" first, "-1" last, "7" 7th."""
    return _REPEAT_ORDINALS.get(int(number), f"{int(number)}th")


def _card_person(value: str, parameters: dict[str, str]) -> str:
    """An organizer or attendee: "Ada Lovelace <ada@example.com>", by its common name and address."""
    address = re.sub(r"^mailto:", "", value.strip(), flags=re.IGNORECASE)
    name = parameters.get("CN", "")
    return f"{name} <{address}>" if name and address else name or address


def _event(entry: tuple[str, list[tuple[str, dict[str, str], str]]]) -> str:
    """An event (or a to-do): its title, when, where, organizer, attendees, how it repeats, then its description."""
    kind, lines = entry
    values: dict[str, tuple[dict[str, str], str]] = {}
    attendees, skipped = [], []
    for name, parameters, value in lines:
        if name == "ATTENDEE":
            attendees.append(_card_person(value, parameters))
        elif name == "EXDATE":  # a repeating event's days left out (a holiday), perhaps a list of them on each line
            skipped += [_card_when(day, parameters) for day in value.split(",") if day.strip()]
        else:
            values.setdefault(name, (parameters, value))
    text = {name: _card_text(value) for name, (_, value) in values.items()}
    start, end = values.get("DTSTART"), values.get("DTEND") or values.get("DUE")
    out = [f"{'To do' if kind == 'VTODO' else 'Event'}: {text.get('SUMMARY', '')}".rstrip(": ")]
    if start:
        out.append(f"When: {_card_span(start, end if kind == 'VEVENT' else None)}")
    if end and kind == "VTODO":
        out.append(f"Due: {_card_when(end[1], end[0])}")
    out.append(f"Where: {text['LOCATION']}" if text.get("LOCATION") else "")
    if "ORGANIZER" in values:
        out.append(f"Organizer: {_card_person(values['ORGANIZER'][1], values['ORGANIZER'][0])}")
    out.append(f"Attendees: {', '.join(attendees)}" if attendees else "")
    out.append(f"Repeats: {_card_repeats(values['RRULE'][1])}" if "RRULE" in values else "")
    out.append(f"Except: {', '.join(skipped)}" if skipped and "RRULE" in values else "")
    confirmed = text.get("STATUS", "CONFIRMED").upper() == "CONFIRMED"  # the usual: said only otherwise (cancelled)
    out.append("" if confirmed else f"Status: {text['STATUS'].lower()}")
    out.append(text.get("DESCRIPTION", ""))
    return "\n".join(line for line in out if line)


def _contact(entry: tuple[str, list[tuple[str, dict[str, str], str]]]) -> str:
    """A contact: its name, organization and title, phones and emails (by their type: "Phone (cell)"), addresses,
    birthday and note."""
    out = []
    for name, parameters, value in entry[1]:
        label = _CONTACT_LABELS.get(name)
        if not label:
            continue
        if name == "N" and any(line.startswith("Name:") for line in out):
            continue  # the structured name when there is a formatted one (FN)
        if name in ("N", "ADR", "ORG"):  # structured: its parts apart by semicolons
            parts = [_card_text(part) for part in re.split(r"(?<!\\);", value)]
            value = " ".join(reversed(parts[:2])) if name == "N" else ", ".join(part for part in parts if part)
        else:
            value = _card_when(value, {}) if name == "BDAY" else _card_text(value)
            value = re.sub(r"^(tel|mailto):", "", value, flags=re.IGNORECASE)  # vCard 4's URIs
        kinds = [kind.lower() for kind in parameters.get("TYPE", "").split(",") if kind.lower() not in _CONTACT_PLAIN]
        if value.strip():
            typed = f" ({', '.join(kinds)})" if kinds else ""
            out.append(f"{label}{typed}: {value.strip()}")
    return "\n".join(dict.fromkeys(out))


def _page_text(html: str, *, title: bool = True) -> str:
    """A web page's text (_PageText); `title`: with its title (a book's chapter names itself in its heading)."""
    reader = _PageText()
    reader.feed(html)
    reader.close()
    return reader.text(title=title)


def _comment(author: str, text: str) -> str:
    """A reviewer's comment as read after a document's text: "Comment by Ana Lima: …" ("Comment: …" by no one named)."""
    return f"Comment by {author}: {text}" if author else f"Comment: {text}"


def _one_line(texts) -> str:
    """Texts (a cell's or a note's paragraphs) on one line, any white space in or between them one space."""
    return " ".join(" ".join(texts).split())


def _pdf(content: bytes, most_characters: int, most_pages: int, pictures: int, *, photos: bool = True) -> dict:
    """A PDF's pages' text; with `pictures` (the most a vision model may be handed; -1: none), its scanned pages (no
    text, a picture: _page_picture) in "scans", each as a data URL by its page's index, for the server to add their
    text as the model reads it (more of them than `pictures`: the error "pictures"); and with `photos`, up to what
    those leave, the photos its pages of text show (_drawn_photos), each a page after its page ("Picture on page 2:")
    and in "images" its data URL by that page's index, for the server to add what the model says it shows."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            return {"error": "locked"}
        if len(reader.pages) > most_pages:
            return {"error": "pages", "pages": len(reader.pages)}
        pages: list[str] = []
        drawn: list[_Drawn] = []
        known: dict[int, tuple[Any, bool]] = {}
        for page in reader.pages:
            drawn.append(_Drawn(_page_area(page)))
            # Seeing what a page draws parses all of its drawings, and its forms' (pypdf leaves those without text
            # unparsed otherwise): only on a page that may show a photo.
            if pictures > 0 and photos and _may_show_photos(page, known):
                see, done = drawn[-1].see, drawn[-1].done
                pages.append(page.extract_text(visitor_operand_before=see, visitor_operand_after=done).strip())
            else:
                pages.append(page.extract_text().strip())
            most_characters -= len(pages[-1])
            if most_characters < 0:
                return {"error": "too_long"}
        if pictures < 0:
            return {"pages": pages}
        images = {index: _page_images(reader.pages[index], index + 1) for index, text in enumerate(pages) if not text}
        scanned = [index for index, keys in images.items() if keys]
        if len(scanned) > pictures:
            return {"error": "pictures", "pages": len(scanned)}
        scans = {
            index: url for index in scanned if (url := _page_picture(reader.pages[index], index + 1, images[index]))
        }
        shown = _drawn_photos(reader.pages, pages, drawn, pictures - len(scans)) if photos else {}
    except (MemoryError, RecursionError) as exc:  # past the reader's bound of memory; objects nested too deep
        return _failed(exc)
    except Exception as exc:  # pypdf raises errors of many kinds on a damaged file
        return _damaged_pdf(exc)
    read: list[str] = []
    found: dict[str, dict[str, str]] = {"images": {}, "scans": {}}
    for index, text in enumerate(pages):
        if index in scans:
            found["scans"][str(len(read))] = scans[index]
        read.append(text)
        for url in shown.get(index, []):
            found["images"][str(len(read))] = url
            read.append(f"Picture on page {index + 1}:")
            most_characters -= len(read[-1]) + 2
    if most_characters < 0:
        return {"error": "too_long"}
    return {"pages": read, **{key: urls for key, urls in found.items() if urls}}


def _damaged_pdf(exc: Exception) -> dict:
    """What the reader writes of a PDF pypdf cannot read, as _damaged_archive does of an Office file: cut short (a
    stream, or the file, ends before it should; its end, which says where its objects lie, is missing), or damaged
    elsewhere; pypdf's own limits ("limit") are _failed's."""
    if type(exc).__name__ == "LimitReachedError":
        return _failed(exc)
    cut = type(exc).__name__ in ("PdfStreamError", "EmptyFileError") or "startxref" in str(exc)
    why = (
        "it ends before its objects do, or its end, which says where they lie, is missing: it is cut short"
        if cut
        else "its objects are damaged (changed, or missing)"
    )
    return {"error": "damaged", "what": "a PDF", "why": why, "detail": f"{type(exc).__name__}: {str(exc)[:200]}"}


class _Drawn:
    """What a PDF page draws, seen as pypdf reads its text: each XObject (Do: an image, or a form of drawings that may
    hold one) in `shown`, in order, by its path (its name, after those of the forms drawing it: a form's names are its
    own resources', which may name another XObject as the page names one), with the share of the page it covers (an
    image fills the unit square the current matrix maps onto the page); and whether it writes text that is not shown
    (`hidden`: render mode 3, the text layer OCR lays over a scan to make it searchable)."""

    def __init__(self, page_area: float) -> None:
        self.page_area = page_area
        self.shown: list[tuple[tuple[str, ...], float]] = []
        self.hidden = False
        self.forms: list[str] = []  # the XObjects being drawn: pypdf reads a form's drawings between see and done

    def see(self, operator: bytes, operands: list, matrix: list, _) -> None:
        if operator == b"Do" and operands:
            path = (*self.forms, str(operands[0]))
            self.forms.append(path[-1])  # taken off by done, once pypdf has read a form's drawings
            with contextlib.suppress(Exception):  # a damaged matrix: the page's text is read all the same
                area = abs(float(matrix[0]) * float(matrix[3]) - float(matrix[1]) * float(matrix[2]))
                self.shown.append((path, area / self.page_area))
        elif operator == b"Tr" and operands and operands[0] == 3:
            self.hidden = True

    def done(self, operator: bytes, operands: list, _matrix: list, _) -> None:
        if operator == b"Do" and operands and self.forms:
            self.forms.pop()


def _may_show_photos(holder, known: dict[int, tuple[Any, bool]], depth: int = 0) -> bool:
    """Whether a PDF page's (or a form's) XObjects, or those of the forms among them, hold an image of at least
    PICTURE_LEAST pixels a side. `known`: what was found of each XObject dictionary already, by its id (with it, kept
    alive), for pages and forms sharing one."""
    try:
        objects = holder["/Resources"].get_object()["/XObject"].get_object()
        values = list(objects.values())
    except Exception:
        return False
    if id(objects) in known:
        return known[id(objects)][1]
    known[id(objects)] = (objects, False)  # a form holding itself adds nothing
    found = False
    for value in values:
        try:
            xobject = value.get_object()
            if xobject.get("/Subtype") == "/Image":
                found = _photo_sized(xobject)
            elif xobject.get("/Subtype") == "/Form" and depth < _FORMS_DEPTH:
                found = _may_show_photos(xobject, known, depth + 1)
        except Exception:  # noqa: S112  (a damaged XObject: not a photo)
            continue
        if found:
            break
    known[id(objects)] = (objects, found)
    return found


# Forms inside forms looked into for a photo (a figure's drawings nest a few deep).
_FORMS_DEPTH = 20


def _photo_sized(image) -> bool:
    """Whether a PDF's image XObject is at least PICTURE_LEAST pixels a side (its /Width and /Height): not an icon, a
    bullet, a line."""
    return min(int(image.get("/Width", 0)), int(image.get("/Height", 0))) >= PICTURE_LEAST


def _page_area(page) -> float:
    """A PDF page's area in its units (at least 1), from its media box (1 when damaged)."""
    try:
        return max(float(page.mediabox.width) * float(page.mediabox.height), 1.0)
    except Exception:
        return 1.0


def _drawn_photos(pdf_pages, pages: list[str], drawn: list[_Drawn], pictures: int) -> dict[int, list[str]]:
    """The photos a PDF's pages of text show, at most `pictures`, as data URLs by their page's index, in the order
    drawn: each image a page draws, or a form it draws draws, at least PICTURE_LEAST pixels a side (not an icon, a
    bullet, a line), and not a scan made searchable (SCAN_LEAST_PAGE); one shown again (a logo on every page), or the
    same picture kept again (PDFs joined, each with its copy of a logo), where it is first."""
    shown: dict[int, list[str]] = {}
    seen: set[Any] = set()
    wasted = 0  # images decoded for nothing (PHOTOS_WASTED)
    made: set[str] = set()
    named: dict[int, tuple[Any, dict]] = {}  # each page's or form's XObjects by its id (with it, kept alive)
    for index, page in enumerate(pdf_pages):
        if not pages[index] or not drawn[index].shown:
            continue
        for path, share in drawn[index].shown:
            if pictures <= 0:
                return shown
            try:
                xobject = page
                for name in path:  # a form's drawings name XObjects of its own resources
                    if id(xobject) not in named:
                        named[id(xobject)] = (xobject, _xobjects(xobject))
                    xobject = named[id(xobject)][1][name]
                same = getattr(xobject, "indirect_reference", None) or id(xobject)
                scan = drawn[index].hidden and share >= SCAN_LEAST_PAGE
                if xobject.get("/Subtype") != "/Image" or not _photo_sized(xobject) or scan or same in seen:
                    continue
                seen.add(same)
                called = f"a picture on page {index + 1}"
                if _too_many_pixels(xobject, called):
                    continue
                picture = _pdf_photo(page, path[0] if len(path) == 1 else list(path), xobject, called)
            except Exception:  # noqa: S112  (a damaged, missing or unsupported image or form: the page read without it)
                picture = None
            if picture and picture not in made:  # the same picture kept twice (PDFs joined): once, where it is first
                made.add(picture)
                shown.setdefault(index, []).append(picture)
                pictures -= 1
                continue
            wasted += 1
            if wasted >= PHOTOS_WASTED:
                return shown
    return shown


def _too_many_pixels(holder, named: str) -> bool:
    """Whether a PDF's image holds more than IMAGE_MOST_PIXELS: an XObject by its size before a pixel is decoded
    (_claimed_size), or a picture pypdf made (an inline image's, decoded as pypdf lists a page's images); then noted
    in _LEFT_OUT as `named`, with its size."""
    width, height = _claimed_size(holder) if hasattr(holder, "get") else holder.size
    if width * height <= IMAGE_MOST_PIXELS:
        return False
    _LEFT_OUT.append(f"{named}, {width:,} x {height:,} pixels")
    return True


def _claimed_size(xobject, mask: bool = True) -> tuple[int, int]:
    """The most pixels a PDF's image XObject makes pypdf decode, as width and height: its /Width and /Height (a Flate
    stream of a few kilobytes can claim gigapixels), a JPEG's or a JPEG 2000's own header's (what Pillow decodes it
    by, whatever the dictionary says: 8,000 x 8,000 in one of 200 x 200 took 0.57 GB), or its mask's (/SMask)."""
    from PIL import Image

    sizes = [(int(xobject.get("/Width", 0)), int(xobject.get("/Height", 0)))]
    filters = xobject.get("/Filter")
    if (filters[-1] if isinstance(filters, list) and filters else filters) in ("/DCTDecode", "/JPXDecode"):
        bound, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # its size is named against IMAGE_MOST_PIXELS
        try:
            with Image.open(io.BytesIO(xobject.get_data())) as image:  # its header only
                sizes.append(image.size)
        except Exception:  # noqa: S110  (damaged: pypdf's decoding will say so, and the picture is passed over)
            pass
        finally:
            Image.MAX_IMAGE_PIXELS = bound
    if mask and "/SMask" in xobject:
        sizes.append(_claimed_size(xobject["/SMask"].get_object(), mask=False))
    return max(sizes, key=lambda size: size[0] * size[1])


def _pdf_photo(page, key: str | list[str], xobject, named: str) -> str | None:
    """A PDF's image as a vision model is handed it, a data URL: a JPEG in the file (DCTDecode) of grey or RGB pixels
    as a JPEG sent is (_picture_url: as it is when small enough; `named` as it names one of too many pixels), else as
    pypdf makes it a picture (_jpeg)."""
    from PIL import Image

    if xobject.get("/Filter") in ("/DCTDecode", ["/DCTDecode"]):
        content = xobject.get_data()  # the JPEG's bytes: pypdf leaves DCTDecode's data as it is
        with Image.open(io.BytesIO(content)) as image:
            plain = image.format == "JPEG" and image.mode in ("L", "RGB")  # CMYK: as pypdf makes it, below
        if plain:
            return _picture_url(content, "image/jpeg", named)
    picture = _jpeg(xobject.decode_as_image())  # not page.images: it decodes every inline image of the page first
    return f"data:image/jpeg;base64,{picture}" if picture else None


def _xobjects(holder) -> dict:
    """The XObjects a page's or a form's resources name, each resolved ({} for none, or damaged ones)."""
    try:
        objects = holder["/Resources"].get_object()["/XObject"].get_object()
        return {str(name): value.get_object() for name, value in objects.items()}
    except Exception:
        return {}


# An inline image's sides, as its drawings may name them (abbreviated or in full).
_SIDES = (("W", "Width"), ("H", "Height"))


def _page_images(page, number: int) -> list[str | list[str]]:
    """pypdf's keys for a page's images (_page_picture): its XObjects' and its forms', and its inline images' (BI …
    EI in its drawings), which pypdf decodes all at once as it lists them (3,000 of 500 x 500 pixels in a PDF of 1 MB:
    0.8 GB); unless those claim more than IMAGE_MOST_PIXELS in all, by their size in the page's drawings, then left
    out (noted in _LEFT_OUT) and only the page's own XObjects' names."""
    try:
        inline = [
            operands["settings"] for operands, operator in page.get_contents().operations if operator == b"INLINE IMAGE"
        ]
        pixels = sum(
            int(held.get("/W", held.get("/Width", 0))) * int(held.get("/H", held.get("/Height", 0))) for held in inline
        )
    except Exception:  # no drawings, or damaged ones: as pypdf finds them
        inline, pixels = [], 0
    if pixels <= IMAGE_MOST_PIXELS:
        return page.images.keys()
    if len(inline) == 1:
        width, height = (int(inline[0].get(f"/{short}", inline[0].get(f"/{name}", 0))) for short, name in _SIDES)
        _LEFT_OUT.append(f"a picture in page {number}'s drawings (inline), {width:,} x {height:,} pixels")
    else:
        _LEFT_OUT.append(
            f"{len(inline):,} pictures in page {number}'s drawings (inline), {pixels / 1e6:,.0f} megapixels in all"
        )
    return [name for name, xobject in _xobjects(page).items() if xobject.get("/Subtype") == "/Image"]


def _page_picture(page, number: int, keys: list[str | list[str]]) -> str | None:
    """A page's largest image of those pypdf names `keys` (_page_images; a scanned page's scan), known by its size
    (_claimed_size) and it alone decoded, as a data URL of a JPEG of at most PICTURE_SIDE pixels a side (_jpeg); when
    it cannot be read (pypdf hands it to Pillow), the next largest; None when none can, or one holds more than
    IMAGE_MOST_PIXELS (noted as on page `number`)."""
    named = f"a picture on page {number}"
    sized = []
    for key in keys[:PICTURE_CANDIDATES]:
        try:
            xobject = _image_xobject(page, key)  # an inline image's: decoded already, as pypdf lists them
            width, height = _claimed_size(xobject) if xobject else page.images[key].image.size
        except Exception:  # noqa: S112  (a damaged or unsupported image: another may be the page's scan)
            continue
        sized.append((width * height, len(sized), key, xobject, width, height))
    for _area, _, key, xobject, width, height in sorted(sized, key=lambda each: (-each[0], each[1])):
        if width * height > IMAGE_MOST_PIXELS:
            _LEFT_OUT.append(f"{named}, {width:,} x {height:,} pixels")
            continue
        try:
            image = xobject.decode_as_image() if xobject else page.images[key].image
            picture = None if _too_many_pixels(image, named) else _jpeg(image)
        except Exception:  # noqa: S112  (a damaged or unsupported image: another may be the page's scan)
            continue
        if picture:
            return f"data:image/jpeg;base64,{picture}"
    return None


def _image_xobject(page, key: str | list[str]) -> dict:
    """The dictionary of a page's image by pypdf's key for it: its name, the names of the forms drawing it then its
    own, or an inline image's ("~0~": {}, pypdf has decoded it already)."""
    if isinstance(key, str) and key.startswith("~"):
        return {}
    holder = page
    for name in [key] if isinstance(key, str) else key:
        holder = _xobjects(holder)[name]
    return holder


def _jpeg(image) -> str | None:
    """A PDF's image as a JPEG of at most PICTURE_SIDE pixels a side, in base64; None for a mode Pillow cannot turn
    into a JPEG's (16-bit grey, say)."""
    written = io.BytesIO()
    try:
        # A JPEG holds grey or RGB pixels: a scanner's black and white (mode "1") becomes grey, others RGB.
        image = image if image.mode in ("L", "RGB") else image.convert("L" if image.mode == "1" else "RGB")
        image.thumbnail((PICTURE_SIDE, PICTURE_SIDE))
        image.save(written, "JPEG", quality=85)
    except Exception:
        return None
    return base64.b64encode(written.getvalue()).decode()


def _image_size(content: bytes) -> dict:
    """An image's size by its header, not a pixel decoded: {"width", "height"} (what a queued add is checked for
    before it is queued: IMAGE_MOST_PIXELS); an error for one Pillow cannot open."""
    from PIL import Image

    _open_heif(content)
    bound, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # the server names the size against its limit
    try:
        if size := _webp_size(content):
            return {"width": size[0], "height": size[1]}
        with Image.open(io.BytesIO(content)) as image:
            return {"width": image.width, "height": image.height}
    except Exception as exc:  # not an image Pillow reads, or damaged: left to the add to hand it as it was sent
        return _unreadable_image(exc)
    finally:
        Image.MAX_IMAGE_PIXELS = bound


def _image(content: bytes) -> dict:
    """An image as a vision model is handed it: {"picture": a JPEG in base64} of at most PICTURE_SIDE pixels a side,
    turned as its EXIF orientation says (a phone's photo is stored sideways: the JPEG has no EXIF left to say so), what
    is transparent on white; {"small": true} for a PNG, JPEG, GIF or WebP image (what every model's API takes) already
    within PICTURE_SIDE a side and IMAGE_MOST_BYTES. Another format Pillow reads (HEIC, an iPhone's; AVIF, TIFF, BMP)
    is made a JPEG whatever its size. One of more than IMAGE_MOST_PIXELS, by its header: {"error": "pixels", "width",
    "height"}, nothing decoded."""
    from PIL import Image, ImageOps

    _open_heif(content)
    bound, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # IMAGE_MOST_PIXELS, below, names the size
    try:
        width, height = _webp_size(content) or (0, 0)
        if width * height > IMAGE_MOST_PIXELS:  # libwebp would reserve its canvases when Pillow opens it
            return {"error": "pixels", "width": width, "height": height}
        with Image.open(io.BytesIO(content)) as image:  # its header only
            if image.width * image.height > IMAGE_MOST_PIXELS:
                return {"error": "pixels", "width": image.width, "height": image.height}
            small = max(image.size) <= PICTURE_SIDE and len(content) <= IMAGE_MOST_BYTES
            if small and image.format in HANDED_FORMATS:
                return {"small": True}
            image.draft("RGB", (PICTURE_SIDE, PICTURE_SIDE))  # a JPEG decoded at the smallest scale that holds it
            image.thumbnail((PICTURE_SIDE, PICTURE_SIDE))  # first: what follows copies the picture, small by then
            picture = ImageOps.exif_transpose(image)
            if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
                picture = picture.convert("RGBA")
                picture = Image.alpha_composite(Image.new("RGBA", picture.size, "white"), picture)
            picture = picture if picture.mode in ("L", "RGB") else picture.convert("RGB")
            written = io.BytesIO()
            picture.save(written, "JPEG", quality=85)
    except Exception as exc:  # not an image Pillow reads (SVG), damaged, or too many pixels
        return _unreadable_image(exc)
    finally:
        Image.MAX_IMAGE_PIXELS = bound
    return {"picture": base64.b64encode(written.getvalue()).decode()}


def _open_heif(content: bytes) -> None:
    """Pillow taught to open a HEIF image (an iPhone's HEIC) by pillow-heif, for a file that starts as one may: with
    an ISO media file's "ftyp" box, as pillow-heif asks of what it opens. Not for another: importing it cost every
    image read ~25 ms of CPU, a quarter of a small one's."""
    if content[4:8] == b"ftyp":
        from pillow_heif import register_heif_opener

        register_heif_opener()


def _unreadable_image(exc: Exception) -> dict:
    """What the reader writes of an image Pillow cannot read: {"error": "unreadable", "why"}, in words (its header
    damaged or its format not one Pillow reads, cut short, damaged), Pillow's own after them where they add to it."""
    words = _REPR.sub("", str(exc)).strip()[:200]
    if type(exc).__name__ == "UnidentifiedImageError":  # Pillow found no format whose header this starts with
        why = "its header is damaged, or it is in a format Pillow does not read"
    elif isinstance(exc, MemoryError):
        why = _out_of_memory()
    elif "truncated" in words.lower():
        why = f"it is cut short ({words})"
    else:
        why = f"it is damaged ({type(exc).__name__}: {words})"
    return {"error": "unreadable", "why": why}


def _webp_size(content: bytes) -> tuple[int, int] | None:
    """A WebP picture's width and height as its first chunk says (lossy VP8, lossless VP8L, or the extended VP8X's
    canvas); None for another file. Known before Pillow opens it: libwebp's decoder reserves its canvases then, two of
    2 GB for 16,000 x 16,000 pixels claimed by a file of 10 KB, past the reader's bound, which said no more than that
    it "could not create decoder object"."""
    if len(content) < 30 or content[:4] != b"RIFF" or content[8:12] != b"WEBP":
        return None
    chunk = content[12:16]
    if chunk == b"VP8X":
        return int.from_bytes(content[24:27], "little") + 1, int.from_bytes(content[27:30], "little") + 1
    if chunk == b"VP8L":
        bits = int.from_bytes(content[21:25], "little")
        return (bits & 0x3FFF) + 1, (bits >> 14 & 0x3FFF) + 1
    if chunk == b"VP8 ":
        return struct.unpack_from("<H", content, 26)[0] & 0x3FFF, struct.unpack_from("<H", content, 28)[0] & 0x3FFF
    return None


# Word's XML namespaces (of its two forms, "transitional" and "strict"), and markup compatibility's: of an element
# written twice (mc:AlternateContent), a reader takes one, its mc:Choice, and leaves its mc:Fallback.
_WORD = frozenset(
    {"http://schemas.openxmlformats.org/wordprocessingml/2006/main", "http://purl.oclc.org/ooxml/wordprocessingml/main"}
)
# DrawingML's: a PowerPoint slide's text (a:p, a:t, a:br; a table's a:tr, a:tc).
_DRAWING = frozenset(
    {"http://schemas.openxmlformats.org/drawingml/2006/main", "http://purl.oclc.org/ooxml/drawingml/main"}
)
# PresentationML's shapes and placeholders: a notes page's body is the shape of the placeholder of type "body".
_PRESENTATION = (
    "http://schemas.openxmlformats.org/presentationml/2006/main",
    "http://purl.oclc.org/ooxml/presentationml/main",
)
_SHAPES = frozenset(f"{{{space}}}sp" for space in _PRESENTATION)
_PLACEHOLDERS = frozenset(f"{{{space}}}ph" for space in _PRESENTATION)
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_RELATIONSHIP_IDS = frozenset(
    {
        "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id",
        "{http://purl.oclc.org/ooxml/officeDocument/relationships}id",
    }
)
# How a picture names its part: a drawing's (a:blip r:embed), an older VML picture's (v:imagedata r:id).
_PICTURE_REFERENCES = _RELATIONSHIP_IDS | {name.replace("}id", "}embed") for name in _RELATIONSHIP_IDS}
# OpenDocument's (LibreOffice's): a paragraph's or heading's text is mixed content (its text, its spans', their tails).
_ODF_TYPES = (b"application/vnd.oasis.opendocument.text", b"application/vnd.oasis.opendocument.presentation")
_ODF_SPREADSHEET = b"application/vnd.oasis.opendocument.spreadsheet"
_ODF_SLIDES = b"application/vnd.oasis.opendocument.presentation"
_ODF_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_ODF_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_ODF_PARAGRAPHS = frozenset({f"{_ODF_TEXT}p", f"{_ODF_TEXT}h"})
_ODF_MARKS = {f"{_ODF_TEXT}tab": " ", f"{_ODF_TEXT}s": " ", f"{_ODF_TEXT}line-break": "\n"}
_ODF_NOTE = f"{_ODF_TEXT}note"  # a footnote or an endnote, inside the paragraph that marks it
_ODF_ANNOTATION = f"{_ODF_OFFICE}annotation"  # a comment, with its author (dc:creator)
_DUBLIN_CORE_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"
_ODF_LEFT_OUT = frozenset({_ODF_NOTE, f"{_ODF_TEXT}tracked-changes", _ODF_ANNOTATION})
_ODF_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_ODF_TABLE_PARTS = {f"{_ODF_TABLE}table-row": "tr", f"{_ODF_TABLE}table-cell": "tc"}
_ODF_PAGE = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}page"
_ODF_IMAGE = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}image"  # a picture: its part in xlink:href
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_ODF_NOTES = "{urn:oasis:names:tc:opendocument:xmlns:presentation:1.0}notes"
_ODF_SHEET = f"{_ODF_TABLE}table"
_ODF_STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
_ODF_TABLE_PROPERTIES = f"{_ODF_STYLE}table-properties"  # a sheet's style's: table:display="false" hides the sheet
_ODF_CELLS = frozenset({f"{_ODF_TABLE}table-cell", f"{_ODF_TABLE}covered-table-cell"})
# What the reader reads as an Office document (named in a refusal).
OFFICE_KINDS = (
    "Word document, PowerPoint presentation, Excel workbook, OpenDocument text, presentation or spreadsheet, "
    "or EPUB book"
)
# What a damaged Office file is, as a refusal names it: by what its archive holds (_office's kinds), else by its parts'
# names, as each part's own header in the archive gives it (_damaged_archive); an older one by its streams.
_OFFICE_NAMED = {
    "word": "a Word document (.docx)",
    "slides": "a PowerPoint presentation (.pptx)",
    "workbook": "an Excel workbook (.xlsx)",
    "opendocument": "an OpenDocument text or presentation (.odt, .odp)",
    "sheets": "an OpenDocument spreadsheet (.ods)",
    "book": "an EPUB book (.epub)",
}
_ARCHIVE_NAMES = (
    (b"word/document.xml", "word"),
    (b"ppt/presentation.xml", "slides"),
    (b"xl/workbook.xml", "workbook"),
    (b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet", "sheets"),
    (b"mimetypeapplication/vnd.oasis.opendocument.", "opendocument"),
    (b"mimetypeapplication/epub+zip", "book"),
)
_COMPOUND_NAMED = (
    ("__properties_version1.0", "an Outlook message (.msg)"),
    ("WordDocument", "a Word 97-2003 document (.doc)"),
    ("PowerPoint Document", "a PowerPoint 97-2003 presentation (.ppt)"),
    ("Workbook", "an Excel 97-2003 workbook (.xls)"),
    ("Book", "an Excel 97-2003 workbook (.xls)"),
)
# How a Rich Text Format file (.rtf) starts.
RTF_START = b"{\\rtf"
# Rich Text's pieces, one by one: a control word and its number (with the space that may end it), a character by its
# code ("\\'e3"), a control symbol ("\\*", "\\{"), a brace, text; and the groups that are not its text.
_RTF_TOKEN = re.compile(rb"\\([a-z]+)(-?\d+)? ?|\\'([0-9a-fA-F]{2})|\\(.)|([{}])|([^\\{}\r\n]+)|[\r\n]", re.DOTALL)
_RTF_NOT_TEXT = frozenset({b"fonttbl", b"colortbl", b"stylesheet", b"info", b"pict", b"object", b"listtable"})
# What compressed Rich Text's window holds before its first byte ([MS-OXRTFCP]): words most RTF starts with.
RTF_DICTIONARY = (
    b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript "
    b"\\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par "
    b"\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"
)
# How an older Office file starts: a compound file's signature (.xls, .doc, .ppt, and a .docx locked by a password).
COMPOUND_FILE = bytes.fromhex("d0cf11e0a1b11ae1")
# Where a Word 97-2003 document's FIB places its PLCs and other tables in its table stream (FibRgFcLcb97: pairs of a
# place and a size), and the indexes of those read: its footnotes' marks (PlcffndRef, then PlcffndTxt where their texts
# lie), its endnotes' (PlcfendRef, then PlcfendTxt), its comments' (PlcfandRef, then PlcfandTxt), its comments' authors
# (GrpXstAtnOwners), its characters' formatting (PlcBteChpx), its piece table (the CLX), where its shapes are anchored
# (PlcfSpaMom) and its text boxes' texts (PlcftxbxTxt).
_WORD_PAIRS = 0x9A
_WORD_FOOTNOTES, _WORD_ANNOTATIONS, _WORD_CHARACTER_RUNS, _WORD_PIECES, _WORD_AUTHORS = 2, 4, 12, 33, 36
_WORD_ENDNOTES, _WORD_SHAPES, _WORD_TEXT_BOXES = 46, 40, 56
# Its drawings (OfficeArtContent: fcDggInfo), their group's container and a shape's record (OfficeArtFSP: its id).
_WORD_DRAWINGS, _WORD_DRAWING_GROUP, _ART_SHAPE = 50, 0xF000, 0xF00A
_WORD_DELETED, _WORD_PICTURE = 0x0800, 0x6A03  # sprmCFRMarkDel; sprmCPicLocation: where its picture lies
_SPRM_SIZES = (1, 1, 2, 4, 2, 2, 0, 3)  # an operand's size by its sprm's top 3 bits (6: its first byte says)
# Word's marks in a document's characters: a line break, a hyphen that does not break, one shown only at a line's end,
# a picture's, a drawing's, a note's and a comment's anchors.
_OLDER_WORD_MARKS = str.maketrans(
    {"\x0b": "\n", "\x1e": "-", "\x1f": "", "\x01": "", "\x08": "", "\x02": "", "\x05": ""}
)
# A PowerPoint 97-2003 presentation's records ([MS-PPT]) read: its current edit (the Current User stream's token says
# whether it is encrypted), each edit's persist directory (where its slides lie in the PowerPoint Document stream), the
# document's lists of slides (instance 0) and of notes (2), each slide's and notes page's own container, and in their
# drawings each shape's text box: its text's type, its text (UTF-16, or 8-bit of which each byte is a character), or
# which of its slide's listed texts it shows.
_PPT_ENCRYPTED = 0xF3D1C4DF
_PPT_EDIT, _PPT_DIRECTORY, _PPT_DOCUMENT, _PPT_LIST = 0x0FF5, 0x1772, 0x03E8, 0x0FF0
_PPT_PERSIST, _PPT_SLIDE, _PPT_SLIDE_ATOM, _PPT_NOTES = 0x03F3, 0x03EE, 0x03EF, 0x03F0
_PPT_GROUP, _PPT_SHAPE, _PPT_TEXT_BOX, _PPT_TEXT_REF = 0xF003, 0xF004, 0xF00D, 0x0F9E
# A group that is a table: its own shape's properties (OfficeArtFOPT, or its tertiary one), 6 bytes each, hold
# tableProperties, not 0; each other shape of it is a cell, placed by its anchor in the group.
_PPT_PROPERTIES, _PPT_TABLE, _PPT_CELL_ANCHOR = frozenset({0xF00B, 0xF122}), 0x039F, 0xF00F
# A shape's picture: its properties' pib (an entry of the store, FBSE records); the kinds of picture records read
# (JPEG, JPEG in CMYK, PNG, TIFF).
_PPT_SHAPE_PROPERTIES, _PPT_PICTURE, _PPT_STORED = 0xF00B, 0x0104, 0xF007
# An .xls Workbook stream's records (BIFF8): a sheet's place and name (BOUNDSHEET8), the drawings' store
# (MSODRAWINGGROUP) and a record continuing the one before, a sheet's drawing (MSODRAWING), a substream's end (EOF).
_BIFF_SHEET, _BIFF_DRAWING_GROUP, _BIFF_CONTINUE, _BIFF_DRAWING, _BIFF_END = 0x0085, 0x00EB, 0x003C, 0x00EC, 0x000A
_ART_RASTERS = frozenset({0xF01D, 0xF02A, 0xF01E, 0xF029})
_PPT_TEXTS = {0x0FA0: "utf-16-le", 0x0FA8: "latin-1"}
# A text's fields, each at a character ("*") of its text: a slide's number, a date and time, a header, a footer.
_PPT_FIELDS = frozenset({0x0FD8, 0x0FF7, 0x0FF8, 0x0FF9, 0x0FFA, 0x1015})
_PPT_DEPTH = 32  # containers inside containers: a slide's drawing nests about 6 deep
# An Excel workbook's parts read besides its sheets: its shared texts, and its styles (which number is a date).
_WORKBOOK_PARTS = ("xl/sharedStrings.xml", "xl/styles.xml")
# Day 0 of Excel's dates (its 1900 date system counts 1900 as a leap year: from March 1900 on, its days are these).
_EXCEL_EPOCH = datetime.datetime(1899, 12, 30, tzinfo=datetime.UTC)  # a sheet's times are its own
# Excel's built-in number formats that show a date, a time or a percentage by their id; and those that show a number
# with decimals or thousands separators, by their pattern (5 to 8 and 37 to 44 add a currency's sign or spaces of the
# machine's language, left out). General (0), a fraction (12, 13), a number in scientific notation (11, 48): as stored.
_BUILT_IN_FORMATS = (
    dict.fromkeys(("14", "15", "16", "17", *map(str, range(27, 37)), *map(str, range(50, 59))), "date")
    | dict.fromkeys(("18", "19", "20", "21", "45", "47"), "time")
    | {"46": "elapsed h"}
    | {"22": "datetime", "9": "percent", "10": "percent"}
    | {"1": "0", "2": "0.00", "3": "#,##0", "4": "#,##0.00", "5": "#,##0", "6": "#,##0", "7": "#,##0.00"}
    | {"8": "#,##0.00", "37": "#,##0", "38": "#,##0", "39": "#,##0.00", "40": "#,##0.00", "41": "#,##0"}
    | {"42": "#,##0", "43": "#,##0.00", "44": "#,##0.00"}
)
# The space of an empty cell's place between two separators.
_EMPTY_PLACE = re.compile(r"(?<=\|) (?= \|)")
# A cell of a sheet's first row that makes it a row of data, not the columns' names: a number as a sheet shows one
# (950, -$1,234.50, 62.5 %, (1,900.00), +351 912 000 001) but a year, which names a yearly budget's column as often
# as it is a value; or a day (2026-03-01, 01/03/2026).
_DATA_CELL = re.compile(
    r"(?!(?:1[89]|2[01])\d\d$)[-+(]?[$€£¥]?\s?\d[\d,.\s]*(?:\s?[%€$£])?\)?"
    r"|\d{4}-\d\d-\d\d(?:[ T].*)?|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}"
)
# A number format's parts that are not its pattern: quoted texts, escaped characters, an underscore's or a star's.
_FORMAT_QUOTED = re.compile(r'"[^"]*"|\\.|[_*].')
# A number format's parts, one by one: a quoted text, an escaped character, a currency's sign ([$€-407]), another
# bracket ([Red], [>100]), an underscore's or a star's space, a run of digit places (#,##0.00), another character.
_FORMAT_PART = re.compile(r'"([^"]*)"|\\(.)|\[\$([^\]-]*)[^\]]*\]|\[[^\]]*\]|[_*].|([0#?][0#?,.]*)|(.)', re.DOTALL)
# A number shown by its format up to this size; a larger one as stored (a format cannot make a cell 300 digits long).
_FORMAT_MOST = 1e15
_SLIDE = re.compile(r"ppt/slides/slide(\d+)\.xml")
# What a run's elements other than its text (w:t) stand for.
_WORD_MARKS = {"tab": " ", "br": "\n", "cr": "\n", "noBreakHyphen": "-"}
# A reference to a footnote or an endnote, and the note's element and part.
_WORD_NOTES = {"footnoteReference": "footnote", "endnoteReference": "endnote"}
_WORD_NOTE_PARTS = {"footnote": "word/footnotes.xml", "endnote": "word/endnotes.xml"}
_WORD_COMMENTS = "word/comments.xml"


class _OfficeText:
    """A Word document's or a slide's text as its reader sees it: its paragraphs apart (a text box's too), a line break
    where it breaks one, a table's row on a line of its own, cells apart ("Deposit | 1,900 euros"); text deleted in
    tracked changes and fields' codes left out (they are other elements than w:t). Word's and DrawingML's (a slide's)
    elements have the same names: p, t, br, tab, tr, tc."""

    def __init__(self, most_characters: int) -> None:
        self.paragraphs: list[str] = []
        self.left = most_characters
        self.opened: list[list[str]] = []  # the paragraphs being read: a text box's lies inside another's
        self.cells: list[list[str]] = []  # the table cells being read, each its paragraphs
        self.rows: list[list[str]] = []  # the table rows being read, each its cells' text
        self.notes: list[tuple[str, str]] = []  # the footnotes and endnotes referred to, in order: (kind, id)

    def start(self, name: str) -> None:
        if name == "p":
            self.opened.append([])
        elif name == "tc":
            self.cells.append([])
        elif name == "tr":
            self.rows.append([])

    def end(self, name: str, element: ElementTree.Element) -> None:
        if name == "p" and self.opened:
            self.paragraph("".join(self.opened.pop()))
            element.clear()  # what was read of it: a long document is not held whole
        elif name == "t" and self.opened:
            self.opened[-1].append(element.text or "")
        elif name in _WORD_MARKS and self.opened:
            self.opened[-1].append(_WORD_MARKS[name])
        elif name in _WORD_NOTES and self.opened:  # a note's mark, numbered in the order of the text ("[1]")
            self.notes.append(
                (_WORD_NOTES[name], next((v for k, v in element.attrib.items() if k.endswith("}id")), ""))
            )
            self.opened[-1].append(f"[{len(self.notes)}]")
        elif name == "tc" and self.cells:
            cell = " ".join(self.cells.pop())
            if self.rows and cell:
                self.rows[-1].append(cell)
        elif name == "tr" and self.rows:
            self._add(" | ".join(self.rows.pop()))

    def paragraph(self, text: str) -> None:
        """A paragraph read: its lines, white space in each as one space."""
        self._add("\n".join(line for line in (" ".join(line.split()) for line in text.split("\n")) if line))

    def _add(self, text: str) -> None:
        """A paragraph or a row read: the document's, or the cell's it lies in."""
        if text:
            self.spend(len(text))
            (self.cells[-1] if self.cells else self.paragraphs).append(text)

    def spend(self, characters: int) -> None:
        """Characters read: past the most read, _TooLong."""
        self.left -= characters
        if self.left < 0:
            raise _TooLong


class _TooLong(Exception):
    pass


def _office(content: bytes, most_characters: int, most_pages: int = 0, pictures: int = -1) -> dict:
    """A Word document's text (its body, then its footnotes, endnotes and comments; headers and footers left out), a
    PowerPoint presentation's (its slides in order, each a page, its speaker's notes after its text), an Excel
    workbook's (its visible sheets, each a page), an OpenDocument text's, presentation's or spreadsheet's, or an EPUB
    book's (its title and authors, then its chapters in order, each a page, read as web pages are); an older Office
    file's (_compound)."""
    if content.startswith(COMPOUND_FILE):
        return _compound(content, most_characters, most_pages, pictures=pictures)
    reader = _OfficeText(most_characters)
    pages = []
    kind, archive = "", None
    try:
        archive = _archive(content)
        with archive:
            names = set(archive.namelist())
            sheets: list[tuple[str, str]] = []
            epoch = _EXCEL_EPOCH
            notes: dict[str, str] = {}  # a slide's notes page, by the slide
            if "word/document.xml" in names:
                kind, parts = "word", ["word/document.xml"]
                parts += [part for part in (*_WORD_NOTE_PARTS.values(), _WORD_COMMENTS) if part in names]
            elif "ppt/presentation.xml" in names:
                kind, parts = "slides", _slides(archive, names)
                notes = {slide: note for slide in parts if (note := _related(archive, names, slide, "notesSlide"))}
            elif "xl/workbook.xml" in names:
                kind, (sheets, epoch) = "workbook", _sheets(archive, names)
                parts = [part for _, part in sheets] + [part for part in _WORKBOOK_PARTS if part in names]
            elif "content.xml" in names and (opendocument := _opendocument(archive, names)):
                kind, parts = ("sheets" if opendocument == _ODF_SPREADSHEET else "opendocument"), ["content.xml"]
            elif "META-INF/container.xml" in names and (package := _epub_package(archive, names)):
                kind, (heading, parts) = "book", _epub_chapters(archive, names, package)
            else:
                return {"error": "unreadable", "why": "a ZIP archive that is no " + OFFICE_KINDS}
            size = sum(archive.getinfo(part).file_size for part in (*parts, *notes.values()))
            if size > OFFICE_XML_MAX_BYTES:
                size = f"{size // 2**20} MB, more than the {OFFICE_XML_MAX_BYTES // 2**20} MB read"
                return {"error": "unreadable", "why": f"its text ({', '.join(parts[:3])}) unpacks to {size}"}
            if kind == "book":
                chapters, shown = [], []
                for at, part in enumerate(parts, 1):
                    chapter = archive.read(part).decode("utf-8", errors="replace")
                    chapters.append(_page_text(chapter, title=False))
                    reader.spend(len(chapters[-1]))
                    shown += [(at, name) for name in _book_pictures(chapter, part, names)] if pictures > 0 else []
                return _pictured([heading, *chapters], shown, partial(_archived, archive), pictures, reader)
            if kind == "workbook":
                pages = _read_workbook(archive, names, sheets, epoch, reader)
                drawings = [_related(archive, names, part, "drawing") if pictures > 0 else None for _, part in sheets]
                shown = [
                    (at, media)
                    for at, drawing in enumerate(drawings)
                    if drawing
                    for media in _pictures_of(archive, names, drawing, pictures)
                ]
                places = [f"sheet {name}" for name, _ in sheets]
                return _pictured(pages, shown, partial(_archived, archive), pictures, reader, places=places)
            if kind == "sheets":  # an OpenDocument spreadsheet
                pages, shown, places = _read_opendocument_sheets(archive, names, reader)
                return _pictured(pages, shown, partial(_archived, archive), pictures, reader, places=places)
            if kind == "opendocument":  # read as mixed content, not element by element
                pages, shown = _read_opendocument(archive, names, reader)
                load = partial(_archived, archive)
                slides = _slides_named(pages) if opendocument == _ODF_SLIDES else []
                return _pictured(pages, shown, load, pictures, reader, places=slides)
            if kind == "word":
                _read_part(archive, "word/document.xml", _WORD, reader)
                notes = _word_notes(archive, names, reader) + _word_comments(archive, names, reader)
                pages = ["\n\n".join(reader.paragraphs + notes)]
                shown = [(0, media) for media in _pictures_of(archive, names, "word/document.xml", pictures)]
                return _pictured(pages, shown, partial(_archived, archive), pictures, reader)
            for part in parts:
                _read_part(archive, part, _DRAWING, reader)
                if part in notes:
                    _read_part(archive, notes[part], _DRAWING, reader, notes=True)
                pages.append("\n\n".join(reader.paragraphs))
                reader.paragraphs = []
            shown = [
                (at, media) for at, part in enumerate(parts) for media in _pictures_of(archive, names, part, pictures)
            ]
            return _pictured(pages, shown, partial(_archived, archive), pictures, reader, places=_slides_named(pages))
    except _TooLong:
        return {"error": "too_long"}
    except (MemoryError, RecursionError) as exc:  # past the reader's bound of memory; parts nested too deep
        return _failed(exc)
    except Exception as exc:  # a damaged archive or XML (zipfile's, zlib's, ElementTree's errors)
        return _damaged_archive(exc, content, kind, archive.opened if archive else "")


def _archive(content: bytes) -> zipfile.ZipFile:
    """An Office file's ZIP archive, noting the part it opened last (its `opened`): the one an error reading it is
    about."""
    import zipfile

    class Archive(zipfile.ZipFile):
        opened = ""

        def open(self, name, *args, **kwargs):
            self.opened = name.filename if isinstance(name, zipfile.ZipInfo) else name
            return super().open(name, *args, **kwargs)

    return Archive(io.BytesIO(content))


def _damaged_archive(exc: Exception, content: bytes, kind: str, part: str) -> dict:
    """What the reader writes of an Office file's ZIP archive it cannot read: {"error": "damaged", "what": what the file
    is (by what its archive holds, else by its parts' own headers: a file cut short has lost its list of parts), "why":
    which part is damaged and how, in words, "detail": the library's error (for the server's log)}."""
    import zipfile

    kind = kind or next((found for name, found in _ARCHIVE_NAMES if name in content), "")
    what = _OFFICE_NAMED.get(kind, f"a {OFFICE_KINDS}")
    if isinstance(exc, ElementTree.ParseError):
        line, column = exc.position
        where = f"line {line:,}, column {column + 1:,}"  # ElementTree counts columns from 0, an editor from 1
        why = f"its part {part} is not well-formed XML ({where}): cut short or changed"
    elif part and isinstance(exc, (zipfile.BadZipFile, zlib.error, EOFError)):
        why = f"its part {part} cannot be unpacked: its bytes were cut short or changed"
    elif isinstance(exc, zipfile.BadZipFile):
        why = "the list of its parts, at its end, is missing or damaged: it is cut short, or not a whole file"
    else:
        why = f"its part {part} does not hold what it should" if part else "its parts do not hold what they should"
    return {"error": "damaged", "what": what, "why": why, "detail": f"{type(exc).__name__}: {str(exc)[:200]}"}


def _pictured(
    pages: list[str],
    shown: list[tuple[int, Any]],
    load: Callable[[Any], bytes],
    pictures: int,
    reader: _OfficeText,
    *,
    places: list[str] = (),
) -> dict:
    """A document's, a presentation's or a workbook's pages (a slide's or a sheet's each), with `pictures` (the most a
    vision model may be handed; -1: none) the pictures `shown` (each by its page's index, and its key: its part, or its
    entry in the file's store of pictures, whose bytes `load` gives; one shown again, a logo on every slide, or the same
    picture twice, where it is first), up to that many, each a page after its page ("Picture 1:", or by its page's
    place: "Picture on slide 2:", "Picture on sheet Budget:") and in "images" its data URL as the model is handed it,
    for the server to add what the model says it shows; in a document of no text (a scan pasted into Word) each
    picture a page without a heading, in "scans", for the server to add its text as the model reads it. A picture
    smaller than PICTURE_LEAST a side (an icon, a bullet, a line) is not one."""
    urls: list[tuple[int, str]] = []
    first: dict[Any, int] = {}  # each picture's first page
    for index, key in shown:
        first.setdefault(key, index)
    for key, index in first.items():
        if len(urls) >= pictures:
            break
        if (url := _office_picture(load, key)) and url not in (made for _, made in urls):  # the same picture twice
            urls.append((index, url))
    if not urls:
        return {"pages": pages}
    scanned = not any(page.strip() for page in pages)
    found, read = {}, []
    for index, page in enumerate(pages):
        read.append(page)
        for number, (_, url) in enumerate((picture for picture in urls if picture[0] == index), 1):
            heading = f"Picture on {places[index]}:" if index < len(places) else f"Picture {number}:"
            heading = "" if scanned else heading
            reader.spend(len(heading) + 2)
            found[str(len(read))] = url
            read.append(heading)
    return {"pages": read, "scans" if scanned else "images": found}


def _slides_named(pages: list[str]) -> list[str]:
    """A presentation's pages as its pictures name them: "slide 1", "slide 2", …"""
    return [f"slide {number}" for number in range(1, len(pages) + 1)]


def _pictures_of(archive: zipfile.ZipFile, names: set[str], part: str, pictures: int) -> list[str]:
    """The pictures a part shows, in its order, once each: the parts its drawings' pictures (a:blip's r:embed) and its
    older VML pictures (v:imagedata's r:id) refer to, through its relationships (a picture linked outside the file is
    not one); none without `pictures` to hand a vision model (its part is not read again)."""
    if pictures <= 0:
        return []
    targets = {relation: target for relation, _, target in _relations(archive, names, part)}
    found: list[str] = []
    with archive.open(part) as xml:
        for _, element in ElementTree.iterparse(xml):  # noqa: S314 (as _read_part)
            if element.tag.endswith(("}blip", "}imagedata")):
                refers = (value for name, value in element.attrib.items() if name in _PICTURE_REFERENCES)
                target = targets.get(next(refers, ""), "")
                if target in names and target not in found:
                    found.append(target)
            element.clear()
    return found


def _archived(archive: zipfile.ZipFile, part: str) -> bytes:
    """A part of an archive, b"" when it unpacks to more than OFFICE_XML_MAX_BYTES."""
    return archive.read(part) if archive.getinfo(part).file_size <= OFFICE_XML_MAX_BYTES else b""


def _office_picture(load: Callable[[Any], bytes], key: Any) -> str | None:
    """A picture of an Office file (its bytes as `load` gives them) as a vision model is handed it (_picture_url); None
    when it is too small to be more than an icon, a bullet or a line, not one Pillow reads (a vector drawing: EMF,
    WMF), or missing."""
    from PIL import Image

    try:
        content = load(key)
        with Image.open(io.BytesIO(content)) as image:
            if min(image.size) < PICTURE_LEAST:
                return None
            media_type = Image.MIME.get(image.format or "", "")
    except Exception:  # not a picture Pillow reads, damaged in its archive, or missing: the document is read without it
        return None
    return _picture_url(content, media_type, key if isinstance(key, str) else "a picture") if media_type else None


def _compound(content: bytes, most_characters: int, most_pages: int, depth: int = 0, pictures: int = -1) -> dict:
    """An older Office file, a compound file of streams: an Excel 97-2003 workbook (.xls) read as a workbook is, by
    xlrd; an Outlook message (.msg) as an email is (_outlook_message, up to EMAIL_DEPTH emails deep); a Word 97-2003
    document (.doc) as its text (_older_document), a PowerPoint 97-2003 presentation (.ppt) as its slides
    (_older_presentation); a PowerPoint 95 presentation is not read ({"error": "older", "what", "instead"}), and a
    file locked by a password (a .docx, .xlsx or .pptx encrypted by Office, an .xls or a .doc encrypted in its
    stream) neither."""
    import olefile

    opened: list[str] = []  # the streams read, in order: the last is the one a damaged file's error is about
    streams: set[str] = set()
    try:
        with olefile.OleFileIO(io.BytesIO(content)) as compound:
            streams = {"/".join(path) for path in compound.listdir()}
            if looped := _looped_stream(compound):
                why = f"its table of sectors is damaged: its {looped} stream runs into sectors already read"
                return {"error": "damaged", "what": _compound_named(streams, content), "why": why}

            def noted(path, openstream=compound.openstream):
                opened.append(path if isinstance(path, str) else "/".join(path))
                return openstream(path)

            compound.openstream = noted
            if "__properties_version1.0" in streams:
                if depth >= EMAIL_DEPTH:
                    return {}
                return _outlook_message(compound, (), most_characters, most_pages, depth, pictures)
            if "WordDocument" in streams:
                return _older_document(compound, streams, most_characters, pictures)
            if "PowerPoint Document" in streams and "PP40" not in streams:
                return _older_presentation(compound, streams, most_characters, pictures)
    except _TooLong:
        return {"error": "too_long"}
    except (MemoryError, RecursionError) as exc:  # past the reader's bound of memory; storages nested too deep
        return _failed(exc)
    except Exception as exc:  # a damaged compound file (olefile's own errors, struct's: a piece out of its stream)
        if not streams:
            why = "its header or its directory of streams is damaged, or it is cut short"
        else:
            why = f"its {opened[-1] if opened else 'directory of'} stream{'s' * (not opened)} is damaged or cut short"
        detail = f"{type(exc).__name__}: {str(exc)[:200]}"
        return {"error": "damaged", "what": _compound_named(streams, content), "why": why, "detail": detail}
    if "EncryptedPackage" in streams:
        return {"error": "locked"}
    if streams & {"Workbook", "Book"}:
        return _older_workbook(content, most_characters, pictures)
    if "PP40" in streams:  # PowerPoint 95's
        return {"error": "older", "what": "a PowerPoint 95 presentation (.ppt)", "instead": ".pptx"}
    why = "an older Office file's container holding no Word, PowerPoint or Excel 97-2003 file or Outlook message"
    return {"error": "unreadable", "why": why}


def _damaged_stream(stream: str, why: str) -> dict:
    """A damaged older Office file, by the stream that names its kind ("WordDocument": a .doc), and what is wrong."""
    return {"error": "damaged", "what": dict(_COMPOUND_NAMED)[stream], "why": why}


def _compound_named(streams: set[str], content: bytes) -> str:
    """What an older Office file is, as a refusal names it: by its streams, else (its directory unreadable) by their
    names where its directory's entries keep them (UTF-16, at the start of an entry of 128 bytes)."""
    for stream, named in _COMPOUND_NAMED:
        entry = re.escape((stream + "\0").encode("utf-16-le"))
        if stream in streams or (not streams and any(at.start() % 128 == 0 for at in re.finditer(entry, content))):
            return named
    return "an Office 97-2003 file (.doc, .xls, .ppt) or an Outlook message (.msg)"


def _looped_stream(compound) -> str | None:
    """The first stream of a compound file whose sectors, as its table of sectors (its FAT, or its mini FAT for a small
    stream) chains them, run into one it or another stream went through already (a sector pointing to itself): olefile
    reads such a stream as one sector over and over, garbage taken for text. None when each sector is read once."""
    import olefile

    entries = [entry for entry in compound.direntries if entry is not None]
    streams = [entry for entry in entries if entry.entry_type in (olefile.STGTY_STREAM, olefile.STGTY_ROOT)]
    small = [entry for entry in streams if entry.entry_type == olefile.STGTY_STREAM]
    small = [entry for entry in small if 0 < entry.size < compound.minisectorcutoff]
    if small and compound.minifat is None:
        compound.loadminifat()
    taken: dict[bool, set[int]] = {False: set(), True: set()}  # by whether in the mini FAT
    for entry in streams:
        mini = entry in small
        table, unit = (compound.minifat, compound.minisectorsize) if mini else (compound.fat, compound.sectorsize)
        sector = entry.isectStart
        for _ in range(-(-entry.size // unit)):
            if not 0 <= sector < len(table):
                break  # past its table's end: olefile says so when it reads the stream
            if sector in taken[mini]:
                return entry.name
            taken[mini].add(sector)
            sector = table[sector]
    return None


def _outlook_message(
    compound, storage: tuple[str, ...], most_characters: int, most_pages: int, depth: int, pictures: int
) -> dict:
    """An Outlook message ([MS-OXMSG]: its MAPI properties, each a stream of the compound file, in `storage`: () for
    the file's own, an attachment's storage for an embedded message) read as an email is (_attachments_read): its
    sender, recipients, time sent and subject, its plain text (else its HTML as a web page's, else its Rich Text:
    _rtf_decompressed, then as an .rtf is, or as a web page when it holds an HTML message's, _html_in_rtf), and its
    attachments, an embedded message too."""

    def value(tag: int, where: tuple[str, ...] = storage) -> str:
        """A property of text, stored as UTF-16 (type 001F) or 8-bit (001E); "" when missing."""
        for kind, encoding in (("001F", "utf-16-le"), ("001E", "cp1252")):
            path = [*where, f"__substg1.0_{tag:04X}{kind}"]
            if compound.exists(path):
                return compound.openstream(path).read().decode(encoding, errors="replace").rstrip("\0")
        return ""

    def data(tag: int, where: tuple[str, ...] = storage) -> bytes:
        path = [*where, f"__substg1.0_{tag:04X}0102"]
        return compound.openstream(path).read() if compound.exists(path) else b""

    def properties(where: tuple[str, ...], header: int) -> dict[int, int]:
        return _fixed_properties(compound.openstream([*where, "__properties_version1.0"]).read(), header)

    def person(name: str, address: str) -> str:
        address = address if "@" in address else ""  # not an Exchange server's own address ("/O=EXCHANGELABS/…")
        return f"{name} <{address}>" if name and address and name != address else name or address

    paths = compound.listdir(streams=True, storages=True)
    entries = {path[len(storage)] for path in paths if len(path) > len(storage) and path[: len(storage)] == [*storage]}
    # Its recipients, each a storage: To (type 1) and Cc (2), by name and address; else the names it shows.
    recipients: dict[int, list[str]] = {1: [], 2: []}
    for entry in sorted(entry for entry in entries if entry.startswith("__recip_version1.0_#")):
        where = (*storage, entry)
        kind = properties(where, 8).get(0x0C150003, 1) & 0xF  # its type, without MAPI's flags above it
        if kind in recipients:
            recipients[kind].append(person(value(0x3001, where), value(0x39FE, where) or value(0x3003, where)))
    fields = [
        ("From", person(value(0x0C1A), value(0x5D01) or value(0x0C1F))),
        ("To", ", ".join(recipients[1]) or value(0x0E04)),
        ("Cc", ", ".join(recipients[2]) or value(0x0E03)),
        ("Date", _message_time(properties(storage, 32 if not storage else 24))),
        ("Subject", value(0x0037)),
    ]
    text = value(0x1000).replace("\r\n", "\n")  # Outlook's lines end so
    if not text.strip() and (page := data(0x1013) or value(0x1013).encode()):
        text = _page_text(page.decode("utf-8", errors="replace"))
    if not text.strip() and (rich := _rtf_decompressed(data(0x1009), most_characters)):
        page = _html_in_rtf(rich)  # an HTML message's, kept in its Rich Text
        text = _page_text(page) if page else "\n\n".join(_rtf(rich, most_characters).get("pages", []))
    attachments = []
    prefix = "__attach_version1.0_#"
    for entry in sorted(entry for entry in entries if entry.startswith(prefix)):
        where = (*storage, entry)
        name = value(0x3707, where) or value(0x3704, where)
        embedded = [*where, "__substg1.0_3701000D"]
        if compound.exists(embedded):
            name = name or f"{value(0x0037, tuple(embedded)) or 'message'}.msg"
            reading = partial(
                _outlook_message, compound, tuple(embedded), most_pages=most_pages, depth=depth + 1, pictures=-1
            )
            attachments.append(_Attached(name, "application/vnd.ms-outlook", reading, embedded=True))
        elif name:
            attachments.append(_Attached(name, value(0x370E, where).lower(), partial(data, 0x3701, where)))
    return _attachments_read(fields, text, attachments, most_characters, most_pages, depth, pictures)


def _older_document(compound, streams: set[str], most_characters: int, pictures: int = -1) -> dict:
    """A Word 97-2003 document's text (.doc, [MS-DOC]), read as a .docx is: its main document's characters, in the
    pieces its piece table (the table stream's CLX, where its FIB says) lays out, each 8-bit (Windows-1252) or UTF-16;
    its paragraphs apart, a table's row on a line with its cells apart, a field's result without its code, text deleted
    in tracked changes (its characters' formatting says so) left out, a text box's paragraphs where its shape is
    anchored, a footnote's or an endnote's mark "[1]" and the notes after the text, then its comments, each naming its
    author (each story after the main document's characters); with `pictures`, the pictures its text shows (_pictured:
    each at its character's place in its Data stream, _word_picture; floating ones, _word_floating). Its headers are
    left out.
    A file of Word 6 or 95, or one locked by a password, is not read ("older", "locked")."""
    document = compound.openstream("WordDocument").read()
    identity, version, flags = struct.unpack_from("<HH6xH", document, 0)
    if identity != 0xA5EC:
        return _damaged_stream("WordDocument", "its WordDocument stream does not start as a Word document's")
    if version < 0x00C1:
        return {"error": "older", "what": "a Word 6 or 95 document (.doc)", "instead": ".docx"}
    if flags & 0x0100:  # fEncrypted
        return {"error": "locked"}
    table = "1Table" if flags & 0x0200 else "0Table"
    if table not in streams:
        return _damaged_stream("WordDocument", f"its {table} stream, which says where its text lies, is missing")
    table = compound.openstream(table).read()

    def plc(index: int, size: int) -> tuple[tuple[int, ...], list[bytes]]:
        """A PLC the FIB places by its index among its pairs: its character positions, and its data of `size` bytes
        each."""
        at, length = struct.unpack_from("<II", document, _WORD_PAIRS + 8 * index)
        data = table[at : at + length]
        count = max(0, (len(data) - 4) // (4 + size))
        ends = 4 * (count + 1)
        return struct.unpack_from(f"<{count + 1}I", data) if count else (), [
            data[ends + size * n : ends + size * (n + 1)] for n in range(count)
        ]

    # Its stories' lengths, one after another: the main document's, footnotes', headers', macros', comments', endnotes',
    # text boxes'.
    lengths = [max(0, length) for length in struct.unpack_from("<7i", document, 0x4C)]
    at, length = struct.unpack_from("<II", document, _WORD_PAIRS + 8 * _WORD_PIECES)
    clx = table[at : at + length]
    while clx[:1] == b"\x01":  # Prc: formatting the pieces refer to, before the piece table
        clx = clx[3 + struct.unpack_from("<h", clx, 1)[0] :]
    if clx[:1] != b"\x02":
        return _damaged_stream("WordDocument", "its 1Table stream does not say where its text lies")
    reader = _OfficeText(most_characters)
    characters, laid = _word_pieces(document, clx[5 : 5 + struct.unpack_from("<I", clx, 1)[0]], reader)

    def positions(first: int, last: int) -> Iterator[int]:
        """The characters that lie from `first` to `last` in its WordDocument stream (a run's), by their positions."""
        for start, end, place, width in laid:
            low, high = max(first, place), min(last, place + width * (end - start))
            if low < high:
                yield from range(start + (low - place) // width, start + -(-(high - place) // width))

    drawn = []  # the pictures its text shows: where each is, and where it lies in its Data stream
    for first, last, formatting in _word_runs(document, *plc(_WORD_CHARACTER_RUNS, 4)):
        if _sprm(formatting, _WORD_DELETED) in (b"\x01", b"\x81"):  # on, or the opposite of its style's (off)
            for position in positions(first, last):
                characters[position] = ""
        elif pictures > 0 and len(place := _sprm(formatting, _WORD_PICTURE) or b"") == 4:
            drawn += [
                (at, int.from_bytes(place, "little")) for at in positions(first, last) if characters[at] == "\x01"
            ]

    def story(start: int, end: int) -> str:
        """Characters of one of its stories as text (a note, a comment), its paragraphs on one line."""
        return _one_line(_word_text(_word_units("".join(characters[start:end]))).split("\n"))

    # Where its main document ends, and its footnotes', comments', endnotes' and text boxes' stories start.
    main, notes_at, comments_at, endnotes_at, boxes_at = lengths[0], lengths[0], *(sum(lengths[:n]) for n in (4, 5, 6))
    # A text box's text where its shape is anchored in the text (its "\x08"), its paragraphs as the text's: each box
    # (FTXBXS) names its shape (its lid), each shape anchored (FSPA) its id; a box deleted (reusable) has no shape.
    ends, boxes = plc(_WORD_TEXT_BOXES, 22)
    shapes = {
        box[14:18]: "".join(characters[boxes_at + ends[n] : boxes_at + ends[n + 1]]).rstrip("\r")
        for n, box in enumerate(boxes[: len(ends) - 1])
        if not box[8:10].strip(b"\0")
    }
    anchors, placed = plc(_WORD_SHAPES, 26)
    for at, shape in zip(anchors, placed, strict=False):
        if at < min(main, len(characters)) and characters[at] == "\x08" and shape[:4] in shapes:
            characters[at] = f"\r{shapes[shape[:4]]}\r"
    marks = []  # its notes' marks in its text: where, and the note's text
    for refers, texts, base in (
        (_WORD_FOOTNOTES, _WORD_FOOTNOTES + 1, notes_at),
        (_WORD_ENDNOTES, _WORD_ENDNOTES + 1, endnotes_at),
    ):
        where, ends = plc(refers, 2)[0], plc(texts, 0)[0]
        marks += [
            (at, story(base + ends[n], base + ends[n + 1])) for n, at in enumerate(where[:-1]) if n + 1 < len(ends)
        ]
    notes = []
    for number, (at, note) in enumerate(
        sorted(mark for mark in marks if mark[0] < min(main, len(characters)) and characters[mark[0]]), 1
    ):
        characters[at] = f"[{number}]"
        notes.append(f"[{number}] {note}" if note else "")
    at, length = struct.unpack_from("<II", document, _WORD_PAIRS + 8 * _WORD_AUTHORS)
    owners = _word_authors(table[at : at + length])
    (where, comments), ends = plc(_WORD_ANNOTATIONS, 30), plc(_WORD_ANNOTATIONS + 1, 0)[0]
    said = []
    for n, comment in enumerate(comments[: len(ends) - 1]):
        author = struct.unpack_from("<h", comment, 20)[0]
        text = story(comments_at + ends[n], comments_at + ends[n + 1])
        said.append(_comment(owners[author] if 0 <= author < len(owners) else "", text) if text else "")
    text = _word_text(_word_units("".join(characters[:main])))
    pages = ["\n\n".join(part for part in (text, *notes, *said) if part)]
    at, length = struct.unpack_from("<II", document, _WORD_PAIRS + 8 * _WORD_DRAWINGS)
    floating = _word_floating(table[at : at + length], anchors, placed, main) if pictures > 0 else []
    if not floating and (not drawn or "Data" not in streams):
        return {"pages": pages}
    data = compound.openstream("Data").read() if drawn and "Data" in streams else b""
    shown = [(at, ("inline", place)) for at, place in drawn if at < main and data] + floating
    sources = {"inline": partial(_word_picture, data), "floating": partial(_blip, document)}
    return _pictured(
        pages, [(0, key) for _, key in sorted(shown)], lambda key: sources[key[0]](key[1]), pictures, reader
    )


def _word_floating(art: bytes, anchors: tuple[int, ...], placed: list[bytes], main: int) -> list[tuple[int, tuple]]:
    """The pictures a Word 97-2003 document's main text shows floating (its shapes anchored in it, FSPA), each its
    anchor's character position and ("floating", where its picture record lies in the WordDocument stream): its
    drawings (OfficeArtContent, in the table stream where its FIB says) name each shape's picture (its pib) in their
    store (FBSE), whose picture Word keeps in the WordDocument stream (its foDelay). None when they cannot be read."""
    try:
        kind, _, start, stop = _art_record(art, 0)
        if kind != _WORD_DRAWING_GROUP:
            return []
        entries = [body for kind, _, body, _ in _ppt_walk(art, start, stop) if kind == _PPT_STORED]
        pictured: dict[bytes, int] = {}  # a shape's id: its picture's entry (1 on) in the store
        at = stop
        while at + 9 <= len(art):  # each drawing: whose (0 the main document's, 1 its headers'), then its container
            _, _, body, end = _art_record(art, at + 1)
            shape = None
            for kind, count, first, last in _ppt_walk(art, body, end) if art[at] == 0 else ():
                if kind == _ART_SHAPE:
                    shape = art[first : first + 4]
                elif kind == _PPT_SHAPE_PROPERTIES and shape is not None:
                    for opid, value in _ppt_properties(art, count, first, last):
                        if opid & 0x3FFF == _PPT_PICTURE and opid & 0x4000 and value > 0:
                            pictured[shape] = value
            at = end
        return [
            (cp, ("floating", struct.unpack_from("<I", art, entries[entry - 1] + 28)[0]))
            for cp, shape in zip(anchors, placed, strict=False)
            if cp < main and 0 < (entry := pictured.get(shape[:4], 0)) <= len(entries)
        ]
    except Exception:  # damaged drawings: the document is read without its floating pictures
        return []


def _word_pieces(document: bytes, pieces: bytes, reader: _OfficeText) -> tuple[list[str], list[tuple]]:
    """A Word 97-2003 document's characters, one for each of its character positions (a UTF-16 unit), in the pieces its
    piece table lays out (each its positions, then where it lies: 8-bit at half its place, else UTF-16); and each piece
    as (its first position, its end, where it lies in the stream, its characters' width)."""
    count = (len(pieces) - 4) // 12
    places = struct.unpack_from(f"<{count + 1}I", pieces, 0)
    characters: list[str] = []
    laid: list[tuple[int, int, int, int]] = []
    for index in range(count):
        start, end = places[index], places[index + 1]
        if start != len(characters) or start >= end:
            break
        place = struct.unpack_from("<I", pieces, 4 * (count + 1) + 8 * index + 2)[0]
        reader.spend(end - start)
        if place & 0x40000000:  # 8-bit: at half its place
            offset = (place & 0x3FFFFFFF) // 2
            characters += document[offset : offset + end - start].decode("cp1252", errors="replace")
            laid.append((start, end, offset, 1))
        else:
            units = document[place : place + 2 * (end - start)]
            characters += map(chr, struct.unpack(f"<{len(units) // 2}H", units[: len(units) // 2 * 2]))
            laid.append((start, end, place, 2))
        characters += "\0" * (end - len(characters))  # a piece past its stream's end
    return characters, laid


def _word_authors(names: bytes) -> list[str]:
    """A Word 97-2003 document's comments' authors (GrpXstAtnOwners: each a length, then its UTF-16 characters)."""
    authors = []
    while len(names) >= 2:
        size = 2 + 2 * int.from_bytes(names[:2], "little")
        authors.append(" ".join(names[2:size].decode("utf-16-le", errors="replace").split()))
        names = names[size:]
    return authors


def _word_units(text: str) -> str:
    """A Word document's characters, one UTF-16 unit each, as text: a pair of surrogates one character."""
    return text.encode("utf-16-le", errors="surrogatepass").decode("utf-16-le", errors="replace")


def _word_runs(document: bytes, places: tuple[int, ...], pages: list[bytes]) -> list[tuple[int, int, bytes]]:
    """A Word 97-2003 document's runs of characters with formatting of their own: where each lies in its WordDocument
    stream, and its formatting (its sprms), from the pages of formatting its PlcBteChpx names (each 512 bytes: its
    runs' places, then where each run's formatting lies in the page)."""
    runs = []
    for page in dict.fromkeys(pages):  # a damaged table may name one page many times
        fkp = document[(int.from_bytes(page, "little") & 0x3FFFFF) * 512 :][:512]
        count = fkp[-1] if len(fkp) == 512 else 0
        if 5 * count + 5 > 511:  # more runs than a page holds
            continue
        bounds = struct.unpack_from(f"<{count + 1}I", fkp)
        for run in range(count):
            if at := 2 * fkp[4 * (count + 1) + run]:  # 0: no formatting of its own
                runs.append((bounds[run], bounds[run + 1], fkp[at + 1 : at + 1 + fkp[at]]))
    return runs


def _sprm(formatting: bytes, wanted: int) -> bytes | None:
    """A sprm's operand in a run's formatting (its sprms, each an id then its operand, whose size the id's top 3 bits
    say); None without it."""
    at = 0
    while at + 2 < len(formatting):
        sprm = int.from_bytes(formatting[at : at + 2], "little")
        size = formatting[at + 2] + 1 if sprm >> 13 == 6 else _SPRM_SIZES[sprm >> 13]
        if sprm == wanted:
            return formatting[at + 2 : at + 2 + size]
        at += 2 + size
    return None


def _older_presentation(compound, streams: set[str], most_characters: int, pictures: int = -1) -> dict:
    """A PowerPoint 97-2003 presentation's text (.ppt, [MS-PPT]): its slides in its order, each a page, their shapes'
    texts in the order drawn (a placeholder's, kept in the document's list of slides, where the shape refers to it),
    then its notes page's notes, "Notes: " before them, and with `pictures` its slides' pictures (_pictured: each
    shape's entry in the presentation's store of pictures, the picture in its Pictures stream), as a .pptx is read.
    Its current edit's persist directory says where each slide lies, an earlier edit's where the later did not change
    it (a presentation saved "fast"). A presentation locked by a password is not read ("locked"), nor its masters' and
    layouts' texts."""
    if "Current User" not in streams:
        return _damaged_stream("PowerPoint Document", "its Current User stream, naming its slides, is missing")
    token, edit = struct.unpack_from("<II", compound.openstream("Current User").read(), 12)
    if token == _PPT_ENCRYPTED:
        return {"error": "locked"}
    document = compound.openstream("PowerPoint Document").read()
    places: dict[int, int] = {}  # a persist id's place in the stream, by the latest edit that placed it
    edits, document_id = set(), 0
    while edit and edit not in edits:
        edits.add(edit)
        if _art_record(document, edit)[0] != _PPT_EDIT:
            return _damaged_stream("PowerPoint Document", "its PowerPoint Document stream is cut short or changed")
        earlier, directory, document_id = struct.unpack_from("<III", document, edit + 16)
        _, _, at, end = _art_record(document, directory)
        while at + 4 <= end:
            entry = struct.unpack_from("<I", document, at)[0]
            first, count = entry & 0xFFFFF, entry >> 20
            for index, place in enumerate(struct.unpack_from(f"<{count}I", document, at + 4)):
                places.setdefault(first + index, place)
            at += 4 + 4 * count
        edit = earlier

    def container(persist: int, kind: int) -> tuple[int, int] | None:
        """Where the container of this kind that a persist id places holds its records; None when it is none."""
        if persist not in places:
            return None
        found, _, at, end = _art_record(document, places[persist])
        return (at, end) if found == kind else None

    if not (whole := container(document_id, _PPT_DOCUMENT)):
        return _damaged_stream("PowerPoint Document", "its PowerPoint Document stream is cut short or changed")
    slides: list[tuple[int, list[str]]] = []  # each slide's persist id and its listed (placeholders') texts
    notes: dict[int, int] = {}  # a notes page's persist id, by its id
    for kind, instance, at, end in _art_records(document, *whole):
        if kind != _PPT_LIST or instance not in (0, 2):
            continue
        for inner, _, start, stop in _art_records(document, at, end):
            if inner == _PPT_PERSIST and instance == 0:
                slides.append((struct.unpack_from("<I", document, start)[0], []))
            elif inner == _PPT_PERSIST:
                persist, notes_id = struct.unpack_from("<I8xI", document, start)
                notes[notes_id] = persist
            elif inner in _PPT_TEXTS and slides and instance == 0:
                slides[-1][1].append(document[start:stop].decode(_PPT_TEXTS[inner], errors="replace"))
    reader = _OfficeText(most_characters)
    pages, read, drawn = [], set(), []  # drawn: each slide's pictures, by its page
    for persist, listed in slides:
        if not (slide := container(persist, _PPT_SLIDE)) or slide in read:  # a damaged list may name one many times
            continue
        read.add(slide)
        drawn += [(len(pages), entry) for entry in _ppt_pictures(document, *slide)] if pictures > 0 else []
        shown = _ppt_texts(document, *slide, listed)
        for text in (*shown, *(text for text in listed if text not in shown)):  # a listed text no shape showed too
            for paragraph in _ppt_paragraphs(text):
                reader.paragraph(paragraph)
        atom = next((at for kind, _, at, end in _art_records(document, *slide) if kind == _PPT_SLIDE_ATOM), None)
        notes_id = struct.unpack_from("<I", document, atom + 16)[0] if atom is not None else 0
        if notes_id and (page := container(notes.get(notes_id, -1), _PPT_NOTES)):
            first = len(reader.paragraphs)
            for text in _ppt_texts(document, *page, []):
                for paragraph in _ppt_paragraphs(text):
                    reader.paragraph(paragraph)
            if len(reader.paragraphs) > first:
                reader.paragraphs[first] = "Notes: " + reader.paragraphs[first]
        pages.append("\n\n".join(reader.paragraphs))
        reader.paragraphs = []
    if not drawn or "Pictures" not in streams:
        return {"pages": pages}
    load = partial(_ppt_picture, compound.openstream("Pictures").read(), _ppt_store(document, *whole))
    return _pictured(pages, drawn, load, pictures, reader, places=_slides_named(pages))


def _ppt_store(data: bytes, at: int, end: int) -> list[int]:
    """A presentation's store of pictures (its drawings' group, 0x040B: OfficeArt's BStore): where each entry's picture
    lies in its Pictures stream (an FBSE's foDelay)."""
    return [
        struct.unpack_from("<I", data, start + 28)[0]
        for kind, _, start, stop in _ppt_walk(data, at, end)
        if kind == _PPT_STORED and stop - start >= 32
    ]


def _ppt_picture(pictures: bytes, store: list[int], entry: int) -> bytes:
    """The bytes of a presentation's picture by its entry (1 on) in its store: its record in its Pictures stream."""
    return _blip(pictures, store[entry - 1])


def _blip(data: bytes, at: int) -> bytes:
    """The bytes of OfficeArt's picture record (a BLIP) at a place: a JPEG's, a PNG's or a TIFF's, after one id of 16
    bytes (two when its instance is odd) and a tag; b"" for another kind (a vector drawing, a DIB)."""
    kind, instance, start, stop = _art_record(data, at)
    return data[start + 16 * (1 + (instance & 1)) + 1 : stop] if kind in _ART_RASTERS else b""


def _word_picture(data: bytes, at: int) -> bytes:
    """The bytes of a Word 97-2003 document's picture shown in its text, by where it lies in its Data stream (its
    character's sprmCPicLocation): a PICF header (its size, the header's, whether a name follows), then OfficeArt's
    shape and the picture's store entry (FBSE), its picture record (_blip) after the entry's 36 bytes and name."""
    size, header, kind = struct.unpack_from("<IHh", data, at)
    start = at + header + (1 + data[at + header] if kind == 0x66 else 0)  # MM_SHAPEFILE: a name first
    for record, _, body, end in _art_records(data, start, min(at + size, len(data))):
        if record == _PPT_STORED and end - body >= 36:
            return _blip(data, body + 36 + data[body + 33])
    return b""


def _ppt_pictures(data: bytes, at: int, end: int) -> list[int]:
    """The pictures a slide's shapes show, in the order drawn: each its entry (1 on) in the presentation's store (a
    shape's pib property)."""
    return [
        value
        for kind, count, start, stop in _ppt_walk(data, at, end)
        if kind == _PPT_SHAPE_PROPERTIES
        for opid, value in _ppt_properties(data, count, start, stop)
        if opid & 0x3FFF == _PPT_PICTURE and opid & 0x4000 and value > 0
    ]


def _ppt_properties(data: bytes, count: int, start: int, stop: int):
    """A shape's properties (an OfficeArtFOPT's: its instance says how many), each 6 bytes: its id and flags, its
    value."""
    return (struct.unpack_from("<Hi", data, start + 6 * n) for n in range(min(count, (stop - start) // 6)))


def _ppt_walk(data: bytes, at: int, end: int, enter: Callable[[int, int], bool] | None = None):
    """The records from `at` up to `end` and, after each container, its own records first (as _art_records gives each),
    no deeper than _PPT_DEPTH; `enter`: whether a container (by its type and where its body starts) is read into."""
    opened = [(at, end, 0)]  # the containers being read, each from where it is read on, and how deep
    while opened:
        at, end, depth = opened.pop()
        for kind, instance, start, stop in _art_records(data, at, end):
            yield kind, instance, start, stop
            if data[start - 8] & 0x0F == 0x0F and depth < _PPT_DEPTH and (enter is None or enter(kind, start)):
                opened += [(stop, end, depth), (start, stop, depth + 1)]
                break


def _art_record(data: bytes, at: int) -> tuple[int, int, int, int]:
    """A record of PowerPoint's or of OfficeArt's (Office's drawings and pictures, in a .ppt or a .doc) at a place: its
    type, its instance, and where its body starts and ends (no further than the stream)."""
    version_instance, kind, length = struct.unpack_from("<HHI", data, at)
    return kind, version_instance >> 4, at + 8, min(at + 8 + length, len(data))


def _art_records(data: bytes, at: int, end: int):
    """The records one after another from `at` up to `end` (a container's body), each as _art_record gives it."""
    while at + 8 <= end:
        record = _art_record(data, at)
        yield record[0], record[1], record[2], min(record[3], end)
        at = record[3]


def _ppt_texts(data: bytes, at: int, end: int, listed: list[str]) -> list[str]:
    """The texts of a slide's (or notes page's) shapes in the order drawn (_ppt_box), a table's as its rows."""
    texts, tables = [], set()  # the tables read: not read into again

    def enter(kind: int, start: int) -> bool:
        return kind != _PPT_TEXT_BOX and start not in tables

    for kind, _, start, stop in _ppt_walk(data, at, end, enter):
        if kind == _PPT_TEXT_BOX:
            texts += _ppt_box(data, start, stop, listed)
        elif kind == _PPT_GROUP and (rows := _ppt_table(data, start, stop)) is not None:
            texts += rows
            tables.add(start)
    return [text for text in texts if text]


def _ppt_box(data: bytes, start: int, stop: int, listed: list[str]) -> list[str]:
    """A text box's texts: its own (without its fields' characters: a slide number's, a date's, a footer's "*"), or
    the listed text it refers to by its index."""
    texts, own, fields = [], "", set()
    for kind, _, at, end in _art_records(data, start, stop):
        if kind in _PPT_TEXTS:
            own += data[at:end].decode(_PPT_TEXTS[kind], errors="replace")
        elif kind in _PPT_FIELDS and end - at >= 4:
            fields.add(struct.unpack_from("<I", data, at)[0])
        elif kind == _PPT_TEXT_REF and end - at >= 4:
            index = struct.unpack_from("<I", data, at)[0]
            texts += listed[index : index + 1]
    return [*texts, "".join(character for place, character in enumerate(own) if place not in fields)]


def _ppt_table(data: bytes, start: int, stop: int) -> list[str] | None:
    """A group's rows when it is a table, each its cells' texts apart ("Boat | 300 euros"), a cell's paragraphs on its
    line; None when it is no table."""
    shapes = [(at, end) for kind, _, at, end in _art_records(data, start, stop) if kind == _PPT_SHAPE]
    if not shapes:
        return None
    own = [(count, at, end) for kind, count, at, end in _art_records(data, *shapes[0]) if kind in _PPT_PROPERTIES]
    properties = (pair for count, at, end in own for pair in _ppt_properties(data, count, at, end))
    if not any(opid & 0x3FFF == _PPT_TABLE and value for opid, value in properties):
        return None
    rows: dict[int, list[tuple[int, str]]] = {}  # each row's cells by their top, each by its left
    for shape in shapes[1:]:
        left, top, text = 0, 0, ""
        for kind, _, at, end in _art_records(data, *shape):
            if kind == _PPT_CELL_ANCHOR and end - at >= 8:
                left, top = struct.unpack_from("<ii", data, at)
            elif kind == _PPT_TEXT_BOX:
                text = _one_line(_ppt_box(data, at, end, []))
        rows.setdefault(top, []).append((left, text))
    return [" | ".join(text for _, text in sorted(cells) if text) for _, cells in sorted(rows.items())]


def _ppt_paragraphs(text: str) -> list[str]:
    """A PowerPoint text's paragraphs: "\\r" ends one, a vertical tab breaks a line."""
    return text.replace("\x0b", "\n").split("\r")


def _word_text(text: str) -> str:
    """A Word 97-2003 document's characters as text: a field's code ("\\x13 DATE \\x14" before its result
    "\\x15") left out, a table's cell marks a " | " between cells and a line's end at a row's, Word's other marks as
    what they show."""
    shown, hiding = [], []  # for each field the character is in, whether it is in the field's code
    for character in text:
        if character == "\x13":  # a field begins: its code is hidden until its separator or end
            hiding.append(True)
        elif character == "\x14" and hiding:
            hiding[-1] = False
        elif character == "\x15" and hiding:
            hiding.pop()
        elif not any(hiding):
            shown.append(character)
    text = "".join(shown)
    text = re.sub("\x07{2,}", "\r", text).replace("\x07", " | ")  # a row's end; a cell's
    text = text.translate(_OLDER_WORD_MARKS)
    paragraphs = (
        "\n".join(line for line in (" ".join(line.split()) for line in paragraph.split("\n")) if line)
        for paragraph in re.split("[\r\x0c]", text)
    )  # white space in each line one space, as a .docx's
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


def _rtf_decompressed(data: bytes, most_characters: int) -> bytes:
    """An Outlook message's Rich Text (PR_RTF_COMPRESSED, [MS-OXRTFCP]): after a header of its sizes and kind, its
    bytes as they are ("MELA") or compressed ("LZFu": each control byte's bits, lowest first, say whether a byte is
    itself or a reference, 2 bytes, to at most 17 bytes already written in a window of 4,096 that starts as
    RTF_DICTIONARY); b"" when it has none, or is no such text, or is longer than the most read."""
    if len(data) < 16:
        return b""
    size, kind = struct.unpack_from("<I4s", data, 4)
    if kind == b"MELA":
        return data[16 : 16 + size]
    if kind != b"LZFu" or size > 4 * most_characters:  # RTF's markup around its text: a bound, not its size
        return b""
    window = bytearray(RTF_DICTIONARY.ljust(4096, b"\0"))
    written, out, at = len(RTF_DICTIONARY), bytearray(), 16
    while at < len(data) and len(out) < size:
        control, at = data[at], at + 1
        for bit in range(8):
            if at >= len(data):
                break
            if not control >> bit & 1:
                out.append(data[at])
                window[written % 4096], written, at = data[at], written + 1, at + 1
                continue
            reference, at = int.from_bytes(data[at : at + 2], "big"), at + 2
            offset, length = reference >> 4, (reference & 0xF) + 2
            if offset == written % 4096:  # the end
                return bytes(out[:size])
            for step in range(length):
                byte = window[(offset + step) % 4096]
                out.append(byte)
                window[written % 4096], written = byte, written + 1
    return bytes(out[:size])


def _html_in_rtf(rtf: bytes) -> str:
    """The HTML that Outlook keeps of an HTML message in its Rich Text ([MS-OXRTFEX]: "\\fromhtml1"): its tags in
    {\\*\\htmltag …} groups, its text between them, what is RTF's alone between \\htmlrtf and \\htmlrtf0 left
    out; "" when its Rich Text is its own (no \\fromhtml)."""
    if b"\\fromhtml" not in rtf[:1024]:
        return ""
    html: list[str] = []
    encoding, groups = "cp1252", []  # each group opened: what was so before it
    hidden = tag = skipped = starred = False  # RTF's alone; in an HTML tag; in a destination not read; after \*
    skip = 0  # characters after a \u that stand for it in older readers
    for word, number, code, symbol, brace, text in _RTF_TOKEN.findall(rtf):
        if brace:
            if brace == b"{":
                groups.append((hidden, tag, skipped))
            elif groups:
                hidden, tag, skipped = groups.pop()
            starred = False
            continue
        if skipped:
            continue
        if word:
            if word in (b"htmltag", b"mhtmltag") or starred or word in _RTF_NOT_TEXT:
                tag, skipped = word == b"htmltag", word != b"htmltag"
            elif word == b"htmlrtf":
                hidden = number != b"0"
            elif word == b"ansicpg" and number.isdigit():
                encoding = f"cp{int(number)}"
            elif not hidden or tag:
                character = {b"par": "\n", b"line": "\n", b"tab": "\t"}.get(word, "")
                if word == b"u" and number:
                    character, skip = chr(int(number) % 65536), 1
                html.append(character)
            starred = False
            continue
        starred = symbol == b"*"
        if hidden and not tag or starred:
            continue
        characters = text or (bytes([int(code, 16)]) if code else symbol)
        with contextlib.suppress(LookupError):  # a code page Python does not know: as Windows-1252
            characters = characters.decode(encoding, errors="replace")
        if isinstance(characters, bytes):
            characters = characters.decode("cp1252", errors="replace")
        characters, skip = characters[skip:], max(0, skip - len(characters))
        html.append(characters)
    return "".join(html)


def _fixed_properties(properties: bytes, header: int) -> dict[int, int]:
    """An Outlook message's (or recipient's) properties of fixed size by their tags: its properties stream holds each in
    an entry of 16 bytes after a header (the tag, flags, then the value)."""
    return {
        int.from_bytes(properties[at : at + 4], "little"): int.from_bytes(properties[at + 8 : at + 16], "little")
        for at in range(header, len(properties) - 15, 16)
    }


def _message_time(properties: dict[int, int]) -> str:
    """When an Outlook message was sent (its client's submit time, else its delivery time: FILETIMEs) as an email's
    Date is written; "" without one."""
    ticks = properties.get(0x00390040) or properties.get(0x0E060040)
    if not ticks:
        return ""
    import email.utils

    moment = datetime.datetime(1601, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(microseconds=ticks // 10)
    return email.utils.format_datetime(moment)


def _older_workbook(content: bytes, most_characters: int, pictures: int = -1) -> dict:
    """An Excel 97-2003 workbook's (.xls) visible sheets as a workbook's (_read_workbook): its cells as their formats
    show them, a sheet's name first when there are several, its cells' comments after its rows; with `pictures`, its
    sheets' pictures as a workbook's (_pictured, _sheet_pictures)."""
    import xlrd

    reader = _OfficeText(most_characters)
    try:
        book = xlrd.open_workbook(file_contents=content, formatting_info=True, logfile=io.StringIO())
        epoch = _EXCEL_EPOCH if book.datemode == 0 else datetime.datetime(1904, 1, 1, tzinfo=datetime.UTC)
        formats = [_format_kind(book.format_map[style.format_key].format_str) for style in book.xf_list]
        sheets = [sheet for sheet in book.sheets() if sheet.visibility == 0]
        pages = []
        for sheet in sheets:
            rows = []
            for index in range(sheet.nrows):
                row = {}
                for column, cell in enumerate(sheet.row(index)):
                    if text := _older_cell_text(cell, formats, epoch):
                        row[column] = text
                        reader.spend(len(text))
                if row:
                    rows.append(row)
            table = _table(([sheet.name] if len(sheets) > 1 and sheet.name else []), rows, reader)
            comments = [
                _cell_comment(f"{_column_name(column)}{line + 1}", _one_line([note.author]), _one_line([note.text]))
                for (line, column), note in sorted(sheet.cell_note_map.items())
                if note.text.strip()
            ]
            reader.spend(sum(map(len, comments)))
            pages.append("\n\n".join(text for text in (table, "\n".join(comments)) if text))
        names = [sheet.name for sheet in sheets]
        store, shown = _sheet_pictures(content, names) if pictures > 0 else (b"", [])
        places = [f"sheet {name}" for name in names]
        return _pictured(pages, shown, partial(_blip, store), pictures, reader, places=places)
    except _TooLong:
        return {"error": "too_long"}
    except (MemoryError, RecursionError) as exc:  # past the reader's bound of memory
        return _failed(exc)
    except Exception as exc:  # a damaged workbook (xlrd's XLRDError, struct's), or one encrypted in its stream
        if "encrypted" in str(exc).lower():
            return {"error": "locked"}
        what, why = _COMPOUND_NAMED[-1][1], "its workbook stream is damaged or cut short"
        return {"error": "damaged", "what": what, "why": why, "detail": f"{type(exc).__name__}: {str(exc)[:200]}"}


def _sheet_pictures(content: bytes, names: list[str]) -> tuple[bytes, list[tuple[int, int]]]:
    """An .xls workbook's pictures: its drawings' store (its MSODRAWINGGROUP record and those continuing it, an
    OfficeArt container of each picture's entry, FBSE, with its picture record) and the pictures each of the sheets
    `names` shows, in the order drawn, by its index there and where its picture record lies in the store (_blip);
    none (b"", []) when it has none or they cannot be read (a damaged stream: the workbook is read without them)."""
    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(content)) as compound:
            data = compound.openstream("Workbook").read()
        records = list(_biff_records(data, 0))  # the workbook's own, before its sheets'
        parts, grouped = [], False
        for kind, start, end in records:
            grouped = kind == _BIFF_DRAWING_GROUP or (grouped and kind == _BIFF_CONTINUE)
            if grouped:
                parts.append(data[start:end])
        store = b"".join(parts)
        entries = [body for kind, _, body, _ in _ppt_walk(store, 0, len(store)) if kind == _PPT_STORED]
        shown = []
        for kind, start, _ in records:
            if kind != _BIFF_SHEET:
                continue
            offset, length = struct.unpack_from("<I", data, start)[0], data[start + 6]
            wide = data[start + 7] & 1
            name = data[start + 8 : start + 8 + length * (1 + wide)].decode("utf-16-le" if wide else "latin-1")
            if name not in names:
                continue  # a hidden sheet, or a chart's
            drawing = b"".join(data[at:end] for kind, at, end in _biff_records(data, offset) if kind == _BIFF_DRAWING)
            for entry in _ppt_pictures(drawing, 0, len(drawing)):
                if 0 < entry <= len(entries) and entries[entry - 1] + 36 < len(store):
                    shown.append((names.index(name), entries[entry - 1] + 36 + store[entries[entry - 1] + 33]))
        return store, shown
    except Exception:  # a damaged stream or drawing: the sheets are read without their pictures
        return b"", []


def _biff_records(data: bytes, at: int):
    """An .xls Workbook stream's BIFF records from `at` (where the workbook's own or a sheet's begin) up to their EOF,
    each its type, where its data starts and where it ends."""
    while at + 4 <= len(data):
        kind, length = struct.unpack_from("<HH", data, at)
        yield kind, at + 4, min(at + 4 + length, len(data))
        if kind == _BIFF_END:
            return
        at += 4 + length


def _older_cell_text(cell, formats: list[str], epoch: datetime.datetime) -> str:
    """An .xls cell's value as Excel shows it, as _cell_text does an .xlsx cell's."""
    import xlrd

    if cell.ctype == xlrd.XL_CELL_TEXT:
        return " ".join(cell.value.split())
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if cell.value else "FALSE"
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(cell.value, "")
    if cell.ctype in (xlrd.XL_CELL_NUMBER, xlrd.XL_CELL_DATE):
        return _number_text(cell.value, formats[cell.xf_index] if cell.xf_index < len(formats) else "", epoch)
    return ""  # an empty cell, or a blank one (formatted, without a value)


def _epub_package(archive: zipfile.ZipFile, names: set[str]) -> str | None:
    """An EPUB book's package file (its chapters' list and order, OEBPS/content.opf), as its container names it; None
    for another archive."""
    if "mimetype" not in names or archive.getinfo("mimetype").file_size >= 100:
        return None
    if archive.read("mimetype").strip() != b"application/epub+zip":
        return None
    if archive.getinfo("META-INF/container.xml").file_size > OFFICE_XML_MAX_BYTES:
        return None
    container = ElementTree.fromstring(archive.read("META-INF/container.xml"))  # noqa: S314 (as _read_part)
    found = [element.get("full-path") for element in container.iter() if element.tag.endswith("}rootfile")]
    return found[0] if found and found[0] in names else None


def _epub_chapters(archive: zipfile.ZipFile, names: set[str], package: str) -> tuple[str, list[str]]:
    """An EPUB book's title and authors (a line each), and its chapters' parts (web pages) in its reading order (its
    package's spine), those the archive holds."""
    if archive.getinfo(package).file_size > OFFICE_XML_MAX_BYTES:
        return "", []
    root = ElementTree.fromstring(archive.read(package))  # noqa: S314 (as _read_part)
    folder = posixpath.dirname(package)
    items = {
        element.get("id"): posixpath.normpath(posixpath.join(folder, unquote(element.get("href") or "")))
        for element in root.iter()
        if element.tag.endswith("}item")
    }
    order = [items.get(element.get("idref")) for element in root.iter() if element.tag.endswith("}itemref")]
    about = [
        " ".join((element.text or "").split())
        for element in root.iter()
        if element.tag in ("{http://purl.org/dc/elements/1.1/}title", "{http://purl.org/dc/elements/1.1/}creator")
    ]
    return "\n".join(line for line in about if line), [part for part in dict.fromkeys(order) if part in names]


def _book_pictures(chapter: str, part: str, names: set[str]) -> list[str]:
    """The pictures an EPUB book's chapter (a web page) shows, in its order, once each: the parts its <img src> and
    an SVG's <image href> (a cover's) name, relative to the chapter; one outside the book (a web address) is not
    one."""
    found: list[str] = []

    class Pictures(HTMLParser):
        def handle_starttag(self, tag: str, attrs) -> None:
            if tag in ("img", "image"):
                for name, value in attrs:
                    if name in ("src", "href", "xlink:href") and value and ":" not in value.split("/")[0]:
                        target = posixpath.normpath(posixpath.join(posixpath.dirname(part), unquote(value)))
                        if target in names and target not in found:
                            found.append(target)

    reading = Pictures()
    reading.feed(chapter)
    reading.close()
    return found


def _sheets(archive: zipfile.ZipFile, names: set[str]) -> tuple[list[tuple[str, str]], datetime.datetime]:
    """A workbook's visible sheets in its order, each its name and its part (hidden sheets, a workbook's lookup tables,
    left out as Excel leaves them out of sight; a chart sheet holds no cells), and the day its dates count from."""
    listed = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")
    if any(part not in names or archive.getinfo(part).file_size > OFFICE_XML_MAX_BYTES for part in listed):
        return [], _EXCEL_EPOCH
    targets = {
        relation.get("Id"): relation.get("Target") or ""
        for relation in ElementTree.fromstring(archive.read(listed[1]))  # noqa: S314 (as _read_part)
    }
    workbook = ElementTree.fromstring(archive.read(listed[0]))  # noqa: S314
    sheets = [
        (sheet.get("name") or "", _part(targets.get(_relationship(sheet), ""), "xl"))
        for sheet in workbook.iter()
        if sheet.tag.endswith("}sheet") and sheet.get("state", "visible") == "visible"
    ]
    days = [element.get("date1904") for element in workbook.iter() if element.tag.endswith("}workbookPr")]
    epoch = datetime.datetime(1904, 1, 1, tzinfo=datetime.UTC) if days and days[0] in ("1", "true") else _EXCEL_EPOCH
    return [(name, part) for name, part in sheets if part in names and part.startswith("xl/worksheets/")], epoch


def _read_workbook(
    archive: zipfile.ZipFile,
    names: set[str],
    sheets: list[tuple[str, str]],
    epoch: datetime.datetime,
    reader: _OfficeText,
) -> list[str]:
    """A workbook's sheets' rows, as a spreadsheet shows them: a row's cells apart ("Rent | 1,900.00 € | 2026-03-01"),
    an empty cell between two others kept empty so that the columns stay in place, a shared text as itself, a number
    as its format shows it (_number_text); a formula as its value when the file was saved."""
    strings = _shared_strings(archive) if "xl/sharedStrings.xml" in names else []
    formats = _cell_formats(archive) if "xl/styles.xml" in names else []
    pages = []
    for name, part in sheets:
        rows: list[dict[int, str]] = []
        row: dict[int, str] = {}
        column = -1
        with archive.open(part) as xml:
            for _, element in ElementTree.iterparse(xml):  # noqa: S314 (as _read_part)
                tag = element.tag.rpartition("}")[2]
                if tag == "c":
                    text = _cell_text(element, strings, formats, epoch)
                    column = _column(element.get("r"), default=column + 1)  # without a reference: the next one
                    if text:
                        row[column] = text
                        reader.spend(len(text))
                elif tag == "row":
                    if row:
                        rows.append(row)
                    row, column = {}, -1
                    element.clear()  # what was read of it: a long sheet is not held whole
        table = _table(([name] if len(sheets) > 1 and name else []), rows, reader)
        comments = _sheet_comments(archive, names, part, reader)
        pages.append("\n\n".join(text for text in (table, comments) if text))
    return pages


def _sheet_comments(archive: zipfile.ZipFile, names: set[str], sheet: str, reader: _OfficeText) -> str:
    """A sheet's comments (notes on its cells), each on a line naming its cell and author: "Comment on B2 (Ana Lima):
    Paid on the 1st"; a threaded comment by its legacy copy, without the words Excel puts before it."""
    part = _related(archive, names, sheet, "comments")
    if part is None or archive.getinfo(part).file_size > OFFICE_XML_MAX_BYTES:
        return ""
    root = ElementTree.fromstring(archive.read(part))  # noqa: S314 (as _read_part)
    authors = [" ".join("".join(author.itertext()).split()) for author in root.iter() if author.tag.endswith("}author")]
    lines = []
    for comment in (element for element in root.iter() if element.tag.endswith("}comment")):
        text = "".join(t.text or "" for t in comment.iter() if t.tag.endswith("}t"))
        if text.startswith("[Threaded comment]") and "\nComment:" in text:
            text = text.split("\nComment:", 1)[1].replace("\nReply:", "\nReply: ")
        number = comment.get("authorId") or ""
        author = authors[int(number)] if number.isdigit() and int(number) < len(authors) else ""
        text = _one_line([text.removeprefix(f"{author}:") if author else text])
        author = "" if author.startswith("tc={") else author  # a threaded comment's: its thread's id, not a name
        if text:
            lines.append(_cell_comment(comment.get("ref") or "a cell", author, text))
            reader.spend(len(lines[-1]))
    return "\n".join(lines)


def _cell_comment(cell: str, author: str, text: str) -> str:
    """A comment on a sheet's cell as read after its rows: "Comment on B2 (Ana Lima): Paid on the 1st"."""
    return f"Comment on {cell}{f' ({author})' if author else ''}: {text}"


def _column_name(column: int) -> str:
    """A sheet's column by its letters, from its index (0 is A, 26 is AA)."""
    name = ""
    column += 1
    while column:
        column, letter = divmod(column - 1, 26)
        name = chr(ord("A") + letter) + name
    return name


def _table(heading: list[str], rows: list[dict[int, str]], reader: _OfficeText) -> str:
    """A sheet's text: its rows, each a line of its cells from the sheet's first column used to the row's last (an
    empty cell between as an empty place), in blocks of at most PASSAGE_CHARS that each begin with the sheet's name (of
    a workbook of several) and its first row (its columns' names, or its title): each passage stored of a long sheet
    says what its cells are (a header row of more than a quarter of a passage is not repeated, nor a first row that
    is data: _DATA_CELL)."""
    first = min((min(row) for row in rows), default=0)
    lines = []
    for row in rows:
        reader.spend(3 * (max(row) - first))  # the separators' length, before they are made (a cell at column 10⁹)
        line = " | ".join(row.get(column, "") for column in range(first, max(row) + 1))
        lines.append(_EMPTY_PLACE.sub("", line).strip())  # "Gas | | 2026-03-15", "| 0.3"
    if not lines:
        return ""  # an empty sheet: not even its name
    head = heading + lines[:1]
    data = any(_DATA_CELL.fullmatch(cell) for cell in rows[0].values())  # no columns' names to repeat
    if data or len("\n".join(head)) > PASSAGE_CHARS // 4:
        head = heading
    blocks = [[*heading, lines[0]]]
    for line in lines[1:]:
        if len(blocks[-1]) > len(head) and len("\n".join([*blocks[-1], line])) > PASSAGE_CHARS:
            reader.spend(len("\n".join(head)))
            blocks.append(list(head))
        blocks[-1].append(line)
    return "\n\n".join("\n".join(block) for block in blocks)


def _delimited(content: bytes, most_characters: int, delimiter: str) -> dict:
    """A CSV or TSV file (UTF-8: made so by the server before) read as a sheet (_table): its rows, their values apart,
    quotes undone, a long one in blocks beginning with its first row."""
    reader = _OfficeText(most_characters)
    csv.field_size_limit(max(most_characters, 1))  # a value may be as long as the text read (the default: 128 KiB)
    try:
        rows = []
        for values in csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=delimiter):
            row = {column: " ".join(value.split()) for column, value in enumerate(values) if value.strip()}
            if row:
                reader.spend(sum(map(len, row.values())))
                rows.append(row)
        return {"pages": [_table([], rows, reader)]}
    except _TooLong:
        return {"error": "too_long"}
    except csv.Error as exc:  # a value longer than the text read (its field_size_limit, above) is too long, not damaged
        return {"error": "too_long"} if "field larger than field limit" in str(exc) else _failed(exc)


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    """A workbook's shared texts in order (a cell of type "s" names one by its index): each its text, or its runs' (a
    text of several fonts), without its phonetic guide (a Japanese text's furigana, <rPh>)."""
    strings = []
    with archive.open("xl/sharedStrings.xml") as xml:
        for _, element in ElementTree.iterparse(xml):  # noqa: S314 (as _read_part)
            if element.tag.endswith("}si"):
                strings.append(_inline_string(element))
                element.clear()
    return strings


def _inline_string(element: ElementTree.Element) -> str:
    """A shared text's or an inline string's text (<si>, <is>): its <t>, or its runs' <t>s."""
    texts = []
    for child in element:
        tag = child.tag.rpartition("}")[2]
        if tag == "t":
            texts.append(child.text or "")
        elif tag == "r":
            texts += [t.text or "" for t in child if t.tag.endswith("}t")]
    return "".join(texts)


def _cell_formats(archive: zipfile.ZipFile) -> list[str]:
    """Each cell style's kind of number format, by its index (a cell's "s"): "date", "datetime", "time", "elapsed h" (or
    m, s: _elapsed), "percent", the pattern of one that shows digits ("#,##0.00 [$€-407]": _number_shown), or "" (a
    number as stored)."""
    styles = ElementTree.fromstring(archive.read("xl/styles.xml"))  # noqa: S314 (size-checked with the sheets)
    custom = {
        element.get("numFmtId"): _format_kind(element.get("formatCode") or "")
        for element in styles.iter()
        if element.tag.endswith("}numFmt")
    }
    kinds = []
    for group in styles:
        if group.tag.endswith("}cellXfs"):
            for style in group:
                number = style.get("numFmtId") or "0"
                kinds.append(custom[number] if number in custom else _BUILT_IN_FORMATS.get(number, ""))
    return kinds


def _format_kind(code: str) -> str:
    """What a custom number format shows a number as ("yyyy-mm-dd" a date, "h:mm" a time, "0.0%" a percentage, "[h]:mm"
    an elapsed time: "elapsed h", by its bracketed unit), by its letters outside quoted texts, escaped characters and
    brackets ([Red], [$€-407]); another that shows digits, its pattern (_number_shown)."""
    pattern = _FORMAT_QUOTED.sub("", code.split(";", 1)[0]).lower()
    if elapsed := re.search(r"\[(h+|m+|s+)\]", pattern):
        return f"elapsed {elapsed[1][0]}"
    pattern = re.sub(r"\[[^\]]*\]", "", pattern)
    date, time = bool(re.search("[dy]", pattern)), bool(re.search("[hs]", pattern))
    if date or (not time and "m" in pattern and not re.search("[0#?]", pattern)):
        return "datetime" if time else "date"
    return "time" if time else "percent" if "%" in pattern else code


def _number_shown(number: float, code: str) -> str | None:
    """A number as its format (its first part: "#,##0.00 [$€-407]", '0.0" kg"'; a negative one by the second part when
    there is one: "(#,##0.00)" as an accountant writes it) shows it: its decimals, thousands separators (in English,
    whatever the machine's language), a comma after its digits for each thousand it is divided by, zeros before its
    digits to the format's zero places (02134), and the texts before and after its digits (a currency's sign, a unit);
    a minus before all, but for the second part, which shows its own. None for a format that is not one run of digit
    places among texts (General, a fraction, scientific notation, a phone number's)."""
    sections = code.split(";")
    negative = number < 0 and len(sections) > 1 and bool(sections[1].strip())
    if negative:
        number = -number
    before, after, digits = [], [], ""
    for quoted, escaped, currency, run, other in _FORMAT_PART.findall(sections[1 if negative else 0]):
        if run:
            if digits:
                return None
            digits = run
        elif other.isalpha() or other in ("%", "@"):
            return None
        else:
            (after if digits else before).append(quoted or escaped or currency or other)
    if not digits or abs(number) >= _FORMAT_MOST:
        return None
    scale = len(digits) - len(digits.rstrip(","))
    whole, _, fraction = digits.rstrip(",").partition(".")
    places, least = sum(map(fraction.count, "0#?")), fraction.count("0")
    shown = f"{abs(number) / 1000**scale:{',' if ',' in whole else ''}.{places}f}"
    if places > least:  # "#" and "?" places show digits that are not trailing zeros
        shown = shown[: len(shown) - (places - least)] + shown[len(shown) - (places - least) :].rstrip("0")
        shown = shown.rstrip(".")
    if "," not in whole:  # a zero place before the point shows a zero where the number has no digit: 00000 a ZIP code
        integer, point, rest = shown.partition(".")
        shown = integer.zfill(whole.count("0")) + point + rest
    minus = "-" if number < 0 and shown.strip("0.,") else ""
    return f"{minus}{''.join(before)}{shown}{''.join(after)}"


def _cell_text(cell: ElementTree.Element, strings: list[str], formats: list[str], epoch: datetime.datetime) -> str:
    """A cell's value as a spreadsheet shows it: a number as its format shows it in English (1,900.00 €, 2026-03-01,
    62.5%), a date as ISO whatever its format."""
    kind = cell.get("t") or "n"
    if kind == "inlineStr":
        found = [child for child in cell if child.tag.endswith("}is")]
        return " ".join(_inline_string(found[0]).split()) if found else ""
    value = next((child.text or "" for child in cell if child.tag.endswith("}v")), "")
    if kind == "s":
        index = int(value) if value.isdigit() else -1
        return " ".join(strings[index].split()) if 0 <= index < len(strings) else ""
    if kind == "b":
        return {"1": "TRUE", "0": "FALSE"}.get(value, value)
    if kind != "n" or not value:
        return " ".join(value.split())  # a formula's text ("str"), an error ("#DIV/0!"), an ISO date ("d")
    style = cell.get("s") or "0"
    try:
        number = float(value)
    except ValueError:
        return value
    return _number_text(number, formats[int(style)] if style.isdigit() and int(style) < len(formats) else "", epoch)


def _number_text(number: float, shown: str, epoch: datetime.datetime) -> str:
    """A number in a cell as its format's kind (_format_kind) shows it, counting days from `epoch` for a date."""
    try:
        if shown == "percent":
            return f"{number * 100:.15g}%"
        if shown in _MOMENTS:
            return _moment(epoch + datetime.timedelta(days=number), shown)
        if shown.startswith("elapsed ") and abs(number) < _FORMAT_MOST:
            return _elapsed(number, shown[-1])
        if shown and (formatted := _number_shown(number, shown)) is not None:
            return formatted
    except OverflowError:  # a date past the year 9999
        pass
    return f"{number:.15g}"  # 0.1 + 0.2 is stored 0.30000000000000004 and shown 0.3


_MOMENTS = frozenset({"date", "time", "datetime"})


def _elapsed(days: float, unit: str) -> str:
    """A duration (in days, as a sheet holds it) as an elapsed time's format shows it, counted in its bracketed unit:
    [h]:mm 26:30 (26 hours and a half), [m]:ss 90:15, [s] 5415."""
    seconds = round(abs(days) * 86_400)
    minus = "-" if days < 0 and seconds else ""
    if unit == "s":
        return f"{minus}{seconds}"
    minutes, second = divmod(seconds, 60)
    if unit == "m":
        return f"{minus}{minutes}:{second:02d}"
    hours, minute = divmod(minutes, 60)
    return f"{minus}{hours}:{minute:02d}" + (f":{second:02d}" if second else "")


def _moment(moment: datetime.datetime, kind: str) -> str:
    moment = (moment + datetime.timedelta(microseconds=500_000)).replace(microsecond=0)  # to the nearest second
    clock = moment.strftime("%H:%M:%S" if moment.second else "%H:%M")
    day = moment.date().isoformat()
    return {"date": day, "time": clock}.get(kind, f"{day} {clock}")


def _column(reference: str | None, default: int) -> int:
    """A cell reference's column from 0 ("A1" is 0, "AB12" is 27); `default` without one."""
    letters = re.match(r"[A-Z]+", reference or "")
    if not letters:
        return default
    column = 0
    for letter in letters[0]:
        column = column * 26 + ord(letter) - 64
    return column - 1


def _opendocument(archive: zipfile.ZipFile, names: set[str]) -> bytes | None:
    """The media type of an OpenDocument text, presentation or spreadsheet (LibreOffice's .odt, .odp, .ods), as its
    archive names it first; None for another archive."""
    if "mimetype" not in names or archive.getinfo("mimetype").file_size >= 100:
        return None
    kind = archive.read("mimetype")
    return kind if kind in (*_ODF_TYPES, _ODF_SPREADSHEET) else None


def _read_opendocument_sheets(
    archive: zipfile.ZipFile, names: set[str], reader: _OfficeText
) -> tuple[list[str], list[tuple[int, str]], list[str]]:
    """An OpenDocument spreadsheet's sheets as a workbook's (_read_workbook), a cell as the text it shows (the file
    holds it: "1,900.00 €", "03/01/26"); a cell or a row repeated (LibreOffice writes a sheet's empty end as one row
    repeated a million times) counted once when empty, written out when not; a cell's comment after the sheet's rows,
    as a workbook's; sheets hidden by their style left out. And the pictures each shows (draw:image, in its archive),
    by its page's index, and its sheets' places ("sheet Budget")."""
    hidden: set[str] = set()
    sheets: list[tuple[str, list[dict[int, str]], bool, list[str], list[str]]] = []  # name, rows, shown, comments, …
    row: dict[int, str] = {}
    column = line = 0  # the cell's column, and its row's line (from 0)
    with archive.open("content.xml") as xml:
        for event, element in ElementTree.iterparse(xml, events=("start", "end")):  # noqa: S314 (as _read_part)
            tag = element.tag
            if event == "start":
                if tag == _ODF_SHEET:
                    shown = element.get(f"{_ODF_TABLE}style-name") not in hidden  # its style comes before it
                    sheets.append((element.get(f"{_ODF_TABLE}name") or "", [], shown, [], []))
                    line = 0
                elif tag == f"{_ODF_TABLE}table-row":
                    row, column = {}, 0
                elif tag == _ODF_IMAGE and sheets and element.get(_XLINK_HREF) in names:
                    sheets[-1][4].append(element.get(_XLINK_HREF))
            elif tag in _ODF_CELLS:
                repeated = max(1, int(element.get(f"{_ODF_TABLE}number-columns-repeated") or 1))
                lines = ("".join(_opendocument_text(p)) for p in element if p.tag in _ODF_PARAGRAPHS)
                text = _opendocument_date(element) or _one_line(lines)
                if text:
                    reader.spend(len(text) * repeated)  # before the cells are made: a cell repeated 10⁹ times
                    row.update(dict.fromkeys(range(column, column + repeated), text))
                for note in (child for child in element if child.tag == _ODF_ANNOTATION and sheets):
                    author = _one_line("".join(by.itertext()) for by in note if by.tag == _DUBLIN_CORE_CREATOR)
                    said = _one_line("".join(_opendocument_text(p)) for p in note if p.tag in _ODF_PARAGRAPHS)
                    if said:
                        sheets[-1][3].append(_cell_comment(f"{_column_name(column)}{line + 1}", author, said))
                        reader.spend(len(sheets[-1][3][-1]))
                column += repeated
                element.clear()
            elif tag == f"{_ODF_TABLE}table-row":
                repeated = max(1, int(element.get(f"{_ODF_TABLE}number-rows-repeated") or 1))
                if row and sheets:
                    reader.spend(sum(map(len, row.values())) * (repeated - 1))
                    sheets[-1][1].extend([row] * repeated)
                line += repeated
                element.clear()
            elif tag == f"{_ODF_STYLE}style":
                display = [child.get(f"{_ODF_TABLE}display") for child in element if child.tag == _ODF_TABLE_PROPERTIES]
                if display and display[0] == "false":
                    hidden.add(element.get(f"{_ODF_STYLE}name") or "")
    sheets = [sheet for sheet in sheets if sheet[2]]
    pages = []
    for name, rows, _, comments, _ in sheets:
        table = _table([name] if len(sheets) > 1 and name else [], rows, reader)
        pages.append("\n\n".join(text for text in (table, "\n".join(comments)) if text))
    shown = [(index, media) for index, sheet in enumerate(sheets) for media in sheet[4]]
    return pages, shown, [f"sheet {name}" for name, *_ in sheets]


def _read_opendocument(
    archive: zipfile.ZipFile, names: set[str], reader: _OfficeText
) -> tuple[list[str], list[tuple[int, str]]]:
    """An OpenDocument's pages (a text is one, a presentation's slides are its pages): its paragraphs and headings,
    and a table's rows as a Word document's, a slide's speaker's notes after its text, footnotes and endnotes at the
    end as a Word document's, then its comments as a Word document's; tracked changes' deleted text left out. And
    the pictures it shows (draw:image, in its archive), each by its page's index."""
    pages = []
    shown: list[tuple[int, str]] = []
    left_out = 0
    first = 0  # where a slide's notes begin in its paragraphs
    notes: list[str] = []  # the footnotes' and endnotes' texts, in the order of their marks
    comments: list[str] = []  # "Comment by Ana Lima: …", in the order of the text they are on
    with archive.open("content.xml") as xml:
        for event, element in ElementTree.iterparse(xml, events=("start", "end")):  # noqa: S314 (as _read_part)
            tag = element.tag
            if tag in _ODF_LEFT_OUT:
                left_out += 1 if event == "start" else -1
            elif left_out:
                continue
            elif tag in _ODF_TABLE_PARTS and event == "start":
                reader.start(_ODF_TABLE_PARTS[tag])
            elif tag in _ODF_TABLE_PARTS:
                reader.end(_ODF_TABLE_PARTS[tag], element)
            elif event == "end" and tag in _ODF_PARAGRAPHS:
                reader.paragraph("".join(_opendocument_text(element, notes, comments)))
                tail = element.tail
                element.clear()  # what was read of it; its tail is its outer paragraph's (a text box's paragraph)
                element.tail = tail
            elif tag == _ODF_NOTES and event == "start":
                first = len(reader.paragraphs)
            elif tag == _ODF_NOTES and len(reader.paragraphs) > first:
                reader.paragraphs[first] = "Notes: " + reader.paragraphs[first]  # as a PowerPoint slide's
            elif event == "end" and tag == _ODF_PAGE:
                pages.append("\n\n".join(reader.paragraphs))
                reader.paragraphs = []
            elif event == "start" and tag == _ODF_IMAGE and element.get(_XLINK_HREF) in names:
                shown.append((len(pages), element.get(_XLINK_HREF)))
    for number, note in enumerate(notes, 1):
        reader.paragraph(f"[{number}] {note}" if note else "")
    for comment in comments:
        reader.paragraph(comment)
    return [*pages, "\n\n".join(reader.paragraphs)], shown


def _opendocument_date(cell: ElementTree.Element) -> str:
    """A date cell's date as a workbook's is written ("2026-03-01", "2026-03-01 14:30"), not as the sheet shows it
    ("03/01/26" reads as January 3rd in most of the world); "" for another cell."""
    if cell.get(f"{_ODF_OFFICE}value-type") != "date":
        return ""
    value = cell.get(f"{_ODF_OFFICE}date-value") or ""
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return ""
    return _moment(moment, "datetime" if "T" in value else "date")


def _opendocument_text(element: ElementTree.Element, notes: list[str] | None = None, comments: list[str] | None = None):
    """A paragraph's text: its own and its spans', a tab or a space element as a space, a line break as one; a
    paragraph inside it (a text box's) read apart; a footnote or an endnote as its mark ("[1]"), its text added to
    `notes`, and a comment added to `comments` with its author ("Comment by Ana Lima: …"), each left out without
    them."""
    yield element.text or ""
    for child in element:
        if child.tag in _ODF_MARKS:
            yield _ODF_MARKS[child.tag]
        elif child.tag == _ODF_NOTE and notes is not None:
            paragraphs = ("".join(_opendocument_text(p)) for p in child.iter() if p.tag in _ODF_PARAGRAPHS)
            notes.append(_one_line(paragraphs))
            yield f"[{len(notes)}]"
        elif child.tag == _ODF_ANNOTATION and comments is not None:
            text = _one_line("".join(_opendocument_text(p)) for p in child.iter() if p.tag in _ODF_PARAGRAPHS)
            author = " ".join("".join(by.itertext()) for by in child if by.tag == _DUBLIN_CORE_CREATOR).strip()
            if text:
                comments.append(_comment(author, text))
        elif child.tag not in _ODF_LEFT_OUT and child.tag not in _ODF_PARAGRAPHS:
            yield from _opendocument_text(child)
        yield child.tail or ""


def _read_part(
    archive: zipfile.ZipFile, part: str, spaces: frozenset[str], reader: _OfficeText, *, notes: bool = False
) -> None:
    """A part's paragraphs and table rows, added to the reader's; `notes`: a slide's notes page, whose notes (the text
    of its body's shape) are read, "Notes: " before them, and not the slide's picture, number, date or footer."""
    left_out = 0
    shapes: list[bool] = []  # the notes page's shapes being read: whether each is its body
    first = len(reader.paragraphs)
    with archive.open(part) as xml:
        # Expat (2.4 and later) refuses the billion laughs' entities, ElementTree fetches no external one.
        for event, element in ElementTree.iterparse(xml, events=("start", "end")):  # noqa: S314
            if element.tag == _FALLBACK:
                left_out += 1 if event == "start" else -1
                continue
            if notes and element.tag in _SHAPES:
                if event == "start":
                    shapes.append(False)
                else:
                    shapes.pop()
                continue
            if notes and element.tag in _PLACEHOLDERS and shapes:
                shapes[-1] = element.get("type") == "body"
            space, _, name = element.tag[1:].partition("}")
            if left_out or space not in spaces or (notes and not (shapes and shapes[-1])):
                continue
            if event == "start":
                reader.start(name)
            else:
                reader.end(name, element)
    if notes and len(reader.paragraphs) > first:
        reader.paragraphs[first] = "Notes: " + reader.paragraphs[first]


def _word_notes(archive: zipfile.ZipFile, names: set[str], reader: _OfficeText) -> list[str]:
    """The footnotes and endnotes a Word document's text refers to, in the order of its marks: "[1] Signed in Porto"
    (a note's paragraphs on one line; the separators Word keeps as notes are referred to by none)."""
    wanted = set(reader.notes)
    texts: dict[tuple[str, str], str] = {}
    for kind, part in _WORD_NOTE_PARTS.items():
        if part not in names or not any(note[0] == kind for note in wanted):
            continue
        with archive.open(part) as xml:
            for _, element in ElementTree.iterparse(xml):  # noqa: S314 (as _read_part)
                space, _, name = element.tag[1:].partition("}")
                if name != kind or space not in _WORD:
                    continue
                key = (kind, element.get(f"{{{space}}}id") or "")
                if key in wanted:
                    paragraphs = (
                        "".join(t.text or "" for t in p.iter(f"{{{space}}}t")) for p in element.iter(f"{{{space}}}p")
                    )
                    texts[key] = _one_line(paragraphs)
                element.clear()
    notes = [f"[{number}] {texts[note]}" for number, note in enumerate(reader.notes, 1) if texts.get(note)]
    reader.spend(sum(map(len, notes)))
    return notes


def _word_comments(archive: zipfile.ZipFile, names: set[str], reader: _OfficeText) -> list[str]:
    """A Word document's comments (a reviewer's, in the margin), each on a line naming its author: "Comment by Ana:
    The deposit is two months' rent"; a reply is one too."""
    if _WORD_COMMENTS not in names:
        return []
    comments = []
    with archive.open(_WORD_COMMENTS) as xml:
        for _, element in ElementTree.iterparse(xml):  # noqa: S314 (as _read_part)
            space, _, name = element.tag[1:].partition("}")
            if name != "comment" or space not in _WORD:
                continue
            paragraphs = ("".join(t.text or "" for t in p.iter(f"{{{space}}}t")) for p in element.iter(f"{{{space}}}p"))
            if text := _one_line(paragraphs):
                author = " ".join((element.get(f"{{{space}}}author") or "").split())
                comments.append(_comment(author, text))
                reader.spend(len(comments[-1]))
            element.clear()
    return comments


def _related(archive: zipfile.ZipFile, names: set[str], part: str, kind: str) -> str | None:
    """A part's related part of a kind, by its relationships: a slide's notes page ("notesSlide":
    ppt/notesSlides/notesSlide1.xml), a sheet's comments ("comments": xl/comments1.xml); None without one."""
    for _, relation_kind, target in _relations(archive, names, part):
        if relation_kind.endswith(f"/{kind}"):
            return target if target in names else None
    return None


def _relations(archive: zipfile.ZipFile, names: set[str], part: str) -> list[tuple[str, str, str]]:
    """A part's relationships (its _rels part's): each its id, its type and its target part as the archive names it;
    those outside the file left out."""
    folder, file = posixpath.split(part)
    relations = f"{folder}/_rels/{file}.rels"
    if relations not in names or archive.getinfo(relations).file_size > OFFICE_XML_MAX_BYTES:
        return []
    found = []
    for relation in ElementTree.fromstring(archive.read(relations)):  # noqa: S314 (as _read_part)
        if relation.get("TargetMode") != "External":
            target = relation.get("Target") or ""
            target = posixpath.normpath(target[1:] if target.startswith("/") else posixpath.join(folder, target))
            found.append((relation.get("Id") or "", relation.get("Type") or "", target))
    return found


def _slides(archive: zipfile.ZipFile, names: set[str]) -> list[str]:
    """A presentation's slides in its order (presentation.xml's list of slide ids, through its relationships), else
    by their numbers (slide1.xml, slide2.xml, …)."""
    numbered = sorted(
        (name for name in names if _SLIDE.fullmatch(name)), key=lambda name: int(_SLIDE.fullmatch(name)[1])
    )
    try:
        listed = [part for part in ("ppt/presentation.xml", "ppt/_rels/presentation.xml.rels") if part in names]
        if len(listed) < 2 or any(archive.getinfo(part).file_size > OFFICE_XML_MAX_BYTES for part in listed):
            return numbered
        relations = ElementTree.fromstring(archive.read("ppt/_rels/presentation.xml.rels"))  # noqa: S314
        targets = {relation.get("Id"): relation.get("Target") or "" for relation in relations}
        presentation = ElementTree.fromstring(archive.read("ppt/presentation.xml"))  # noqa: S314
        ids = [_relationship(element) for element in presentation.iter() if element.tag.endswith("}sldId")]
        ordered = [_part(targets.get(rid, ""), "ppt") for rid in ids]
    except ElementTree.ParseError:
        return numbered
    return [part for part in ordered if part in names] or numbered


def _relationship(element: ElementTree.Element) -> str | None:
    """The relationship an element names (r:id, in the namespace of Office's "transitional" or "strict" form)."""
    return next((value for name, value in element.attrib.items() if name in _RELATIONSHIP_IDS), None)


def _part(target: str, folder: str) -> str:
    """A relationship's target in a folder (a presentation's "ppt", a workbook's "xl") as the archive names it
    ("slides/slide1.xml" is "ppt/slides/slide1.xml", "/ppt/slides/slide1.xml" too)."""
    return posixpath.normpath(target[1:] if target.startswith("/") else posixpath.join(folder, target))


if __name__ == "__main__":
    main()
