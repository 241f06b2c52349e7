"""Stage "ingest" (DOCX side): paragraphs and table rows in body order, as one page of lines."""

from __future__ import annotations

import unicodedata
import zipfile
from collections.abc import Iterator
from pathlib import Path

from pipeline import text_quality
from pipeline.errors import CorruptFileError, TooLargeError, UnsupportedFormatError
from pipeline.types import DocText, InputFile, PageText, build_lines

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _body_items(parent: object, document: object) -> Iterator[tuple[str, object]]:
    """("p", Paragraph) and ("tbl", Table) in document order; content controls are looked into."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in parent.iterchildren():  # type: ignore[attr-defined]
        if child.tag == f"{_W}p":
            yield "p", Paragraph(child, document)  # type: ignore[arg-type]
        elif child.tag == f"{_W}tbl":
            yield "tbl", Table(child, document)  # type: ignore[arg-type]
        elif child.tag == f"{_W}sdt":
            content = child.find(f"{_W}sdtContent")
            if content is not None:
                yield from _body_items(content, document)


def _cell_text(element: object, depth: int = 0) -> str:
    """A cell's text with the text of Word tables nested inside it (common in Vietnamese forms;
    python-docx's `cell.text` leaves them out), row by row, in document order."""
    from docx.text.paragraph import Paragraph

    parts: list[str] = []
    for child in element.iterchildren():  # type: ignore[attr-defined]
        if child.tag == f"{_W}p":
            parts.append(Paragraph(child, None).text)  # type: ignore[arg-type]
        elif child.tag == f"{_W}tbl" and depth < 32:
            for row in child.iter(f"{_W}tr"):
                if row.getparent() is child:
                    parts.append(" ".join(_cell_text(tc, depth + 1) for tc in row.iterchildren(f"{_W}tc")))
        elif child.tag == f"{_W}sdt":
            content = child.find(f"{_W}sdtContent")
            if content is not None:
                parts.append(_cell_text(content, depth))
    return "\n".join(p for p in parts if p)


def _clean(text: str) -> str:
    # One cell or paragraph must stay on one line: breaks and tabs inside it become spaces, so "\t"
    # only ever separates table cells and "\n" only ever separates lines.
    return " ".join(unicodedata.normalize("NFC", text).replace("\t", " ").split())


MAX_PART_BYTES = 100 * 2**20
"""A Word document's XML is a few MB even for hundreds of pages; 100 MB unpacked is a zip bomb."""
MAX_PACKAGE_BYTES = 300 * 2**20
MAX_RATIO = 200
"""XML compresses ~10:1; a part packed more than 200:1 is padding meant to exhaust memory."""


def check_package(path: Path) -> None:
    """Refuse, before unpacking anything, a zip that is no Word document or that unpacks to far
    more than any report (sizes come from the zip's own directory)."""
    try:
        with zipfile.ZipFile(path) as package:
            members = package.infolist()
            names = {m.filename for m in members}
            if "mimetype" in names and "word/document.xml" not in names:
                kind = package.read("mimetype")[:100].decode("ascii", "replace")
                if "opendocument" in kind:
                    raise UnsupportedFormatError(
                        "this is an OpenDocument file (.odt) named .docx; save it as .docx or PDF from LibreOffice"
                    )
    except zipfile.BadZipFile as e:
        raise CorruptFileError(f"the .docx file is not a valid zip package ({e}); re-save it from Word as .docx") from e
    total = sum(m.file_size for m in members)
    for m in members:
        packed = max(1, m.compress_size)
        if m.file_size > MAX_PART_BYTES or m.file_size / packed > MAX_RATIO and m.file_size > 10 * 2**20:
            raise TooLargeError(
                f"the .docx part {m.filename} unpacks to {m.file_size / 2**20:.0f} MB from "
                f"{packed / 2**20:.1f} MB (a zip bomb); it is refused unread"
            )
    if total > MAX_PACKAGE_BYTES:
        raise TooLargeError(f"the .docx file unpacks to {total / 2**20:.0f} MB, more than any report; refused unread")


def read_docx(input_file: InputFile) -> DocText:
    """One page: each non-empty paragraph is a line; each table row a line of "\\t"-joined cells,
    recorded in `PageText.table_rows`. Merged cells appear once per row."""
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError

    check_package(Path(input_file.path))
    from lxml.etree import XMLSyntaxError

    try:
        document = Document(str(Path(input_file.path)))
    except XMLSyntaxError as e:
        if "Excessive depth" in str(e):
            raise CorruptFileError(
                "the Word document's XML nests deeper than 256 levels (no real document does); it is refused"
            ) from e
        if "amplification" in str(e) or "entit" in str(e).lower():
            raise CorruptFileError(
                "the Word document's XML declares entities that expand without bound (a 'billion laughs' "
                "file); it is refused unread"
            ) from e
        raise CorruptFileError(f"the Word document's XML is damaged ({e}); re-save it from Word as .docx") from e
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise CorruptFileError(
            "the .docx file cannot be opened as a Word document (not a valid DOCX zip package); "
            "re-save it from Word/LibreOffice as .docx or export it to PDF"
        ) from e
    lines: list[str] = []
    table_rows: list[tuple[int, int]] = []
    offset = 0
    for kind, item in _body_items(document.element.body, document):
        if kind == "p":
            line = _clean(item.text)  # type: ignore[attr-defined]
            if not line:
                continue
            lines.append(line)
            offset += len(line) + 1
            continue
        for row in item.rows:  # type: ignore[attr-defined]
            cells = []
            seen: list[object] = []  # holds the elements, so identity checks stay valid
            for cell in row.cells:
                # A merged cell is returned once per grid column it spans; keep it once.
                if any(cell._tc is tc for tc in seen):
                    continue
                seen.append(cell._tc)
                cells.append(_clean(_cell_text(cell._tc)))
            if not any(cells):
                continue
            line = "\t".join(cells)
            lines.append(line)
            table_rows.append((offset, offset + len(line)))
            offset += len(line) + 1
    text = "\n".join(lines)
    # judged, not repaired: the table rows' offsets are already taken on this text
    _, read = text_quality.judge_text(text, "a Word document", repair=False)
    page = PageText(page=1, text=text, method="docx", lines=build_lines(text), table_rows=tuple(table_rows), read=read)
    return DocText(input=input_file, format="docx", pages=(page,), page_count=1)
