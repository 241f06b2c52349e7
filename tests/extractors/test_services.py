"""Service rows from tables and prose, catalogue matching, cross-checks, and the gold measurement."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from extractors.service_catalog import diacritic_typo, load_catalog
from extractors.services import (
    apply_service_crosschecks,
    extract_service_rows,
    extract_table_rows,
    find_period,
    service_findings,
)
from pipeline.normalize import PageView, build_view
from pipeline.types import PageText, build_lines
from rules import RuleSet

Views = Callable[[str], tuple[PageView, ...]]


@pytest.fixture
def views() -> Views:
    def make(text: str) -> tuple[PageView, ...]:
        page = PageText(page=1, text=text, method="text", lines=build_lines(text))
        return (build_view("d" * 12, "snippet.txt", page),)

    return make


# ------------------------------------------------------------------------------ prose rows

PROSE = [
    ("+ Cấp lại, đổi thẻ CCCD: 399/587 hồ sơ", [(2, "Cấp lại, đổi thẻ CCCD", {"online": 399, "total": 587})]),
    ("+ Đăng ký, cấp biển số mô tô, xe gắn máy: 1.512/1.546 hồ sơ",
     [(7, "Đăng ký, cấp biển số mô tô, xe gắn máy", {"online": 1512, "total": 1546})]),
    ("Có 02 dịch vụ phát sinh hồ sơ: dịch vụ Thông báo lưu trú (18.057 hồ sơ) và Đăng ký thuế lần đầu (28 hồ sơ).",
     [(6, "Thông báo lưu trú", {"total": 18057}), (18, "Đăng ký thuế lần đầu", {"total": 28})]),
    ("- Các TTHC có tỷ lệ cao: Khai báo tạm vắng (100%); Cấp lại, đổi thẻ CCCD (3,28%).",
     [(5, "Khai báo tạm vắng", {"rate_reported": 100.0}), (2, "Cấp lại, đổi thẻ CCCD", {"rate_reported": 3.28})]),
    ("- Có 01 dịch vụ công: Cấp đổi, cấp lại giấy phép lái xe (đạt 54,05%) chưa đạt yêu cầu.",
     [(20, "Cấp đổi, cấp lại giấy phép lái xe", {"rate_reported": 54.05})]),
    ("+ Làm con dấu thu nhỏ, dấu nổi, dấu xi và cấp Giấy chứng nhận đã đăng ký mẫu con dấu: 0 hồ sơ.",
     [(14, "Làm con dấu thu nhỏ, dấu nổi, dấu xi và cấp Giấy chứng nhận đã đăng ký mẫu con dấu", {"total": 0})]),
    ("+ Đăng ký mẫu con dấu mới và Đăng ký lại mẫu con dấu: 11/11 hồ sơ",
     [(13, "Đăng ký mẫu con dấu mới và Đăng ký lại mẫu con dấu", {"online": 11, "total": 11})]),
    ("Trong tháng, đã tiếp nhận 42.328 trường hợp (trong đó nộp trực tuyến 36.100 trường hợp đạt 85,29%).", []),
    ("- Sở Y tế đã triển khai 23/23 (100%) cơ quan, đơn vị trực thuộc.", []),
    ("+ Điều chỉnh thông tin hộ không có chủ hộ: Đã thực hiện 14/14 TH.", []),
]


@pytest.mark.parametrize(("text", "expected"), PROSE, ids=[t[:40] for t, _ in PROSE])
def test_prose_rows(views: Views, rules: RuleSet, text: str, expected: list[tuple[int, str, dict[str, float]]]) -> None:
    rows = extract_service_rows(views(text), rules)
    got = [(r.service_id, r.name_text, {k: getattr(r, k) for k in e}) for r, (_, _, e) in zip(rows, expected, strict=False)]
    assert len(rows) == len(expected)
    assert got == expected
    for r in rows:
        assert r.source_kind == "narrative"
        assert text[r.prov.char_start : r.prov.char_end] == r.prov.text
        assert r.prov.text.startswith(r.name_text)


def test_name_and_count_on_separate_paragraphs(views: Views, rules: RuleSet) -> None:
    text = (
        "2.3. Kết quả thực hiện Dịch vụ công (theo Quyết định số 422/QĐ-TTg) (Từ 16/01/2024 đến 15/02/2024)\n"
        "- Mở rộng việc kết nối, chia sẻ dữ liệu dân cư để thực hiện các dịch vụ cung cấp điện còn lại:\n\n"
        "4/4 hồ sơ\n"
        "- Thanh toán viện phí: 73/73"
    )
    rows = extract_service_rows(views(text), rules)
    assert [(r.catalog, r.service_id, r.total, r.prov.line) for r in rows] == [("422", None, 4, 2), ("422", None, 73, 5)]
    assert rows[0].period_start == "2024-01-16" and rows[0].period_end == "2024-02-15"


def test_unmatched_row_in_a_service_section_is_kept_and_flagged(views: Views, rules: RuleSet) -> None:
    text = "2.2. Kết quả triển khai dịch vụ công\n+ Cấp giấy phép khai thác thủy sản biển xa bờ: 3/5 hồ sơ"
    (row,) = extract_service_rows(views(text), rules)
    assert row.service_id is None and row.service_name is None
    assert "unmatched" in row.flags and (row.online, row.total) == (3, 5)


# ------------------------------------------------------------------------------ table rows

HEADER_2LEVEL = (
    "STT\tTên thủ tục hành chính\tSố lượng công dân, doanh nghiệp thực hiện thủ tục\t\t\t\t"
    "Hồ sơ DVC được giải quyết\t\tHồ sơ không được tiếp nhận\t\tGhi chú\n"
    "\t\tNộp trực tuyến\t\tTổng số tiếp nhận (cả trực tuyến và trực tiếp)\t% tiếp nhận qua DVC\t"
    "Đúng hạn\tQuá hạn\tTổng số\tLý do không tiếp nhận\t\n"
    "\t\tCông dân\tDoanh nghiệp\t\t\t\t\t\t\t\n"
)


@pytest.mark.parametrize(
    ("row", "expected", "flags"),
    [
        ("1\tXác nhận số Chứng minh nhân dân khi đã được cấp thẻ CCCD\t13\t0\t13\t100,00%\t13\t0\t0\t\tx",
         {"service_id": 1, "online_citizen": 13, "online_business": 0, "online": 13, "total": 13,
          "rate_reported": 100.0, "on_time": 13, "overdue": 0, "rejected": 0}, ()),
        ("11\tĐăng ký kết hôn\t1.408\t0\t1.669\t84,36%\t5.104\t2\t\t\t",
         {"service_id": 11, "total": 1669, "on_time": 5104, "rejected": None}, ("on_time_exceeds_total",)),
        ("14\tThủ tục làm con dấu thu nhỏ\t0\t0\t0\t#DIV/0!\t0\t0\t\t\t", {"service_id": 14, "rate_reported": None}, ("div0",)),
        ("15\tLiên thông đăng ký khai sinh đăng ký thường trú - cấp thẻ bảo hiểm y tế cho trẻ dưới 6 tuổi"
         "\t4.376\t20\t4.856\t90,12%\t4.816\t0\t\t\t", {"service_id": 15, "online": 4396}, ("rate_mismatch",)),
        ("19\tĐăng ký biến động về quyền sử dụng đất\t0\t0\t0\t0,00%\t0\t0\t\t\t", {"service_id": 19},
         ("zero_total_rate_reported",)),
        ("25\tThay đổi chủ thẻ hợp đồng mua bán điện\t998\t23\t1.107\t92,23%\t1.107\t0\t\t\t",
         {"service_id": 25, "online": 1021}, ("name_typo",)),
        ("26\tCấp giấy phép khai thác thủy sản\t5\t0\t10\t50,00%\t10\t0\t\t\t", {"service_id": None, "total": 10},
         ("unmatched",)),
    ],
    ids=["plain", "on_time_exceeds_total", "div0", "rate_mismatch", "zero_total", "name_typo", "unmatched"],
)
def test_two_level_header_table(views: Views, rules: RuleSet, row: str, expected: dict[str, Any], flags: tuple[str, ...]) -> None:
    text = "Phụ lục I\nKẾT QUẢ THỰC HIỆN 25 DỊCH VỤ CÔNG THIẾT YẾU\n(Từ ngày 16/01/2023 đến ngày 15/02/2023)\n\n" + HEADER_2LEVEL + row
    (rec,) = extract_service_rows(views(text), rules)
    assert rec.source_kind == "table"
    assert {k: getattr(rec, k) for k in expected} == expected
    assert rec.flags == flags
    assert (rec.period_start, rec.period_end) == ("2023-01-16", "2023-02-15")
    assert rec.prov.line == 8


def test_catalogue_table_has_level_and_agency(views: Views, rules: RuleSet) -> None:
    text = (
        "TT\tThủ tục hành chính\tCấp độ\tCơ quan thực hiện\n"
        "9\tĐăng ký khai sinh\t3\tCông an tỉnh\n"
        "20\tCấp đổi, cấp lại giấy phép lái xe\t4\tSở Giao thông vận tải"
    )
    rows = extract_service_rows(views(text), rules)
    assert [(r.source_kind, r.service_id, r.level, r.agency, r.flags) for r in rows] == [
        ("catalog", 9, 3, "Công an tỉnh", ("agency_unexpected",)),
        ("catalog", 20, 4, "Sở Giao thông vận tải", ()),
    ]


def test_group_and_totals_rows_are_not_services_and_422_caption(views: Views, rules: RuleSet) -> None:
    text = (
        "KẾT QUẢ TRIỂN KHAI DVC THEO QUYẾT ĐỊNH 422/QĐ-TTg ngày 04/04/2022\n"
        "STT\tDịch vụ công trực tuyến\tĐơn vị thực hiện\tTổng số hồ sơ\t\t\n"
        "\t\t\tTổng số hồ sơ\tTiếp nhận hồ sơ trực tuyến\tTỷ lệ %\n"
        "I. NHÓM DỊCH VỤ CÔNG THIẾT YẾU CỦA CÁ NHÂN\t\t\t\t\t\n"
        "1\tXác nhận thông tin về cư trú\tCông an\t193\t193\t100%\n"
        "2\tĐăng ký khai sinh\tTư pháp\t0\t0\t-\n"
        "Tổng\t\t\t193\t190\t100%"
    )
    rows = extract_service_rows(views(text), rules)
    assert [(r.catalog, r.service_id, r.total, r.online, r.rate_reported, r.flags) for r in rows] == [
        ("422", None, 193, 193, 100.0, ()),
        ("25", 9, 0, 0, None, ("div0",)),
    ]
    tables = extract_table_rows(views(text), rules)
    assert [t.is_header for t in tables] == [True, True, False, False, False, False]
    assert tables[0].table_title and "422" in tables[0].table_title
    assert dict(tables[3].cells)["Tổng số hồ sơ / Tiếp nhận hồ sơ trực tuyến"] == "193"
    ids = [replace(t, id=f"X{i}") for i, t in enumerate(tables)]
    (finding,) = [f for f in service_findings([], ids) if f.kind == "sum_mismatch"]
    assert "190" in finding.message and finding.record_ids[0] == "X5"


def test_repeated_header_is_dropped(views: Views, rules: RuleSet) -> None:
    text = (
        "TT\tThủ tục hành chính\tCấp độ\n1\tĐăng ký thường trú\t4\n\n"
        "TT\tThủ tục hành chính\tCấp độ\n2\tĐăng ký tạm trú\t4"
    )
    tables = extract_table_rows(views(text), rules)
    assert [(t.table_id, t.row_index, t.is_header, t.prov.line) for t in tables] == [
        ("t1", 0, True, 1), ("t1", 1, False, 2), ("t1", 2, False, 5)]


def _page(number: int, text: str) -> PageView:
    return build_view("p" * 12, "x.pdf", PageText(page=number, text=text, method="pdf-text", lines=build_lines(text)))


def test_table_across_pages_with_repeated_header_and_wrapped_row(rules: RuleSet) -> None:
    header = "STT\tTên thủ tục hành chính\tTổng số hồ sơ\tTỷ lệ"
    page1 = f"Phụ lục I\n{header}\n1\tĐăng ký thường trú\t10\t100%\n2\tĐăng ký, cấp biển số mô tô,\t\t"
    page2 = f"{header}\n\txe gắn máy\t20\t95%\n3\tĐăng ký tạm trú\t5\t100%"
    views = (_page(1, page1), _page(2, page2))
    rows = extract_table_rows(views, rules)
    assert [(r.prov.page, r.row_index, r.is_header) for r in rows] == [(1, 0, True), (1, 1, False), (1, 2, False), (2, 3, False)]
    wrapped = rows[2]
    assert dict(wrapped.cells)["Tên thủ tục hành chính"] == "Đăng ký, cấp biển số mô tô, xe gắn máy"
    assert [p.page for p in wrapped.continued_from] == [2]
    services = extract_service_rows(views, rules)
    assert [(s.service_id, s.total, s.prov.page) for s in services] == [(3, 10, 1), (7, 20, 1), (4, 5, 2)]


def test_ocr_noise_under_a_scanned_table_does_not_end_it_before_the_page_break(rules: RuleSet) -> None:
    header = "STT\tTên thủ tục hành chính\tTổng số hồ sơ\tTỷ lệ"
    junk = '.—.————_=g —... ` "— —\nị\n|\nsã\nŨ'  # rule remnants and border specks, as OCR reads them
    page1 = f"{header}\n1\tĐăng ký thường trú\t10\t100%\n2\tĐăng ký tạm trú\t5\t100%\n{junk}"
    page2 = "3\tĐăng ký khai sinh\t7\t90%\n4\tĐăng ký khai tử\t2\t50%"
    services = extract_service_rows((_page(1, page1), _page(2, page2)), rules)
    assert [(s.service_id, s.total, s.prov.page) for s in services] == [(3, 10, 1), (4, 5, 1), (9, 7, 2), (10, 2, 2)]
    prose = f"{header}\n1\tĐăng ký thường trú\t10\t100%\nTrên đây là báo cáo kết quả thực hiện."
    ended = extract_service_rows((_page(1, prose), _page(2, page2)), rules)
    assert [s.prov.page for s in ended] == [1]  # prose still ends a table


# --------------------------------------------------------------------------- catalogue matching


@pytest.mark.parametrize(
    ("text", "service_id", "typo"),
    [
        ("Đăng ký mẫu con dấu mới và Đăng ký lại mẫu con dấu", 13, False),
        ("Thu tiền nộp phạt nguội", 8, False),
        ("Cấp lại, đổi thẻ CCCD", 2, False),
        ("Thay đổi chủ thẻ hợp đồng mua bán điện", 25, True),
        ("Đăng kí dự thi tốt nghiệp Trung học phổ thông Quốc gia và xét tuyển đại học, cao đẳng", 21, False),
        ("Dang ky tam tru", 4, False),  # diacritics lost (OCR, ASCII export)
        ("Đăng ký thường trù", 3, True),  # one mark wrong
        ("Cấp phiếu lý lich tư pháp", 22, True),
        ("Liên thông “Đăng ký khai tử, xóa đăng ký thường trú; hỗ trợ chi phí mai táng, trợ cấp mai táng”", 16, False),
    ],
)
def test_catalogue_matching(rules: RuleSet, text: str, service_id: int, typo: bool) -> None:
    m = load_catalog(rules).match(text)
    assert m.entry is not None and m.entry.service_id == service_id and m.score >= 85
    assert m.typo is typo


def test_diacritic_typo_is_not_spelling_variant() -> None:
    assert diacritic_typo("chủ thẻ", "chủ thể")
    assert not diacritic_typo("Đăng kí", "Đăng ký")
    assert not diacritic_typo("Đăng ký", "Đăng ký")


def test_find_period() -> None:
    assert find_period("(Từ ngày 05/6/2024 đến 05/7/2024)") == ("2024-06-05", "2024-07-05")
    assert find_period("2.2.2. Kết quả (từ 16/01/2023 đến 15/02/2024)") == ("2023-01-16", "2024-02-15")
    assert find_period("Kèm theo Báo cáo số 287 ngày 12/7/2024") is None


def test_conflict_between_prose_and_table(views: Views, rules: RuleSet) -> None:
    text = (
        "- Có 01 dịch vụ công: Cấp lại, đổi thẻ CCCD (3,28%) chưa đạt.\n"
        "- Khai báo tạm vắng (100%).\n\n"
        "STT\tTên thủ tục hành chính\tTổng số hồ sơ\tTiếp nhận trực tuyến\tTỷ lệ\n"
        "2\tCấp lại, đổi thẻ CCCD\t2.208\t349\t15,81%\n"
        "5\tKhai báo tạm vắng\t9\t9\t100,00%"
    )
    rows = [replace(r, id=f"S{i}") for i, r in enumerate(extract_service_rows(views(text), rules))]
    updated, findings = apply_service_crosschecks(rows)
    flagged = [(r.id, r.source_kind, r.service_id) for r in updated if "conflicts_with_table" in r.flags]
    assert flagged == [("S2", "narrative", 2)]
    assert [f.record_ids for f in findings] == [("S2", "S0")]
    assert [r.id for r in updated] == [r.id for r in rows]
    all_findings = service_findings(updated, [])
    assert [f.kind for f in all_findings] == ["conflicts_with_table"]


# ------------------------------------------------------------------------------- gold measurement

NUMERIC = ("total", "online", "online_citizen", "online_business", "rate_reported", "on_time", "overdue", "rejected", "level")


def _collapse(text: str) -> str:
    return " ".join(text.split())


def measure(gold: list[dict[str, Any]], predicted: dict[str, list[Any]]) -> dict[str, Any]:
    """SPEC matching: same doc, service id + source kind (null id: also the name), lines ±2."""
    used: set[int] = set()
    pairs: list[tuple[dict[str, Any], Any]] = []
    missed: list[dict[str, Any]] = []
    for g in gold:
        cands = [
            (abs(r.prov.line - g["line"]), id(r), r)
            for r in predicted.get(g["doc"], [])
            if id(r) not in used and r.service_id == g["service_id"] and r.source_kind == g["source"]
            and abs(r.prov.line - g["line"]) <= 2
            and (g["service_id"] is not None or _collapse(r.name_text) == _collapse(g["name"]))
        ]
        if not cands:
            missed.append(g)
            continue
        _, key, best = min(cands, key=lambda c: c[0])
        used.add(key)
        pairs.append((g, best))
    n_pred = sum(len(v) for v in predicted.values())
    cells = [(g.get(f), getattr(r, f)) for g, r in pairs for f in NUMERIC if f in g]
    right = sum(1 for a, b in cells if (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-6))
    gold_flags = [(f, r) for g, r in pairs for f in g["flags"]]
    narrative = [g for g in gold if g["source"] == "narrative"]
    return {
        "recall": len(pairs) / len(gold),
        "precision": len(pairs) / n_pred if n_pred else 0.0,
        "numeric": right / len(cells) if cells else 1.0,
        "flag_recall": sum(1 for f, r in gold_flags if f in r.flags) / len(gold_flags) if gold_flags else 1.0,
        "narrative_recall": sum(1 for g, _ in pairs if g["source"] == "narrative") / len(narrative),
        "table_missed": [(g["doc"], g["line"]) for g in missed if g["source"] != "narrative"],
        "missed": [(g["doc"], g["line"], g["service_id"]) for g in missed],
        "wrong_cells": [(g["doc"], g["line"], f, g.get(f), getattr(r, f)) for g, r in pairs for f in NUMERIC
                        if f in g and not ((g.get(f) is None and getattr(r, f) is None)
                                           or (g.get(f) is not None and getattr(r, f) is not None
                                               and abs(g[f] - getattr(r, f)) < 1e-6))],
        "missed_flags": [(g["doc"], g["line"], f) for g, r in pairs for f in g["flags"] if f not in r.flags],
    }


def test_gold_quality_bar(gold_dir: Path, samples: list[Path], rules: RuleSet) -> None:
    from pipeline.ingest import triage
    from pipeline.normalize import build_views
    from pipeline.plain_text import read_text

    gold = [json.loads(x) for x in (gold_dir / "services.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    predicted: dict[str, list[Any]] = {}
    for path in samples:
        views = build_views(read_text(triage(str(path))))
        rows = [replace(r, id=f"S{i:04d}") for i, r in enumerate(extract_service_rows(views, rules))]
        predicted[path.name], _ = apply_service_crosschecks(rows)
    report = measure(gold, predicted)
    print(json.dumps({k: v for k, v in report.items() if not isinstance(v, list) or v}, ensure_ascii=False))
    assert report["table_missed"] == []
    assert report["numeric"] >= 0.99, report["wrong_cells"]
    assert report["narrative_recall"] >= 0.95, report["missed"]
    assert report["flag_recall"] == 1.0, report["missed_flags"]
    assert report["precision"] >= 0.95


def test_a_row_cut_by_a_page_break_is_read_from_both_pages(rules: RuleSet) -> None:
    from pipeline.normalize import build_view
    from pipeline.types import PageText, build_lines

    def page(n: int, text: str) -> PageText:
        return PageText(page=n, text=text, method="pdf-text", lines=build_lines(text))

    first = "- Các TTHC có tỷ lệ trực tuyến cao: Đăng ký thường trú (94,87%); Đăng ký tạm\n"
    second = "trú (98,95%); Đăng ký khai sinh (90,12%).\n"
    views = [build_view("d" * 12, "x.pdf", page(1, first)), build_view("d" * 12, "x.pdf", page(2, second))]
    rows = {(r.service_id, r.rate_reported, r.prov.page, r.name_text) for r in extract_service_rows(views, rules)}
    assert (4, 98.95, 1, "Đăng ký tạm trú") in rows  # the name's page holds the row
    assert (3, 94.87, 1, "Đăng ký thường trú") in rows
    assert (9, 90.12, 2, "Đăng ký khai sinh") in rows
    assert len(rows) == 3
