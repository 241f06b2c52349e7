"""Stage "ingest" (PDF side): read text layers with pypdfium2 and decide, per page, what to OCR.

pypdfium2 gives characters with boxes ~20x faster than pdfplumber (shared/notes/ocr-and-pdf.md).
Boxes are pdfplumber-style `(x0, top, x1, bottom)` in PDF points with a top-left origin; pdfium's
own coordinates have a bottom-left origin and are converted here.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import regex

from pipeline.config import RunOptions
from pipeline.errors import CorruptFileError, EmptyFileError, EncryptedPdfError, InputFileError
from pipeline.legacy_vn import detect_legacy_text, transcode_legacy_aligned
from pipeline.ocr import ocr_image_page
from pipeline.types import Box, InputFile, PageText, StageError, build_lines

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
    legacy: str | None = None
    """The legacy encoding to transcode from when the page is kept (`TCVN3`/`VNI`)."""


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
        if transcode_legacy_aligned(text, legacy) is None:
            return _Decision(True, f"legacy {legacy} text that cannot be converted exactly")
        return _Decision(False, f"legacy {legacy} text, converted exactly", legacy)
    return _Decision(False, "text layer ok")


def needs_ocr(text: str, mode: str) -> tuple[bool, str]:
    """Whether a page with text layer `text` must be OCR'd under `mode` (auto|always|never), and why.

    In `auto`: an empty or near-empty layer, `(cid:N)` glyph codes, U+FFFD, or legacy TCVN3/VNI
    look-alike text that cannot be converted exactly mean OCR; convertible legacy text is kept (and
    transcoded by `plan_pdf`)."""
    if mode not in ("auto", "always", "never"):
        raise ValueError(f"unknown OCR mode {mode!r}; use auto, always or never")
    decision = _decide(text, mode)
    return decision.ocr, decision.reason


@contextmanager
def open_pdf(input_file: InputFile) -> Iterator[pdfium.PdfDocument]:
    """Open with pdfium, turning its errors into de06 errors that say what to do."""
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
    try:
        chars: list[str] = []
        boxes: list[Box | None] = []
        pending_cr = False
        for i in range(textpage.count_chars()):
            code = pdfium_c.FPDFText_GetUnicode(textpage, i)
            generated = bool(pdfium_c.FPDFText_IsGenerated(textpage, i))
            if pdfium_c.FPDFText_HasUnicodeMapError(textpage, i):
                ch = "\ufffd"
            else:
                ch = chr(code) if 0 < code < 0x110000 else "\ufffd"
            if ch == "\r":  # pdfium ends lines with "\r\n"; keep one "\n"
                pending_cr = True
                continue
            if pending_cr and ch != "\n":
                chars.append("\n")
                boxes.append(None)
            pending_cr = False
            if ch == "\n" or (generated and ch.isspace()):
                chars.append(ch)
                boxes.append(None)
                continue
            x0, y0, x1, y1 = textpage.get_charbox(i, loose=True)  # bottom-left origin
            box = (round(x0 - left, 2), round(top - y1, 2), round(x1 - left, 2), round(top - y0, 2))
            if unicodedata.combining(ch) and chars and boxes[-1] is not None:
                composed = unicodedata.normalize("NFC", chars[-1] + ch)
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
            nfc = unicodedata.normalize("NFC", ch)
            chars.append(nfc if len(nfc) == 1 else ch)  # one char in, one char out: boxes stay aligned
            boxes.append(None if ch.isspace() and (x1 - x0) <= 0 else box)
    finally:
        textpage.close()
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


def _transcoded(page: PageText, encoding: str) -> PageText:
    """The page converted from legacy look-alikes; each new char keeps the union of its source boxes."""
    aligned = transcode_legacy_aligned(page.text, encoding)
    if aligned is None:  # _decide checked this already
        raise AssertionError("legacy text became unconvertible")
    text, spans = aligned
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
        method=f"pdf-text:{encoding.lower()}",
        lines=build_lines(text, box_t),
        boxes=box_t,
        width=page.width,
        height=page.height,
    )


def plan_pdf(input_file: InputFile, options: RunOptions) -> PdfPlan:
    """Read every page's text layer and decide per page whether to keep it or OCR the page.

    Raises `EncryptedPdfError`, `CorruptFileError` or `EmptyFileError` for files that cannot be read
    at all; a page whose text layer fails to load is OCR'd and the failure recorded in `errors`."""
    text_pages: list[PageText] = []
    ocr_pages: list[int] = []
    reasons: list[tuple[int, str]] = []
    errors: list[StageError] = []
    with open_pdf(input_file) as doc:
        count = len(doc)
        for number in range(1, count + 1):
            if options.ocr == "always":
                ocr_pages.append(number)
                reasons.append((number, "ocr=always"))
                continue
            try:
                page = doc[number - 1]
                try:
                    page_text = read_page_text(page, number)
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
            elif decision.legacy is not None:
                text_pages.append(_transcoded(page_text, decision.legacy))
            else:
                text_pages.append(page_text)
    return PdfPlan(count, tuple(text_pages), tuple(ocr_pages), tuple(reasons), tuple(errors))


def ocr_pdf_page(input_file: InputFile, page_number: int, options: RunOptions) -> PageText:
    """Render one page at `options.ocr_dpi` and OCR it; boxes in PDF points (pixels x 72/dpi)."""
    with open_pdf(input_file) as doc:
        if not 1 <= page_number <= len(doc):
            raise InputFileError(f"page {page_number} does not exist (the PDF has {len(doc)} pages)")
        page = doc[page_number - 1]
        try:
            bitmap = page.render(scale=options.ocr_dpi / 72, grayscale=True)
            image = bitmap.to_pil()
        finally:
            page.close()
    return ocr_image_page(image, page_number, options, scale=72 / options.ocr_dpi)
