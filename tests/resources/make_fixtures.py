"""Purpose-built test inputs, generated at test time (deterministically) instead of committed.

Each function writes one file to `path` and returns it. See README.md in this folder for the table
of files, how each is made and what it tests.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pypdfium2 as pdfium
from fpdf import FPDF
from fpdf.fonts import FontFace
from PIL import Image

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/liberation2"),
    Path("/usr/share/fonts/truetype/dejavu"),
)
# fonts-liberation2 has every Vietnamese letter (fonts-liberation 1.07 does not); DejaVu as fallback.
FONT_FILES = ("LiberationSerif-Regular.ttf", "DejaVuSerif.ttf")
_FIXED_DATE = datetime(2024, 1, 1, tzinfo=UTC)  # fixed metadata dates: same bytes on every run
SAMPLES_DIR = Path(__file__).resolve().parents[2] / "corpus" / "samples"

SHORT_PAGE = (
    "ỦY BAN NHÂN DÂN TỈNH BẮC GIANG\n"
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n"
    "Độc lập - Tự do - Hạnh phúc\n"
    "BÁO CÁO\n"
    "Kết quả triển khai Đề án 06 tháng 02/2023\n"
    "Thực hiện Quyết định số 06/QĐ-TTg ngày 06/01/2022 của\n"
    "Thủ tướng Chính phủ phê duyệt Đề án 06;\n"
    "Tổng số hồ sơ tiếp nhận là 1.657.621 hồ sơ,\n"
    "tỷ lệ trực tuyến đạt 85,29%.\n"
    "Nơi nhận: Bộ Công an; Lưu: VT."
)
"""About ten lines of report text: the one page that is really OCR'd in tests (kept short for speed)."""


def font_path() -> Path:
    """The first installed Vietnamese-capable TTF."""
    for folder in FONT_DIRS:
        for name in FONT_FILES:
            if (folder / name).exists():
                return folder / name
    raise FileNotFoundError("install fonts-liberation2 or fonts-dejavu-core to build test PDFs")


def sample_text(index: int = 0) -> str:
    """The text of sample report `index` (corpus/samples, sorted)."""
    files = sorted(SAMPLES_DIR.glob("*.txt"))
    return files[index].read_text(encoding="utf-8")


def _pdf(font: Path | None = None, size: float = 12) -> FPDF:
    pdf = FPDF(format="A4", unit="pt")
    pdf.set_creation_date(_FIXED_DATE)  # same bytes on every run
    pdf.add_font("vn", "", str(font or font_path()))
    pdf.set_font("vn", size=size)
    pdf.set_margins(56, 56, 56)
    pdf.set_auto_page_break(True, margin=56)
    return pdf


def text_pdf(
    path: Path, text: str, font: Path | None = None, size: float = 12, max_pages: int | None = None
) -> Path:
    """A text-layer A4 PDF of `text`: one PDF line per text line (long lines wrap), new pages as needed."""
    pdf = _pdf(font, size)
    pdf.add_page()
    for line in text.splitlines():
        if max_pages is not None and pdf.page_no() > max_pages:
            break
        if not line.strip():
            pdf.ln(size * 0.6)
            continue
        # Tabs (table cells) are not drawn by fpdf2; show them as wide gaps.
        line = line.replace("\t", "    ")
        if "\u00ad" in line:
            # multi_cell treats U+00AD as a soft hyphen and drops it, but it is TCVN3's "ư".
            pdf.cell(0, size * 1.35, line, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.multi_cell(0, size * 1.35, line, new_x="LMARGIN", new_y="NEXT")
    if max_pages is not None:
        while pdf.page_no() > max_pages:  # drop the overflow page started by the last line
            pdf.pages.pop(pdf.page_no())
            pdf.page -= 1
    pdf.output(str(path))
    return path


# Markdown/HTML markers of the sample exports that are not printed text.
_MD_HEADING = re.compile(r"^\s*#{1,6}\s+")
_MD_MARKUP = re.compile(r"\*\*|__|</?(?:b|i|u|em|strong)>|(?<!\w)\*(?=\S)|(?<=\S)\*(?!\w)")
_MD_SUP = re.compile(r"<sup>\s*([^<]{0,6}?)\s*</sup>")
_INT_CELL = re.compile(r"^\s*\d{1,3}\s*$")


def _plain(text: str) -> str:
    """A source line or cell without markdown markers (superscripts kept for the caller)."""
    return " ".join(_MD_MARKUP.sub("", _MD_HEADING.sub("", text)).split())


def _report_blocks(text: str) -> list[tuple[str, list[str]]]:
    """("prose", [line]) / ("blank", []) / ("table", [row line or "" at a blank line inside it]).

    A table is a run of "\t"-separated lines; blank lines inside the run (the page breaks of the
    document the sample was exported from) stay in it as ""."""
    lines = text.splitlines()
    blocks: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(lines):
        if "\t" in lines[i]:
            rows: list[str] = []
            while i < len(lines) and ("\t" in lines[i] or not lines[i].strip()):
                rows.append(lines[i] if "\t" in lines[i] else "")
                i += 1
            trailing = 0
            while rows and not rows[-1]:  # trailing blanks belong to the prose after the table
                rows.pop()
                trailing += 1
            blocks.append(("table", rows))
            blocks.extend(("blank", []) for _ in range(trailing))
            continue
        blocks.append(("prose", [lines[i]]) if lines[i].strip() else ("blank", []))
        i += 1
    return blocks


def _col_widths(pdf: FPDF, rows: list[list[str]], available: float, pad: float) -> list[float]:
    """Column widths that fit `available`: never narrower than a column's longest word, the rest
    shared in proportion to how much wider each column would like to be."""
    ncols = max(len(r) for r in rows)
    natural = [2 * pad + 12.0] * ncols
    minimum = [2 * pad + 12.0] * ncols
    for row in rows:
        for j, cell in enumerate(row):
            natural[j] = max(natural[j], pdf.get_string_width(cell) + 2 * pad + 1)
            for word in cell.split():
                minimum[j] = max(minimum[j], pdf.get_string_width(word) + 2 * pad + 1)
    if sum(natural) <= available:
        return [w * available / sum(natural) for w in natural]
    spare = available - sum(minimum)
    if spare <= 0:
        return [w * available / sum(minimum) for w in minimum]
    want = [n - m for n, m in zip(natural, minimum, strict=True)]
    return [m + spare * w / sum(want) for m, w in zip(minimum, want, strict=True)]


def _heading_count(rows: list[list[str]]) -> int:
    """Leading rows before the first data row (an index in the first cell or a numeric cell)."""
    for n, row in enumerate(rows):
        if _INT_CELL.match(row[0]) or n >= 4:
            return n
    return 0


def _draw_table(
    pdf: FPDF, rows: list[list[str]], size: float, headings: int, repeat_headings: bool
) -> None:
    pad = 2.0
    ncols = max(len(r) for r in rows)
    rows = [r + [""] * (ncols - len(r)) for r in rows]
    font = size
    while True:  # shrink until every column holds its longest word
        pdf.set_font("vn", size=font)
        widths = _col_widths(pdf, rows, pdf.epw, pad)
        longest = max(pdf.get_string_width(w) for r in rows for c in r for w in c.split() or [""])
        if min(widths) >= 2 * pad + 12 and all(
            pdf.get_string_width(w) + 2 * pad <= widths[j] for r in rows for j, c in enumerate(r) for w in c.split()
        ) or font <= 5 or longest == 0:
            break
        font -= 0.5
    with pdf.table(
        col_widths=tuple(widths),
        width=pdf.epw,
        line_height=font * 1.25,
        first_row_as_headings=headings > 0,
        num_heading_rows=max(headings, 1),
        repeat_headings=1 if repeat_headings else 0,
        headings_style=FontFace(emphasis=None),
        text_align="LEFT",
        v_align="TOP",
        padding=pad,
    ) as table:
        for cells in rows:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.set_font("vn", size=size)


def _landscape(pdf: FPDF) -> bool:
    return str(getattr(pdf.cur_orientation, "value", pdf.cur_orientation)) == "L"  # an enum in fpdf2 2.8


def _write_prose(pdf: FPDF, line: str, size: float, sup: str) -> None:
    """One source line as a paragraph wrapped to the page width; `<sup>n</sup>` raised, plain or dropped."""
    height = size * 1.35
    parts = _MD_SUP.split(_plain(line) if "<sup>" not in line else _MD_MARKUP.sub("", _MD_HEADING.sub("", line)))
    for k, part in enumerate(parts):
        if not part:
            continue
        if k % 2 == 0:
            pdf.write(height, part)
        elif sup == "raised":
            pdf.char_vpos = "SUP"
            pdf.write(height, part)
            pdf.char_vpos = "LINE"
        elif sup == "plain":
            pdf.write(height, part)
    pdf.ln(height)


def report_pdf(
    path: Path,
    text: str,
    font: Path | None = None,
    size: float = 12,
    *,
    repeat_headings: bool = True,
    source_breaks: bool = True,
    sup: str = "raised",
) -> Path:
    """A text-layer PDF of a sample report, laid out like the original: prose paragraphs wrapped to
    the page width with the markdown markers dropped, and every run of "\t"-separated lines drawn as
    a ruled table (fpdf2 `pdf.table()`, each cell's text wrapped inside it), on landscape pages with
    a smaller font when it has 8 columns or more, breaking across pages where it must.

    `repeat_headings`: fpdf2 repeats the heading rows on each page a table runs onto.
    `source_breaks`: a blank line inside a table (where the exported document's page ended) starts
    a new page, so the source's repeated headers and wrapped row rests land at the top of a page.
    `sup`: `<sup>n</sup>` is drawn `raised` (small, above the line), `plain`, or `drop`ped."""
    pdf = _pdf(font, size)
    pdf.add_page()
    for kind, lines in _report_blocks(text):
        if kind == "blank":
            pdf.ln(size * 0.5)
            continue
        if kind == "prose":
            if _landscape(pdf):
                pdf.add_page(orientation="P")
            _write_prose(pdf, lines[0], size, sup)
            continue
        pieces: list[list[list[str]]] = [[]]
        for line in lines:
            if line:
                pieces[-1].append([_plain(c) for c in line.split("\t")])
            elif pieces[-1]:
                pieces.append([])
        pieces = [p for p in pieces if p]
        ncols = max(len(r) for p in pieces for r in p)
        if ncols >= 8 and not _landscape(pdf):
            pdf.add_page(orientation="L")
        table_size = min(size, 9.0) if ncols < 8 else min(size, 8.0)
        header = pieces[0][: _heading_count(pieces[0])]
        if not source_breaks:
            pieces = [[r for p in pieces for r in p]]
        for n, piece in enumerate(pieces):
            if n:
                pdf.add_page(orientation=pdf.cur_orientation)
            headings = len(header) if piece[: len(header)] == header else 0
            _draw_table(pdf, [r for r in piece if any(c for c in r)], table_size, headings, repeat_headings)
        pdf.ln(size * 0.5)
    pdf.output(str(path))
    return path


def render_png(pdf_path: Path, path: Path, page_number: int = 1, dpi: int = 300) -> Path:
    """Page `page_number` of a PDF rendered with pdfium to a grayscale PNG at `dpi`."""
    doc = pdfium.PdfDocument(str(pdf_path))
    try:
        image = doc[page_number - 1].render(scale=dpi / 72, grayscale=True).to_pil()
    finally:
        doc.close()
    image.save(path, dpi=(dpi, dpi))
    return path


def png_page(path: Path, text: str = SHORT_PAGE, dpi: int = 300) -> Path:
    """A 300-dpi scan-like PNG of one page holding `text` (rendered from a text PDF)."""
    pdf_path = path.with_suffix(".src.pdf")
    text_pdf(pdf_path, text, size=14, max_pages=1)
    return render_png(pdf_path, path, 1, dpi)


def scanned_pdf(path: Path, text: str = SHORT_PAGE, dpi: int = 300) -> Path:
    """An image-only PDF (no text layer): each page a rendered image of a text PDF page."""
    png = png_page(path.with_suffix(".png"), text, dpi)
    with Image.open(png) as image:
        width_pt, height_pt = image.width * 72 / dpi, image.height * 72 / dpi
    pdf = FPDF(unit="pt", format=(width_pt, height_pt))
    pdf.set_creation_date(_FIXED_DATE)
    pdf.add_page()
    pdf.image(str(png), x=0, y=0, w=width_pt, h=height_pt)
    pdf.output(str(path))
    return path


def hidden_layer_scan_pdf(path: Path, text: str, layer: str, dpi: int = 200) -> Path:
    """A scan with an invisible text layer from some earlier tool: each page the image of `text`,
    with `layer` drawn over it in text mode 3 (invisible), the way archive scanners store OCR."""
    png = png_page(path.with_suffix(".png"), text, dpi)
    with Image.open(png) as image:
        width_pt, height_pt = image.width * 72 / dpi, image.height * 72 / dpi
    pdf = FPDF(unit="pt", format=(width_pt, height_pt))
    pdf.set_creation_date(_FIXED_DATE)
    pdf.add_font("vn", "", str(font_path()))
    pdf.set_font("vn", size=12)
    pdf.add_page()
    pdf.image(str(png), x=0, y=0, w=width_pt, h=height_pt)
    pdf.text_mode = "INVISIBLE"
    pdf.set_xy(56, 56)
    for line in layer.splitlines():
        pdf.cell(0, 16, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def without_diacritics(text: str) -> str:
    """`text` as an OCR engine without Vietnamese reads it: "Ủy ban nhân dân" → "Uy ban nhan dan"."""
    import unicodedata

    flat = text.replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", flat) if not unicodedata.combining(c)))


def as_mojibake(text: str) -> str:
    """`text` encoded as UTF-8 and read as cp1252 ("Cộng" → "Cá»™ng"); bytes cp1252 leaves
    undefined pass through as Latin-1 control characters, as PDF text extractors show them."""
    return "".join(
        bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in text.encode("utf-8")
    )


def encrypted_pdf(path: Path, text: str = "Báo cáo mật.") -> Path:
    """A PDF that needs a user password to open (fpdf2 `set_encryption`)."""
    pdf = _pdf()
    pdf.set_encryption(owner_password="owner-secret", user_password="user-secret")
    pdf.add_page()
    pdf.multi_cell(0, 16, text)
    pdf.output(str(path))
    return path


def corrupt_pdf(path: Path) -> Path:
    """A text PDF cut to its first 40% of bytes (as a broken download would be)."""
    full = text_pdf(path.with_suffix(".full.pdf"), SHORT_PAGE)
    data = full.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.4)])
    return path


def zero_page_pdf(path: Path) -> Path:
    """A syntactically valid PDF whose page tree has no pages."""
    doc = pdfium.PdfDocument.new()
    doc.save(str(path))
    doc.close()
    return path


def legacy_pdf(path: Path, text: str, encoding: str = "TCVN3") -> Path:
    """A PDF whose text layer holds the Latin-1 look-alikes of a legacy font (what extractors return
    for a .VnTime/VNI-Times document), made by drawing the look-alike characters with a Unicode font."""
    from pipeline.legacy_vn import encode_legacy_text

    encoded = encode_legacy_text(text, encoding)
    if encoded is None:
        raise ValueError(f"text not encodable in {encoding} (accented capitals?)")
    return text_pdf(path, encoded)


def legacy_tcvn3_pdf(path: Path, text: str | None = None) -> Path:
    """`legacy_pdf` in TCVN3 with lowercase-only report lines (VN3 has no accented capitals)."""
    return legacy_pdf(path, text or LEGACY_LINES, "TCVN3")


LEGACY_LINES = (
    "Cộng hòa xã hội chủ nghĩa Việt Nam\n"
    "Thực hiện Quyết định số 06/QĐ-TTg ngày 06/01/2022 của Thủ tướng Chính phủ;\n"
    "tổ công tác đề án 06 tỉnh báo cáo kết quả triển khai, thực hiện trong tháng 02/2023."
)
"""Report lines with no accented capitals, so they survive TCVN3 exactly."""


def docx_file(path: Path) -> Path:
    """A DOCX with a heading paragraph, a 3x3 table, and a closing paragraph, in that body order."""
    from docx import Document

    document = Document()
    document.core_properties.created = _FIXED_DATE
    document.add_paragraph("BÁO CÁO kết quả thực hiện Đề án 06")
    document.add_paragraph("Thực hiện Quyết định số 06/QĐ-TTg ngày 06/01/2022.")
    table = document.add_table(rows=3, cols=3)
    rows = (
        ("STT", "Dịch vụ công", "Tỷ lệ"),
        ("1", "Cấp phiếu lý lịch tư pháp", "85,29%"),
        ("2", "Đăng ký khai sinh", "100%"),
    )
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            table.cell(r, c).text = value
    document.add_paragraph("Nơi nhận: Bộ Công an.")
    document.save(str(path))
    return path


def not_a_docx(path: Path) -> Path:
    """A file named .docx that is a zip without Word content (and so is not a document)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a word document")
    path.write_bytes(buffer.getvalue())
    return path


def tiff_multipage(path: Path, texts: tuple[str, ...] = ("Trang một", "Trang hai")) -> Path:
    """A multi-frame TIFF, one small frame per text (frames also differ in size, to be told apart)."""
    frames = []
    for i, text in enumerate(texts):
        png = png_page(path.with_suffix(f".{i}.png"), text, dpi=100)
        with Image.open(png) as image:
            frames.append(image.convert("L").crop((0, 0, image.width, image.height - 10 * i)))
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_deflate")
    return path


def rgba_png(path: Path) -> Path:
    """A transparent RGBA PNG (black text pixels with alpha), to test mode conversion."""
    image = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    for x in range(5, 35):
        image.putpixel((x, 10), (0, 0, 0, 255))
    image.save(path)
    return path
