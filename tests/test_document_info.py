"""Document metadata against the hand-made gold, and the layout rules on variants of the header."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from extractors.document_info import extract_document_info
from pipeline.ingest import triage
from pipeline.normalize import PageView, build_views
from pipeline.plain_text import read_text
from rules import RuleSet

FIELDS = ("doc_type", "own_number", "locality", "issue_date", "period_start", "period_end", "signer", "title")


def test_samples_match_gold_documents_field_by_field(gold_dir: Path, samples: list[Path], rules: RuleSet) -> None:
    gold = [json.loads(x) for x in (gold_dir / "documents.jsonl").read_text(encoding="utf-8").splitlines() if x]
    by_name = {p.name: p for p in samples}
    for record in gold:
        fields = extract_document_info(build_views(read_text(triage(by_name[record["doc"]]))), rules)
        for name in FIELDS:
            assert getattr(fields, name) == record[name], (record["doc"], name)


HEADER = """UBND TỈNH LẠNG SƠN
Số: {number}
{place}, {date}

BÁO CÁO
Kết quả thực hiện Đề án 06 {period}

Nội dung báo cáo.

Nơi nhận:
- Lưu: VT.

KT. CHỦ TỊCH
PHÓ CHỦ TỊCH

Nguyễn Văn An
"""


@pytest.mark.parametrize(
    ("number", "place", "date", "period", "expected"),
    [
        ("125/BC-UBND", "Lạng Sơn", "ngày 05 tháng 3 năm 2024", "quý I/2024",
         ("125/BC-UBND", "Lạng Sơn", "2024-03-05", "2024-01-01", "2024-03-31")),
        ("  /BC-UBND", "Lạng Sơn", "ngày    tháng 3 năm 2024", "tháng 02/2024",
         (None, "Lạng Sơn", None, "2024-02-01", "2024-02-29")),
        ("07 /BC-TCT", "Thành phố Hồ Chí Minh", "ngày 30/6/2023", "6 tháng cuối năm 2023",
         ("07/BC-TCT", "Hồ Chí Minh", "2023-06-30", "2023-07-01", "2023-12-31")),
        ("9/BC", "Lạng Sơn", "ngày 1 tháng 1 năm 2025", "(từ ngày 15/11/2024 đến ngày 14/12/2024)",
         ("9/BC", "Lạng Sơn", "2025-01-01", "2024-11-15", "2024-12-14")),
    ],
    ids=["quarter", "blank-number-and-day", "numeric-date-half-year", "explicit-range"],
)
def test_header_variants(
    make_view: Callable[[str], PageView],
    rules: RuleSet,
    number: str,
    place: str,
    date: str,
    period: str,
    expected: tuple[str | None, ...],
) -> None:
    view = make_view(HEADER.format(number=number, place=place, date=date, period=period))
    fields = extract_document_info([view], rules)
    got = (fields.own_number, fields.locality, fields.issue_date, fields.period_start, fields.period_end)
    assert got == expected
    assert fields.doc_type == "BÁO CÁO"
    assert fields.signer == "Nguyễn Văn An"
    assert fields.title == f"Kết quả thực hiện Đề án 06 {period}"


WEB_PAGE = """Trang chủ | Văn bản pháp luật | Đăng nhập
{chrome}
|
**ỦY BAN NHÂN DÂN
TỈNH {province}**
-------
|
**CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc**
---------------
|
|
Số:
{number}
|
*{place_date}*
|

**KẾ HOẠCH**
**Triển khai Đề án 06 năm 2026**

Căn cứ Quyết định số 06/QĐ-TTg ngày 06/01/2022 của Thủ tướng Chính phủ;
"""


@pytest.mark.parametrize(
    ("place_date", "expected"),
    [
        ("Lai Châu, ngày\n19 tháng 11 năm 2025", ("Lai Châu", "2025-11-19")),
        ("Hà Nội, ngày 20\ntháng 11 năm 2025 ", ("Hà Nội", "2025-11-20")),
        ("Quảng\nTrị, ngày 27 tháng 11 năm 2025", ("Quảng Trị", "2025-11-27")),
        ("Hà Nội ngày 01\ntháng 12 năm 2025", ("Hà Nội", "2025-12-01")),
        ("Hà Nội, ngày **24** tháng** 11** năm 2025", ("Hà Nội", "2025-11-24")),
        ("Huế,\nngày 21 tháng 11 năm 2025", ("Huế", "2025-11-21")),
        ("Lạng Sơn, ngày   tháng 11 năm 2025", ("Lạng Sơn", None)),
    ],
    ids=["day-wrapped", "month-wrapped", "place-wrapped", "no-comma", "bold-markup", "after-comma", "blank-day"],
)
def test_web_page_headers_wrapped_and_after_site_chrome(
    make_view: Callable[[str], PageView], rules: RuleSet, place_date: str, expected: tuple[str, str | None]
) -> None:
    chrome = "\n".join(f"Tin tức {n}: Hội nghị ngày {n} tháng 11 năm 2025" for n in range(1, 45))  # > 40 lines
    text = WEB_PAGE.format(chrome=chrome, province="LAI CHÂU", number="87/2025/KH-UBND", place_date=place_date)
    fields = extract_document_info([make_view(text)], rules)
    assert (fields.locality, fields.issue_date) == expected
    assert fields.own_number == "87/2025/KH-UBND"
    assert fields.doc_type == "KẾ HOẠCH"


def test_a_cited_document_date_is_not_the_header_date(make_view: Callable[[str], PageView], rules: RuleSet) -> None:
    text = "KẾ HOẠCH\nThực hiện Quyết định số 06/QĐ-TTg ngày 06/01/2022 của Thủ tướng\n"
    fields = extract_document_info([make_view(text)], rules)
    assert (fields.locality, fields.issue_date) == (None, None)  # "TTg ngày …" names no place "Tg"
