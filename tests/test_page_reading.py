"""Reading what is really on the page: text layers judged before they are trusted, scans prepared
before OCR (colour ink, light, skew, right-angle turns), and the `pages` table that says which.

Degraded pages come from tests/resources/degrade.py (seeded, from our own rendered pages). Only the
tests marked `ocr` start Tesseract.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from resources import degrade
from resources import make_fixtures as fx

from extractors.references import extract_references
from pipeline import image_prep, ocr, text_quality
from pipeline.config import RunOptions
from pipeline.document import finish_document, plan_document, process_document
from pipeline.export import TABLE_COLUMNS, result_rows
from pipeline.ingest import triage
from pipeline.legacy_vn import repair_mojibake_aligned
from pipeline.normalize import build_views
from pipeline.types import DocText, PageText, build_lines
from rules import get_rules

AUTO = RunOptions()
PROSE = fx.sample_text(0)[:6000]


# ------------------------------------------------------------------------------ text quality


def test_print_scores_high_and_each_kind_of_garbage_is_named() -> None:
    assert text_quality.measure(PROSE).problem() is None
    assert text_quality.measure(PROSE).score > 0.9
    stripped = text_quality.measure(fx.without_diacritics(PROSE))
    assert stripped.problem() is not None and stripped.problem().startswith("no diacritics")
    mojibake = text_quality.measure(fx.as_mojibake(PROSE))
    assert mojibake.problem() is not None and mojibake.problem().startswith("mojibake")
    old_ocr = "UY BAN NHAN DAN TINH NINH B!NH\nCan cz' Lut Td chi'c chinh quyen dia phu'o'ng ngay 19 thang 6\n" * 4
    assert text_quality.measure(old_ocr).problem() is not None


def test_headings_abbreviations_and_short_pages_are_not_judged_garbage() -> None:
    assert text_quality.measure("UBND; KH; QĐ-TTg; C06; PV01; TTHC; VNeID; iHanoi").problem() is None  # too few words
    caps = "ỦY BAN NHÂN DÂN TỈNH BẮC GIANG CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập Tự do Hạnh phúc " * 3
    assert text_quality.measure(caps).problem() is None
    heading_with_ellipsis = PROSE + "\nỦY BAN NHÂN DÂN XÃ….. \n" * 4  # "XÃ…" is no mojibake
    assert text_quality.measure(heading_with_ellipsis).problem() is None


def test_mojibake_is_repaired_exactly_with_each_character_pointing_into_its_token() -> None:
    original = "Cộng hòa xã hội chủ nghĩa Việt Nam; Kế hoạch số 10/KH-UBND ngày 25/01/2023 đạt 85,29%"
    garbled = fx.as_mojibake(original)
    repaired = repair_mojibake_aligned(garbled)
    assert repaired is not None
    text, spans = repaired
    assert text == original and len(spans) == len(text)
    for ch, (start, end) in zip(text, spans, strict=True):
        if ch.isascii():
            continue
        source = garbled[start:end]
        assert not source.isascii() and " " not in source  # a Vietnamese letter points into its token
    lost = garbled.replace("»", "\ufffd")  # a byte lost on the way: not exact, never guessed
    assert repair_mojibake_aligned(lost) is None


def _drawable(line: str) -> bool:
    """A mojibake line fpdf2 can draw: no C1 control characters (bytes cp1252 leaves undefined)."""
    return not any(0x80 <= ord(c) <= 0x9F for c in fx.as_mojibake(line))


def test_a_hidden_layer_without_diacritics_is_not_trusted(tmp_path: Path) -> None:
    text = "\n".join(PROSE.splitlines()[:30])
    pdf = fx.hidden_layer_scan_pdf(tmp_path / "stripped.pdf", fx.SHORT_PAGE, fx.without_diacritics(text))
    plan = plan_document(triage(pdf), AUTO)
    assert plan.ocr_pages == (1,) and not plan.pages
    (reason,) = [why for n, why in plan.ocr_reasons if n == 1]
    assert "no diacritics" in reason


def test_a_mojibake_layer_is_repaired_and_kept_with_its_boxes(tmp_path: Path) -> None:
    lines = [ln for ln in PROSE.splitlines() if ln.strip() and _drawable(ln)][:25]
    pdf = fx.hidden_layer_scan_pdf(tmp_path / "mojibake.pdf", fx.SHORT_PAGE, fx.as_mojibake("\n".join(lines)))
    plan = plan_document(triage(pdf), AUTO)
    assert plan.ocr_pages == ()
    (page,) = plan.pages
    assert page.read is not None and page.read.source == "repaired" and "mojibake" in page.read.reason
    assert page.method == "pdf-text:utf8-repaired"
    assert [ln.strip() for ln in page.text.splitlines() if ln.strip()] == [unicodedata.normalize("NFC", ln).strip() for ln in lines]
    assert page.boxes is not None and page.bbox_of(0, 10) is not None


def test_a_good_text_layer_says_so_in_the_pages_table(tmp_path: Path) -> None:
    pdf = fx.text_pdf(tmp_path / "good.pdf", PROSE)
    result = process_document(triage(pdf), AUTO)
    rows = result_rows([result])["pages"]
    assert len(rows) == result.info.pages
    assert set(rows[0]) >= set(TABLE_COLUMNS["pages"]) - {"text"}
    first = rows[0]
    assert first["read_source"] == "text-layer" and first["reason"] == "text layer ok"
    assert first["quality"] > 0.9 and first["doc_id"] == result.info.doc_id


# ------------------------------------------------------------------------------ image preparation


def _dot_image(size: tuple[int, int], dot: tuple[int, int]) -> np.ndarray:
    gray = np.full((size[1], size[0]), 255, np.uint8)
    x, y = dot
    gray[y - 3 : y + 4, x - 3 : x + 4] = 0
    return gray


def _dark_centre(gray: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(gray < 100)
    return float(xs.mean()), float(ys.mean())


@pytest.mark.parametrize("angle", [3.0, -2.2, 7.5])
def test_deskew_boxes_map_back_to_the_page_as_scanned(angle: float) -> None:
    original = _dot_image((900, 1200), (700, 200))
    rotated, back = image_prep.rotate(original, angle)
    x, y = _dark_centre(rotated)
    prepared = image_prep.Prepared(Image.fromarray(rotated), (900, 1200), back)
    x0, y0, x1, y1 = prepared.to_original((x - 1, y - 1, x + 1, y + 1))
    assert abs((x0 + x1) / 2 - 700) < 2 and abs((y0 + y1) / 2 - 200) < 2


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_right_angle_turns_map_back_too(degrees: int) -> None:
    original = _dot_image((600, 800), (100, 650))
    prepared = image_prep.Prepared(Image.fromarray(original), (600, 800), image_prep._IDENTITY)
    turned = image_prep.turned(prepared, degrees)
    x, y = _dark_centre(np.asarray(turned.image))
    x0, y0, x1, y1 = turned.to_original((x - 1, y - 1, x + 1, y + 1))
    assert abs((x0 + x1) / 2 - 100) < 2 and abs((y0 + y1) / 2 - 650) < 2
    assert turned.rotation == degrees


def test_skew_is_measured_and_seals_and_blue_ink_are_taken_out(tmp_path: Path) -> None:
    pdf = fx.report_pdf(tmp_path / "report.pdf", fx.sample_text(0))
    clean = degrade.render_pages(pdf, 150)[0]
    skewed = degrade.Condition("skewed", 150, (degrade.red_seal, degrade.skew(2.5))).apply(clean, 6, 0, 1)
    assert abs(image_prep.prepare(skewed).skew - 2.5) <= 0.15  # refined past the Hough step
    stamped = degrade.Condition("stamped", 150, (degrade.red_seal, degrade.blue_ink)).apply(clean, 6, 0, 1)
    prepared = image_prep.prepare(stamped)
    assert prepared.identity and any(s.startswith("colour ink removed") for s in prepared.steps)
    gray = np.asarray(prepared.image)
    print_ = np.asarray(clean.convert("L")) < 60  # the cores of printed strokes
    rgb = np.asarray(stamped).astype(int)
    ink = (rgb.max(axis=2) - rgb.min(axis=2)) > 100  # seal and signature pixels
    assert ink.sum() > 1000
    assert (gray[ink & ~print_] > 160).mean() > 0.95  # the ink fades to paper
    seal = ink & (rgb[:, :, 0] > rgb[:, :, 2] + 50)  # the translucent red seal (the pen is opaque)
    assert (gray[seal & print_] < 128).mean() > 0.9  # print under the seal stays


def test_a_speckled_page_loses_its_lone_specks_and_keeps_every_dot_of_print(tmp_path: Path) -> None:
    pdf = fx.report_pdf(tmp_path / "report.pdf", fx.sample_text(0))
    clean = degrade.render_pages(pdf, 300)[7]  # the services table: small print, "1.091", "ạ"
    faxed = degrade.Condition("speckled", 300, (degrade.speckle(0.0004),), grayscale=True).apply(clean, 6, 0, 1)
    prepared = image_prep.prepare(faxed)
    assert any(s.startswith("despeckled") for s in prepared.steps) and prepared.identity
    gray = np.asarray(prepared.image)
    print_ = np.asarray(clean.convert("L")) < 100
    assert (gray[print_] < 128).mean() > 0.99  # diacritics and thousands dots are all there
    added = (np.asarray(faxed) < 128) & ~(np.asarray(clean.convert("L")) < 200)
    assert (gray[added] > 128).mean() > 0.6  # most specks are gone (those touching print stay)


def test_skew_is_refined_past_the_hough_step(tmp_path: Path) -> None:
    pdf = fx.report_pdf(tmp_path / "report.pdf", fx.sample_text(0))
    table = degrade.render_pages(pdf, 200)[7].convert("L")
    for angle in (0.3, 0.8, -1.35):
        skewed = degrade.skew(angle)(table, None, 0, 1)  # type: ignore[arg-type]
        assert abs(image_prep.measure_skew(np.asarray(skewed)) - angle) <= 0.1, angle


def test_a_photographed_sheet_is_flattened_and_a_scan_never_is(tmp_path: Path) -> None:
    pdf = fx.report_pdf(tmp_path / "report.pdf", fx.sample_text(0))
    clean = degrade.render_pages(pdf, 150)[0]
    photo = degrade.CONDITIONS["photo"].apply(clean, 6, 0, 1)
    prepared = image_prep.prepare(photo)
    assert "sheet flattened (photographed at an angle)" in prepared.steps
    assert abs(prepared.skew) < 0.5  # the sheet's own edges undid the skew
    # the flattened image's corners land on the sheet's corners in the photo, inside the picture
    w, h = prepared.image.size
    x0, y0, _, _ = prepared.to_original((0, 0, 1, 1))
    _, _, x1, y1 = prepared.to_original((w - 2, h - 2, w - 1, h - 1))
    assert 0 < x0 < 0.1 * photo.width and 0 <= y0 < 0.1 * photo.height
    assert 0.9 * photo.width < x1 <= photo.width and 0.9 * photo.height < y1 <= photo.height
    for name in ("clean-300", "skew-cw-3", "office-200", "fax-200", "low-150"):
        scan = degrade.CONDITIONS[name].apply(clean, 6, 0, 1)
        assert not any(s.startswith("sheet") for s in image_prep.prepare(scan).steps), name


def test_an_upright_clean_page_is_left_as_it_is(tmp_path: Path) -> None:
    pdf = fx.report_pdf(tmp_path / "report.pdf", fx.sample_text(0))
    clean = degrade.render_pages(pdf, 150)[0].convert("L")
    prepared = image_prep.prepare(clean)
    assert prepared.identity and prepared.steps == ()


# ------------------------------------------------------------------------------ OCR end to end

CONDITIONS = ("skew-cw-3", "office-200", "photo", "turned")


def _references(pages: list[PageText], path: str) -> set[str]:
    doc = DocText(input=triage(path), format="pdf", pages=tuple(pages), page_count=len(pages))
    return {r.number for r in extract_references(build_views(doc), get_rules()) if r.number}


@pytest.mark.ocr
@pytest.mark.parametrize("name", CONDITIONS)
def test_degraded_scans_give_back_the_references_of_the_clean_page(tmp_path: Path, name: str) -> None:
    pdf = fx.report_pdf(tmp_path / "report.pdf", fx.sample_text(0))
    condition = degrade.CONDITIONS[name]
    clean_pages = degrade.render_pages(pdf, condition.dpi)
    # the first page, as the only page: "turned" turns a document's last page upside down
    scanned = condition.apply(clean_pages[0], 6, 0, 1)
    truth = ocr.ocr_image_page(clean_pages[0].convert("L"), 1, AUTO)
    page = ocr.ocr_image_page(scanned, 1, AUTO)
    expected = _references([truth], str(pdf))
    found = _references([page], str(pdf))
    assert expected and len(found & expected) >= 0.95 * len(expected), (name, expected - found)
    assert page.read is not None
    if name == "turned":
        assert page.read.rotation == 180
    elif name == "photo":
        assert "sheet flattened (photographed at an angle)" in page.read.steps
    else:
        assert abs(page.read.skew) >= 1.0
    assert page.width == scanned.width and page.height == scanned.height
    # every box lies on the page as scanned
    assert all(0 <= b[0] <= b[2] <= scanned.width and 0 <= b[1] <= b[3] <= scanned.height for b in page.boxes if b)


@pytest.mark.ocr
def test_the_pages_table_tells_how_a_scanned_pdf_was_read(tmp_path: Path) -> None:
    pdf = fx.hidden_layer_scan_pdf(tmp_path / "stripped.pdf", fx.SHORT_PAGE, fx.without_diacritics(PROSE[:2500]))
    plan = plan_document(triage(pdf), AUTO)
    pages = [ocr.ocr_image_page(Image.open(fx.png_page(tmp_path / "p.png", fx.SHORT_PAGE, 200)), 1, AUTO, dpi=200.0)]
    result = finish_document(plan, pages, AUTO)
    (row,) = result_rows([result])["pages"]
    assert row["read_source"] == "ocr" and "no diacritics" in row["reason"]
    assert row["dpi"] == 200.0 and row["ocr_confidence"] > 50
    assert "06/QĐ-TTg" in result.pages[0].text


def test_ocr_result_lines_follow_mapped_boxes() -> None:
    text = "Kế hoạch số 10/KH-UBND"
    boxes = tuple((10.0 + i, 20.0, 11.0 + i, 30.0) for i in range(len(text)))
    page = PageText(1, text, "ocr", build_lines(text, boxes), boxes)
    assert page.lines[0].bbox == (10.0, 20.0, 11.0 + len(text) - 1, 30.0)


@pytest.mark.ocr
def test_a_sideways_table_page_is_turned_and_its_cells_read(tmp_path: Path) -> None:
    pdf = fx.report_pdf(tmp_path / "report.pdf", fx.sample_text(0))
    table = degrade.render_pages(pdf, 200)[7]  # the services table, landscape
    sideways = degrade.turn(90, "last")(table, None, 0, 1)  # type: ignore[arg-type]
    page = ocr.ocr_image_page(sideways, 8, AUTO)
    assert page.read is not None and page.read.rotation == 270 and "turned 270°" in page.read.steps
    rows = [page.text[s:e].split("\t") for s, e in page.table_rows]
    numbered = {r[0] for r in rows if r[0].isdigit()}
    assert numbered >= {str(n) for n in range(1, 14)}  # the 13 service rows of this page, cell by cell
    assert ["6", "Thông báo lưu trú", "1.091", "0", "1.091", "100,00%"] in [r[:6] for r in rows]
    assert page.width == sideways.width and page.height == sideways.height
