"""A document's text, read in a process of its own, started by memories/documents.py for each PDF, web page or Office
file an add carries: a PDF's by pypdf, a web page's (HTML) by the standard library's parser, a Word document's, a
PowerPoint presentation's or an OpenDocument's (.docx, .pptx, .odt, .odp: ZIP archives of XML) by the standard
library's zipfile and ElementTree.

Each is what an API user sends, and reading one may cost far more than its size: a PDF page of 16 KB, compressed, can
hold 200,000 text operations (6 s to read here), and 200 KB of unclosed tags ("<a<a<a…") took Python 3.11's html.parser
18 s (its time grows with the square of such input); a Word document of 1 MB may unpack to gigabytes. In a process of
its own, the kernel stops the reading after a bound of CPU seconds and memory, where a thread of the server could not be
stopped, and it runs at a lower priority (NICENESS): on a busy machine the server's requests go first. No Django here:
it starts fast. It is started with an empty environment: the server's secrets stay out of a process that reads what
anyone sent.

    python -I memories/document_reader.py pdf|html|office CPU_SECONDS MOST_CHARACTERS MOST_PAGES NICENESS PICTURES <file

Writes one JSON object: {"pages": [text, …]} (a web page or a Word document is one, a presentation's slides are its
pages), with a PDF's "pictures": {page index: a JPEG in base64} of its pages without text that show a picture (a scanned
page's scan) unless PICTURES (the most such pages pictured) is -1; or {"error": "locked" | "pages" | "pictures" |
"too_long" | "unreadable", "pages": n, "why": "…"}.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import posixpath
import re
import resource
import sys
import zipfile
from html.parser import HTMLParser
from xml.etree import ElementTree

MEMORY_BYTES = 1024 * 1024 * 1024
# The most a Word document's text part (word/document.xml), or a presentation's slides, may unpack to, by what its
# archive says (and zipfile holds it to): a document of 1,000 pages is about 5 MB.
OFFICE_XML_MAX_BYTES = 200 * 1024 * 1024
# A scanned page's picture, as a vision model is handed it: at most this many pixels a side (what OpenAI's models read
# of an image in high detail), as a JPEG.
PICTURE_SIDE = 2048
# The images of one page looked at for its picture (a page of many small images is no scan).
PICTURE_CANDIDATES = 10


def main() -> None:
    kind = sys.argv[1]
    seconds, most_characters, most_pages, niceness, pictures = (int(arg) for arg in sys.argv[2:7])
    os.nice(niceness)  # the server's requests first: a core busy reading a PDF yields to them
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))  # past it: SIGXCPU, the process ends
    with contextlib.suppress(ValueError, OSError):  # macOS refuses to bound the address space; the CPU bound holds
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    print(json.dumps(read(kind, sys.stdin.buffer.read(), most_characters, most_pages, pictures)))


def read(kind: str, content: bytes, most_characters: int, most_pages: int, pictures: int = -1) -> dict:
    """What main writes, unbounded: bench/document_reading.py compares reading in this process with the server's."""
    if kind == "html":
        return _page(content, most_characters)
    if kind == "office":
        return _office(content, most_characters)
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

    def text(self) -> str:
        lines = ([" ".join("".join(line).split()) for line in paragraph] for paragraph in self.paragraphs)
        paragraphs = [
            ("\n".join(line for line in paragraph if line), kind)
            for paragraph, kind in zip(lines, self.kinds, strict=True)
        ]
        main = sum(len(text) for text, kind in paragraphs if kind == "main")
        if main and main >= self.MAIN_SHARE * sum(len(text) for text, _ in paragraphs):
            paragraphs = [(text, kind) for text, kind in paragraphs if kind]
        return "\n\n".join(text for text, _ in paragraphs if text)


def _page(content: bytes, most_characters: int) -> dict:
    reader = _PageText()
    try:
        reader.feed(content.decode("utf-8-sig"))  # UTF-8: made so by the server before
        reader.close()
        text = reader.text()
    except Exception as exc:  # none known (the fuzzing of tests/test_documents.py finds none): a 400, not a 500
        return {"error": "unreadable", "why": f"{type(exc).__name__}: {str(exc)[:200]}"}
    return {"error": "too_long"} if len(text) > most_characters else {"pages": [text]}


def _pdf(content: bytes, most_characters: int, most_pages: int, pictures: int) -> dict:
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
        if pictures < 0:
            return {"pages": pages}
        scanned = [index for index, text in enumerate(pages) if not text and len(reader.pages[index].images)]
        if len(scanned) > pictures:
            return {"error": "pictures", "pages": len(scanned)}
        pictured = {str(index): _page_picture(reader.pages[index]) for index in scanned}
    except Exception as exc:  # pypdf raises errors of many kinds on a damaged file (MemoryError past the bound too)
        return {"error": "unreadable", "why": f"{type(exc).__name__}: {str(exc)[:200]}"}
    return {"pages": pages, "pictures": {index: picture for index, picture in pictured.items() if picture}}


def _page_picture(page) -> str | None:
    """A page's largest image (a scanned page's scan) as a JPEG of at most PICTURE_SIDE pixels a side, in base64; None
    when none of its images can be read (pypdf hands them to Pillow: an image it cannot read, or of more pixels than
    Pillow takes, is passed over)."""
    largest = None
    for index in range(min(len(page.images), PICTURE_CANDIDATES)):
        try:
            image = page.images[index].image
        except Exception:  # noqa: S112  (a damaged or unsupported image: another may be the page's scan)
            continue
        if largest is None or image.width * image.height > largest.width * largest.height:
            largest = image
    if largest is None:
        return None
    written = io.BytesIO()
    try:
        # A JPEG holds grey or RGB pixels: a scanner's black and white (mode "1") becomes grey, others RGB.
        largest = largest if largest.mode in ("L", "RGB") else largest.convert("L" if largest.mode == "1" else "RGB")
        largest.thumbnail((PICTURE_SIDE, PICTURE_SIDE))
        largest.save(written, "JPEG", quality=85)
    except Exception:  # a mode Pillow cannot turn into a JPEG's (16-bit grey, say): the page stays without text
        return None
    return base64.b64encode(written.getvalue()).decode()


# Word's XML namespaces (of its two forms, "transitional" and "strict"), and markup compatibility's: of an element
# written twice (mc:AlternateContent), a reader takes one, its mc:Choice, and leaves its mc:Fallback.
_WORD = frozenset(
    {"http://schemas.openxmlformats.org/wordprocessingml/2006/main", "http://purl.oclc.org/ooxml/wordprocessingml/main"}
)
# DrawingML's: a PowerPoint slide's text (a:p, a:t, a:br; a table's a:tr, a:tc).
_DRAWING = frozenset(
    {"http://schemas.openxmlformats.org/drawingml/2006/main", "http://purl.oclc.org/ooxml/drawingml/main"}
)
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
# OpenDocument's (LibreOffice's): a paragraph's or heading's text is mixed content (its text, its spans', their tails).
_ODF_TYPES = (b"application/vnd.oasis.opendocument.text", b"application/vnd.oasis.opendocument.presentation")
_ODF_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_ODF_PARAGRAPHS = frozenset({f"{_ODF_TEXT}p", f"{_ODF_TEXT}h"})
_ODF_MARKS = {f"{_ODF_TEXT}tab": " ", f"{_ODF_TEXT}s": " ", f"{_ODF_TEXT}line-break": "\n"}
_ODF_LEFT_OUT = frozenset(
    {f"{_ODF_TEXT}note", f"{_ODF_TEXT}tracked-changes", "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}annotation"}
)
_ODF_TABLE_PARTS = {
    "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}table-row": "tr",
    "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}table-cell": "tc",
}
_ODF_PAGE = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}page"
# What the reader reads as an Office document (named in a refusal).
OFFICE_KINDS = "Word document, PowerPoint presentation or OpenDocument text or presentation"
_SLIDE = re.compile(r"ppt/slides/slide(\d+)\.xml")
# What a run's elements other than its text (w:t) stand for.
_WORD_MARKS = {"tab": " ", "br": "\n", "cr": "\n", "noBreakHyphen": "-"}


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
        if not text:
            return
        self.left -= len(text)
        if self.left < 0:
            raise _TooLong
        (self.cells[-1] if self.cells else self.paragraphs).append(text)


class _TooLong(Exception):
    pass


def _office(content: bytes, most_characters: int) -> dict:
    """A Word document's text (its body: headers, footers and notes left out), a PowerPoint presentation's (its slides
    in order, each a page; speakers' notes left out), or an OpenDocument text's or presentation's."""
    reader = _OfficeText(most_characters)
    pages = []
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "word/document.xml" in names:
                parts, spaces = ["word/document.xml"], _WORD
            elif "ppt/presentation.xml" in names:
                parts, spaces = _slides(archive, names), _DRAWING
            elif "content.xml" in names and _opendocument(archive, names):
                parts, spaces = ["content.xml"], None  # read as mixed content, not element by element
            else:
                return {"error": "unreadable", "why": "a ZIP archive that is no " + OFFICE_KINDS}
            size = sum(archive.getinfo(part).file_size for part in parts)
            if size > OFFICE_XML_MAX_BYTES:
                size = f"{size // 2**20} MB, more than the {OFFICE_XML_MAX_BYTES // 2**20} MB read"
                return {"error": "unreadable", "why": f"its text ({', '.join(parts[:3])}) unpacks to {size}"}
            if spaces is None:
                return {"pages": _read_opendocument(archive, reader)}
            for part in parts:
                _read_part(archive, part, spaces, reader)
                pages.append("\n\n".join(reader.paragraphs))
                reader.paragraphs = []
    except _TooLong:
        return {"error": "too_long"}
    except Exception as exc:  # a damaged archive or XML (zipfile's, ElementTree's errors; MemoryError past the bound)
        return {"error": "unreadable", "why": f"{type(exc).__name__}: {str(exc)[:200]}"}
    return {"pages": pages}


def _opendocument(archive: zipfile.ZipFile, names: set[str]) -> bool:
    """An OpenDocument text or presentation (LibreOffice's .odt, .odp), by the media type its archive names first."""
    return (
        "mimetype" in names and archive.getinfo("mimetype").file_size < 100 and archive.read("mimetype") in _ODF_TYPES
    )


def _read_opendocument(archive: zipfile.ZipFile, reader: _OfficeText) -> list[str]:
    """An OpenDocument's pages (a text is one, a presentation's slides are its pages): its paragraphs and headings,
    and a table's rows as a Word document's; notes, comments and tracked changes' deleted text left out."""
    pages = []
    left_out = 0
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
                reader.paragraph("".join(_opendocument_text(element)))
                tail = element.tail
                element.clear()  # what was read of it; its tail is its outer paragraph's (a text box's paragraph)
                element.tail = tail
            elif event == "end" and tag == _ODF_PAGE:
                pages.append("\n\n".join(reader.paragraphs))
                reader.paragraphs = []
    return [*pages, "\n\n".join(reader.paragraphs)]


def _opendocument_text(element: ElementTree.Element):
    """A paragraph's text: its own and its spans', a tab or a space element as a space, a line break as one; a
    paragraph inside it (a text box's) read apart, notes and comments left out."""
    yield element.text or ""
    for child in element:
        if child.tag in _ODF_MARKS:
            yield _ODF_MARKS[child.tag]
        elif child.tag not in _ODF_LEFT_OUT and child.tag not in _ODF_PARAGRAPHS:
            yield from _opendocument_text(child)
        yield child.tail or ""


def _read_part(archive: zipfile.ZipFile, part: str, spaces: frozenset[str], reader: _OfficeText) -> None:
    left_out = 0
    with archive.open(part) as xml:
        # Expat (2.4 and later) refuses the billion laughs' entities, ElementTree fetches no external one.
        for event, element in ElementTree.iterparse(xml, events=("start", "end")):  # noqa: S314
            if element.tag == _FALLBACK:
                left_out += 1 if event == "start" else -1
                continue
            space, _, name = element.tag[1:].partition("}")
            if left_out or space not in spaces:
                continue
            if event == "start":
                reader.start(name)
            else:
                reader.end(name, element)


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
        ids = [element.get(_RELATIONSHIP_ID) for element in presentation.iter() if element.tag.endswith("}sldId")]
        ordered = [_part(targets.get(rid, "")) for rid in ids]
    except ElementTree.ParseError:
        return numbered
    return [part for part in ordered if part in names] or numbered


def _part(target: str) -> str:
    """A relationship's target in the presentation's folder as the archive names it ("slides/slide1.xml" is
    "ppt/slides/slide1.xml", "/ppt/slides/slide1.xml" too)."""
    return posixpath.normpath(target[1:] if target.startswith("/") else posixpath.join("ppt", target))


if __name__ == "__main__":
    main()
