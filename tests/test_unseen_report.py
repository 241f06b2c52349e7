"""A report written for the tests in another province's style (not a sample, not in the gold):
header with the place on its own line, the signature after the appendix, a service table with
other headers, a rate column and a totals row, references without "số"."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.document import process_document
from pipeline.types import DocumentResult

REPORT = Path(__file__).with_name("resources") / "unseen_nghe_an.md"


@pytest.fixture(scope="module")
def result() -> DocumentResult:
    return process_document(REPORT)


def test_metadata(result: DocumentResult) -> None:
    info = result.info
    assert (info.doc_type, info.own_number, info.locality, info.issue_date) == (
        "BÁO CÁO", "112/BC-TCT", "Nghệ An", "2024-04-05")
    assert (info.period_start, info.period_end) == ("2024-02-15", "2024-03-14")
    assert info.signer == "Trần Văn Hùng"
    assert info.title == "Kết quả triển khai Đề án 06 tháng 3 năm 2024"


def test_references(result: DocumentResult) -> None:
    got = {(r.type, r.number, r.date, r.issuer, r.issuer_source) for r in result.references}
    assert got == {
        ("Chỉ thị", "04/CT-TTg", "2024-02-11", "Thủ tướng Chính phủ", "explicit"),
        ("Kế hoạch", "410/KH-UBND", "2023-06-27", "UBND tỉnh", "explicit"),
        ("Nghị định", "59/2022/NĐ-CP", "2022-09-05", "Chính phủ", "explicit"),
        ("Công văn", "455/STTTT-CNTT", "2024-03-01", "Sở Thông tin và Truyền thông", "symbol"),
    }


def test_figures(result: DocumentResult) -> None:
    got = {(f.prov.text, f.value, f.kind, f.unit) for f in result.figures}
    assert ("2.845.112", 2845112.0, "count", "hồ sơ") in got
    assert ("98,7%", 98.7, "percent", "%") in got
    assert ("12.004/15.230", 12004.0, "ratio", "hồ sơ") in got
    assert ("1.250.000.000", 1250000000.0, "money", "đồng") in got
    assert not any(f.prov.text in ("04", "410", "59", "2024") for f in result.figures)
    as_of = {f.prov.text: f.as_of for f in result.figures}
    assert as_of["2.845.112"] == "2024-03-14"


def test_services_and_findings(result: DocumentResult) -> None:
    rows = {(s.service_id, s.source_kind, s.total, s.online, s.rate_reported) for s in result.services}
    assert (3, "narrative", 5001.0, 4210.0, None) in rows  # "Đăng ký thường trú: 4.210/5.001 hồ sơ"
    assert (6, "narrative", 22567.0, None, None) in rows  # "Thông báo lưu trú (22.567 hồ sơ)"
    assert (9, "table", 1200.0, 1150.0, 95.83) in rows
    assert (20, "table", 800.0, 420.0, 52.5) in rows
    unmatched = [s for s in result.services if s.service_id is None]
    assert len(unmatched) == 1 and "unmatched" in unmatched[0].flags
    kinds = sorted(f.kind for f in result.findings)
    assert kinds == ["unmatched"]  # the totals row adds up; a rate column is never summed
