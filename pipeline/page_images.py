"""Page images for the audit report: PDF pages and scans, small enough to browse, named by doc id.

An image is named after the document's doc_id and page, so the same bytes give the same file and a
re-run renders only pages it has not rendered before.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from pipeline.types import DocumentResult

IMAGE_DIR = ".de06-pages"
"""Beside the output generations, shared by them: an image depends only on the bytes and page."""
TARGET_WIDTH = 1000  # px: readable on screen, ~100 KB a page


def render_page_images(result: DocumentResult, path: str, out_dir: Path) -> dict[int, str]:
    """Render each page of a PDF or image input once; returns page → path relative to `out_dir`."""
    if result.info.format not in ("pdf", "pdf-ocr", "image") or not result.pages:
        return {}
    folder = out_dir / IMAGE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {p.page: folder / f"{result.info.doc_id}-p{p.page}.jpg" for p in result.pages}
    missing = {n: f for n, f in wanted.items() if not f.exists()}
    if missing:
        if result.info.format == "image":
            _render_image_frames(path, missing)
        else:
            _render_pdf_pages(path, missing)
    return {n: f"{IMAGE_DIR}/{f.name}" for n, f in wanted.items() if f.exists()}


def _save(image: Image.Image, target: Path) -> None:
    if image.width > TARGET_WIDTH:
        image = image.resize((TARGET_WIDTH, round(image.height * TARGET_WIDTH / image.width)))
    tmp = target.with_name(f".{target.name}.tmp")
    # JPEG: a tenth of the encoding time of an optimized PNG, and smaller for scans.
    image.convert("L").save(tmp, format="JPEG", quality=70)
    tmp.replace(target)


def _render_pdf_pages(path: str, pages: dict[int, Path]) -> None:
    import pypdfium2 as pdfium

    from pipeline.pdf_text import PDFIUM_LOCK

    with PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(path)
        try:
            for number, target in pages.items():
                page = pdf[number - 1]
                scale = TARGET_WIDTH / page.get_width()
                _save(page.render(scale=scale).to_pil(), target)
        finally:
            pdf.close()


def _render_image_frames(path: str, pages: dict[int, Path]) -> None:
    with Image.open(path) as image:
        for number, target in pages.items():
            image.seek(number - 1)
            _save(image.copy(), target)
