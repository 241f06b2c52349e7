"""The values that travel through the pipeline: small, frozen, picklable.

Data flows one way: file → `InputFile` → `DocText` (tuple of `PageText`) → records carrying a
`Provenance` → `Finding`s → `DocumentResult` → output tables.

Conventions (pdfplumber's): pages and lines are 1-based; character offsets are 0-based and
half-open (`text[char_start:char_end]`); boxes are `(x0, top, x1, bottom)` with a top-left origin,
in PDF points for PDFs and pixels for images.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Box = tuple[float, float, float, float]
"""`(x0, top, x1, bottom)`, top-left origin: PDF points for PDFs, pixels for images."""

Format = Literal["text", "pdf", "pdf-ocr", "image", "docx"]
Status = Literal["ok", "partial", "failed"]


@dataclass(frozen=True, slots=True)
class InputFile:
    """One input as found on disk; cheap to pickle (a path, never an open handle)."""

    path: str
    """Absolute path used to read the file."""
    source: str
    """The path as given by the user (relative to the working directory when possible)."""
    sha256: str
    size: int
    kind: str
    """Sniffed container: `text`, `pdf`, `image`, `docx`, or `unknown`."""

    @property
    def doc_id(self) -> str:
        """First 12 hex digits of the sha256 of the file's bytes (SPEC)."""
        return self.sha256[:12]


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a page: 1-based `number`, offsets into the page text (end excludes the newline)."""

    number: int
    char_start: int
    char_end: int
    bbox: Box | None = None
    confidence: float | None = None


ReadSource = Literal["text", "text-layer", "repaired", "ocr"]


@dataclass(frozen=True, slots=True)
class PageRead:
    """How one page's text was obtained and why: a row of the `pages` table.

    `source`: `text` (a text or DOCX file), `text-layer` (a PDF's own text), `repaired` (a text
    layer converted exactly: legacy TCVN3/VNI fonts, mojibake) or `ocr`. `quality` is the text's
    Vietnamese quality score (`pipeline.text_quality`), 0..1. For OCR'd pages: the right-angle
    `rotation` and the `skew` (degrees, clockwise positive) undone before reading, the `dpi` read
    at, and the image preparation `steps`."""

    source: ReadSource
    reason: str
    quality: float | None = None
    confidence: float | None = None
    """Mean Tesseract word confidence (0-100) of an OCR'd page."""
    rotation: int = 0
    skew: float = 0.0
    dpi: float | None = None
    steps: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PageInfo:
    """A row of the `pages` table: how each page of each document was read (`PageRead`, flat)."""

    doc_id: str
    source: str
    page: int
    read_source: ReadSource
    reason: str
    method: str
    quality: float | None = None
    ocr_confidence: float | None = None
    rotation: int = 0
    skew: float = 0.0
    dpi: float | None = None
    steps: tuple[str, ...] = ()
    width: float | None = None
    height: float | None = None


@dataclass(frozen=True, slots=True)
class PageText:
    """The text of one page with a map from each character back to where it was read.

    `boxes[i]` is the box of character `i` (None for synthesized whitespace and for text inputs);
    `confidences[i]` the OCR confidence of the word holding it. Lines are derived from the text:
    line `k` (1-based) is `text.split("\\n")[k-1]`, so for text inputs they are the file's lines.
    """

    page: int
    text: str
    method: str
    lines: tuple[Line, ...]
    boxes: tuple[Box | None, ...] | None = None
    confidences: tuple[float | None, ...] | None = None
    width: float | None = None
    height: float | None = None
    table_rows: tuple[tuple[int, int], ...] = ()
    """Offset ranges of lines that a reader knows are table rows (PDF table finder, DOCX tables)."""
    table_cells: tuple[tuple[int, int], ...] = ()
    """Offset ranges of lines that are table cells written one a line between lines holding only
    "|" (text exported from web pages): no prose, and no tab-joined row either."""
    read: PageRead | None = None
    """How the text was obtained (None until the reader says)."""
    line_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "line_starts", tuple(ln.char_start for ln in self.lines))

    def line_at(self, offset: int) -> Line:
        """The line holding character `offset` (an offset at a newline belongs to the line it ends)."""
        index = max(0, bisect.bisect_right(self.line_starts, offset) - 1)
        return self.lines[index]

    def bbox_of(self, start: int, end: int) -> Box | None:
        """Union of the character boxes in `[start, end)`, or None when no character has one."""
        if self.boxes is None:
            return None
        found = [b for b in self.boxes[start:end] if b is not None]
        if not found:
            return None
        return (
            round(min(b[0] for b in found), 2),
            round(min(b[1] for b in found), 2),
            round(max(b[2] for b in found), 2),
            round(max(b[3] for b in found), 2),
        )

    def confidence_of(self, start: int, end: int) -> float | None:
        """Lowest OCR word confidence among the characters in `[start, end)` (None if not OCR'd)."""
        if self.confidences is None:
            return None
        found = [c for c in self.confidences[start:end] if c is not None]
        return round(min(found), 2) if found else None


def mean_confidence(pages: Iterable[PageText]) -> float | None:
    """The OCR confidence of `pages`, averaged over their lines (None when nothing was OCR'd)."""
    found = [ln.confidence for p in pages for ln in p.lines if ln.confidence is not None]
    return round(sum(found) / len(found), 2) if found else None


def build_lines(
    text: str,
    boxes: tuple[Box | None, ...] | None = None,
    confidences: tuple[float | None, ...] | None = None,
) -> tuple[Line, ...]:
    """Split `text` on "\\n" into `Line`s, with each line's box and confidence from its characters."""
    lines: list[Line] = []
    start = 0
    number = 1
    while True:
        end = text.find("\n", start)
        stop = len(text) if end < 0 else end
        bbox = None
        conf = None
        if boxes is not None:
            found = [b for b in boxes[start:stop] if b is not None]
            if found:
                bbox = (
                    round(min(b[0] for b in found), 2),
                    round(min(b[1] for b in found), 2),
                    round(max(b[2] for b in found), 2),
                    round(max(b[3] for b in found), 2),
                )
        if confidences is not None:
            cs = [c for c in confidences[start:stop] if c is not None]
            conf = round(sum(cs) / len(cs), 2) if cs else None
        lines.append(Line(number, start, stop, bbox, conf))
        if end < 0:
            break
        start = end + 1
        number += 1
    return tuple(lines)


@dataclass(frozen=True, slots=True)
class DocText:
    """Every page of one input, in order, plus what went wrong on individual pages."""

    input: InputFile
    format: Format
    pages: tuple[PageText, ...]
    errors: tuple[StageError, ...] = ()
    page_count: int | None = None
    """Pages in the file (may exceed `len(pages)` when some pages failed)."""


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where one value was read. Created once, never edited.

    `page`, `line`, `line_end` are 1-based; `char_start`/`char_end` are 0-based, half-open offsets
    into the page text (for text inputs: the decoded file text), so
    `page_text[char_start:char_end] == text` always holds. `sentence` is
    `page_text[sentence_start:sentence_end]` with each whitespace character made a space, so the
    span sits at `sentence[char_start - sentence_start:char_end - sentence_start]`: consumers mark
    it by offset, never by searching.
    """

    doc_id: str
    source: str
    page: int
    line: int
    line_end: int
    char_start: int
    char_end: int
    bbox: Box | None
    text: str
    sentence: str
    sentence_start: int
    sentence_end: int
    method: str
    confidence: float | None


@dataclass(frozen=True, slots=True)
class StageError:
    """A structured error: which stage, which page (None = whole document), what and why."""

    stage: str
    page: int | None
    category: str
    message: str


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """One row of the `documents` table."""

    doc_id: str
    source: str
    sha256: str
    format: str | None
    pages: int | None
    doc_type: str | None = None
    own_number: str | None = None
    locality: str | None = None
    issue_date: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    signer: str | None = None
    title: str | None = None
    status: Status = "ok"
    error: str | None = None
    ocr_confidence: float | None = None
    duplicate_of: str | None = None
    """The source of an earlier input with the same bytes; its records are listed there only."""


@dataclass(frozen=True, slots=True)
class ReferenceRecord:
    """A mention of a numbered legal/administrative document."""

    prov: Provenance
    type: str
    number: str | None
    doc_key: str
    date: str | None = None
    issuer: str | None = None
    issuer_source: str | None = None
    subject: str | None = None
    id: str = ""


@dataclass(frozen=True, slots=True)
class FigureRecord:
    """A reported quantity in prose."""

    prov: Provenance
    value: float
    kind: str
    numerator: float | None = None
    denominator: float | None = None
    unit: str | None = None
    scale: float | None = None
    """The magnitude word written after the number: 1e3 nghìn, 1e6 triệu, 1e9 tỷ, 1e12 nghìn tỷ."""
    value_abs: float | None = None
    """Counts and money: `value` × `scale` (the value as written when there is no scale word)."""
    role: str | None = None
    """`measured` (a result), `target` (a goal: phấn đấu, chỉ tiêu …) or `threshold` (dưới 50% …)."""
    label: str | None = None
    as_of: str | None = None
    id: str = ""


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    """A row of figures about one essential public service (table, narrative or catalogue)."""

    prov: Provenance
    service_id: int | None
    catalog: str
    service_name: str | None
    name_text: str
    source_kind: str
    total: float | None = None
    online: float | None = None
    online_citizen: float | None = None
    online_business: float | None = None
    rate_reported: float | None = None
    rate_computed: float | None = None
    on_time: float | None = None
    overdue: float | None = None
    rejected: float | None = None
    level: int | None = None
    agency: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    flags: tuple[str, ...] = ()
    match_score: float | None = None
    field_cells: tuple[tuple[str, Provenance], ...] = ()
    """Where each value of a table row was read: field → its own cell's span and box."""
    id: str = ""


@dataclass(frozen=True, slots=True)
class TableRowRecord:
    """One row of any table; `cells` pairs header names with cell texts, in column order."""

    prov: Provenance
    table_id: str
    table_title: str | None
    row_index: int
    is_header: bool
    cells: tuple[tuple[str, str], ...]
    cell_sources: tuple[tuple[str, Provenance], ...] = ()
    """Where each non-empty cell was read: column → the cell's own span and box."""
    continued_from: tuple[Provenance, ...] = ()
    id: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    """An inconsistency an auditor should look at; `record_ids` name the records involved."""

    prov: Provenance
    kind: str
    message: str
    record_ids: tuple[str, ...] = ()
    id: str = ""


@dataclass(frozen=True, slots=True)
class DocumentResult:
    """Everything one input produced; status says whether it is complete."""

    info: DocumentInfo
    references: tuple[ReferenceRecord, ...] = ()
    figures: tuple[FigureRecord, ...] = ()
    services: tuple[ServiceRecord, ...] = ()
    tables: tuple[TableRowRecord, ...] = ()
    findings: tuple[Finding, ...] = ()
    errors: tuple[StageError, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    pages: tuple[PageText, ...] = ()
    """The page texts every record's offsets index into (for the audit report)."""
