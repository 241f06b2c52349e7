"""Table rows of OCR'd pages: rebuilt from word boxes (`pipeline.ocr.rebuild_table_rows`) and, for
ruled tables, read cell by cell from the ruling lines (`pipeline.ocr_tables`).

The unit tests feed hand-written `image_to_data` TSV through `page_from_tsv` or a fake
`run_tesseract` (no Tesseract); the two `ocr` tests render small ruled tables to 300-dpi PNGs and
OCR them for real.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from PIL import Image
from resources import make_fixtures as fx

from pipeline import ocr, ocr_tables
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


# ------------------------------------------------------------------- ruled tables, cell by cell


def ruled_page() -> tuple[Image.Image, list[int], list[int]]:
    """A 1200 x 900 white page with a 4-column ruled table (rules 2 px): a header row whose first
    two columns are one merged cell (no rule drawn between them), two body rows, and a dark blob
    in every cell that has text; prose above (y < 150) and below (y > 600) stays blank."""
    from PIL import ImageDraw

    xs, ys = [100, 200, 700, 900, 1100], [200, 300, 400, 500]
    image = Image.new("L", (1200, 900), 255)
    draw = ImageDraw.Draw(image)
    for y in ys:
        draw.rectangle((xs[0], y, xs[-1], y + 1), fill=0)
    for x in xs:
        top = ys[1] if x == xs[1] else ys[0]  # the header's first cell spans two columns
        draw.rectangle((x, top, x + 1, ys[-1]), fill=0)
    for x0, y0 in [(110, 215), (710, 215), (910, 215), (110, 315), (210, 315), (710, 315), (910, 315),
                   (110, 415), (210, 415), (710, 415)]:
        draw.rectangle((x0, y0, x0 + 40, y0 + 30), fill=0)
    return image, xs, ys


def test_grid_found_from_the_rules_with_a_merged_header_cell() -> None:
    import numpy as np

    image, xs, ys = ruled_page()
    masks = ocr_tables.rule_masks(np.asarray(image))
    assert masks is not None
    grids = ocr_tables.find_grids(*masks)
    assert len(grids) == 1
    grid = grids[0]
    assert [v.at for v in grid.verticals] == [x + 0.5 for x in xs]  # the middle of each 2-px rule
    assert [h.at for h in grid.horizontals] == [y + 0.5 for y in ys]
    header = [(c, box) for r, c, box in ocr_tables.cells(grid) if r == 0]
    assert header == [(0, (100.5, 200.5, 700.5, 300.5)), (2, (700.5, 200.5, 900.5, 300.5)),
                      (3, (900.5, 200.5, 1100.5, 300.5))]  # columns 0-1: one merged cell
    assert len(ocr_tables.cells(grid)) == 3 + 4 + 4
    # Prose (no vertical rules) has no grid, and its image is passed through untouched.
    prose = Image.new("L", (800, 600), 255)
    assert ocr_tables.rule_masks(np.asarray(prose)) is None
    assert ocr._without_grid(prose) is prose


def test_skewed_rules_are_left_to_gap_clustering() -> None:
    import numpy as np
    from PIL import ImageDraw

    image = Image.new("L", (1600, 900), 255)
    draw = ImageDraw.Draw(image)
    for y in (200, 300, 400):  # horizontal rules dropping 40 px over the table (~1.6 degrees)
        draw.line((100, y, 1500, y + 40), fill=0, width=2)
    for x in (100, 600, 1000, 1500):
        draw.line((x, 200, x - 4, 440), fill=0, width=2)
    masks = ocr_tables.rule_masks(np.asarray(image))
    assert masks is not None  # the grid is still erased for psm 3 ...
    assert ocr_tables.find_grids(*masks) == []  # ... but not read cell by cell


def _composed_tsv(strips: list[ocr_tables.Strip], texts: dict[tuple[int, int], str]) -> str:
    """TSV as Tesseract would give it for the composed image: each cell's text on its strip."""
    words: list[Word] = []
    for n, strip in enumerate(strips, start=1):
        for w in cell(n, 1, ocr_tables.STRIP_GAP + 5, strip.y + 2, texts[(strip.row, strip.column)], 91.0):
            words.append(w)
    return tsv(words)


def test_ruled_table_read_cell_by_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "tesseract_version", lambda: "0.0.0")
    image, xs, ys = ruled_page()
    texts = {(0, 0): "Tên dịch vụ", (0, 2): "Tổng số", (0, 3): "Tỷ lệ",
             (1, 0): "1", (1, 1): "Đăng ký thường trú", (1, 2): "0", (1, 3): "99,91%",
             (2, 0): "2", (2, 1): "Đăng ký tạm trú", (2, 2): "| 187]"}
    calls: list[tuple[int, tuple[int, int]]] = []

    def fake(img: Image.Image, lang: str, psm: int) -> str:
        calls.append((psm, img.size))
        if psm == ocr_tables.TABLE_PSM:
            composed = ocr_tables.compose(*ocr._split_grid(image))
            assert composed is not None
            assert composed[0].size == img.size
            return _composed_tsv(composed[1], texts)
        # the page pass sees the table blanked: a word Tesseract still reported inside is dropped
        assert img.getpixel((150, 230)) == 255
        return tsv([*cell(1, 1, 100, 100, "BẢNG TỔNG HỢP"), *cell(2, 1, 300, 330, "rác"),
                    *cell(3, 1, 100, 650, "Trên đây là báo cáo.")])

    monkeypatch.setattr(ocr, "run_tesseract", fake)
    page = ocr.ocr_image_page(image, 1, RunOptions(), scale=0.5)
    assert [psm for psm, _ in calls] == [ocr_tables.TABLE_PSM, 3]  # one extra call per page
    check_invariants(page)
    assert row_lines(page) == [
        "Tên dịch vụ\t\tTổng số\tTỷ lệ",  # the merged header cell goes to its first column
        "1\tĐăng ký thường trú\t0\t99,91%",
        "2\tĐăng ký tạm trú\t187\t",  # grid remnants "|", "]" dropped
    ]
    assert page.text.split("\n") == ["BẢNG TỔNG HỢP", *row_lines(page), "Trên đây là báo cáo."]
    assert page.boxes is not None and page.confidences is not None
    k = page.text.index("thường")
    # a char's box is its word's box on the page, times `scale` (PDF points for rendered PDFs)
    x = (xs[1] + ocr_tables.STRIP_PAD + 5 + 15 * 4 + 10 + 15 * 2 + 10) * 0.5
    assert page.boxes[k][0] == x and page.boxes[k][2] == x + 15 * 6 * 0.5
    assert page.boxes[k][1] == (ys[1] + ocr_tables.STRIP_PAD + 2) * 0.5
    assert page.confidences[k] == 91.0


def test_grid_rows_spanning_and_unplaced_words() -> None:
    grid = ocr_tables.Grid(
        tuple(ocr_tables.Rule(x, ((0, 300),)) for x in (0.0, 100.0, 300.0)),
        tuple(ocr_tables.Rule(y, ((0, 300),)) for y in (0.0, 50.0, 100.0)),
    )
    strips = [ocr_tables.Strip(0, 1, 1, 30, 54, 104, 42)]
    words = [((1, 1, 1, 1), "x", (35.0, 32.0, 50.0, 60.0), 80.0), ((1, 1, 1, 1), "|", (60.0, 32.0, 62.0, 60.0), 5.0)]
    (table,) = ocr_tables.grid_rows(words, [grid], strips)
    assert table.rows == [[[], []], [[], [("x", (109.0, 56.0, 124.0, 84.0), 80.0)]]]


NARROW_HEADERS = (
    "KẾ HOẠCH\n\n"
    "TT\tNhiệm vụ\tCơ quan\tThời hạn\n"
    "1\tĐăng ký thường trú\tCông an tỉnh\t0\n"
    "2\tCấp phiếu lý lịch tư pháp\tSở Tư pháp\t0\n\n"
    "Trên đây là kế hoạch.\n"
)


@pytest.mark.ocr
def test_live_ocr_narrow_header_gaps_and_lone_zeros(tmp_path: Path) -> None:
    pdf = fx.report_pdf(tmp_path / "narrow.pdf", NARROW_HEADERS)
    png = fx.render_png(pdf, tmp_path / "narrow.png")
    with Image.open(png) as image:
        page = ocr.ocr_image_page(image, 1, RunOptions())
    check_invariants(page)
    rows = [r.split("\t") for r in row_lines(page)]
    assert rows[0] == ["TT", "Nhiệm vụ", "Cơ quan", "Thời hạn"]  # narrow gaps, still four cells
    assert rows[1:] == [["1", "Đăng ký thường trú", "Công an tỉnh", "0"], ["2", "Cấp phiếu lý lịch tư pháp", "Sở Tư pháp", "0"]]
    assert "Trên đây là kế hoạch." in page.text.split("\n")


def test_two_tables_on_one_page_stay_apart() -> None:
    import numpy as np
    from PIL import ImageDraw

    image = Image.new("L", (1200, 1200), 255)
    draw = ImageDraw.Draw(image)
    for top, xs in ((100, (100, 300, 700, 1100)), (700, (100, 500, 800, 900, 1100))):  # shared x=100, 1100
        for y in (top, top + 100, top + 200):
            draw.rectangle((100, y, 1100, y + 1), fill=0)
        for x in xs:
            draw.rectangle((x, top, x + 1, top + 200), fill=0)
    masks = ocr_tables.rule_masks(np.asarray(image))
    assert masks is not None
    grids = ocr_tables.find_grids(*masks)
    assert [(g.columns, g.box[1]) for g in grids] == [(3, 100.5), (4, 700.5)]


def test_a_composed_image_taller_than_tesseract_takes_is_cut_between_strips() -> None:
    strips = [ocr_tables.Strip(0, r, 0, ocr_tables.STRIP_GAP + r * 1030, 0, 0, 1000) for r in range(70)]
    tall = Image.new("L", (200, strips[-1].y + 1000 + ocr_tables.STRIP_GAP), 255)
    pieces = ocr_tables.chunks(tall, strips)
    assert len(pieces) == 3 and all(p.height <= ocr_tables.MAX_IMAGE_HEIGHT for p, _ in pieces)
    for strip in strips:  # every strip lies whole inside one piece
        assert any(top <= strip.y and strip.y + strip.height <= top + p.height for p, top in pieces)
    small = Image.new("L", (10, 500), 255)
    assert ocr_tables.chunks(small, strips[:1]) == [(small, 0)]
