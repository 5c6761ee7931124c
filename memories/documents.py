"""Documents in an add's messages, as Mem0's Platform takes them: a content part `{"type": "txt_url" | "mdx_url" |
"pdf_url", <its type>: {"url": …}}` (or the url alone).

A document's url is the document: its content in base64 (Mem0's way for a local file), a data: URL, or an http(s) URL on
a host of FETCH_HOSTS, which the server fetches (memories/fetching.py). A URL on another host is refused: the server
fetches nothing its operator did not name. A text document is read as UTF-8 (else in the character set its host or its
page names); a PDF's, a web page's and an Office file's (Word, PowerPoint, Excel, OpenDocument) text are read in a
process of its own (memories/document_reader.py), stopped past a bound of CPU time; no model is asked. Its text follows
its message in passages of about DOCUMENT_PASSAGE_CHARS characters, each a message of the same role: one memory each,
or what facts are drawn from. An embedding reads a text's start only (all-MiniLM-L6-v2 its first 256 tokens), so a
whole document as one memory would be found by its first page.
"""

from __future__ import annotations

import base64
import codecs
import functools
import hashlib
import logging
import platform
import re
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from importlib.metadata import version
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from mem0server.exceptions import InvalidInput
from mem0server.text import storable_text
from memories import reading
from memories.data_urls import base64_content, data_url, is_data_url
from memories.document_reader import COMPOUND_FILE, IMAGE_MOST_PIXELS, PASSAGE_CHARS, RTF_START
from memories.fetching import fetchable, fetched, http_host, shown
from memories.kept_texts import kept_read_by
from memories.models import DocumentText
from memories.vision import pages_read, pictures_described, vision_client

if TYPE_CHECKING:
    from memories.services import Message

logger = logging.getLogger("mem0server")

DOCUMENT_TYPES = ("txt_url", "mdx_url", "pdf_url")
# Content parts of an LLM's context that carry a file: OpenAI's {"type": "file", "file": {"file_data": <a data URL>,
# "filename"}}, and Pipecat's {"type": "file_base64", "file": {"file_data", "filename", "mime_type"}} and {"type":
# "file_url", "file": {"url", "filename", "mime_type"}}. Read as documents when they are PDFs, Office documents or text.
FILE_TYPES = ("file", "file_base64", "file_url")
# Names of files read as documents whatever media type a client gives them (a file picker offers them too).
READABLE_NAMES = (".pdf", ".txt", ".md", ".mdx", ".markdown", ".html", ".htm", ".docx", ".pptx", ".xlsx")
READABLE_NAMES += (".odt", ".odp", ".ods", ".csv", ".tsv", ".eml", ".docm", ".pptm", ".xlsm", ".xls")
READABLE_NAMES += (".ics", ".vcf", ".rtf", ".epub", ".msg", ".doc", ".ppt")
# Office's slide shows and templates: the same files as a presentation's, a document's and a workbook's.
READABLE_NAMES += (".ppsx", ".pps", ".potx", ".pot", ".dotx", ".dot", ".xltx", ".xlt")
READABLE_NAMES += (".ppsm", ".potm", ".dotm", ".xltm")
OFFICE_TYPES = (
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.presentation",
    "application/vnd.oasis.opendocument.spreadsheet",
    # The same that may hold macros (.docm, .pptm, .xlsm): read as those are, the macros neither run nor read.
    "application/vnd.ms-word.document.macroEnabled.12",
    "application/vnd.ms-powerpoint.presentation.macroEnabled.12",
    "application/vnd.ms-excel.sheet.macroEnabled.12",
    "application/vnd.ms-excel",  # Excel 97-2003 (.xls)
    "application/epub+zip",  # an EPUB book: a ZIP archive of web pages, read by the same reader
    "application/vnd.ms-outlook",  # an Outlook message (.msg), read as an email is
    "application/msword",  # Word 97-2003 (.doc)
    "application/vnd.ms-powerpoint",  # PowerPoint 97-2003 (.ppt, .pps, .pot)
    # Slide shows and templates (.ppsx, .potx, .dotx, .xltx), and those that may hold macros: read as the files above.
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
    "application/vnd.openxmlformats-officedocument.presentationml.template",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
    "application/vnd.ms-powerpoint.slideshow.macroEnabled.12",
    "application/vnd.ms-powerpoint.template.macroEnabled.12",
    "application/vnd.ms-word.template.macroEnabled.12",
    "application/vnd.ms-excel.template.macroEnabled.12",
)
# The largest document fetched from a host of FETCH_HOSTS; one sent inline is bounded by MAX_REQUEST_BYTES.
FETCHED_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
# How long a document's text is kept for the document sent again (DocumentText), and what it was read by: the reader's
# code, Python's (its email package) and the libraries it reads with. A new version of any reads it again.
DOCUMENT_TEXTS_KEPT_DAYS = 7
_READER_LIBRARIES = ("pypdf", "pillow", "pillow-heif", "xlrd", "olefile", "striprtf")
# The kinds read with the pictures they hold (a PDF's photos and scanned pages; an email's, an Outlook message's:
# "office"), vision on.
_PICTURED = ("pdf", "email", "office")
_MEGAPIXELS = f"{IMAGE_MOST_PIXELS / 1e6:,.0f}"
# A PDF with more pages is refused rather than read in part (a page of text costs about 1 ms to read).
PDF_MAX_PAGES = 1_000
# What the reader reads a document as, by the kind it is given.
_READ_AS = {
    "pdf": "PDF",
    "html": "web page",
    "office": "Word, PowerPoint, Excel or OpenDocument file",
    "csv": "CSV file",
    "tsv": "TSV file",
    "email": "email",
    "calendar": "calendar (.ics)",
    "contacts": "contacts file (.vcf)",
    "rtf": "Rich Text Format file (.rtf)",
}
# A passage: about what the local embedder reads of a text (256 tokens), cut at a paragraph's or sentence's end. 1,000
# characters, the reader's (memories/document_reader.py reads a sheet's rows in blocks of as many).
DOCUMENT_PASSAGE_CHARS = PASSAGE_CHARS
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# A document that is a web page (by its media type, or how it starts) is read as the text a reader sees.
HTML_TYPES = ("text/html", "application/xhtml+xml")
# Documents known by their media type or their name's ending alone, each read as the reader's kind it names
# (memories/document_reader.py): a table of values (a spreadsheet's export) as a sheet is, row by row, a long one's
# passages each beginning with its first row; an email (a mail program's saved message) as its sender, recipients,
# date, subject and text; an iCalendar file (an invitation) as its events, a vCard file as its contacts.
NAMED_TYPES = {
    "text/csv": (".csv", "csv"),
    "text/tab-separated-values": (".tsv", "tsv"),
    "message/rfc822": (".eml", "email"),
    "text/calendar": (".ics", "calendar"),
    "text/vcard": (".vcf", "contacts"),
    "text/x-vcard": (".vcf", "contacts"),
    "application/rtf": (".rtf", "rtf"),
    "text/rtf": (".rtf", "rtf"),
}
_HTML_STARTS = (b"<!doctype html", b"<html")
_HEADER_START = re.compile(rb"[!-9;-~]+:")  # an email's first header field's name (printable ASCII but a colon)
_HEADER_FIELD = re.compile(rb"^([!-9;-~]+):", re.MULTILINE)
# An email's header fields that only a mail program or server writes, and how far into a document its header is sought.
_MAIL_FIELDS = frozenset({b"mime-version", b"message-id", b"received", b"return-path"})
_EMAIL_HEADER_MOST = 64 * 1024
_META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)


def file_document(part: dict) -> dict | None:
    """A file part (FILE_TYPES) as a document when its media type or name says it is a PDF, an Office document or text,
    and it is inline or on a host of FETCH_HOSTS; else None: left out, as other parts are (an OpenAI file_id names
    nothing this server can read, and an LLM's context may hold files of any kind, which a framework re-sends with
    each turn: refusing them would refuse every later add of the conversation). Optional: one that cannot be read is
    left out too."""
    file = part.get("file")
    url = (file.get("file_data") or file.get("url")) if isinstance(file, dict) else None
    if not isinstance(url, str) or not url or (http_host(url) and not fetchable(url)):
        return None  # a URL on a host this server does not fetch from is the context's LLM's to read, not ours
    name = file.get("filename") if isinstance(file.get("filename"), str) else ""
    kind = file.get("mime_type") if isinstance(file.get("mime_type"), str) else ""
    kind = kind.split(";", 1)[0].strip().lower() or _data_url_type(url)  # "text/html; charset=utf-8"
    pdf = kind == "application/pdf" or name.lower().endswith(".pdf")
    readable = kind.startswith("text/") or kind in OFFICE_TYPES or kind in NAMED_TYPES
    if not (pdf or readable or name.lower().endswith(READABLE_NAMES)):
        return None
    document = {"type": "pdf_url" if pdf else "txt_url", "url": url, "name": name or f"in a {part['type']} part"}
    if kind in HTML_TYPES:
        document["media_type"] = kind  # a web page's part, perhaps without its start
    elif named := _named_type(kind, name):
        document["media_type"] = named  # a table, an email, an invitation or contacts, by its type or its name
    refusal = document_refusal(document["type"], url, document.get("media_type", ""))
    return None if refusal else document | {"optional": True}


def document_refusal(kind: str, url: str, media_type: str = "") -> str | None:
    """Why a document part's url cannot be read, or None: what decoding it tells (an inline document's encoding, and
    whether it is a PDF, an Office document or text as its type says; `media_type`: its file's, else its data URL's).
    A fetched document is checked when it arrives."""
    if fetchable(url):
        return None
    if url[:8].lower().startswith(("http://", "https://")):
        if not (host := http_host(url)):
            return "is an http(s) URL naming no host that can be read."
        return (
            f"is on {host}, a host this server does not fetch from (its operator names those in FETCH_HOSTS): send "
            "the document's content in base64 or as a data: URL instead."
        )
    try:
        return _kind_refusal(kind, _inline(url), media_type or _data_url_type(url))
    except ValueError as exc:
        return str(exc)


def _inline(url: str) -> bytes:
    parts = data_url(url)
    if parts is None and is_data_url(url):
        raise ValueError("is a data: URL without a comma before its content.")
    try:
        return parts.content() if parts is not None else base64_content(url)
    except ValueError:
        raise ValueError("must be the document's content in base64, a data: URL, or an http(s) URL.") from None


def _data_url_type(url: str) -> str:
    """The media type a data: URL names ("text/html"), lower case; "" for other URLs."""
    parts = data_url(url)
    return parts.media_type if parts is not None else ""


def _is_pdf(content: bytes) -> bool:
    return b"%PDF-" in content[:1024]  # where a PDF reader looks for its header


def _is_office(content: bytes) -> bool:
    """A ZIP archive, as a Word document, a PowerPoint presentation, an Excel workbook or an OpenDocument (.docx, .pptx,
    .xlsx, .odt, .odp, .ods) is, or a compound file, as an older Office file (.xls, .doc, .ppt), an Outlook message
    (.msg) or one locked by a password is: the reader says when it is none, or one it does not read."""
    return content.startswith((b"PK\x03\x04", COMPOUND_FILE))


def _is_email(content: bytes, media_type: str) -> bool:
    """An email by its type (message/rfc822, or an .eml file's name), starting as one does: a header field's name; or,
    of no type (a document in base64 alone), plain text or bytes (a host may serve an .eml so), by its header: a sender
    and a date, and a field only a mail program or server writes (MIME-Version, Message-ID, Received, Return-Path)."""
    if not _HEADER_START.match(content):
        return False
    if media_type == "message/rfc822":
        return True
    if media_type not in ("", "text/plain", "application/octet-stream"):
        return False
    header = re.split(rb"\r?\n\r?\n", content[:_EMAIL_HEADER_MOST], maxsplit=1)[0]
    names = {name.lower() for name in _HEADER_FIELD.findall(header)}
    return {b"from", b"date"} <= names and bool(names & _MAIL_FIELDS)


def _is_rtf(content: bytes) -> bool:
    """A Rich Text Format file, by how it starts (after a byte order mark and white space): whatever its name or type
    says, it is not read as text ("{\\rtf1\\ansi …")."""
    return content[:64].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(RTF_START)


def _is_page(content: bytes, media_type: str) -> bool:
    """A web page: by its media type, or how it starts (after a byte order mark and white space)."""
    return media_type in HTML_TYPES or content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith(_HTML_STARTS)


def _kind_refusal(kind: str, content: bytes, media_type: str = "") -> str | None:
    """A PDF is read as one whatever its part's type says (a client may call it a text document); a pdf_url part must
    be one, and any other document text (UTF-8, or in the character set its page names), an Office document, or an
    email (by its type: its parts name their character sets, and its text may be 8-bit in one) or a Rich Text Format
    file (the code page it names)."""
    if _is_pdf(content):
        return None
    if kind == "pdf_url":
        return "is not a PDF: it does not start as one."
    if _is_office(content) or _is_utf8(content) or _is_email(content, media_type) or _is_rtf(content):
        return None
    try:
        recoded = _as_utf8(content, None) is not content  # a web page in the character set its <meta> names
    except ValueError as exc:
        return str(exc)
    return None if recoded else "is neither UTF-8 text, a PDF nor a Word, PowerPoint, Excel or OpenDocument file."


def document_uploaded(content: bytes, name: str) -> dict:
    """A file (the dashboard's upload) as a document: its content in base64 and its name (which its refusals show);
    a PDF, an Office document or text whatever its name says; a table of values or an email by its name (.csv, .tsv,
    .eml)."""
    document = {"type": "txt_url", "url": base64.b64encode(content).decode(), "name": name}
    return document | ({"media_type": kind} if (kind := _named_type("", name)) else {})


def _named_type(media_type: str, name: str = "") -> str:
    """The media type of a document of NAMED_TYPES (CSV, TSV, an email) by its media type or name; "" for another."""
    if media_type in NAMED_TYPES:
        return media_type
    return next((kind for kind, (ending, _) in NAMED_TYPES.items() if name.lower().endswith(ending)), "")


def documents_read(messages: Sequence[Message], account, *, images: int, user_id: str | None = None) -> list[Message]:
    """The messages, each followed by its documents' text in passages (messages of its role); a 400 naming the
    document that cannot be read, or when the text read passes MAX_ADD_CHARS with the messages' own. With vision on,
    a PDF's scanned pages are read by the model (MAX_IMAGES_PER_ADD of them in an add, less its `images`); `account`:
    whose add it is (the pages it had read before are not read again), `user_id` its scope's (noted on the texts it
    reads: memories/kept_texts.py)."""
    budget = settings.MAX_ADD_CHARS - sum(len(message.content) for message in messages)
    pictures = max(settings.MAX_IMAGES_PER_ADD - images, 0) if vision_client() else None
    read: list[Message] = []
    for message in messages:
        if message.content or not message.documents:
            read.append(replace(message, documents=()))
        for document in message.documents:
            try:
                text, pictured = document_text(document, budget, pictures=pictures, account=account, user_id=user_id)
            except InvalidInput as refusal:
                if not document.get("optional"):
                    raise
                # A file of an LLM's context that cannot be read is left out (file_document); its operator is told.
                logger.info("An add left out a file it could not read: %s", refusal.detail)
                continue
            budget -= len(text)
            pictures = None if pictures is None else pictures - pictured
            passages = document_passages(text)
            read += [replace(message, content=passage, documents=()) for passage in passages]
    return read


def document_text(
    document: dict, budget: int, *, pictures: int | None = None, account=None, user_id: str | None = None
) -> tuple[str, int]:
    """A document's text (at most `budget` characters, else a 400 saying so), and how many pictures the model was
    handed: a PDF's pages that are pictures (scanned), at most `pictures` of them (else a 400 saying so; None: vision
    is off, such pages are left without text), and up to what those leave, the pictures it shows. A document the
    account's adds read before is not read again: its text is kept (DocumentText), and the model reads none of its
    pages."""
    kind, url = document["type"], document["url"]
    if fetchable(url):
        answer = fetched(url, what="document", max_bytes=FETCHED_DOCUMENT_MAX_BYTES)
        content, media_type, charset = answer.content, answer.kind, answer.charset
        named = f"The document {shown(url)}"
    else:  # checked by document_refusal when the add arrived
        content, media_type, charset = _inline(url), document.get("media_type") or _data_url_type(url), None
        named = f"The document {document.get('name') or f'sent as {kind}'}"
    try:
        content = content if _is_email(content, media_type) or _is_rtf(content) else _as_utf8(content, charset)
    except ValueError as exc:
        raise InvalidInput(f"{named} {exc}") from None
    refusal = _kind_refusal(kind, content, media_type)
    if refusal:
        raise InvalidInput(f"{named} {refusal}")
    way = reading_way(content, media_type)
    key = _kept_key(account, way, content, vision=pictures is not None) if way else ""
    kept = DocumentText.objects.filter(key=key).values_list("text", flat=True).first() if key else None
    if kept is not None:
        if len(kept) > budget:
            raise InvalidInput(_too_long(named))
        kept_read_by(DocumentText, [key], user_id)
        return kept, 0  # read before: no model call
    text, pictured = content_read(content, way, named, budget, pictures, account, user_id)
    if key:
        DocumentText.objects.update_or_create(
            key=key, defaults={"account": account, "text": text, "created_at": timezone.now()}
        )
        kept_read_by(DocumentText, [key], user_id)
    return text, pictured


def content_read(
    content: bytes,
    way: str,
    named: str,
    budget: int,
    pictures: int | None = None,
    account=None,
    user_id: str | None = None,
) -> tuple[str, int]:
    """A document's text read `way` (reading_way), and how many of its pages the model read, as document_text says;
    `named`: the document as a refusal names it."""
    urls: dict[int, str] = {}  # the pictures the model is handed: a document's, its scanned pages, an email's attached
    left_out: list[str] = []  # its pictures of more pixels than are read, each named with its size
    if way in _PICTURED:  # a document's pictures described, its scanned pages read
        read = _read_apart(way, content, named, budget, pictures=pictures)
        left_out = read.get("left_out", [])
        for picture in left_out:  # the operator is told; the add refused when nothing else is read (below)
            logger.info("%s: a picture left out, more than %s megapixels: %s", named, _MEGAPIXELS, picture)
        urls = {int(index): url for index, url in read.get("images", {}).items()}
        scans = {int(index): url for index, url in read.get("scans", {}).items()}
        pages = _pictures_read(read["pages"], urls, lambda urls: pictures_described(urls, account, user_id))
        pages = _pictures_read(pages, scans, lambda urls: pages_read(urls, account, user_id))
        urls |= scans
    elif way:
        pages = _read_apart(way, content, named, budget)["pages"]
    else:
        pages = [content.decode("utf-8-sig")]
    # What PostgreSQL cannot hold out (a NUL, half a surrogate pair from a PDF's broken font map), as a reader skips it.
    text = storable_text("\n\n".join(page for page in pages if page))
    if len(text) > budget:
        raise InvalidInput(_too_long(named))
    if not text.strip() and left_out:
        raise InvalidInput(
            f"{named} holds no text, and its pictures hold more than the {_MEGAPIXELS} megapixels read: "
            f"{'; '.join(left_out)}. Send smaller pictures."
        )
    if not text.strip():
        scanned = (
            " (a scanned PDF's pages are pictures of text: with vision on, enable_vision or LLM_VISION, its LLM reads "
            "them)"
            if way == "pdf" and pictures is None
            else ""
        )
        raise InvalidInput(f"{named} holds no text{scanned}.")
    return text, len(urls)


def reading_way(content: bytes, media_type: str) -> str:
    """How a document's content is read: as a "pdf", an "office" file, a Rich Text Format file ("rtf"), a web page
    ("html"), a table, an email, an invitation or contacts (the reader's kinds, NAMED_TYPES), or "" as text."""
    if _is_pdf(content):
        return "pdf"
    if _is_office(content):
        return "office"
    if _is_rtf(content):
        return "rtf"
    if _is_page(content, media_type):
        return "html"
    if _is_email(content, media_type):
        return "email"
    return NAMED_TYPES[media_type][1] if media_type in NAMED_TYPES else ""


def _kept_key(account, way: str, content: bytes, *, vision: bool) -> str:
    """The key of a document's kept text (DocumentText): the account's, by how it is read (a document's pictures and
    scanned pages by which vision model, if any) and by the reader's code (a text read by an older reader is read
    again)."""
    client = vision_client() if vision and way in _PICTURED else None
    model = (client.endpoint.base_url, client.model, client.vision_details) if client else ()
    where = "\0".join((str(account.pk if account else ""), way, *model, _reader_code()))
    return hashlib.sha256(where.encode() + b"\0" + content).hexdigest()


@functools.cache
def _reader_code() -> str:
    """What reads a document (DOCUMENT_TEXTS_KEPT_DAYS): the reader's code, Python's version and its libraries'."""
    versions = (platform.python_version(), *(f"{name}=={version(name)}" for name in _READER_LIBRARIES))
    return hashlib.sha256("\0".join(versions).encode() + b"\0" + reading.READER.read_bytes()).hexdigest()


def documents_prune() -> int:
    """Drop the document texts read more than DOCUMENT_TEXTS_KEPT_DAYS ago; how many were dropped."""
    read_before = timezone.now() - timedelta(days=DOCUMENT_TEXTS_KEPT_DAYS)
    return DocumentText.objects.filter(created_at__lt=read_before).delete()[0]


def _pictures_read(pages: list[str], urls: dict[int, str], read) -> list[str]:
    """A document's pages with what the model makes of the pictures the reader found (`urls`: a data URL by page index;
    `read`: vision's pages_read for a scanned page's text, pictures_described for what a picture shows) after each
    such page's own text: a scanned PDF page has none, an email's attached picture its name."""
    texts = read(list(urls.values())) if urls else {}
    return [
        "\n\n".join(text for text in (page, texts[urls[index]].strip()) if text) if index in urls else page
        for index, page in enumerate(pages)
    ]


def _is_utf8(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _as_utf8(content: bytes, host_charset: str | None) -> bytes:
    """A text document as UTF-8. UTF-8 text (and a PDF) is kept as it is, whatever its host says: a host may name a
    character set by default (ISO-8859-1, HTTP/1.1's old default for text) whatever its files hold, and UTF-8 text of
    other letters than ASCII's is almost never valid in another. Other text is read in the character set its host
    names, else in the one a web page names in its <meta>, as a browser reads it; text naming none is returned as it
    is (refused by _kind_refusal). A ValueError says why it cannot be read."""
    if _is_pdf(content) or _is_office(content) or _is_utf8(content):
        return content
    charset, said = (host_charset, "its host says") if host_charset else (_declared_charset(content), "its page says")
    if not charset:
        return content
    try:
        return _decoded(content, charset).encode()
    except LookupError:  # an unknown name, or a codec that is no text encoding (zlib_codec)
        raise ValueError(f"is text in {charset}, {said}: a character set this server does not know.") from None
    except UnicodeError:
        raise ValueError(f"is not text in {charset}, as {said}.") from None


def _declared_charset(content: bytes) -> str | None:
    """The character set a web page names in a <meta> of its first 1,024 bytes, where a browser looks for it:
    <meta charset="…">, or <meta http-equiv="Content-Type" content="text/html; charset=…">."""
    found = _META_CHARSET.search(content[:1024])
    if not found:
        return None
    charset = found.group(1).decode("ascii")
    try:  # a <meta> read as ASCII cannot name UTF-16 or UTF-32 truly: a browser leaves such a name aside
        return None if codecs.lookup(charset).name.startswith(("utf-16", "utf-32")) else charset
    except LookupError:
        return charset  # refused by name


def _decoded(content: bytes, charset: str) -> str:
    """Text in a character set, read as a browser reads it (the WHATWG Encoding Standard): a text called ISO-8859-1
    or ASCII is read as windows-1252, which holds both and is what such texts mostly are (its curly quotes and dashes
    are control characters in ISO-8859-1)."""
    codec = codecs.lookup(charset).name
    if codec in ("iso8859-1", "ascii"):
        try:
            return content.decode("cp1252")
        except UnicodeDecodeError:  # one of the five bytes windows-1252 leaves undefined: as ISO-8859-1 reads them
            return content.decode("iso8859-1")
    return content.decode(codec)


def _too_long(named: str) -> str:
    return (
        f"{named} holds more text than an add takes with its messages ({settings.MAX_ADD_CHARS} characters, "
        "MAX_ADD_CHARS): send it in parts."
    )


def _read_apart(kind: str, content: bytes, named: str, budget: int, *, pictures: int | None = None) -> dict:
    """A PDF's pages' text, a web page's, an Office document's, a table's or an email's ("pdf", "html", "office",
    "csv", "tsv", "email"), read in a process of its own (memories/reading.py): {"pages": [text, …]}, with at most
    `pictures` (None: none) "images" and "scans" (memories/document_reader.py)."""
    limits = (budget, PDF_MAX_PAGES, reading.READER_NICENESS, -1 if pictures is None else pictures)
    read = reading.read_apart(kind, content, *limits)
    if read is None:
        raise InvalidInput(
            f"{named} takes more than {reading.READ_SECONDS} s to read; the most one {_READ_AS[kind]} may take: "
            "send it in parts."
        )
    if "error" in read:
        if "detail" in read:  # the library's own words, for the operator: the refusal says it in the user's
            logger.info("%s is damaged: %s", named, read["detail"])
        raise InvalidInput(
            {
                "locked": f"{named} is locked by a password: send it unlocked.",
                "older": f"{named} is {read.get('what')}, which this server does not read: save it as "
                f"{read.get('instead')} or as a PDF.",
                "pages": f"{named} has {read.get('pages')} pages; at most {PDF_MAX_PAGES} are read: send it in parts.",
                "pictures": f"{named} has {read.get('pages')} scanned pages (pictures of text); at most {pictures} are "
                "read in this add, one LLM call each (MAX_IMAGES_PER_ADD, less the add's images): send it in parts.",
                "too_long": _too_long(named),
                "unreadable": f"{named} could not be read as a {_READ_AS[kind]} ({read.get('why')}).",
                "damaged": f"{named} is damaged, or is not {read.get('what')}: {read.get('why')}. Send the whole "
                "file, or open it in the program that made it (which may repair it) and save it again"
                + ("." if kind == "pdf" else ", or as a PDF."),
                "nested": f"{named} nests its parts (attachments, objects, storages) inside one another deeper "
                "than the reader follows (a few hundred levels: Python's limit of "
                f"{sys.getrecursionlimit():,} calls inside one another): send its parts apart.",
                "limit": f"{named} holds more than a PDF is read ({read.get('why')}; a stream unpacks to at most 75 "
                "MB, an array or a dictionary holds at most 100,000 items): send it in parts.",
            }[read["error"]]
        )
    return read


def document_passages(text: str, size: int = DOCUMENT_PASSAGE_CHARS) -> list[str]:
    """The text in passages of at most `size` characters: whole paragraphs together while they fit, a longer one cut
    at its sentences' ends (a sentence longer still, at a space)."""
    passages: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        for piece in _pieces(paragraph.strip(), size):
            if passages and len(passages[-1]) + 2 + len(piece) <= size:
                passages[-1] += "\n\n" + piece
            else:
                passages.append(piece)
    return passages


def _pieces(paragraph: str, size: int) -> list[str]:
    if len(paragraph) <= size:
        return [paragraph] if paragraph else []
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        while len(sentence) > size:
            cut = sentence.rfind(" ", 0, size)
            cut = cut if cut > 0 else size
            pieces.append(sentence[:cut])
            sentence = sentence[cut:].strip()
        if not sentence:
            continue
        if pieces and len(pieces[-1]) + 1 + len(sentence) <= size:
            pieces[-1] += " " + sentence
        else:
            pieces.append(sentence)
    return pieces
