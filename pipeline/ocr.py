"""Stage "ingest" (OCR side): page images → `PageText` via Tesseract.

`run_tesseract` is the only place that starts Tesseract, so tests inject failures (or recorded
output) by monkeypatching it. Boxes are word boxes, one per character of the word, in the units the
caller asks for through `scale` (pixels for image files, PDF points for rendered PDF pages).
"""

from __future__ import annotations

import csv
import io
import os
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import pytesseract
import regex
from PIL import Image, ImageOps, UnidentifiedImageError

from pipeline import image_prep, ocr_tables, text_quality
from pipeline.config import OCR_TIMEOUT_SECONDS, RunOptions
from pipeline.errors import CorruptFileError, OcrError, TooLargeError
from pipeline.types import Box, InputFile, PageRead, PageText, build_lines, mean_confidence


@cache
def tesseract_version() -> str:
    """Tesseract's version ("5.3.0"), asked once per process; part of every OCR method string."""
    try:
        return str(pytesseract.get_tesseract_version()).split()[0]
    except (pytesseract.TesseractNotFoundError, OSError) as e:
        raise OcrError(
            "tesseract is not installed or not on PATH; install it (Debian: apt-get install "
            "tesseract-ocr tesseract-ocr-vie) or run with --ocr never"
        ) from e


def ocr_method(lang: str) -> str:
    """The `method` recorded for OCR'd text, e.g. `ocr:tesseract-5.3.0-vie`."""
    return f"ocr:tesseract-{tesseract_version()}-{lang}"


def run_tesseract(image: Image.Image, lang: str, psm: int) -> str:
    """Tesseract's TSV (`image_to_data`) for one page image. The single call site of Tesseract."""
    # Debian's build spawns OpenMP threads that make it 2.5-3.5x slower on two cores; pages are
    # parallelized across processes instead (shared/notes/ocr-and-pdf.md).
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    # Handed over as uncompressed PNM: pytesseract's zlib PNG cost 0.7-1 CPU s a 300-dpi page, and
    # Tesseract returns the same TSV (shared/notes/perf-profile.md §4; BMP would change the OCR).
    if image.mode not in ("1", "L", "RGB", "RGBA", "LA"):
        image = image.convert("RGB")
    image.format = "PPM"
    try:
        return str(
            pytesseract.image_to_data(
                image, lang=lang, config=f"--psm {psm}", timeout=OCR_TIMEOUT_SECONDS, output_type="string"
            )
        )
    except pytesseract.TesseractNotFoundError as e:
        raise OcrError(
            "tesseract is not installed or not on PATH; install tesseract-ocr and tesseract-ocr-vie"
        ) from e
    except pytesseract.TesseractError as e:
        message = str(e.message or e)
        if "Failed loading language" in message or "Error opening data file" in message:
            raise OcrError(
                f"the tesseract language data '{lang}' is missing; install tesseract-ocr-{lang} "
                "(Debian package) or set ocr_lang to an installed language"
            ) from e
        raise OcrError(f"tesseract failed: {message.strip()[:300]}") from e
    except RuntimeError as e:  # pytesseract's timeout (TesseractError, a subclass, is caught above)
        raise OcrError(
            f"tesseract took longer than {OCR_TIMEOUT_SECONDS} s on one page; check the image size/DPI"
        ) from e


def parse_tsv(tsv: str) -> list[tuple[tuple[int, int, int, int], str, Box, float]]:
    """Words of a Tesseract TSV in reading order: (line key, text, pixel box, confidence)."""
    words = []
    reader = csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in reader:
        if row.get("level") != "5":
            continue
        text = (row.get("text") or "").strip()
        if not text:
            continue
        left, top = float(row["left"]), float(row["top"])
        box = (left, top, left + float(row["width"]), top + float(row["height"]))
        key = (int(row["page_num"]), int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
        words.append((key, text, box, float(row["conf"])))
    return words


def page_from_tsv(
    tsv: str,
    page_number: int,
    method: str,
    scale: float,
    size: tuple[int, int],
    grid_tables: list[ocr_tables.GridTable] | tuple[()] = (),
) -> PageText:
    """Build a `PageText` from TSV: words joined by one space, Tesseract lines by "\\n", then table
    rows rebuilt from the word boxes (`rebuild_table_rows`) and the ruled tables read cell by cell
    (`grid_tables`, pixel boxes) put in where they sit; words of `tsv` inside them are dropped."""
    chars: list[str] = []
    boxes: list[Box | None] = []
    confs: list[float | None] = []
    last_key = None
    regions = [t.box for t in grid_tables]
    for key, text, box, conf in parse_tsv(tsv):
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        if any(x0 <= cx <= x1 and y0 <= cy <= y1 for x0, y0, x1, y1 in regions):
            continue  # read again, cell by cell, in `grid_tables`
        # NFC per word (Tesseract output is already NFC in practice); the box repeats per char.
        word = unicodedata.normalize("NFC", text)
        if last_key is not None:
            chars.append("\n" if key != last_key else " ")
            boxes.append(None)
            confs.append(None)
        last_key = key
        for ch in word:
            chars.append(ch)
            boxes.append(_scaled(box, scale))
            confs.append(conf)
    text = "".join(chars)
    box_t = tuple(boxes)
    conf_t = tuple(confs)
    page = PageText(
        page=page_number,
        text=text,
        method=method,
        lines=build_lines(text, box_t, conf_t),
        boxes=box_t,
        confidences=conf_t,
        width=round(size[0] * scale, 2),
        height=round(size[1] * scale, 2),
    )
    page = rebuild_table_rows(page)
    return _insert_grid_tables(page, list(grid_tables), scale) if grid_tables else page


def _scaled(box: Box, scale: float) -> Box:
    return (round(box[0] * scale, 2), round(box[1] * scale, 2), round(box[2] * scale, 2), round(box[3] * scale, 2))


def run_osd(image: Image.Image) -> tuple[int, float] | None:
    """Tesseract's orientation detection (`-l osd --psm 0`, Debian `tesseract-ocr-osd`): the
    clockwise turn that puts the page upright and its confidence; None when it cannot tell (too
    little text) or the osd model is missing. `-l vie --psm 0` answers 270° for every page: never
    use it (shared/notes/ocr-and-pdf.md)."""
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        found = pytesseract.image_to_osd(
            image, lang="osd", config="--psm 0", timeout=OCR_TIMEOUT_SECONDS, output_type=pytesseract.Output.DICT
        )
    except (pytesseract.TesseractError, RuntimeError, OSError):
        return None
    return int(found["rotate"]) % 360, float(found["orientation_conf"])


OSD_MIN_CONFIDENCE = 2.0
"""Tesseract's own advice for trusting an orientation; turned pages measured 12-20, upright ~0."""


def ocr_image_page(
    image: Image.Image, page_number: int, options: RunOptions, scale: float = 1.0, dpi: float | None = None
) -> PageText:
    """OCR one page image; boxes are pixel boxes of `image` times `scale` (72/dpi gives PDF points).

    The page is prepared first (`pipeline.image_prep`: coloured ink, uneven light, skew). A page
    that reads as no Vietnamese (`pipeline.text_quality`) may be turned: Tesseract's OSD is asked,
    and the turned reading kept when it reads better. Boxes are mapped back to `image`."""
    prepared = image_prep.prepare(_ocr_ready(image))
    page = _read_prepared(prepared, page_number, options)
    quality = text_quality.measure(page.text)
    sideways = _sideways(page)
    if quality.problem() is not None or sideways:
        orientation = run_osd(prepared.image)
        if orientation is not None and orientation[0] and orientation[1] >= OSD_MIN_CONFIDENCE:
            turned = image_prep.turned(prepared, orientation[0])
            candidate = _read_prepared(turned, page_number, options)
            candidate_quality = text_quality.measure(candidate.text)
            # a sideways page may read as well turned or not; upright, its tables read too
            if candidate_quality.score > quality.score - (0.02 if sideways else 0.0):
                prepared, page, quality = turned, candidate, candidate_quality
    read = PageRead(
        "ocr",
        "",
        quality.score if quality.judged else None,
        mean_confidence([page]),
        prepared.rotation,
        prepared.skew,
        dpi,
        prepared.steps,
    )
    return _on_page_image(page, prepared, scale, read)


_LONG_WORD = regex.compile(r"\w{4,}")


def _sideways(page: PageText) -> bool:
    """Whether most long words stand upright in their boxes (taller than wide): the page is turned
    a quarter. Tesseract still reads such prose, but not a ruled table's cells, so OSD is asked."""
    if page.boxes is None:
        return False
    tall = total = 0
    for match in _LONG_WORD.finditer(page.text):
        box = page.boxes[match.start()]
        if box is None:
            continue
        total += 1
        tall += (box[3] - box[1]) > 1.5 * (box[2] - box[0])
    return total >= 10 and tall > 0.5 * total


def _read_prepared(prepared: image_prep.Prepared, page_number: int, options: RunOptions) -> PageText:
    """OCR a prepared image; boxes in its pixels.

    A page with ruled tables costs one more Tesseract call: the page without its tables (psm as
    configured) for the prose, and every table row strip stacked into one image (psm 6) for the
    cells (`pipeline.ocr_tables`)."""
    method = ocr_method(options.ocr_lang)
    cleaned, grids = _split_grid(prepared.image)
    tables: list[ocr_tables.GridTable] = []
    composed = ocr_tables.compose(cleaned, grids) if grids else None
    if composed is not None:
        strip_image, strips = composed
        words = []
        for piece, top in ocr_tables.chunks(strip_image, strips):
            for key, text, (x0, y0, x1, y1), conf in parse_tsv(run_tesseract(piece, options.ocr_lang, ocr_tables.TABLE_PSM)):
                words.append((key, text, (x0, y0 + top, x1, y1 + top), conf))
        tables = ocr_tables.grid_rows(words, grids, strips)
        cleaned = _blank(cleaned, [t.box for t in tables])
    tsv = run_tesseract(cleaned, options.ocr_lang, options.ocr_psm)
    return page_from_tsv(tsv, page_number, method, 1.0, prepared.image.size, tables)


def _on_page_image(page: PageText, prepared: image_prep.Prepared, scale: float, read: PageRead) -> PageText:
    """`page` (boxes in prepared pixels) with its boxes on the original image, times `scale`."""
    identity = prepared.identity
    placed: dict[Box, Box] = {}  # every character of a word carries the word's box: map it once

    def place(box: Box | None) -> Box | None:
        if box is None:
            return None
        if box not in placed:
            placed[box] = _scaled(box if identity else prepared.to_original(box), scale)
        return placed[box]

    boxes = tuple(place(b) for b in page.boxes) if page.boxes is not None else None
    width, height = prepared.original_size
    return replace(
        page,
        boxes=boxes,
        lines=build_lines(page.text, boxes, page.confidences),
        width=round(width * scale, 2),
        height=round(height * scale, 2),
        read=read,
    )


GRID_MIN_VERTICAL = ocr_tables.GRID_MIN_VERTICAL


def _without_grid(image: Image.Image) -> Image.Image:
    """The page with a ruled table's grid lines painted white. Tesseract (psm 3) reads cell text
    that touches a rule as garbage ("|auMoanMB", whole rows lost); without the rules the cells are
    plain text blocks that `rebuild_table_rows` puts back into rows by their word boxes."""
    return _split_grid(image)[0]


def _split_grid(image: Image.Image) -> tuple[Image.Image, list[ocr_tables.Grid]]:
    """(the page with every ruling line painted white, the ruled tables found). Prose pages (fewer
    than `GRID_MIN_VERTICAL` vertical rules) come back as the very same image and no grids."""
    import numpy as np  # a dependency of pandas/spacy; only needed here

    gray = np.asarray(image.convert("L"))
    masks = ocr_tables.rule_masks(gray)
    if masks is None:
        return image, []
    vertical, horizontal, length = masks
    grids = ocr_tables.find_grids(vertical, horizontal, length)
    grid = vertical | horizontal
    # anti-aliased rule edges are lighter than the threshold: widen the mask by one pixel
    grid[1:, :] |= grid[:-1, :].copy()
    grid[:-1, :] |= grid[1:, :].copy()
    grid[:, 1:] |= grid[:, :-1].copy()
    grid[:, :-1] |= grid[:, 1:].copy()
    cleaned = gray.copy()
    cleaned[grid] = 255
    out = Image.fromarray(cleaned, mode="L") if image.mode == "L" else Image.fromarray(cleaned).convert(image.mode)
    return out, grids


def _blank(image: Image.Image, boxes: list[Box]) -> Image.Image:
    """`image` with the given pixel boxes painted white (tables read cell by cell elsewhere)."""
    from PIL import ImageDraw

    out = image.copy()
    draw = ImageDraw.Draw(out)
    fill = 255 if out.mode in ("L", "1") else (255, 255, 255)
    for x0, y0, x1, y1 in boxes:
        draw.rectangle((x0, y0, x1, y1), fill=fill)
    return out


def _ocr_ready(image: Image.Image) -> Image.Image:
    """A mode Tesseract reads reliably: 8-bit gray or RGB (no alpha, palette or 16-bit samples)."""
    if image.mode in ("L", "RGB", "1"):
        return image
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        # Flatten onto white: transparent pixels are black in RGB and would hide the text.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit gray: scale to 8 bits by the actual range.
        lo, hi = image.getextrema()  # type: ignore[misc]
        span = max(1, hi - lo)
        return image.point(lambda v: (v - lo) * 255 / span).convert("L")
    return image.convert("RGB")


def _open_image(input_file: InputFile) -> Image.Image:
    try:
        try:
            image = Image.open(Path(input_file.path))
            image.load()
        except ValueError as e:
            if "MAX_TEXT_CHUNK" not in str(e):
                raise
            image = _open_without_metadata(Path(input_file.path))
    except Image.DecompressionBombError as e:
        raise TooLargeError(
            f"the picture is too large to read safely ({e}); a real page scan is under 100 megapixels"
        ) from e
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise CorruptFileError(
            f"the image cannot be decoded ({type(e).__name__}: {e}); the file is damaged or not an "
            "image, re-export or re-scan it"
        ) from e
    return image


def _open_without_metadata(path: Path) -> Image.Image:
    """A PNG whose text or colour-profile chunk inflates past Pillow's limit: the picture itself is
    fine, so it is read without that chunk (Pillow skips it only in its lenient mode)."""
    from PIL import ImageFile

    lenient = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        image = Image.open(path)
        image.load()
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient
    return image


def image_page_count(input_file: InputFile) -> int:
    """Frames in an image file (a multi-page TIFF has several; PNG/JPEG one)."""
    image = _open_image(input_file)
    return int(getattr(image, "n_frames", 1))


def _frame(image: Image.Image, page_number: int) -> Image.Image:
    if page_number > 1 or getattr(image, "n_frames", 1) > 1:
        image.seek(page_number - 1)
    # Respect EXIF orientation (phones and some scanners store rotated pixels plus a tag).
    return ImageOps.exif_transpose(image.copy()) or image.copy()


def ocr_image_file_page(input_file: InputFile, page_number: int, options: RunOptions) -> PageText:
    """OCR page `page_number` (1-based frame) of a PNG/JPEG/TIFF; boxes in pixels."""
    image = _open_image(input_file)
    count = int(getattr(image, "n_frames", 1))
    if not 1 <= page_number <= count:
        raise ValueError(f"page {page_number} out of range 1..{count}")
    return ocr_image_page(_frame(image, page_number), page_number, options, dpi=_dpi(image))


def ocr_image_file(input_file: InputFile, options: RunOptions) -> tuple[PageText, ...]:
    """OCR every page (frame) of an image file, in order; boxes in pixels."""
    image = _open_image(input_file)
    count = int(getattr(image, "n_frames", 1))
    return tuple(ocr_image_page(_frame(image, n), n, options, dpi=_dpi(image)) for n in range(1, count + 1))


def _dpi(image: Image.Image) -> float | None:
    """The resolution a picture file declares (JPEG JFIF/EXIF, PNG pHYs, TIFF), if any."""
    dpi = image.info.get("dpi")
    try:
        return round(float(dpi[0]), 1) if dpi and float(dpi[0]) > 1 else None
    except (TypeError, ValueError, IndexError):
        return None


# ------------------------------------------------------------------------------------ tables
# Tesseract reads a ruled table as blocks of loose lines: a row's cells may land in different
# blocks and a wrapped cell's lines interleave with the next cells. `rebuild_table_rows` finds
# tables from word geometry alone (no image needed, so recorded TSV replays it) and rewrites each
# table row as one line of "\t"-joined cells, like `pdf_text.apply_tables` does for text layers.

_ARTEFACT = regex.compile(r"^[|\[\]{}—_]+$")
"""A token that is only a grid line read as text (`|`, `[`, `]`, `—`): never a cell value (`l`,
`I`, `!` can be real text, so they stay)."""
_EDGE_JUNK = "|[]{}"
"""Grid-line characters glued to a cell value ("3415]") that are trimmed inside table rows."""
_INDEX_CELL = regex.compile(r"^(?:\d{1,3}|[IVXL]{1,5}|[a-zđ])[.)]?$")
_NUMERIC_CELL = regex.compile(r"^[-+]?(?:\d[\d.,]*%?|-)$")
TABLE_WIDE_GAP = 0.8
"""A gap between words wider than this many word heights separates cells: inter-word spaces of
body text (justified prose included) stay under ~0.5 height, a ruled cell adds two paddings."""
TABLE_MIN_SEPARATION = 0.12
"""A column boundary is an x-range no word of the table covers, at least this many heights wide."""
TABLE_MAX_LINE_GAP = 1.6
"""Lines further apart than this many heights are not one table (a paragraph break)."""
TABLE_ROW_PITCH = 1.22
"""A line this much further below its predecessor than the table's tightest line pitch starts a
new row: a wrapped cell keeps the font's leading, a ruled row boundary adds paddings and a rule."""


@dataclass(slots=True)
class _Word:
    start: int
    end: int
    """`[start, end)`: the chars kept (grid-line characters at the edges trimmed)."""
    box: Box
    line: int
    """0-based index of the Tesseract line (page line) holding the word."""

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


@dataclass(slots=True)
class _VRow:
    """One visual line across the page: words of every Tesseract line at that height, left to right."""

    words: list[_Word]
    top: float
    bottom: float
    height: float
    gaps: list[tuple[float, float]] = field(default_factory=list)
    """The wide gaps between consecutive words (x ranges)."""


@dataclass(slots=True)
class _Boundary:
    x0: float
    x1: float
    support: int
    """Rows in which a wide gap lies on this boundary (a real column edge shows in most rows)."""

    @property
    def mid(self) -> float:
        return (self.x0 + self.x1) / 2


def _page_words(page: PageText) -> tuple[list[_Word], list[_Word]]:
    """(words, grid-line artefacts) of an OCR'd page: runs of non-space chars sharing one box."""
    assert page.boxes is not None
    text, boxes = page.text, page.boxes
    words: list[_Word] = []
    artefacts: list[_Word] = []
    line = 0
    i = 0
    while i < len(text):
        if text[i] == "\n":
            line += 1
        if text[i].isspace() or boxes[i] is None:
            i += 1
            continue
        j = i + 1
        while j < len(text) and not text[j].isspace() and boxes[j] == boxes[i]:
            j += 1
        token = text[i:j]
        box = boxes[i]
        assert box is not None
        if _ARTEFACT.match(token):
            artefacts.append(_Word(i, j, box, line))
        else:
            lo, hi = i, j
            while hi - lo > 1 and text[lo] in _EDGE_JUNK and not text[lo + 1].isspace():
                lo += 1
            while hi - lo > 1 and text[hi - 1] in _EDGE_JUNK:
                hi -= 1
            words.append(_Word(lo, hi, box, line))
        i = j
    return words, artefacts


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else 0.0


def _visual_rows(words: list[_Word]) -> list[_VRow]:
    """Tesseract lines merged into visual lines by vertical overlap with their horizontal neighbour
    (local, so a slightly skewed page still pairs cells of one row), sorted top to bottom."""
    by_line: dict[int, list[_Word]] = defaultdict(list)
    for w in words:
        by_line[w.line].append(w)
    groups: list[list[_Word]] = []
    for line_words in sorted(by_line.values(), key=lambda ws: _median([(w.box[1] + w.box[3]) / 2 for w in ws])):
        top = _median([w.box[1] for w in line_words])
        bottom = _median([w.box[3] for w in line_words])
        x0 = min(w.box[0] for w in line_words)
        placed = False
        for group in reversed(groups[-8:]):  # only recent groups can share this height
            near = min(group, key=lambda w: abs((w.box[0] + w.box[2]) / 2 - x0))
            overlap = min(bottom, near.box[3]) - max(top, near.box[1])
            if overlap >= 0.5 * min(bottom - top, near.box[3] - near.box[1]):
                group.extend(line_words)
                placed = True
                break
        if not placed:
            groups.append(list(line_words))
    rows: list[_VRow] = []
    for group in groups:
        group.sort(key=lambda w: w.box[0])
        height = _median([w.height for w in group])
        row = _VRow(group, min(w.box[1] for w in group), max(w.box[3] for w in group), height)
        right = group[0].box[2]
        for w in group[1:]:
            if w.box[0] - right >= TABLE_WIDE_GAP * height:
                row.gaps.append((right, w.box[0]))
            right = max(right, w.box[2])
        rows.append(row)
    rows.sort(key=lambda r: (r.top + r.bottom) / 2)
    return rows


def _free_piece(x0: float, x1: float, covers: list[tuple[float, float]]) -> tuple[float, float] | None:
    """The widest part of `[x0, x1]` that no interval in `covers` overlaps."""
    pieces = [(x0, x1)]
    for c0, c1 in covers:
        nxt = []
        for p0, p1 in pieces:
            if c1 <= p0 or c0 >= p1:
                nxt.append((p0, p1))
                continue
            if c0 > p0:
                nxt.append((p0, c0))
            if c1 < p1:
                nxt.append((c1, p1))
        pieces = nxt
    return max(pieces, key=lambda p: p[1] - p[0]) if pieces else None


def _grow_table(rows: list[_VRow], first: int, unit: float) -> tuple[int, list[_Boundary]]:
    """Rows `first..end-1` that keep one column structure, and its boundaries. A row that covers a
    boundary two rows agreed on ends the table; a boundary only one row had is dropped instead."""
    bounds = [_Boundary(g0, g1, 1) for g0, g1 in rows[first].gaps]
    covers = [(w.box[0], w.box[2]) for w in rows[first].words]
    end = first + 1
    while end < len(rows):
        row = rows[end]
        if row.top - rows[end - 1].bottom > TABLE_MAX_LINE_GAP * unit:
            break
        spans = [(w.box[0], w.box[2]) for w in row.words]
        kept: list[_Boundary] = []
        broken = False
        for b in bounds:
            piece = _free_piece(b.x0, b.x1, spans)
            if piece is None or piece[1] - piece[0] < TABLE_MIN_SEPARATION * unit:
                if b.support >= 2:
                    broken = True
                    break
                continue
            on_gap = any(g0 <= piece[1] and g1 >= piece[0] for g0, g1 in row.gaps)
            kept.append(_Boundary(piece[0], piece[1], b.support + on_gap))
        if broken or sum(1 for b in kept if b.support >= 2 or len(kept) >= 2) < 2:
            break
        for g0, g1 in row.gaps:
            if any(g0 <= b.x1 and g1 >= b.x0 for b in kept):
                continue
            piece = _free_piece(g0, g1, covers)  # a column no earlier row had text in (an empty cell)
            if piece is not None and piece[1] - piece[0] >= TABLE_MIN_SEPARATION * unit:
                kept.append(_Boundary(piece[0], piece[1], 1))
        bounds = sorted(kept, key=lambda b: b.x0)
        covers.extend(spans)
        end += 1
    return end, [b for b in bounds if b.support >= 2]


def _row_cells(row: _VRow, bounds: list[_Boundary]) -> dict[int, list[_Word]]:
    """The words of one visual line by column: a boundary between two words (or a wide gap) splits,
    each piece goes to the column its left edge is in (a spanning cell to its first column)."""
    mids = [b.mid for b in bounds]
    pieces: list[list[_Word]] = [[row.words[0]]]
    for prev, w in zip(row.words, row.words[1:], strict=False):
        split = any(prev.box[2] <= m <= w.box[0] for m in mids) or any(
            g0 <= prev.box[2] and w.box[0] <= g1 for g0, g1 in row.gaps
        )
        if split:
            pieces.append([w])
        else:
            pieces[-1].append(w)
    cells: dict[int, list[_Word]] = defaultdict(list)
    for piece in pieces:
        col = sum(1 for m in mids if m < piece[0].box[0])
        cells[col].extend(piece)
    return cells


def _logical_rows(page: PageText, lines: list[tuple[_VRow, dict[int, list[_Word]]]]) -> list[list[int]]:
    """Visual lines grouped into table rows (indexes into `lines`). A line starts a row when it has an
    index in the first column, a numeric cell (numbers do not wrap), text in a column the line above
    left empty, or sits a row padding lower than the table's wrapped lines (a ruled row edge).
    Otherwise it is the wrapped rest of the cells above (cells are top-aligned)."""
    def cell_text(words: list[_Word]) -> str:
        return " ".join(page.text[w.start : w.end] for w in words)

    centres = [(r.top + r.bottom) / 2 for r, _ in lines]
    pitches = [b - a for a, b in zip(centres, centres[1:], strict=False)]
    tight = min(pitches) if pitches else 0.0
    groups: list[list[int]] = []
    for k, (_, cells) in enumerate(lines):
        first = cell_text(cells[0]).split(" ")[0] if 0 in cells else ""
        new = (
            not groups
            or bool(_INDEX_CELL.match(first))
            or any(_NUMERIC_CELL.match(cell_text(ws)) for ws in cells.values())
            or not set(cells) <= set(lines[k - 1][1])
            or pitches[k - 1] > TABLE_ROW_PITCH * tight
        )
        if new:
            groups.append([k])
        else:
            groups[-1].append(k)
    return groups


def rebuild_table_rows(page: PageText) -> PageText:
    """The OCR'd page with each table found in its word boxes rewritten as one line per row.

    A table is a run of ≥ 2 visual lines with wide gaps that agree on ≥ 2 column boundaries (so
    ≥ 3 columns: a two-column letterhead or justified prose never qualifies). Each row becomes one
    line of "\t"-joined cells (a wrapped cell's lines joined by a space), every char keeping its
    word box and confidence (synthesized tabs/spaces have none), recorded in `table_rows`. Grid-line
    tokens (`|`, `]` …) inside a table are dropped. The rest of the page keeps Tesseract's lines and
    order; a table goes before the first remaining line that starts below its top."""
    if page.boxes is None or not page.text.strip():
        return page
    words, artefacts = _page_words(page)
    rows = _visual_rows(words)
    if len(rows) < 2:
        return page
    tables: list[tuple[list[_VRow], list[_Boundary]]] = []
    i = 0
    while i < len(rows):
        if len(rows[i].gaps) < 2:
            i += 1
            continue
        unit = _median([r.height for r in rows[i : i + 3]])
        end, bounds = _grow_table(rows, i, unit)
        members = rows[i:end]
        mids = [b.mid for b in bounds]
        structured = [r for r in members if sum(1 for g0, g1 in r.gaps if any(g0 <= m <= g1 for m in mids)) >= 2]
        if len(bounds) >= 2 and len(structured) >= 2:
            # Trailing lines after the last row with columns are prose unless they sit in a column.
            last = max(members.index(r) for r in structured)
            tables.append((members[: last + 1] + _tail(members[last + 1 :], members[last], unit), bounds))
            i += len(tables[-1][0])
        else:
            i += 1
    if not tables:
        return page
    return _rewrite(page, words, artefacts, tables)


def _tail(rest: list[_VRow], last: _VRow, unit: float) -> list[_VRow]:
    """Lines after a table's last structured row kept as its wrapped rest: close below it and
    starting right of the table's left edge (a prose line after a table starts at the margin)."""
    kept: list[_VRow] = []
    prev = last
    for row in rest:
        if row.top - prev.bottom > 0.6 * unit or row.words[0].box[0] <= last.words[0].box[0] + 0.5 * unit:
            break
        kept.append(row)
        prev = row
    return kept


def _rewrite(
    page: PageText,
    words: list[_Word],
    artefacts: list[_Word],
    tables: list[tuple[list[_VRow], list[_Boundary]]],
) -> PageText:
    assert page.boxes is not None
    text, boxes = page.text, page.boxes
    confs = page.confidences or tuple(None for _ in text)
    taken = [False] * len(text)
    emitted: list[tuple[float, list[tuple[list[str], list[Box | None], list[float | None]]]]] = []
    for members, bounds in tables:
        x0 = min(w.box[0] for r in members for w in r.words)
        x1 = max(w.box[2] for r in members for w in r.words)
        top, bottom = members[0].top, members[-1].bottom
        for a in artefacts:  # grid lines inside the table are not text
            cx, cy = (a.box[0] + a.box[2]) / 2, (a.box[1] + a.box[3]) / 2
            if x0 - 20 <= cx <= x1 + 20 and top - 5 <= cy <= bottom + 5:
                for k in range(a.start, a.end):
                    taken[k] = True
        lines = [(r, _row_cells(r, bounds)) for r in members]
        out_rows = []
        for group in _logical_rows(page, lines):
            chars: list[str] = []
            cboxes: list[Box | None] = []
            cconfs: list[float | None] = []
            for col in range(len(bounds) + 1):
                if col:
                    chars.append("\t")
                    cboxes.append(None)
                    cconfs.append(None)
                first = True
                for k in group:
                    for w in lines[k][1].get(col, []):
                        if not first:
                            chars.append(" ")
                            cboxes.append(None)
                            cconfs.append(None)
                        first = False
                        chars.extend(text[w.start : w.end])
                        cboxes.extend(boxes[w.start : w.end])
                        cconfs.extend(confs[w.start : w.end])
            out_rows.append((chars, cboxes, cconfs))
        for r in members:
            for w in r.words:
                # the whole token goes (trimmed grid-line chars included) so no stray "]" stays behind
                s, e = w.start, w.end
                while s > 0 and not text[s - 1].isspace() and boxes[s - 1] == w.box:
                    s -= 1
                while e < len(text) and not text[e].isspace() and boxes[e] == w.box:
                    e += 1
                for k in range(s, e):
                    taken[k] = True
        emitted.append((top, out_rows))
    # The rest of the page, Tesseract line by line, minus what went into a table.
    prose: list[tuple[float | None, list[int]]] = []
    start = 0
    for end in [*(k for k, ch in enumerate(text) if ch == "\n"), len(text)]:
        kept = [k for k in range(start, end) if not taken[k]]
        if len(kept) == end - start or any(not text[k].isspace() for k in kept):
            if len(kept) < end - start:  # part of the line went into a table: trim what is left
                while kept and text[kept[0]].isspace():
                    kept.pop(0)
                while kept and text[kept[-1]].isspace():
                    kept.pop()
                kept = [k for n, k in enumerate(kept) if not (text[k] == " " and n and text[kept[n - 1]] == " ")]
            tops = [b[1] for k in kept if (b := boxes[k]) is not None]
            prose.append((min(tops) if tops else None, kept))
        start = end + 1
    out_lines: list[tuple[list[str], list[Box | None], list[float | None], bool]] = []
    pending = sorted(emitted, key=lambda t: t[0])
    for top, kept in prose:
        while pending and top is not None and top > pending[0][0]:
            out_lines.extend((c, b, f, True) for c, b, f in pending.pop(0)[1])
        out_lines.append(([text[k] for k in kept], [boxes[k] for k in kept], [confs[k] for k in kept], False))
    for _, rows_out in pending:
        out_lines.extend((c, b, f, True) for c, b, f in rows_out)
    return _assemble(page, out_lines, keep_confidences=page.confidences is not None)


def _insert_grid_tables(page: PageText, tables: list[ocr_tables.GridTable], scale: float) -> PageText:
    """`page` with each grid table's rows (one line of "\t"-joined cells each, chars with their
    word's box times `scale` and confidence) before the first line that starts below the table's
    top; rows with no text are skipped. `table_rows` keeps the page's rows and adds these."""
    assert page.boxes is not None
    text, boxes = page.text, page.boxes
    confs = page.confidences or tuple(None for _ in text)
    row_starts = {s for s, _ in page.table_rows}
    lines: list[tuple[float | None, list[str], list[Box | None], list[float | None], bool]] = []
    start = 0
    for end in [*(k for k, ch in enumerate(text) if ch == "\n"), len(text)] if text else []:
        tops = [b[1] for b in boxes[start:end] if b is not None]
        lines.append((min(tops) if tops else None, list(text[start:end]), list(boxes[start:end]),
                      list(confs[start:end]), start in row_starts))
        start = end + 1
    emitted: list[tuple[float, list[tuple[list[str], list[Box | None], list[float | None]]]]] = []
    for table in sorted(tables, key=lambda t: t.box[1]):
        out_rows = []
        for row in table.rows:
            if not any(row):
                continue
            chars: list[str] = []
            cboxes: list[Box | None] = []
            cconfs: list[float | None] = []
            for col, cell in enumerate(row):
                if col:
                    chars.append("\t")
                    cboxes.append(None)
                    cconfs.append(None)
                for n, (token, box, conf) in enumerate(cell):
                    if n:
                        chars.append(" ")
                        cboxes.append(None)
                        cconfs.append(None)
                    word = unicodedata.normalize("NFC", token)
                    chars.extend(word)
                    cboxes.extend([_scaled(box, scale)] * len(word))
                    cconfs.extend([conf] * len(word))
            out_rows.append((chars, cboxes, cconfs))
        if out_rows:
            emitted.append((table.box[1] * scale, out_rows))
    merged: list[tuple[list[str], list[Box | None], list[float | None], bool]] = []
    for top, chars, cboxes, cconfs, is_row in lines:
        while emitted and top is not None and top > emitted[0][0]:
            merged.extend((c, b, f, True) for c, b, f in emitted.pop(0)[1])
        merged.append((chars, cboxes, cconfs, is_row))
    for _, rows_out in emitted:
        merged.extend((c, b, f, True) for c, b, f in rows_out)
    return _assemble(page, merged, keep_confidences=True)


def _assemble(page: PageText, lines: list[tuple[list[str], list[Box | None], list[float | None], bool]], keep_confidences: bool) -> PageText:
    """A page from its lines in order (chars, boxes, confidences, is-a-table-row), joined by "\\n";
    table rows' ranges go to `table_rows`."""
    chars_out: list[str] = []
    boxes_out: list[Box | None] = []
    confs_out: list[float | None] = []
    row_ranges: list[tuple[int, int]] = []
    for n, (chars, cboxes, cconfs, is_row) in enumerate(lines):
        if n:
            chars_out.append("\n")
            boxes_out.append(None)
            confs_out.append(None)
        if is_row:
            row_ranges.append((len(chars_out), len(chars_out) + len(chars)))
        chars_out.extend(chars)
        boxes_out.extend(cboxes)
        confs_out.extend(cconfs)
    new_text = "".join(chars_out)
    box_t = tuple(boxes_out)
    conf_t = tuple(confs_out) if keep_confidences else None
    return PageText(
        page=page.page,
        text=new_text,
        method=page.method,
        lines=build_lines(new_text, box_t, conf_t),
        boxes=box_t,
        confidences=conf_t,
        width=page.width,
        height=page.height,
        table_rows=tuple(row_ranges),
    )
