"""Purpose-built test inputs, generated at test time (deterministically) instead of committed.

Each function writes one file to `path` and returns it. See README.md in this folder for the table
of files, how each is made and what it tests.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pypdfium2 as pdfium
from fpdf import FPDF
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
