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
from functools import cache
from pathlib import Path

import pytesseract
from PIL import Image, ImageOps, UnidentifiedImageError

from pipeline.config import OCR_TIMEOUT_SECONDS, RunOptions
from pipeline.errors import CorruptFileError, OcrError
from pipeline.types import Box, InputFile, PageText, build_lines


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


def page_from_tsv(tsv: str, page_number: int, method: str, scale: float, size: tuple[int, int]) -> PageText:
    """Build a `PageText` from TSV: words joined by one space, Tesseract lines by "\\n"."""
    chars: list[str] = []
    boxes: list[Box | None] = []
    confs: list[float | None] = []
    last_key = None
    for key, text, box, conf in parse_tsv(tsv):
        # NFC per word (Tesseract output is already NFC in practice); the box repeats per char.
        word = unicodedata.normalize("NFC", text)
        if last_key is not None:
            chars.append("\n" if key != last_key else " ")
            boxes.append(None)
            confs.append(None)
        last_key = key
        scaled = (
            round(box[0] * scale, 2),
            round(box[1] * scale, 2),
            round(box[2] * scale, 2),
            round(box[3] * scale, 2),
        )
        for ch in word:
            chars.append(ch)
            boxes.append(scaled)
            confs.append(conf)
    text = "".join(chars)
    box_t = tuple(boxes)
    conf_t = tuple(confs)
    return PageText(
        page=page_number,
        text=text,
        method=method,
        lines=build_lines(text, box_t, conf_t),
        boxes=box_t,
        confidences=conf_t,
        width=round(size[0] * scale, 2),
        height=round(size[1] * scale, 2),
    )


def ocr_image_page(image: Image.Image, page_number: int, options: RunOptions, scale: float = 1.0) -> PageText:
    """OCR one page image; boxes are pixel boxes times `scale` (72/dpi gives PDF points)."""
    method = ocr_method(options.ocr_lang)
    tsv = run_tesseract(_ocr_ready(image), options.ocr_lang, options.ocr_psm)
    return page_from_tsv(tsv, page_number, method, scale, image.size)


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
        image = Image.open(Path(input_file.path))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise CorruptFileError(
            f"the image cannot be decoded ({type(e).__name__}: {e}); the file is damaged or not an "
            "image, re-export or re-scan it"
        ) from e
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
    return ocr_image_page(_frame(image, page_number), page_number, options)


def ocr_image_file(input_file: InputFile, options: RunOptions) -> tuple[PageText, ...]:
    """OCR every page (frame) of an image file, in order; boxes in pixels."""
    image = _open_image(input_file)
    count = int(getattr(image, "n_frames", 1))
    return tuple(ocr_image_page(_frame(image, n), n, options) for n in range(1, count + 1))
