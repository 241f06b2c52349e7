"""Stage "ingest" (DOCX side): paragraphs and table rows in body order, as one page of lines."""

from __future__ import annotations

import unicodedata
import zipfile
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import CorruptFileError
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


def _clean(text: str) -> str:
    # One cell or paragraph must stay on one line: breaks and tabs inside it become spaces, so "\t"
    # only ever separates table cells and "\n" only ever separates lines.
    return " ".join(unicodedata.normalize("NFC", text).replace("\t", " ").split())


def read_docx(input_file: InputFile) -> DocText:
    """One page: each non-empty paragraph is a line; each table row a line of "\\t"-joined cells,
    recorded in `PageText.table_rows`. Merged cells appear once per row."""
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = Document(str(Path(input_file.path)))
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
                cells.append(_clean(cell.text))
            if not any(cells):
                continue
            line = "\t".join(cells)
            lines.append(line)
            table_rows.append((offset, offset + len(line)))
            offset += len(line) + 1
    text = "\n".join(lines)
    page = PageText(page=1, text=text, method="docx", lines=build_lines(text), table_rows=tuple(table_rows))
    return DocText(input=input_file, format="docx", pages=(page,), page_count=1)
