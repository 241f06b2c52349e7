"""Stage "ingest" (PDF side): read text layers with pypdfium2 and decide, per page, what to OCR.

pypdfium2 gives characters with boxes ~20x faster than pdfplumber (shared/notes/ocr-and-pdf.md).
Boxes are pdfplumber-style `(x0, top, x1, bottom)` in PDF points with a top-left origin; pdfium's
own coordinates have a bottom-left origin and are converted here.

Ruled tables: pdfium reads a table in visual line order, so wrapped cells interleave. On pages that
draw enough vector paths to hold a grid (`TABLE_MIN_PATHS`), pdfplumber's table finder gives the
cell boxes, and `apply_tables` rebuilds each row as one line of "\t"-joined cells from pdfium's own
chars (boxes kept), recorded in `PageText.table_rows`. Pages without paths never load pdfplumber.
"""

from __future__ import annotations

import ctypes
import statistics
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import regex

from pipeline import text_quality
from pipeline.config import RunOptions
from pipeline.errors import CorruptFileError, EmptyFileError, EncryptedPdfError, InputFileError
from pipeline.ingest import check_page_count
from pipeline.legacy_vn import detect_legacy_text, transcode_legacy_aligned
from pipeline.ocr import ocr_image_page
from pipeline.types import Box, InputFile, PageRead, PageText, ReadSource, StageError, build_lines

if TYPE_CHECKING:
    import pdfplumber

MIN_TEXT_CHARS = 20
"""A page with fewer non-space characters in its text layer is treated as having none (a scan
with a stray page number, a header drawn as text)."""

_CID = regex.compile(r"\(cid:\d+\)")


@dataclass(frozen=True, slots=True)
class PdfPlan:
    """What the text layer gave and which pages still need OCR (1-based), with the reason per page."""

    page_count: int
    text_pages: tuple[PageText, ...]
    ocr_pages: tuple[int, ...]
    reasons: tuple[tuple[int, str], ...]
    errors: tuple[StageError, ...] = ()


@dataclass(frozen=True, slots=True)
class _Decision:
    ocr: bool
    reason: str
    repair: tuple[str, tuple[tuple[int, int], ...], str] | None = None
    """(repaired text, each char's source range, method) when the page is kept after an exact repair."""
    quality: float | None = None


def _decide(text: str, mode: str) -> _Decision:
    if mode == "always":
        return _Decision(True, "ocr=always")
    if mode == "never":
        return _Decision(False, "ocr=never")
    visible = sum(1 for ch in text if not ch.isspace())
    if visible == 0:
        return _Decision(True, "no text layer")
    if visible < MIN_TEXT_CHARS:
        return _Decision(True, f"near-empty text layer ({visible} characters)")
    cids = len(_CID.findall(text))
    if cids:
        return _Decision(True, f"text layer has {cids} unmapped (cid:N) glyph codes")
    bad = text.count("\ufffd")
    if bad:
        return _Decision(True, f"text layer has {bad} U+FFFD replacement characters")
    legacy = detect_legacy_text(text)
    if legacy is not None:
        aligned = transcode_legacy_aligned(text, legacy)
        if aligned is None:
            return _Decision(True, f"legacy {legacy} text that cannot be converted exactly")
        return _judged(f"legacy {legacy} text, converted exactly", (*aligned, f"pdf-text:{legacy.lower()}"))
    judged = text_quality.judge(text)
    if judged.problem is None:
        return _Decision(False, "text layer ok", quality=judged.quality.score)
    if judged.repaired is not None and judged.repaired_quality is not None:
        repair = (*judged.repaired, "pdf-text:utf8-repaired")
        return _Decision(False, f"{judged.problem}, repaired exactly", repair, judged.repaired_quality.score)
    return _Decision(True, f"text layer untrustworthy ({judged.problem})", quality=judged.quality.score)


def _judged(reason: str, repair: tuple[str, tuple[tuple[int, int], ...], str]) -> _Decision:
    """Keep a legacy layer converted exactly only if it then reads as Vietnamese print; else OCR."""
    quality = text_quality.measure(repair[0])
    problem = quality.problem()
    if problem is not None:
        return _Decision(True, f"{reason}, but still untrustworthy ({problem})", quality=quality.score)
    return _Decision(False, reason, repair, quality.score)


def needs_ocr(text: str, mode: str) -> tuple[bool, str]:
    """Whether a page with text layer `text` must be OCR'd under `mode` (auto|always|never), and why.

    In `auto`: an empty or near-empty layer, `(cid:N)` glyph codes, U+FFFD, legacy TCVN3/VNI
    look-alike text or mojibake that cannot be converted exactly, and text that does not read as
    Vietnamese print (`pipeline.text_quality`: lost diacritics, garbage from an earlier OCR) mean
    OCR; exactly convertible text is kept (and converted by `plan_pdf`)."""
    if mode not in ("auto", "always", "never"):
        raise ValueError(f"unknown OCR mode {mode!r}; use auto, always or never")
    decision = _decide(text, mode)
    return decision.ocr, decision.reason


PDFIUM_LOCK = threading.RLock()
"""PDFium is not thread-safe: two worker threads inside it at once crash the process (a segfault
in libpdfium.so, seen with `--workers 2` on scanned PDFs). Every use of pdfium holds this lock;
tesseract runs outside it."""


@contextmanager
def open_pdf(input_file: InputFile) -> Iterator[pdfium.PdfDocument]:
    """Open with pdfium (holding `PDFIUM_LOCK` until closed), turning its errors into de06 errors."""
    with PDFIUM_LOCK:
        yield from _open_pdf(input_file)


def _open_pdf(input_file: InputFile) -> Iterator[pdfium.PdfDocument]:
    try:
        doc = pdfium.PdfDocument(input_file.path)
    except pdfium.PdfiumError as e:
        if getattr(e, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise EncryptedPdfError(
                "the PDF is password-protected; ask the sender for an unprotected copy"
            ) from e
        if _has_zero_pages(input_file.path):
            raise EmptyFileError("the PDF has no pages; re-export it from the original document") from e
        raise CorruptFileError(
            f"the PDF cannot be read ({e}); it is damaged or truncated, download or export it again"
        ) from e
    try:
        if len(doc) == 0:
            raise EmptyFileError("the PDF has no pages; re-export it from the original document")
        yield doc
    finally:
        doc.close()


def _has_zero_pages(path: str) -> bool:
    """pdfium refuses to open a PDF whose page tree is empty; ask pdfminer whether that is the case."""
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    try:
        with Path(path).open("rb") as fh:
            document = PDFDocument(PDFParser(fh))
            return next(iter(PDFPage.create_pages(document)), None) is None
    except Exception:  # noqa: BLE001 - any parse failure means "not a readable empty PDF"
        return False


def read_page_text(page: pdfium.PdfPage, page_number: int) -> PageText:
    """The text layer of one page: chars in pdfium's order, one box per char (None for generated
    spaces/newlines), decomposed accents merged into their letter so text is NFC and boxes stay aligned."""
    left, bottom, right, top = page.get_bbox()
    width, height = right - left, top - bottom
    textpage = page.get_textpage()
    # ~13,000 ctypes calls a page: bound once, on the raw handle, with one reused box struct
    # (pypdfium2's `get_charbox` allocates one and converts the handle every call).
    raw = textpage.raw
    get_unicode, is_generated = pdfium_c.FPDFText_GetUnicode, pdfium_c.FPDFText_IsGenerated
    map_error, font_size = pdfium_c.FPDFText_HasUnicodeMapError, pdfium_c.FPDFText_GetFontSize
    loose_box = pdfium_c.FPDFText_GetLooseCharBox
    rect = pdfium_c.FS_RECTF()
    rect_ref = ctypes.byref(rect)
    normalize, combining = unicodedata.normalize, unicodedata.combining
    try:
        chars: list[str] = []
        boxes: list[Box | None] = []
        sizes: list[float | None] = []
        pending_cr = False
        for i in range(textpage.count_chars()):
            code = get_unicode(raw, i)
            generated = bool(is_generated(raw, i))
            if map_error(raw, i):
                ch = "\ufffd"
            elif code == 2:  # pdfium's mark for a hyphen ending a line (it joins the two lines)
                ch = "-"
            else:
                ch = chr(code) if 0 < code < 0x110000 else "\ufffd"
            if ch == "\r":  # pdfium ends lines with "\r\n"; keep one "\n"
                pending_cr = True
                continue
            if pending_cr and ch != "\n":
                chars.append("\n")
                boxes.append(None)
                sizes.append(None)
            pending_cr = False
            if ch == "\n" or (generated and ch.isspace()):
                chars.append(ch)
                boxes.append(None)
                sizes.append(None)
                continue
            if not loose_box(raw, i, rect_ref):
                raise pdfium.PdfiumError("Failed to get charbox.")
            x0, y0, x1, y1 = rect.left, rect.bottom, rect.right, rect.top  # bottom-left origin
            box = (round(x0 - left, 2), round(top - y1, 2), round(x1 - left, 2), round(top - y0, 2))
            if ch >= "\u0300" and combining(ch) and chars and boxes[-1] is not None:
                composed = normalize("NFC", chars[-1] + ch)
                if len(composed) == 1:
                    prev = boxes[-1]
                    chars[-1] = composed
                    boxes[-1] = (
                        min(prev[0], box[0]),
                        min(prev[1], box[1]),
                        max(prev[2], box[2]),
                        max(prev[3], box[3]),
                    )
                    continue
            nfc = ch if ch < "\u00c0" else normalize("NFC", ch)  # below U+00C0 every char is NFC
            chars.append(nfc if len(nfc) == 1 else ch)  # one char in, one char out: boxes stay aligned
            boxes.append(None if ch.isspace() and (x1 - x0) <= 0 else box)
            sizes.append(font_size(raw, i) or None)
    finally:
        textpage.close()
    chars, boxes = mark_superscripts(chars, boxes, sizes)
    text = "".join(chars)
    box_t = tuple(boxes)
    return PageText(
        page=page_number,
        text=text,
        method="pdf-text",
        lines=build_lines(text, box_t),
        boxes=box_t,
        width=round(width, 2),
        height=round(height, 2),
    )


SUP_SIZE_RATIO = 0.8  # a footnote mark is set at most this size of the text beside it
SUP_RAISE_RATIO = 0.15  # and its bottom sits above the line's baseline by this share of the size


def mark_superscripts(
    chars: list[str], boxes: list[Box | None], sizes: list[float | None]
) -> tuple[list[str], list[Box | None]]:
    """Wrap raised footnote marks in synthesized `<sup>…</sup>` (no boxes), as text exports write
    them, so "21¹ văn bản" is not read as 211. A mark that pdfium put on a line of its own (the mark
    that opens a footnote) is joined to the line that follows it."""
    lines: list[tuple[int, int]] = []
    start = 0
    for k, ch in enumerate(chars):
        if ch == "\n":
            lines.append((start, k))
            start = k + 1
    lines.append((start, len(chars)))

    def line_stats(idx: list[int]) -> tuple[float, float] | None:
        sized = [k for k in idx if sizes[k] and boxes[k] is not None]
        if not sized:
            return None
        return statistics.median(sizes[k] or 0.0 for k in sized), statistics.median(
            (boxes[k] or (0, 0, 0, 0))[3] for k in sized
        )

    sup = [False] * len(chars)
    join_next: set[int] = set()  # indexes of "\n" to drop after a mark-only line
    for li, (s, e) in enumerate(lines):
        idx = [k for k in range(s, e) if not chars[k].isspace()]
        digits = [k for k in idx if chars[k].isdigit()]
        if idx and len(idx) <= 3 and len(digits) == len(idx) and li + 1 < len(lines):
            nxt = line_stats([k for k in range(*lines[li + 1]) if not chars[k].isspace()])
            size = statistics.median(sizes[k] or 0.0 for k in idx)
            if nxt and size and size < SUP_SIZE_RATIO * nxt[0]:
                for k in idx:
                    sup[k] = True
                join_next.add(e)
            continue
        others = [k for k in idx if not chars[k].isdigit()]
        stats = line_stats(others)
        if stats is None:
            continue
        med_size, baseline = stats
        for k in digits:
            box = boxes[k]
            if sizes[k] and box is not None and sizes[k] < SUP_SIZE_RATIO * med_size:
                if box[3] < baseline - SUP_RAISE_RATIO * med_size:
                    sup[k] = True
    if not any(sup):
        return chars, boxes
    out_c: list[str] = []
    out_b: list[Box | None] = []
    for k, ch in enumerate(chars):
        if k in join_next:
            continue
        if sup[k] and (k == 0 or not sup[k - 1]):
            out_c.extend("<sup>")
            out_b.extend([None] * 5)
        out_c.append(ch)
        out_b.append(boxes[k])
        if sup[k] and (k + 1 == len(chars) or not sup[k + 1]):
            out_c.extend("</sup>")
            out_b.extend([None] * 6)
    return out_c, out_b


def _repaired(page: PageText, repair: tuple[str, tuple[tuple[int, int], ...], str]) -> PageText:
    """The page as repaired text; each new char keeps the union of its source chars' boxes."""
    text, spans, method = repair
    boxes: list[Box | None] = []
    for start, end in spans:
        src = [b for b in (page.boxes or ())[start:end] if b is not None]
        boxes.append(
            (min(b[0] for b in src), min(b[1] for b in src), max(b[2] for b in src), max(b[3] for b in src))
            if src
            else None
        )
    box_t = tuple(boxes)
    return PageText(
        page=page.page,
        text=text,
        method=method,
        lines=build_lines(text, box_t),
        boxes=box_t,
        width=page.width,
        height=page.height,
    )


TABLE_MIN_PATHS = 4
"""A page drawing fewer vector paths cannot rule a table of 2x2 cells, so it is not searched."""
TABLE_SETTINGS: dict[str, Any] = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}
"""pdfplumber table-finder settings: ruled tables only (text-aligned guessing misreads prose)."""
_EDGE = 0.5  # points of slack when placing a char centre in a cell

TableCells = tuple[tuple[Box | None, ...], ...]
"""One table: its rows top to bottom, each the boxes of its cells left to right (None where a
merged cell covers the position: the merged cell's text goes to its first row and column)."""


def may_have_tables(page: pdfium.PdfPage) -> bool:
    """Whether the page draws at least `TABLE_MIN_PATHS` vector paths (cheap: stops counting there)."""
    count = 0
    for _ in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_PATH,)):
        count += 1
        if count >= TABLE_MIN_PATHS:
            return True
    return False


def find_table_cells(page: pdfplumber.page.Page) -> tuple[TableCells, ...]:
    """Cell boxes of the ruled tables pdfplumber finds on `page`, top to bottom, in the page's
    top-left coordinates. A "table" of one row or one column (a frame, a boxed note) is skipped."""
    dx, dy = float(page.bbox[0]), float(page.bbox[1])
    found: list[TableCells] = []
    for table in page.find_tables(TABLE_SETTINGS):
        rows = tuple(
            tuple(
                None if c is None else (float(c[0]) - dx, float(c[1]) - dy, float(c[2]) - dx, float(c[3]) - dy)
                for c in row.cells
            )
            for row in table.rows
        )
        if len(rows) >= 2 and max(sum(1 for c in r if c is not None) for r in rows) >= 2:
            found.append(rows)
    return tuple(sorted(found, key=lambda t: min(c[1] for r in t for c in r if c is not None)))


def _bounds(boxes: Sequence[Box | None]) -> Box:
    real = [b for b in boxes if b is not None]
    return (min(b[0] for b in real), min(b[1] for b in real), max(b[2] for b in real), max(b[3] for b in real))


def _inside(box: Box, x: float, y: float) -> bool:
    return box[0] - _EDGE <= x <= box[2] + _EDGE and box[1] - _EDGE <= y <= box[3] + _EDGE


def _locate(index: list[tuple[Box, list[tuple[Box, int, list[tuple[Box, int]]]]]], x: float, y: float) -> tuple[int, int, int] | None:
    for t, (tbox, rows) in enumerate(index):
        if not _inside(tbox, x, y):
            continue
        for rbox, r, cells in rows:
            if not _inside(rbox, x, y):
                continue
            for cbox, c in cells:
                if _inside(cbox, x, y):
                    return t, r, c
    return None


def _cell_text(text: str, boxes: Sequence[Box | None], indexes: list[int]) -> tuple[list[str], list[Box | None]]:
    """A cell's chars in pdfium order; a wrap inside the cell (a new visual line, or whitespace of
    another cell or of pdfium's in between) becomes one synthesized space. Ends are trimmed."""
    chars: list[str] = []
    cboxes: list[Box | None] = []
    prev: int | None = None
    for i in indexes:
        ch, box = text[i], boxes[i]
        if ch.isspace():
            ch = " "  # a tab or newline drawn inside a cell must not split the row
        if prev is not None and chars and chars[-1] != " " and ch != " ":
            pbox = boxes[prev]
            wrapped = box is not None and pbox is not None and box[1] >= (pbox[1] + pbox[3]) / 2
            gap = i != prev + 1 and any(text[k].isspace() for k in range(prev + 1, i))
            if wrapped or gap:
                chars.append(" ")
                cboxes.append(None)
        if not (ch == " " and (not chars or chars[-1] == " ")):
            chars.append(ch)
            cboxes.append(box)
        prev = i
    while chars and chars[-1] == " ":
        chars.pop()
        cboxes.pop()
    return chars, cboxes


def apply_tables(page: PageText, tables: Sequence[TableCells]) -> PageText:
    """The page with each table row as one line of "\t"-joined cells, where the table sits.

    Every char whose box centre lies in a cell moves to that cell (boxes kept); the synthesized
    "\t" and wrap spaces have no box. Lines left with no visible char are dropped; the rest of the
    page keeps pdfium's order, and a table goes before the first remaining line that starts below
    its top. Rows whose cells are all empty are skipped. `table_rows` holds each row line's range."""
    if not tables or page.boxes is None:
        return page
    text, boxes = page.text, page.boxes
    index = []
    for table in tables:
        rows = []
        for r, row in enumerate(table):
            cells = [(c, k) for k, c in enumerate(row) if c is not None]
            if cells:
                rows.append((_bounds([c for c, _ in cells]), r, cells))
        index.append((_bounds([c for row in table for c in row]), rows))
    members: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    taken = [False] * len(text)
    for i, box in enumerate(boxes):
        if box is None:
            continue
        where = _locate(index, (box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        if where is not None:
            members[where].append(i)
            taken[i] = True
    # The rest of the page, line by line, with the top of each line (for placing the tables).
    prose: list[tuple[float | None, list[int]]] = []
    start = 0
    for end in [*(k for k, ch in enumerate(text) if ch == "\n"), len(text)]:
        kept = [i for i in range(start, end) if not taken[i]]
        if len(kept) == end - start or any(not text[i].isspace() for i in kept):
            tops = [boxes[i][1] for i in kept if boxes[i] is not None]  # type: ignore[index]
            if len(kept) < end - start:  # part of the line went into a table: trim what is left
                while kept and text[kept[0]].isspace():
                    kept.pop(0)
                while kept and text[kept[-1]].isspace():
                    kept.pop()
            prose.append((min(tops) if tops else None, kept))
        start = end + 1
    lines: list[tuple[list[str], list[Box | None], bool]] = []  # chars, boxes, is a table row

    def emit_table(t: int) -> None:
        for r, row in enumerate(tables[t]):
            chars: list[str] = []
            cboxes: list[Box | None] = []
            cells = [_cell_text(text, boxes, members.get((t, r, c), [])) for c in range(len(row))]
            if not any(cell for cell, _ in cells):
                continue
            for c, (cell, cell_boxes) in enumerate(cells):
                if c:
                    chars.append("\t")
                    cboxes.append(None)
                chars.extend(cell)
                cboxes.extend(cell_boxes)
            lines.append((chars, cboxes, True))

    tops = [min(c[1] for row in table for c in row if c is not None) for table in tables]
    pending = list(range(len(tables)))
    for top, kept in prose:
        while pending and top is not None and top > tops[pending[0]]:
            emit_table(pending.pop(0))
        lines.append(([text[i] for i in kept], [boxes[i] for i in kept], False))
    for t in pending:
        emit_table(t)
    out: list[str] = []
    out_boxes: list[Box | None] = []
    row_ranges: list[tuple[int, int]] = []
    for n, (chars, cboxes, is_row) in enumerate(lines):
        if n:
            out.append("\n")
            out_boxes.append(None)
        if is_row:
            row_ranges.append((len(out), len(out) + len(chars)))
        out.extend(chars)
        out_boxes.extend(cboxes)
    new_text = "".join(out)
    box_t = tuple(out_boxes)
    return PageText(
        page=page.page,
        text=new_text,
        method=page.method,
        lines=build_lines(new_text, box_t),
        boxes=box_t,
        width=page.width,
        height=page.height,
        table_rows=tuple(row_ranges),
    )


def plan_pdf(
    input_file: InputFile, options: RunOptions, on_page: Callable[[int, int | None], None] | None = None
) -> PdfPlan:
    """Read every page's text layer and decide per page whether to keep it or OCR the page.

    Kept pages that draw enough paths to hold a ruled table go through pdfplumber's table finder
    (`apply_tables`); if that fails the page is kept as pdfium read it and the failure recorded.
    Raises `EncryptedPdfError`, `CorruptFileError` or `EmptyFileError` for files that cannot be read
    at all; a page whose text layer fails to load is OCR'd and the failure recorded in `errors`."""
    text_pages: list[PageText] = []
    ocr_pages: list[int] = []
    reasons: list[tuple[int, str]] = []
    errors: list[StageError] = []
    tables = _TableReader(input_file.path)
    with open_pdf(input_file) as doc:
        try:
            count = len(doc)
            check_page_count(count, options.max_pages, "PDF")
            for number in range(1, count + 1):
                if on_page is not None:
                    on_page(number, count)
                if options.ocr == "always":
                    ocr_pages.append(number)
                    reasons.append((number, "ocr=always"))
                    continue
                try:
                    page = doc[number - 1]
                    try:
                        page_text = read_page_text(page, number)
                        ruled = may_have_tables(page)
                    finally:
                        page.close()
                except (pdfium.PdfiumError, OSError, ValueError) as e:
                    errors.append(
                        StageError(
                            "ingest", number, "corrupt", f"the text layer of page {number} cannot be read: {e}"
                        )
                    )
                    if options.ocr != "never":
                        ocr_pages.append(number)
                    reasons.append((number, "text layer unreadable"))
                    continue
                decision = _decide(page_text.text, options.ocr)
                reasons.append((number, decision.reason))
                if decision.ocr:
                    ocr_pages.append(number)
                    continue
                source: ReadSource = "text-layer"
                if decision.repair is not None:
                    page_text = _repaired(page_text, decision.repair)
                    source = "repaired"
                if ruled:
                    page_text, error = tables.apply(page_text)
                    if error is not None:
                        errors.append(error)
                text_pages.append(replace(page_text, read=PageRead(source, decision.reason, decision.quality)))
        finally:
            tables.close()
    return PdfPlan(count, tuple(text_pages), tuple(ocr_pages), tuple(reasons), tuple(errors))


class _TableReader:
    """pdfplumber, opened on the first page that may hold a table and closed with the plan."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pdf: pdfplumber.PDF | None = None

    def apply(self, page: PageText) -> tuple[PageText, StageError | None]:
        import pdfplumber

        try:
            if self.pdf is None:
                self.pdf = pdfplumber.open(self.path)
            plumber_page = self.pdf.pages[page.page - 1]
            try:
                cells = find_table_cells(plumber_page)
            finally:
                plumber_page.close()  # drop its parsed objects: pages are read once
            return apply_tables(page, cells), None
        except Exception as e:  # noqa: BLE001 - pdfminer raises many kinds; the plain page is still good
            message = f"tables on page {page.page} could not be read ({type(e).__name__}: {e}); kept as plain text"
            return page, StageError("ingest", page.page, "tables", message)

    def close(self) -> None:
        if self.pdf is not None:
            self.pdf.close()


def ocr_pdf_page(input_file: InputFile, page_number: int, options: RunOptions) -> PageText:
    """Render one page at `options.ocr_dpi` and OCR it; boxes in PDF points (pixels x 72/dpi)."""
    with open_pdf(input_file) as doc:
        if not 1 <= page_number <= len(doc):
            raise InputFileError(f"page {page_number} does not exist (the PDF has {len(doc)} pages)")
        try:
            page = doc[page_number - 1]
        except pdfium.PdfiumError as e:
            raise CorruptFileError(f"page {page_number} cannot be loaded ({e}); the PDF's page tree is damaged") from e
        try:
            dpi = render_dpi(page.get_width(), page.get_height(), options.ocr_dpi)
            # In colour: red seals and blue signatures are taken out by hue (`pipeline.image_prep`)
            bitmap = page.render(scale=dpi / 72)
            image = bitmap.to_pil().copy()  # own memory: the bitmap dies with the document
        finally:
            page.close()
    return ocr_image_page(image, page_number, options, scale=72 / dpi, dpi=round(dpi, 1))


MAX_RENDER_PIXELS = 60_000_000
"""An A0 sheet at 300 dpi is ~140 Mpx; a page box of 200 inches would be gigapixels. Pages larger
than this are rendered at a lower resolution instead of exhausting memory."""


def render_dpi(width_pt: float, height_pt: float, dpi: int) -> float:
    """`dpi`, lowered so the rendered page stays within `MAX_RENDER_PIXELS`."""
    pixels = (width_pt / 72 * dpi) * (height_pt / 72 * dpi)
    if pixels <= MAX_RENDER_PIXELS or pixels <= 0:
        return dpi
    return max(1.0, dpi * (MAX_RENDER_PIXELS / pixels) ** 0.5)
