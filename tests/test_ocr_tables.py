"""Table rows rebuilt from OCR word boxes (`pipeline.ocr.rebuild_table_rows`).

The unit tests feed hand-written `image_to_data` TSV through `page_from_tsv` (no Tesseract); the
one `ocr` test renders a small ruled table to a 300-dpi PNG and OCRs it for real.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from resources import make_fixtures as fx

from pipeline import ocr
from pipeline.config import RunOptions
from pipeline.types import PageText

_HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
Word = tuple[int, int, int, float, float, str, float]
"""(block, paragraph, line, left, top, text, conf): width is 15 px per char, height 30 px."""


def tsv(words: list[Word]) -> str:
    """An `image_to_data`-style TSV holding only word rows (level 5), as `parse_tsv` reads them."""
    rows = [_HEADER]
    for n, (block, par, line, left, top, text, conf) in enumerate(words, start=1):
        rows.append(f"5\t1\t{block}\t{par}\t{line}\t{n}\t{left}\t{top}\t{15 * len(text)}\t30\t{conf}\t{text}")
    return "\n".join(rows) + "\n"


def cell(block: int, line: int, left: float, top: float, text: str, conf: float = 95.0) -> list[Word]:
    """The words of `text` from `left`, 10 px apart (one normal space), on one Tesseract line."""
    out: list[Word] = []
    x = left
    for word in text.split():
        out.append((block, 1, line, x, top, word, conf))
        x += 15 * len(word) + 10
    return out


def page_of(words: list[Word]) -> PageText:
    return ocr.page_from_tsv(tsv(words), 1, "ocr:test", 1.0, (2000, 1000))


def row_lines(page: PageText) -> list[str]:
    return [page.text[s:e] for s, e in page.table_rows]


def check_invariants(page: PageText) -> None:
    assert page.boxes is not None and page.confidences is not None
    assert len(page.boxes) == len(page.confidences) == len(page.text)
    assert [page.text[ln.char_start : ln.char_end] for ln in page.lines] == page.text.split("\n")
    assert page.text == unicodedata.normalize("NFC", page.text)
    for ch, box, conf in zip(page.text, page.boxes, page.confidences, strict=True):
        assert (box is None) == ch.isspace(), ch  # synthesized tabs/spaces/newlines carry nothing
        assert (conf is None) == ch.isspace(), ch
    starts = {ln.char_start: ln.char_end for ln in page.lines}
    for s, e in page.table_rows:
        assert starts.get(s) == e  # every recorded row is exactly one line


# A 5-column table whose cells Tesseract put in three blocks (names, numbers, the index column),
# with the first row's name wrapped onto a second visual line, a grid-line "|" read as a word and
# a "]" glued to a number; a title above and a sentence below.
TABLE_WORDS: list[Word] = [
    *cell(1, 1, 100, 20, "BẢNG KẾT QUẢ"),
    *cell(2, 1, 100, 100, "STT"),
    *cell(2, 2, 100, 160, "1"),
    *cell(2, 3, 100, 260, "2"),
    *cell(3, 1, 200, 100, "Dịch vụ công"),
    *cell(3, 2, 200, 160, "Đăng ký thường trú"),
    *cell(3, 3, 200, 200, "cho công dân"),
    *cell(3, 4, 200, 260, "Đăng ký tạm trú"),
    *cell(4, 1, 1000, 100, "Tổng số"),
    (4, 1, 1, 1150, 95, "|", 10.0),
    *cell(4, 1, 1200, 100, "Trực tuyến"),
    *cell(4, 1, 1400, 100, "Tỷ lệ %"),
    *cell(4, 2, 1000, 160, "1156", 60.0),
    *cell(4, 2, 1200, 160, "1155"),
    *cell(4, 2, 1400, 160, "99,91%"),
    *cell(4, 3, 1000, 260, "187"),
    *cell(4, 3, 1200, 260, "185]", 70.0),
    *cell(4, 3, 1400, 260, "98,93%"),
    *cell(5, 1, 100, 400, "Trên đây là báo cáo kết quả."),
]


def test_table_rows_rebuilt_from_word_boxes() -> None:
    page = page_of(TABLE_WORDS)
    check_invariants(page)
    assert row_lines(page) == [
        "STT\tDịch vụ công\tTổng số\tTrực tuyến\tTỷ lệ %",
        "1\tĐăng ký thường trú cho công dân\t1156\t1155\t99,91%",
        "2\tĐăng ký tạm trú\t187\t185\t98,93%",
    ]
    # Prose keeps its place and text: the title above the table, the sentence after it.
    assert page.text.split("\n") == ["BẢNG KẾT QUẢ", *row_lines(page), "Trên đây là báo cáo kết quả."]
    s, e = page.table_rows[1]
    assert page.confidence_of(s, e) == 60.0  # the row's confidence: its weakest word
    line = page.line_at(s)
    assert (line.number, line.char_start, line.char_end) == (3, s, e)
    assert line.bbox == (100.0, 160.0, 1490.0, 230.0)  # the wrapped name line is part of the row
    # Every char keeps the box of the OCR word it came from.
    assert page.boxes is not None
    assert page.boxes[page.text.index("cho")] == (200.0, 200.0, 245.0, 230.0)
    k = page.text.index("185")
    assert page.boxes[k] == (1200.0, 260.0, 1260.0, 290.0)  # "185]": the word's box, "]" trimmed


def test_prose_is_left_alone() -> None:
    # Justified lines (stretched spaces up to 20 px), a list and a short last line.
    words: list[Word] = []
    lines = [
        "Tổ công tác Đề án 06 thành phố đã chỉ đạo các đơn vị triển khai",
        "thực hiện nghiêm túc các nhiệm vụ được giao trong tháng 7 năm",
        "2024, tập trung vào 25 dịch vụ công thiết yếu.",
        "- Văn phòng UBND tỉnh;",
        "- Phòng PC06 - Công an tỉnh;",
    ]
    for n, text in enumerate(lines):
        x = 100.0
        for word in text.split():
            words.append((1, 1, n + 1, x, 100 + 45 * n, word, 96.0))
            x += 15 * len(word) + (20 if n < 2 else 10)
    page = page_of(words)
    assert page.table_rows == ()
    assert page.text.split("\n") == lines
    check_invariants(page)


def test_two_column_letterhead_is_not_a_table() -> None:
    words = [
        *cell(1, 1, 100, 50, "UBND TỈNH BẮC GIANG"),
        *cell(2, 1, 1000, 50, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
        *cell(1, 2, 100, 95, "TỔ CÔNG TÁC ĐỀ ÁN 06"),
        *cell(2, 2, 1100, 95, "Độc lập - Tự do - Hạnh phúc"),
        *cell(1, 3, 100, 140, "Số: 287/BC-TCTĐA06"),
        *cell(2, 3, 1050, 140, "Bắc Giang, ngày 12 tháng 7 năm 2024"),
    ]
    page = page_of(words)
    assert page.table_rows == ()
    assert "\t" not in page.text
    assert page.text.split("\n")[0] == "UBND TỈNH BẮC GIANG"
    check_invariants(page)


def test_one_row_with_wide_gaps_is_not_a_table() -> None:
    # A signature line with three far-apart parts, once: columns need two rows that agree.
    words = [*cell(1, 1, 100, 50, "Nơi nhận:"), *cell(2, 1, 800, 50, "TM."), *cell(3, 1, 1400, 50, "TỔ TRƯỞNG")]
    page = page_of(words)
    assert page.table_rows == ()


SMALL_TABLE = (
    "KẾT QUẢ TRIỂN KHAI DỊCH VỤ CÔNG\n\n"
    "STT\tDịch vụ công trực tuyến\tTổng số hồ sơ\tTiếp nhận trực tuyến\tTỷ lệ %\n"
    "1\tCấp lại, đổi thẻ căn cước công dân cho công dân đã được cấp thẻ Căn cước\t196\t172\t87,76%\n"
    "2\tĐăng ký thường trú\t1156\t1155\t99,91%\n"
    "3\tĐăng ký tạm trú\t187\t185\t98,93%\n\n"
    "Trên đây là báo cáo kết quả.\n"
)


@pytest.mark.ocr
def test_live_ocr_of_a_ruled_table(tmp_path: Path) -> None:
    pdf = fx.report_pdf(tmp_path / "table.pdf", SMALL_TABLE)
    png = fx.render_png(pdf, tmp_path / "table.png")
    from PIL import Image

    with Image.open(png) as image:
        page = ocr.ocr_image_page(image, 1, RunOptions())
    check_invariants(page)
    rows = [r.split("\t") for r in row_lines(page)]
    assert len(rows) >= 3
    assert all(len(r) == 5 for r in rows)
    by_total = {r[2]: r for r in rows}
    assert by_total["196"][3:] == ["172", "87,76%"]
    assert "cước công dân" in by_total["196"][1] and "Căn cước" in by_total["196"][1]  # wrapped name
    assert by_total["1156"][1:] == ["Đăng ký thường trú", "1156", "1155", "99,91%"]
    assert by_total["187"][1:] == ["Đăng ký tạm trú", "187", "185", "98,93%"]
    assert "Trên đây là báo cáo kết quả." in page.text.split("\n")
    for s, e in page.table_rows:
        assert page.confidence_of(s, e) is not None
