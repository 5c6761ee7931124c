"""Files as clients send them in an add's messages: a PDF built by hand (what a PDF reader reads back), and a local
HTTP host serving files, for the hosts an operator names in FETCH_HOSTS."""

from __future__ import annotations

import base64
import datetime
import functools
import io
import struct
import threading
import zipfile
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import docx
import odf.draw
import odf.opendocument
import odf.presentation
import odf.style
import odf.table
import odf.text
import pptx
import xlsxwriter
import xlwt
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from msoffcrypto.format.ooxml import OOXMLFile
from PIL import Image
from pptx.util import Inches
from pypdf import PdfWriter

from memories.document_reader import RTF_DICTIONARY

# XlsxWriter's options for a workbook written to memory: without in_memory it writes each of its parts to a temporary
# file first (3.9 ms of CPU a small workbook, 1.1 ms in memory; the same parts either way).
IN_MEMORY = {"in_memory": True}


def pdf_of(*pages: str) -> bytes:
    """A PDF whose pages each show one line of text (Helvetica); a page of "" shows nothing."""
    return _pdf([b"BT /F1 12 Tf 72 720 Td (%s) Tj ET" % _pdf_string(text) if text else b"" for text in pages])


def _pdf_string(text: str) -> bytes:
    """Text as a PDF string's bytes between its parentheses (Latin-1, Helvetica's)."""
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")


def written(save: Callable[[io.BytesIO], object]) -> bytes:
    """What a library's save(file) writes (python-docx's, python-pptx's, pypdf's, Pillow's), as bytes."""
    file = io.BytesIO()
    save(file)
    return file.getvalue()


@functools.cache  # bytes, built once: python-docx and python-pptx take 16-32 ms of CPU a document
def word_lease() -> bytes:
    """A Word document (.docx) as python-docx writes one from Word's own template: a heading, a paragraph of runs (one
    bold), a tab and a line break, a table, a header; and, as Word writes them, a text box (written twice: for
    readers that know text boxes and for those that do not), a tracked deletion and a field."""
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "Confidential"
    document.add_heading("Lease of the flat", level=1)
    rent = document.add_paragraph("The rent is ")
    rent.add_run("950 euros").bold = True
    rent.add_run(" a month.")
    keys = document.add_paragraph("Keys:\tthree")
    keys.add_run().add_break()
    keys.add_run("one for the cellar")
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Deposit", "1,900 euros"), ("Notice", "")], strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    tenant = document.add_paragraph("Tenant: ")
    tenant._p.append(
        parse_xml(f'<w:del {nsdecls("w")} w:id="1" w:author="Ana"><w:r><w:delText>Bob</w:delText></w:r></w:del>')
    )
    tenant.add_run("Alice")
    box = (
        f'<w:r {nsdecls("w")} xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><mc:AlternateContent>'
        "<mc:Choice Requires='wps'><w:drawing><w:txbxContent><w:p><w:r><w:t>Pets allowed</w:t></w:r></w:p>"
        "</w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>Pets allowed"
        "</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r>"
    )
    signed = document.add_paragraph("Signed on ")
    signed._p.append(parse_xml(f"<w:r {nsdecls('w')}><w:instrText> DATE </w:instrText></w:r>"))
    signed.add_run("1 May 2026")
    signed._p.append(parse_xml(box))
    rent._p.append(parse_xml(f'<w:r {nsdecls("w")}><w:footnoteReference w:id="1"/></w:r>'))
    signed._p.append(parse_xml(f'<w:r {nsdecls("w")}><w:endnoteReference w:id="1"/></w:r>'))
    return _with_notes(written(document.save))


@functools.cache  # bytes, built once: python-docx and python-pptx take 16-32 ms of CPU a document
def word_reviewed() -> bytes:
    """A Word document with a reviewer's comments in its margin, as python-docx writes them (Word's comments part), one
    with no author named."""
    document = docx.Document()
    rent = document.add_paragraph("The rent is 950 euros a month.")
    document.add_comment(rent.runs, text="The landlord agreed to 900 euros on the phone.", author="Ana  Lima")
    deposit = document.add_paragraph("The deposit is two months' rent.")
    document.add_comment(deposit.runs, text="Paid in cash", author="")
    return written(document.save)


WORD_REVIEWED_TEXT = (
    "The rent is 950 euros a month.\n\nThe deposit is two months' rent.\n\n"
    "Comment by Ana Lima: The landlord agreed to 900 euros on the phone.\n\nComment: Paid in cash"
)


def _with_notes(word: bytes) -> bytes:
    """A Word document with the footnote and the endnote its text refers to, as Word writes them: each kind's part, its
    separators (notes -1 and 0, which no text refers to), its relationship and its content type."""
    main = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    package = "application/vnd.openxmlformats-officedocument.wordprocessingml"
    relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    notes = {"footnote": "Paid on the first day of each month.", "endnote": "Signed in Porto."}
    with zipfile.ZipFile(io.BytesIO(word)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    for kind, text in notes.items():
        separators = "".join(
            f'<w:{kind} w:type="{role}" w:id="{number}"><w:p><w:r><w:{role}/></w:r></w:p></w:{kind}>'
            for number, role in [(-1, "separator"), (0, "continuationSeparator")]
        )
        note = f'<w:{kind} w:id="1"><w:p><w:r><w:{kind}Ref/></w:r><w:r><w:t xml:space="preserve"> {text}</w:t></w:r>'
        note += f"</w:p></w:{kind}>"
        files[f"word/{kind}s.xml"] = f'<w:{kind}s xmlns:w="{main}">{separators}{note}</w:{kind}s>'.encode()
        files["[Content_Types].xml"] = files["[Content_Types].xml"].replace(
            b"</Types>",
            f'<Override PartName="/word/{kind}s.xml" ContentType="{package}.{kind}s+xml"/></Types>'.encode(),
        )
        files["word/_rels/document.xml.rels"] = files["word/_rels/document.xml.rels"].replace(
            b"</Relationships>",
            f'<Relationship Id="{kind}s" Type="{relationships}/{kind}s" Target="{kind}s.xml"/>'.encode()
            + b"</Relationships>",
        )
    return zip_of(files)


WORD_LEASE_TEXT = (
    "Lease of the flat\n\nThe rent is 950 euros a month.[1]\n\nKeys: three\none for the cellar\n\n"
    "Deposit | 1,900 euros\n\nNotice\n\nTenant: Alice\n\nPets allowed\n\nSigned on 1 May 2026[2]\n\n"
    "[1] Paid on the first day of each month.\n\n[2] Signed in Porto."
)


@functools.cache  # bytes, built once: python-docx and python-pptx take 16-32 ms of CPU a document
def presentation_trip() -> bytes:
    """A PowerPoint presentation (.pptx) as python-pptx writes one from PowerPoint's own template: a title slide, a
    slide of bullets, a slide with a table and speaker's notes; the last one moved to the front, as PowerPoint keeps
    a reordered slide's file name (slide3.xml shown first)."""
    presentation = pptx.Presentation()
    cover = presentation.slides.add_slide(presentation.slide_layouts[0])
    cover.shapes.title.text = "Kayak trip"
    cover.placeholders[1].text = "Down the Douro in May"
    days = presentation.slides.add_slide(presentation.slide_layouts[1])
    days.shapes.title.text = "Days"
    days.placeholders[1].text = "Day one: Porto\nDay two: Regua"
    budget = presentation.slides.add_slide(presentation.slide_layouts[5])
    budget.shapes.title.text = "Budget"
    table = budget.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    for row, cells in enumerate([("Boat", "300 euros"), ("Food", "120 euros")]):
        for column, text in enumerate(cells):
            table.cell(row, column).text = text
    budget.notes_slide.notes_text_frame.text = "Ask about the deposit"
    order = presentation.slides._sldIdLst  # the slides' order in presentation.xml
    order.insert(0, order[-1])
    return written(presentation.save)


PRESENTATION_TRIP_TEXT = (
    "Budget\n\nBoat | 300 euros\n\nFood | 120 euros\n\nNotes: Ask about the deposit\n\nKayak trip\n\n"
    "Down the Douro in May\n\n"
    "Days\n\nDay one: Porto\n\nDay two: Regua"
)


def opendocument_lease() -> bytes:
    """An OpenDocument text (.odt, LibreOffice's) as odfpy writes one: a heading, a paragraph with a span, a tab, a
    line break, three spaces and a footnote, a table, a list."""
    document = odf.opendocument.OpenDocumentText()
    document.text.addElement(odf.text.H(outlinelevel=1, text="Lease of the flat"))
    rent = odf.text.P(text="The rent is ")
    rent.addElement(odf.text.Span(text="950 euros"))
    rent.addText(" a month.")
    keys = odf.text.P(text="Keys:")
    for part in (odf.text.Tab(), "three", odf.text.LineBreak(), "one for", odf.text.S(c=3), "the cellar"):
        if isinstance(part, str):
            keys.addText(part)
        else:
            keys.addElement(part)
    note = odf.text.Note(noteclass="footnote")
    note.addElement(odf.text.NoteCitation(text="1"))
    body = odf.text.NoteBody()
    body.addElement(odf.text.P(text="Signed in Porto"))
    note.addElement(body)
    keys.addElement(note)
    table = odf.table.Table()
    table.addElement(odf.table.TableColumn(numbercolumnsrepeated=2))
    row = odf.table.TableRow()
    for text in ("Deposit", "1,900 euros"):
        cell = odf.table.TableCell()
        cell.addElement(odf.text.P(text=text))
        row.addElement(cell)
    table.addElement(row)
    pets = odf.text.List()
    item = odf.text.ListItem()
    item.addElement(odf.text.P(text="Pets allowed"))
    pets.addElement(item)
    for element in (rent, keys, table, pets):
        document.text.addElement(element)
    return written(document.save)


OPENDOCUMENT_LEASE_TEXT = (
    "Lease of the flat\n\nThe rent is 950 euros a month.\n\nKeys: three\none for the cellar[1]\n\n"
    "Deposit | 1,900 euros\n\nPets allowed\n\n[1] Signed in Porto"
)


def opendocument_trip() -> bytes:
    """An OpenDocument presentation (.odp) as odfpy writes one: two slides, each a title and a text in text boxes, the
    second with its speaker's notes."""
    document = odf.opendocument.OpenDocumentPresentation()
    layout = odf.style.PageLayout(name="slide")
    document.automaticstyles.addElement(layout)
    master = odf.style.MasterPage(name="master", pagelayoutname=layout)
    document.masterstyles.addElement(master)
    for title, text in [("Kayak trip", "Down the Douro in May"), ("Budget", "Boat: 300 euros")]:
        slide = odf.draw.Page(masterpagename=master)
        for line in (title, text):
            frame = odf.draw.Frame(width="20cm", height="2cm", x="1cm", y="1cm")
            box = odf.draw.TextBox()
            box.addElement(odf.text.P(text=line))
            frame.addElement(box)
            slide.addElement(frame)
        if title == "Budget":
            notes = odf.presentation.Notes()
            notes.addElement(odf.draw.PageThumbnail(width="10cm", height="8cm", x="1cm", y="1cm"))
            frame = odf.draw.Frame(width="20cm", height="10cm", x="1cm", y="10cm", placeholder="true")
            box = odf.draw.TextBox()
            box.addElement(odf.text.P(text="Ask about the deposit"))
            frame.addElement(box)
            notes.addElement(frame)
            slide.addElement(notes)
        document.presentation.addElement(slide)
    return written(document.save)


def workbook_budget() -> bytes:
    """An Excel workbook (.xlsx) as XlsxWriter writes one (Excel's own layout: shared texts, styles): a sheet of a
    budget, its header, an amount in euros, dates in a day-first format, a percentage, a formula, a row with an empty
    cell between two; a sheet of notes beginning at its third column, with a time; a hidden sheet."""

    def write(file) -> None:
        workbook = xlsxwriter.Workbook(file, IN_MEMORY)
        day, share = workbook.add_format({"num_format": "dd/mm/yyyy"}), workbook.add_format({"num_format": "0.0%"})
        euros = workbook.add_format({"num_format": '#,##0.00 "€"'})
        budget = workbook.add_worksheet("Budget")
        budget.write_row(0, 0, ["Item", "Amount", "Due", "Share"])
        budget.write_row(1, 0, ["Rent"])
        budget.write_number(1, 1, 1900, euros)
        budget.write_datetime(1, 2, datetime.date(2026, 3, 1), day)
        budget.write_number(1, 3, 0.625, share)
        budget.write_row(2, 0, ["Kayak"])
        budget.write_datetime(2, 2, datetime.date(2026, 5, 15), day)
        budget.write_formula(2, 3, "=1/8", share, 0.125)
        budget.write_number(3, 1, 0.1 + 0.2)
        budget.write_boolean(3, 2, True)
        notes = workbook.add_worksheet("Notes")
        notes.write(2, 2, "Call the landlord about the heating")
        notes.write_datetime(3, 2, datetime.time(14, 30), workbook.add_format({"num_format": "h:mm"}))
        workbook.add_worksheet("Lookup").write(0, 0, "a hidden sheet")
        workbook.worksheets()[-1].hide()
        workbook.close()

    return written(write)


WORKBOOK_BUDGET_PAGES = [
    "Budget\nItem | Amount | Due | Share\nRent | 1,900.00 € | 2026-03-01 | 62.5%\nKayak | | 2026-05-15 | 12.5%\n"
    "| 0.3 | TRUE",
    "Notes\nCall the landlord about the heating\n14:30",
]


def older_workbook() -> bytes:
    """An Excel 97-2003 workbook (.xls, BIFF8 in a compound file, as xlwt writes Excel's layout): the budget of
    workbook_budget, and its notes and hidden sheets."""
    workbook = xlwt.Workbook()
    budget = workbook.add_sheet("Budget")
    day, share = xlwt.easyxf(num_format_str="DD/MM/YYYY"), xlwt.easyxf(num_format_str="0.0%")
    for column, title in enumerate(["Item", "Amount", "Due", "Share"]):
        budget.write(0, column, title)
    budget.write(1, 0, "Rent")
    budget.write(1, 1, 1900, xlwt.easyxf(num_format_str="#,##0.00 [$€-407]"))
    budget.write(1, 2, datetime.date(2026, 3, 1), day)
    budget.write(1, 3, 0.625, share)
    budget.write(2, 0, "Kayak")
    budget.write(2, 2, datetime.date(2026, 5, 15), day)
    budget.write(2, 3, 0.125, share)
    budget.write(3, 1, 0.1 + 0.2)
    budget.write(3, 2, True)
    notes = workbook.add_sheet("Notes")
    notes.write(2, 2, "Call the landlord about the heating")
    notes.write(3, 2, datetime.time(14, 30), xlwt.easyxf(num_format_str="h:mm"))
    workbook.add_sheet("Lookup").write(0, 0, "a hidden sheet")
    workbook.get_sheet(2).visibility = 1
    return written(workbook.save)


def compound_of(stream: str) -> bytes:
    """A compound file (an older Office file's container, as xlwt writes one) whose one stream is named `stream`:
    which older Office file it is (PowerPoint 95's: PP40) its streams' names say."""
    data = bytearray(older_workbook())
    at = data.index("Workbook".encode("utf-16-le"))  # its directory entry: a name of 64 bytes, then the name's length
    name = stream.encode("utf-16-le") + b"\0\0"
    data[at : at + 66] = name.ljust(64, b"\0") + len(name).to_bytes(2, "little")
    return bytes(data)


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A compound file ([MS-CFB], version 3) of these streams, by path ("storage/stream"; storages made as their
    streams name them): streams under 4,096 bytes in the mini stream, as Office writes them; each storage's entries a
    balanced tree in the format's order (shorter names first)."""
    sector, mini, end, free = 512, 64, 0xFFFFFFFE, 0xFFFFFFFF
    entries = [{"name": "Root Entry", "type": 5, "kids": {}, "data": b""}]
    for path, data in streams.items():
        parent = entries[0]
        *storages, name = path.split("/")
        for storage in storages:
            if storage not in parent["kids"]:
                entries.append({"name": storage, "type": 1, "kids": {}, "data": b""})
                parent["kids"][storage] = len(entries) - 1
            parent = entries[parent["kids"][storage]]
        entries.append({"name": name, "type": 2, "kids": {}, "data": data})
        parent["kids"][name] = len(entries) - 1

    def tree(ids: list[int]) -> int:  # the middle one, its left and right halves below it
        if not ids:
            return free
        middle = len(ids) // 2
        entries[ids[middle]]["left"], entries[ids[middle]]["right"] = tree(ids[:middle]), tree(ids[middle + 1 :])
        return ids[middle]

    for entry in entries:
        order = sorted(entry["kids"].values(), key=lambda i: (len(entries[i]["name"]), entries[i]["name"].upper()))
        entry["child"] = tree(order)
    ministream, minifat, big = bytearray(), [], []
    for entry in entries[1:]:
        if entry["type"] == 2 and len(entry["data"]) < 4096:
            count = -(-len(entry["data"]) // mini)
            entry["start"] = len(ministream) // mini if count else end
            minifat += [len(minifat) + 1 + n for n in range(count - 1)] + [end] * bool(count)
            ministream += entry["data"].ljust(count * mini, b"\0")
        elif entry["type"] == 2:
            big.append(entry)
    directory = -(-len(entries) // 4)
    layout = [
        ("directory", directory),
        ("minifat", -(-len(minifat) * 4 // sector)),
        ("mini", -(-len(ministream) // sector)),
    ]
    layout += [(index, -(-len(entry["data"]) // sector)) for index, entry in enumerate(big)]
    starts, at = {}, 0
    for what, count in layout:
        starts[what] = at if count else end
        at += count
    fat_sectors = 1
    while fat_sectors * sector // 4 < at + fat_sectors:
        fat_sectors += 1
    fat = []
    for _, count in layout:
        fat += [len(fat) + 1 + n for n in range(count - 1)] + [end] * bool(count)
    fat += [0xFFFFFFFD] * fat_sectors
    fat += [free] * (fat_sectors * sector // 4 - len(fat))
    entries[0]["start"], entries[0]["data"] = starts["mini"], bytes(ministream)
    for index, entry in enumerate(big):
        entry["start"] = starts[index]

    def packed(entry: dict | None) -> bytes:
        if entry is None:  # an unused entry
            return b"\0" * 64 + struct.pack("<HBB3I", 0, 0, 0, free, free, free) + b"\0" * 48
        name = entry["name"].encode("utf-16-le") + b"\0\0"
        start = entry.get("start", end) if entry["type"] != 1 else 0
        size = len(entry["data"]) if entry["type"] != 1 else 0
        links = (entry.get("left", free), entry.get("right", free), entry["child"])
        return (
            name.ljust(64, b"\0")
            + struct.pack("<HBB3I", len(name), entry["type"], 1, *links)
            + b"\0" * 36
            + struct.pack("<IQ", start, size)
        )

    body = b"".join(packed(entry) for entry in [*entries, *[None] * (directory * 4 - len(entries))])
    body += struct.pack(f"<{len(minifat)}I", *minifat).ljust(layout[1][1] * sector, b"\xff")
    body += bytes(ministream).ljust(layout[2][1] * sector, b"\0")
    for entry in big:
        body += entry["data"].ljust(-(-len(entry["data"]) // sector) * sector, b"\0")
    body += struct.pack(f"<{len(fat)}I", *fat)
    difat = [at + n for n in range(fat_sectors)] + [free] * (109 - fat_sectors)
    header = bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 16
    header += struct.pack("<HHHHH6sII", 0x3E, 3, 0xFFFE, 9, 6, b"", 0, fat_sectors)
    header += struct.pack("<IIIIIII", starts["directory"], 0, 4096, starts["minifat"], layout[1][1], end, 0)
    header += struct.pack("<109I", *difat)
    return header + body


def older_document(
    pieces: list[tuple],
    *,
    notes: list[tuple[str, str]] = (),
    comments: list[tuple[str, str]] = (),
    boxes: list[str] = (),
    encrypted: bool = False,
    version: int = 0x00C1,
) -> bytes:
    """A Word 97-2003 document (.doc, [MS-DOC]) as Word keeps its text: in pieces, each (text, 8-bit (Windows-1252)
    or UTF-16, and whether a tracked change deleted it), in its WordDocument stream, found by the piece table of its
    table stream (1Table) that its FIB (the stream's header: `version` its nFib, Word 97's 0x00C1) names; Word's marks
    in the text as Word writes them ("\\r" ends a paragraph, "\\x07" a table's cell and row, "\\x13" … "\\x14" …
    "\\x15" a field, "\\x02" a note's mark, "\\x05" a comment's, "\\x08" a shape's anchor). `notes` ("footnote" or
    "endnote", its text) are the \\x02 marks', `comments` (author, text) the \\x05 marks' and `boxes` (text boxes'
    texts) the \\x08 marks', in order, each in its story after the main document's, placed by the PLCs the FIB names
    (a text box by its shape's id, the shape by its anchor: not the drawing Word shows it by); a deleted piece's
    characters are marked so in a page of formatting (an FKP, sprmCFRMarkDel) that the FIB's PlcBteChpx names."""
    text_at = 0x400
    document, table = bytearray(text_at), bytearray()
    main = "".join(piece[0] for piece in pieces)
    stories, authors = {}, sorted({author for author, _ in comments})
    for kind, mark in (("footnote", "\x02"), ("endnote", "\x02"), ("comment", "\x05")):
        texts = (
            [text for note_kind, text in notes if note_kind == kind] if kind != "comment" else [t for _, t in comments]
        )
        stories[kind] = "".join(f"{mark}{text}\r" for text in texts) + "\r" * bool(texts)  # and a last mark
    stories["box"] = "".join(f"{text}\r" for text in boxes) + "\r" * bool(boxes)
    laid = [(text, compressed, bool(deleted and deleted[0])) for text, compressed, *deleted in pieces]
    laid += [(stories[kind], True, False) for kind in ("footnote", "comment", "endnote", "box") if stories[kind]]
    places, pieces_out, runs, at, cp = [0], [], [], text_at, 0
    for text, compressed, deleted in laid:
        data = text.encode("cp1252") if compressed else text.encode("utf-16-le")
        fc = (at * 2) | 0x40000000 if compressed else at
        document += data
        runs.append((at, deleted))
        at += len(data)
        cp += len(text)
        places.append(cp)
        pieces_out.append(struct.pack("<HIH", 0, fc, 0))
    pairs = {}  # the FIB's pairs by their index: where in the table stream, and how long

    def put(index: int, data: bytes) -> None:
        pairs[index] = (len(table), len(data))
        table.extend(data)

    def plc(positions: list[int], data: list[bytes] = ()) -> bytes:
        return struct.pack(f"<{len(positions)}I", *positions) + b"".join(data)

    def story_ends(story: str) -> list[int]:  # each text's start in its story, its end, and the last mark's
        starts = [n for n, character in enumerate(story) if character in "\x02\x05"]
        return [*starts, len(story) - 1, len(story)]

    marks = [n for n, character in enumerate(main) if character == "\x02"]
    kinds = [kind for kind, _ in notes]
    for kind, refers in (("footnote", 2), ("endnote", 46)):
        where = [at for at, note_kind in zip(marks, kinds, strict=True) if note_kind == kind]
        if where:
            put(refers, plc([*where, len(main)], [struct.pack("<h", 1)] * len(where)))  # FRD: numbered by Word
            put(refers + 1, plc(story_ends(stories[kind])))
    if comments:
        where = [n for n, character in enumerate(main) if character == "\x05"]
        said = [bytes(20) + struct.pack("<h", authors.index(author)) + bytes(8) for author, _ in comments]
        put(4, plc([*where, len(main)], said))  # ATRDPre10: its author's index at byte 20
        put(5, plc(story_ends(stories["comment"])))
        put(36, b"".join(struct.pack("<H", len(author)) + author.encode("utf-16-le") for author in authors))
    if boxes:  # each shape (FSPA: its id, then its place) anchored at its mark; each box (FTXBXS: its shape's at 14)
        anchors = [n for n, character in enumerate(main) if character == "\x08"]
        spids = [0x0402 + n for n in range(len(boxes))]
        put(40, plc([*anchors, len(main)], [struct.pack("<I", spid).ljust(26, b"\0") for spid in spids]))
        starts = [sum(len(text) + 1 for text in boxes[:n]) for n in range(len(boxes))]
        texts = [struct.pack("<iiHiii", 1, 0, 0, -1, spid, 0) for spid in [*spids, 0]]
        put(56, plc([*starts, len(stories["box"]) - 1, len(stories["box"])], texts))
    page = -(-len(document) // 512)  # the formatting's page: each run a piece, a deleted one marked sprmCFRMarkDel
    fkp = bytearray(512)
    struct.pack_into(f"<{len(runs) + 1}I", fkp, 0, *(at for at, _ in runs), at)
    for n, (_, deleted) in enumerate(runs):
        fkp[4 * (len(runs) + 1) + n] = 250 if deleted else 0  # the CHPX at byte 500 (a word's offset)
    fkp[500:504], fkp[511] = b"\x03\x00\x08\x01", len(runs)
    document = document.ljust(512 * page, b"\0") + fkp
    put(12, plc([runs[0][0], at], [struct.pack("<I", page)]))
    plc_pieces = struct.pack(f"<{len(places)}I", *places) + b"".join(pieces_out)
    put(33, b"\x02" + struct.pack("<I", len(plc_pieces)) + plc_pieces)
    flags = 0x0200 | (0x0100 if encrypted else 0)  # the table stream is 1Table
    struct.pack_into("<HHHHHH", document, 0, 0xA5EC, version, 0, 0x0409, 0, flags)
    struct.pack_into("<II", document, 0x18, text_at, at)  # fcMin, fcMac: where the text lies, as older readers read
    struct.pack_into("<H", document, 0x20, 14)  # csw: FibRgW97's 14 words
    struct.pack_into("<H", document, 0x3E, 22)  # cslw: FibRgLw97's 22 longs
    struct.pack_into("<III", document, 0x40, len(document), 0, 0)  # cbMac
    # ccpText, ccpFtn, ccpHdd, ccpMcr, ccpAtn, ccpEdn: its stories' lengths
    lengths = (len(main), len(stories["footnote"]), 0, 0, len(stories["comment"]), len(stories["endnote"]))
    struct.pack_into("<7i", document, 0x4C, *lengths, len(stories["box"]))  # and ccpTxbx
    struct.pack_into("<H", document, 0x98, 93)  # cbRgFcLcb: FibRgFcLcb97's 93 pairs
    for index, (place, size) in pairs.items():
        struct.pack_into("<II", document, 0x9A + 8 * index, place, size)
    # Word's streams are never under the mini stream's 4,096 bytes (older readers take none that is).
    return compound_file(
        {"WordDocument": bytes(document.ljust(4096, b"\0")), "1Table": bytes(table.ljust(4096, b"\0"))}
    )


def older_presentation(
    slides: list[tuple[list[str], list[str], str]],
    *,
    tables: dict[int, list[list[str]]] | None = None,
    edited: dict[int, list[str]] | None = None,
    encrypted: bool = False,
) -> bytes:
    """A PowerPoint 97-2003 presentation (.ppt, [MS-PPT]) as PowerPoint saves one: each slide (its placeholders' texts,
    kept in the document's list of slides, each shape referring to its own; its text boxes' texts, kept in their shapes;
    its notes; its table in `tables`, a group of cells placed by their anchors) a container, its notes page another,
    placed by a persist directory that its edit names, that edit named by the Current User stream. Each text 8-bit
    where its characters allow, else UTF-16 ("\\r" ends a paragraph, a vertical tab breaks a line). `edited`: slides
    whose placeholders' texts a later edit changed, as PowerPoint's fast save appends it (a new document and slide,
    placed by a second persist directory; the rest where the first says)."""

    def record(kind: int, body: bytes = b"", *, instance: int = 0, version: int = 0) -> bytes:
        return struct.pack("<HHI", instance << 4 | version, kind, len(body)) + body

    def container(kind: int, *records: bytes, instance: int = 0) -> bytes:
        return record(kind, b"".join(records), instance=instance, version=0xF)

    def text(words: str, kind: int) -> bytes:  # its type (0 a title, 1 a body, 2 notes, 4 other), then its characters
        narrow = all(ord(character) < 256 for character in words)
        atom = record(0x0FA8, words.encode("latin-1")) if narrow else record(0x0FA0, words.encode("utf-16-le"))
        return record(0x0F9F, struct.pack("<I", kind)) + atom

    def shape(box: bytes = b"") -> bytes:  # a text box's (or a picture's)
        return container(0xF004, record(0xF00A, bytes(8), version=2), *([box] if box else []))

    def drawing(*shapes: bytes) -> bytes:  # a group of shapes
        return container(0x040C, container(0xF002, record(0xF008, bytes(8)), container(0xF003, *shapes)))

    def document(texts: list[list[str]]) -> bytes:
        listed = []
        for number, placeholders in enumerate(texts):
            atom = struct.pack("<IIIII", 2 + number, 0, len(placeholders), 256 + number, 0)
            listed += [record(0x03F3, atom), *(text(words, min(index, 1)) for index, words in enumerate(placeholders))]
        notes = [record(0x03F3, struct.pack("<IIIII", 2 + len(texts) + n, 0, 0, 512 + n, 0)) for n in range(len(texts))]
        return container(
            0x03E8,
            record(0x03E9, bytes(40), version=1),  # the document's atom: its size, its first slide's number, …
            container(0x03F2, container(0x07D5, record(0x0FB7, "Arial".encode("utf-16-le").ljust(68, b"\0")))),  # fonts
            container(0x0FF0, *listed, instance=0),
            container(0x0FF0, *notes, instance=2),
        )

    def slide(number: int, placeholders: list[str], boxes: list[str]) -> bytes:
        atom = struct.pack("<I8sIIHH", 0, bytes(8), 0x80000000, 512 + number, 0, 0)  # its notes page's id
        refer = [shape(container(0xF00D, record(0x0F9E, struct.pack("<I", n)))) for n in range(len(placeholders))]
        own = [shape(container(0xF00D, text(words, 4))) for words in boxes]
        return container(
            0x03EE, record(0x03EF, atom, version=2), drawing(*refer, *own, *table((tables or {}).get(number)))
        )

    def table(rows: list[list[str]] | None) -> list[bytes]:  # its group: its own shape, tableProperties among its own
        if not rows:
            return []
        heights = struct.pack(f"<HHH{len(rows)}I", len(rows), len(rows), 4, *[300] * len(rows))  # tableRowProperties
        own = record(0xF122, struct.pack("<HIHI", 0x039F, 1, 0xC3A0, len(heights)) + heights, instance=2, version=3)

        def anchor(x: int, y: int) -> bytes:  # a cell's (a rectangle's) place in its group: left, top, right, bottom
            return record(0xF00F, struct.pack("<4i", 1000 * x, 400 * y, 1000 * x + 900, 400 * y + 300))

        cells = [
            container(0xF004, record(0xF00A, struct.pack("<II", 0, 0x0A02), instance=1, version=2), anchor(x, y), box)
            for y, row in enumerate(rows)
            for x, words in enumerate(row)
            if (box := container(0xF00D, text(words, 4)))
        ]
        group = record(0xF009, bytes(16), version=1), record(0xF00A, struct.pack("<II", 0, 0x0201), version=2), own
        return [container(0xF003, container(0xF004, *group, record(0xF010, bytes(8))), *cells)]

    def notes_page(number: int, notes: str) -> bytes:
        atom = struct.pack("<II", 256 + number, 0)  # the slide it is the notes of
        # Its slide's picture, its notes, and its number: a field at the "*" (a SlideNumberMCAtom at character 0).
        body, page = container(0xF00D, text(notes, 2)), container(0xF00D, text("*", 4), record(0x0FD8, bytes(4)))
        return container(0x03F0, record(0x03F1, atom, version=1), drawing(shape(), shape(body), shape(page)))

    def directory(places: dict[int, int]) -> bytes:
        entries = b"".join(struct.pack("<II", 1 << 20 | persist, place) for persist, place in sorted(places.items()))
        return record(0x1772, entries)

    def edit(earlier: int, directory_at: int, seed: int) -> bytes:
        return record(0x0FF5, struct.pack("<IHBBIIIIHH", 256, 0, 0, 3, earlier, directory_at, 1, seed, 1, 0))

    stream, places = bytearray(), {}
    texts = [placeholders for placeholders, _, _ in slides]
    for persist, part in [
        (1, document(texts)),
        *((2 + n, slide(n, placeholders, boxes)) for n, (placeholders, boxes, _) in enumerate(slides)),
        *((2 + len(slides) + n, notes_page(n, notes)) for n, (_, _, notes) in enumerate(slides)),
    ]:
        places[persist] = len(stream)
        stream += part
    directory_at = len(stream)
    stream += directory(places)
    current = len(stream)
    stream += edit(0, directory_at, 2 * len(slides) + 1)
    if edited:  # fast saved: the changed document and slides appended, a second directory placing only them
        texts = [edited.get(n, placeholders) for n, placeholders in enumerate(texts)]
        changed = {1: len(stream)}
        stream += document(texts)
        for n in sorted(edited):
            changed[2 + n] = len(stream)
            stream += slide(n, edited[n], slides[n][1])
        directory_at = len(stream)
        stream += directory(changed)
        current, earlier = len(stream), current
        stream += edit(earlier, directory_at, 2 * len(slides) + 1)
    user = record(
        0x0FF6, struct.pack("<IIIHHBBH", 20, 0xF3D1C4DF if encrypted else 0xE391C05F, current, 0, 0x03F4, 3, 0, 0)
    )
    # PowerPoint's streams are never under the mini stream's 4,096 bytes either, but its Current User stream is.
    return compound_file({"Current User": user, "PowerPoint Document": bytes(stream.ljust(4096, b"\0"))})


def outlook_message(
    subject: str,
    body: str,
    *,
    sender: tuple[str, str] = ("Ada Lovelace", "ada@example.com"),
    to: str = "Charles Babbage",
    recipients: list[tuple[str, str, int]] = (("Charles Babbage", "charles@example.com", 1),),
    sent: datetime.datetime | None = None,
    html: str = "",
    rtf: bytes = b"",
    attachments: list[tuple[str, str, bytes]] = (),
    embedded: list[tuple[str, str]] = (),
) -> bytes:
    """An Outlook message (.msg, [MS-OXMSG]) as Outlook saves one: its properties of text as UTF-16 streams, its
    properties' stream (its time sent, a FILETIME, among them), its attachments (name, media type, content) each a
    storage, its `recipients` (name, address, type: 1 To, 2 Cc) each a storage beside the names it shows (`to`), and
    `embedded` messages (subject, body) attached as Outlook attaches an email: a storage within one; its `rtf`: its Rich
    Text as Outlook keeps it, compressed (compressed_rtf)."""

    def properties(header: int, fixed: dict[int, int] | None = None) -> bytes:
        entries = b"".join(struct.pack("<IIQ", tag, 6, value) for tag, value in (fixed or {}).items())
        return b"\0" * header + entries

    def texts(prefix: str, values: dict[int, str]) -> dict[str, bytes]:
        return {f"{prefix}__substg1.0_{tag:04X}001F": text.encode("utf-16-le") for tag, text in values.items() if text}

    def message(prefix: str, header: int, subject: str, body: str, fixed: dict[int, int]) -> dict[str, bytes]:
        streams = {f"{prefix}__properties_version1.0": properties(header, fixed)}
        return streams | texts(prefix, {0x001A: "IPM.Note", 0x0037: subject, 0x1000: body})

    moment = sent or datetime.datetime(2026, 3, 1, 14, 30, tzinfo=datetime.UTC)
    filetime = int((moment - datetime.datetime(1601, 1, 1, tzinfo=datetime.UTC)).total_seconds()) * 10_000_000
    streams = message("", 32, subject, body, {0x00390040: filetime})
    streams |= texts("", {0x0C1A: sender[0], 0x5D01: sender[1], 0x0E04: to})
    if html:
        streams["__substg1.0_10130102"] = html.encode()
    if rtf:
        streams["__substg1.0_10090102"] = rtf
    for number, (name, address, kind) in enumerate(recipients):
        where = f"__recip_version1.0_#{number:08X}/"
        streams[f"{where}__properties_version1.0"] = properties(8, {0x0C150003: kind})
        streams |= texts(where, {0x3001: name, 0x39FE: address})
    for number, (name, kind, content) in enumerate(attachments):
        where = f"__attach_version1.0_#{number:08X}/"
        streams[f"{where}__properties_version1.0"] = properties(8, {0x37050003: 1})
        streams |= texts(where, {0x3707: name, 0x370E: kind})
        streams[f"{where}__substg1.0_37010102"] = content
    for number, (inner_subject, inner_body) in enumerate(embedded, len(attachments)):
        where = f"__attach_version1.0_#{number:08X}/"
        streams[f"{where}__properties_version1.0"] = properties(8, {0x37050003: 5})
        streams |= message(f"{where}__substg1.0_3701000D/", 24, inner_subject, inner_body, {})
    streams |= {f"__nameid_version1.0/__substg1.0_{n:04X}0102": b"" for n in (2, 3, 4)}
    return compound_file(streams)


def compressed_rtf(rtf: bytes) -> bytes:
    """Rich Text compressed as Outlook keeps it ([MS-OXRTFCP], "LZFu"): in runs of 8, each byte either itself or, where
    2 to 17 bytes ahead were written already in a window of 4,096 that starts as RTF_DICTIONARY, a reference to them
    (where, how many); then a reference to where it would write next, its end; after its sizes, kind and CRC-32."""
    window, written, body, at = bytearray(RTF_DICTIONARY.ljust(4096, b"\0")), len(RTF_DICTIONARY), bytearray(), 0
    while True:
        control, run = 0, bytearray()
        for bit in range(8):
            if at >= len(rtf):
                run += ((written % 4096) << 4).to_bytes(2, "big")
                body += bytes([control | 1 << bit]) + run
                crc = zlib.crc32(bytes(body), 0xFFFFFFFF) ^ 0xFFFFFFFF  # from 0, without a last inversion
                return struct.pack("<II4sI", len(body) + 12, len(rtf), b"LZFu", crc) + body
            # The longest bytes ahead found whole in the window, not over where the next are written.
            found = next(
                (
                    (where, size)
                    for size in range(min(17, len(rtf) - at), 1, -1)
                    if (where := window.find(rtf[at : at + size])) >= 0 and not where <= written % 4096 < where + size
                ),
                None,
            )
            if found:
                control |= 1 << bit
                run += (found[0] << 4 | found[1] - 2).to_bytes(2, "big")
            for byte in rtf[at : at + (found[1] if found else 1)]:
                window[written % 4096], written = byte, written + 1
            at += found[1] if found else 1
            if not found:
                run.append(rtf[at - 1])
        body += bytes([control]) + run


def locked(document: bytes) -> bytes:
    """An Office file (.docx, .xlsx, .pptx) locked by a password as Office locks it: encrypted in a compound file."""
    return written(lambda out: OOXMLFile(io.BytesIO(document)).encrypt("a password", out))


def workbook_of(rows: list[list]) -> bytes:
    """An Excel workbook (.xlsx) of one sheet of these rows, as XlsxWriter writes it."""

    def write(file) -> None:
        workbook = xlsxwriter.Workbook(file, IN_MEMORY)
        sheet = workbook.add_worksheet("Contacts")
        for index, row in enumerate(rows):
            sheet.write_row(index, 0, row)
        workbook.close()

    return written(write)


def opendocument_budget(rows_repeated: int = 1_048_000, cells_repeated: int = 3) -> bytes:
    """An OpenDocument spreadsheet (.ods) as odfpy writes one, as LibreOffice lays a sheet out: a budget whose cells
    hold the text they show (an amount in euros, a date in a month-first format, an empty cell between two, a value
    repeated over `cells_repeated` cells), its empty rest one row of 1,024 empty cells repeated `rows_repeated`
    times; a sheet of notes; a sheet hidden by its style."""
    document = odf.opendocument.OpenDocumentSpreadsheet()
    hidden = odf.style.Style(name="hidden", family="table")
    hidden.addElement(odf.style.TableProperties(display="false"))
    document.automaticstyles.addElement(hidden)

    def sheet(name: str, rows: list[list], **style) -> odf.table.Table:
        table = odf.table.Table(name=name, **style)
        for cells in rows:
            row = odf.table.TableRow(**(cells.pop(0) if cells and isinstance(cells[0], dict) else {}))
            for cell in cells:
                text, attributes = cell if isinstance(cell, tuple) else (cell, {})
                element = odf.table.TableCell(**attributes)
                if text:
                    element.addElement(odf.text.P(text=text))
                row.addElement(element)
            table.addElement(row)
        return table

    march = ("03/01/26", {"valuetype": "date", "datevalue": "2026-03-01"})
    for table in [
        sheet(
            "Budget",
            [
                ["Item", "Amount", "Due"],
                ["Rent", ("1,900.00 €", {"valuetype": "float", "value": "1900"}), march],
                ["Kayak", "", ("05/15/26", {"valuetype": "date", "datevalue": "2026-05-15T09:00:00"})],
                ["Paid", ("yes", {"numbercolumnsrepeated": cells_repeated})],
                [{"numberrowsrepeated": rows_repeated}, ("", {"numbercolumnsrepeated": 1024})],
            ],
        ),
        sheet("Notes", [["", "Call the landlord about the heating"]]),
        sheet("Lookup", [["a hidden sheet"]], stylename=hidden),
    ]:
        document.spreadsheet.addElement(table)
    return written(document.save)


OPENDOCUMENT_BUDGET_PAGES = [
    "Budget\nItem | Amount | Due\nRent | 1,900.00 € | 2026-03-01\nKayak | | 2026-05-15 09:00\nPaid | yes | yes | yes",
    "Notes\nCall the landlord about the heating",
]


def grey_png(width: int, height: int, rows: bytes | None = None) -> str:
    """A PNG of width x height grey pixels, as a data URL: all black, or its compressed `rows` as they are (a header
    claiming more pixels than its data holds)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    if rows is None:
        packer = zlib.compressobj(9)
        rows = b"".join(packer.compress(b"\0" * (width + 1)) for _ in range(height)) + packer.flush()
    chunks = [b"IHDR" + header, b"IDAT" + rows, b"IEND"]
    content = b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(chunk) - 4) + chunk + struct.pack(">I", zlib.crc32(chunk)) for chunk in chunks
    )
    return f"data:image/png;base64,{base64.b64encode(content).decode()}"


def zip_of(files: dict[str, bytes]) -> bytes:
    def archived(file) -> None:
        with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for name, content in files.items():
                archive.writestr(name, content)

    return written(archived)


def scan(shade: int, mode: str = "L", dpi: int = 150) -> Image.Image:
    """A scanned letter page of one grey `shade`: the stand-in model tells pages apart by it (scan_shade). Mode "1" is
    a black and white scan (a shade under 128 black)."""
    colour = {"1": int(shade >= 128), "L": shade, "RGB": (shade, shade, shade)}[mode]
    return Image.new(mode, (dpi * 17 // 2, dpi * 11), colour)


def scan_shade(url: str) -> int:
    """The grey shade of the scanned page a data URL holds (a JPEG is lossy: to the nearest 10, 250 at most)."""
    picture = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("L")
    return min(round(picture.getpixel((picture.width // 2, picture.height // 2)) / 10) * 10, 250)


def pdf_with(*pages: str | Image.Image) -> bytes:
    """A PDF of text pages (pdf_of's) and scanned ones: each picture a page, as Pillow writes a PDF of images (what
    "images to PDF" tools make of a scanner's pictures: JPEG for grey and colour, another filter for black and
    white), joined by pypdf."""
    writer = PdfWriter()
    for page in pages:
        if isinstance(page, str):
            writer.append(io.BytesIO(pdf_of(page)))
        else:
            writer.append(io.BytesIO(written(lambda file, page=page: page.save(file, "PDF", resolution=150))))
    return written(writer.write)


def pdf_busy(operations: int, pages: int = 1) -> bytes:
    """A PDF of a few KB a page whose pages each hold `operations` text operations that show nothing (compressed):
    seconds of a PDF reader's work a page."""
    stream = zlib.compress(b"BT /F1 12 Tf 72 720 Td () Tj ET " * operations, 9)
    return _pdf([stream] * pages, compressed=True)


def pdf_showing(text: str, *pictures: Image.Image, searchable: bool = False) -> bytes:
    """A PDF page of one line of text and pictures (JPEG images), each drawn 200 points wide under the text, as a word
    processor's PDF shows photos; `searchable`: a scan made searchable, as OCR makes one, its picture across the
    whole page under the line of text, which is not shown (render mode 3)."""
    if searchable:
        drawing, hidden = b"q 612 0 0 792 0 0 cm /Im0 Do Q ", b"3 Tr "
    else:
        drawing = b"".join(b"q 200 0 0 150 72 %d cm /Im%d Do Q " % (500 - 170 * n, n) for n in range(len(pictures)))
        hidden = b""
    return _pdf([drawing + b"BT %s/F1 12 Tf 72 720 Td (%s) Tj ET" % (hidden, _pdf_string(text))], images=[pictures])


def _pdf(streams: list[bytes], *, compressed: bool = False, images: list[tuple[Image.Image, ...]] = ()) -> bytes:
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    flate = b" /Filter /FlateDecode" if compressed else b""
    for page, stream in enumerate(streams):
        shown = []
        for number, picture in enumerate(images[page] if page < len(images) else []):
            jpeg = written(lambda file, picture=picture: picture.save(file, "JPEG"))
            space = b"/DeviceGray" if picture.mode == "L" else b"/DeviceRGB"
            objects.append(
                b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent 8 "
                b"/Filter /DCTDecode /Length %d >>\nstream\n%s\nendstream" % (*picture.size, space, len(jpeg), jpeg)
            )
            shown.append(b"/Im%d %d 0 R" % (number, len(objects)))
        objects.append(b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(stream), flate, stream))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> /XObject << %s >> >> >>" % (len(objects), b" ".join(shown))
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    return _pdf_file(objects)


def pdf_showing_a_form(text: str, page_picture: Image.Image, form_picture: Image.Image, *, form_first: bool) -> bytes:
    """A PDF page of one line of text that draws a photo of its own (/Im0) and a form (/Fm0: drawings grouped, as a
    figure one PDF takes from another) that draws its own photo under the same name (/Im0 of the form's resources);
    `form_first`: the form is drawn before the page's photo."""
    pictures = (page_picture, form_picture)
    jpegs = [written(lambda file, picture=picture: picture.save(file, "JPEG")) for picture in pictures]
    images = [
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 "
        b"/Filter /DCTDecode /Length %d >>\nstream\n%s\nendstream" % (*picture.size, len(jpeg), jpeg)
        for picture, jpeg in zip(pictures, jpegs, strict=True)
    ]
    form = b"q 200 0 0 150 0 0 cm /Im0 Do Q"
    photo, drawn_form = b"q 200 0 0 150 72 500 cm /Im0 Do Q ", b"q 1 0 0 1 72 300 cm /Fm0 Do Q "
    drawing = drawn_form + photo if form_first else photo + drawn_form
    stream = drawing + b"BT /F1 12 Tf 72 720 Td (%s) Tj ET" % _pdf_string(text)
    form = (
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 200 150] /Resources << /XObject << /Im0 5 0 R >> >> "
        b"/Length %d >>\nstream\n%s\nendstream" % (len(form), form)
    )
    return _pdf_one_page(stream, [*images, form], b"/Im0 4 0 R /Fm0 6 0 R")


def pdf_claiming(text: str, width: int, height: int, *, photo: Image.Image | None = None) -> bytes:
    """A PDF page of one line of text (none: a scanned page) drawing a grey picture (FlateDecode) whose dictionary
    claims width x height pixels, its stream a few bytes, and then `photo` (a JPEG image), if any."""
    rows = zlib.compress(b"\0" * 1_000)
    images = [
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 "
        b"/Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream" % (width, height, len(rows), rows)
    ]
    if photo is not None:
        jpeg = written(lambda file: photo.save(file, "JPEG"))
        images.append(
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 "
            b"/Filter /DCTDecode /Length %d >>\nstream\n%s\nendstream" % (*photo.size, len(jpeg), jpeg)
        )
    drawing = b"".join(b"q 200 0 0 150 72 %d cm /Im%d Do Q " % (500 - 170 * n, n) for n in range(len(images)))
    shown = b"BT /F1 12 Tf 72 720 Td (%s) Tj ET" % _pdf_string(text) if text else b""
    return _pdf_one_page(drawing + shown, images, b" ".join(b"/Im%d %d 0 R" % (n, 4 + n) for n in range(len(images))))


def pdf_image(text: str, entries: bytes, data: bytes, *more: bytes) -> bytes:
    """A PDF page of one line of text (none: a scanned page) drawing a grey image of 200 x 200 pixels by its
    dictionary, of these further `entries` (its /Filter, an /SMask naming object 5) and stream `data`; `more`: objects
    5 on."""
    image = (
        b"<< /Type /XObject /Subtype /Image /Width 200 /Height 200 /ColorSpace /DeviceGray /BitsPerComponent 8 "
        b"%s /Length %d >>\nstream\n%s\nendstream" % (entries, len(data), data)
    )
    shown = b"BT /F1 12 Tf 72 720 Td (%s) Tj ET" % _pdf_string(text) if text else b""
    return _pdf_one_page(b"q 200 0 0 150 72 500 cm /Im0 Do Q " + shown, [image, *more], b"/Im0 4 0 R")


def pdf_of_inline_images(count: int, side: int) -> bytes:
    """A scanned PDF page (no text) drawing `count` inline images (BI … ID … EI in its drawings) of side x side grey
    pixels, compressed."""
    rows = zlib.compress(b"\x5a" * side * side, 9)
    image = b"q 200 0 0 150 72 500 cm BI /W %d /H %d /CS /G /BPC 8 /F /Fl ID %s EI Q " % (side, side, rows)
    return _pdf_one_page(image * count, [], b"")


def pdf_showing_copies(text: str, copies: int, side: int = 1_000) -> bytes:
    """A PDF page of one line of text drawing `copies` image XObjects, each its own copy of the same grey picture of
    side x side pixels (FlateDecode)."""
    rows = zlib.compress(b"\x80" * side * side, 9)
    image = (
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 "
        b"/Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream" % (side, side, len(rows), rows)
    )
    drawing = b"".join(b"q 200 0 0 150 72 500 cm /Im%d Do Q " % n for n in range(copies))
    shown = b"BT /F1 12 Tf 72 720 Td (%s) Tj ET" % _pdf_string(text)
    return _pdf_one_page(
        drawing + shown, [image] * copies, b" ".join(b"/Im%d %d 0 R" % (n, 4 + n) for n in range(copies))
    )


def jpeg_2000_claiming(width: int, height: int) -> bytes:
    """A JPEG 2000 codestream (what a PDF's JPXDecode holds) of a grey picture of 64 x 64 pixels whose header (SIZ)
    claims width x height."""
    codestream = bytearray(written(lambda file: Image.new("L", (64, 64), 90).save(file, "JPEG2000", no_jp2=True)))
    struct.pack_into(">II", codestream, codestream.index(b"\xff\x51") + 6, width, height)
    return bytes(codestream)


def pdf_drawing(text: str, operations: int) -> bytes:
    """A PDF page of one line of text that draws a form (a chart, a map: drawings one PDF took from another) of
    `operations` lines, compressed, and no picture."""
    drawing = zlib.compress(b"0 0 m 1 1 l S\n" * operations, 9)
    stream = b"BT /F1 12 Tf 72 720 Td (%s) Tj ET q /Fm0 Do Q" % _pdf_string(text)
    form = (
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /ProcSet [/PDF] >> /Filter /FlateDecode "
        b"/Length %d >>\nstream\n%s\nendstream" % (len(drawing), drawing)
    )
    return _pdf_one_page(stream, [form], b"/Fm0 4 0 R")


def _pdf_one_page(stream: bytes, xobjects: list[bytes], named: bytes) -> bytes:
    """A PDF of one page drawing `stream` with Helvetica as /F1 and the objects `xobjects` (numbered from 4 on, as
    `named`, the page's XObject dictionary's entries, refers to them)."""
    contents = 4 + len(xobjects)
    return _pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (contents + 1),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            *xobjects,
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> /XObject << %s >> >> >>" % (contents, named),
        ]
    )


def _pdf_file(objects: list[bytes]) -> bytes:
    """A PDF of these objects (numbered from 1), the first its catalog."""
    pdf = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return pdf


class FileHost:
    """A host on 127.0.0.1 answering each path of `files` ({path: (status, content type, body)}) and 404 to others;
    a 302 sends to the cloud's metadata address (which must never be followed). `with FileHost(files) as url:`."""

    def __init__(self, files: dict[str, tuple[int, str, bytes]]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, kind, body = files.get(self.path, (404, "text/plain", b"gone"))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                if status == 302:
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


# An invitation as Google Calendar sends it (a time zone, an event with an alarm, folded lines, escapes), with an event
# of a whole day repeating monthly and a to-do; and the text each is read as.
INVITATION = """BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
VERSION:2.0
METHOD:REQUEST
BEGIN:VTIMEZONE
TZID:Europe/Lisbon
BEGIN:STANDARD
TZOFFSETFROM:+0100
TZOFFSETTO:+0000
DTSTART:19701025T020000
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
DTSTART;TZID=Europe/Lisbon:20260305T100000
DTEND;TZID=Europe/Lisbon:20260305T110000
ORGANIZER;CN=Ada Lovelace:mailto:ada@example.com
ATTENDEE;CUTYPE=INDIVIDUAL;PARTSTAT=NEEDS-ACTION;CN="Babbage, Charles";X-NUM-GUESTS=0:mailto:charles@example.com
ATTENDEE;CUTYPE=INDIVIDUAL;PARTSTAT=ACCEPTED:mailto:bob@example.com
DESCRIPTION:Bring the lease and the deposit receipt.\\nThe office is on the
  second floor\\, room 4.
LOCATION:Rua Augusta 12\\, Lisbon
STATUS:CONFIRMED
SUMMARY:Flat viewing with the landlord
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:This is an event reminder
TRIGGER:-P0DT0H30M0S
END:VALARM
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:20260401
DTEND;VALUE=DATE:20260402
RRULE:FREQ=MONTHLY;BYMONTHDAY=1
SUMMARY:Pay the rent
END:VEVENT
BEGIN:VTODO
DUE:20260310T170000Z
SUMMARY:Send the signed lease
STATUS:NEEDS-ACTION
END:VTODO
END:VCALENDAR
""".replace("\n", "\r\n")
INVITATION_TEXT = (
    "Event: Flat viewing with the landlord\nWhen: 2026-03-05 10:00 – 11:00 (Europe/Lisbon)\n"
    "Where: Rua Augusta 12, Lisbon\nOrganizer: Ada Lovelace <ada@example.com>\n"
    "Attendees: Babbage, Charles <charles@example.com>, bob@example.com\n"
    "Bring the lease and the deposit receipt.\nThe office is on the second floor, room 4.\n\n"
    "Event: Pay the rent\nWhen: 2026-04-01\nRepeats: monthly on day 1\n\n"
    "To do: Send the signed lease\nDue: 2026-03-10 17:00 UTC\nStatus: needs-action"
)
# Contacts as a phone exports them: vCard 3.0 (a group's "item1.", types, a structured name and address) and 4.0 (a
# phone as a tel: URI).
CONTACTS = """BEGIN:VCARD
VERSION:3.0
N:Lovelace;Ada;;;
FN:Ada Lovelace
ORG:Analytical Engines Ltd;Research
TITLE:Mathematician
TEL;TYPE=CELL,VOICE,pref:+44 20 7946 0958
item1.EMAIL;TYPE=INTERNET:ada@example.com
ADR;TYPE=HOME:;;12 St James's Square;London;;SW1Y 4JH;United Kingdom
BDAY:1815-12-10
NOTE:Prefers letters to calls.
END:VCARD
BEGIN:VCARD
VERSION:4.0
N:Babbage;Charles;;;
TEL;VALUE=uri;TYPE="voice,home":tel:+44-20-555-0101
END:VCARD
"""
CONTACTS_TEXT = (
    "Name: Ada Lovelace\nOrganization: Analytical Engines Ltd, Research\nTitle: Mathematician\n"
    "Phone (cell): +44 20 7946 0958\nEmail: ada@example.com\n"
    "Address (home): 12 St James's Square, London, SW1Y 4JH, United Kingdom\nBirthday: 1815-12-10\n"
    "Note: Prefers letters to calls.\n\nName: Charles Babbage\nPhone (home): +44-20-555-0101"
)


# A note as macOS's TextEdit saves it (.rtf: a font and colour table, escapes for what is not ASCII, a line ended by a
# backslash), and the text it is read as.
TEXTEDIT_NOTE = r"""{\rtf1\ansi\ansicpg1252\cocoartf2822
\cocoatextscaling0\cocoaplatform0{\fonttbl\f0\fswiss\fcharset0 Helvetica;}
{\colortbl;\red255\green255\blue255;}
{\*\expandedcolortbl;;}
\paperw11900\paperh16840\margl1440\margr1440\vieww11520\viewh8400\viewkind0
\pard\tx566\tx1133\pardirnatural\partightenfactor0

\f0\fs24 \cf0 Lease of the flat on Rua Augusta\
\
The rent is 950 \uc0\u8364  a month, paid to Jos\'e9 Silva.\
Keys:\tab three\
}
"""
TEXTEDIT_NOTE_TEXT = "Lease of the flat on Rua Augusta\n\nThe rent is 950 € a month, paid to José Silva.\n\nKeys: three"


def epub_book(*, pictured: bool = False) -> bytes:
    """An EPUB book as the specification lays one out (its mimetype first and stored, a container naming its package,
    a package listing its chapters and giving their order, a chapter's name with a space in it), its chapters in
    another order than their names'. `pictured`: the harbour chapter shows a photo (scan(90)), by a path relative
    to it, and a picture outside the book; the storm chapter the same photo again, and another (scan(50)) as an
    SVG's image, as a cover is shown."""
    chapter = (
        '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>{0}</title>'
        "</head><body><h1>{0}</h1><p>{1}</p>{2}</body></html>"
    )
    door = '<img src="../images/door%20front.png" alt="door"/>' if pictured else ""
    outside = '<img src="https://example.com/harbour.png"/>' if pictured else ""
    hall = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<image xlink:href="../images/hall.png"/></svg>'
        if pictured
        else ""
    )
    package = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>The Albatross</dc:title><dc:creator>Ana Sousa'
        '</dc:creator></metadata><manifest><item id="a" href="text/b%20harbour.xhtml" '
        'media-type="application/xhtml+xml"/><item id="b" href="text/a-storm.xhtml" '
        'media-type="application/xhtml+xml"/><item id="css" href="style.css" media-type="text/css"/></manifest>'
        '<spine><itemref idref="a"/><itemref idref="b"/></spine></package>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        book.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
            '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>",
        )
        book.writestr("OEBPS/content.opf", package)
        harbour = chapter.format("The harbour", "We sailed from Porto in May.", door + outside)
        book.writestr("OEBPS/text/b harbour.xhtml", harbour)
        book.writestr(
            "OEBPS/text/a-storm.xhtml", chapter.format("The storm", "A storm kept us in Vigo for a week.", door + hall)
        )
        book.writestr("OEBPS/style.css", "p { margin: 0 }")
        if pictured:
            book.writestr("OEBPS/images/door front.png", written(lambda out: scan(90).save(out, "PNG")))
            book.writestr("OEBPS/images/hall.png", written(lambda out: scan(50).save(out, "PNG")))
    return buffer.getvalue()


EPUB_BOOK_TEXT = (
    "The Albatross\nAna Sousa\n\nThe harbour\n\nWe sailed from Porto in May.\n\n"
    "The storm\n\nA storm kept us in Vigo for a week."
)
