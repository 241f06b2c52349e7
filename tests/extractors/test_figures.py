"""Figure extractor: real phrases from Đề án 06 reports, the not-figure cases, the ratio/percent
finding, a no-crash property, and the dev measurement against shared/gold/figures.jsonl.

Run `python tests/extractors/test_figures.py` to print the gold measurement and its misses.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # allow running this file as a script
    sys.path.insert(0, str(ROOT))

from extractors.figures import extract_figures, ratio_percent_findings  # noqa: E402
from pipeline.normalize import build_views  # noqa: E402
from pipeline.types import DocText, FigureRecord, InputFile, PageText, build_lines  # noqa: E402
from rules import get_rules  # noqa: E402

RULES = get_rules()
GOLD = ROOT.parent / "shared" / "gold" / "figures.jsonl"
SAMPLES = ROOT / "corpus" / "samples"


def figures_of(text: str) -> list[FigureRecord]:
    """Figures of a one-page text document (no file on disk needed)."""
    page = PageText(1, text, "text", build_lines(text))
    doc = DocText(InputFile("/mem.txt", "mem.txt", "0" * 64, len(text), "text"), "text", (page,))
    return extract_figures(build_views(doc), RULES)


def only(text: str) -> FigureRecord:
    found = figures_of(text)
    assert len(found) == 1, [(r.prov.text, r.kind) for r in found]
    return found[0]


@pytest.mark.parametrize(
    ("text", "span", "value", "kind", "unit"),
    [
        ("Đã thu nhận được 1.657.621 hồ sơ cấp CCCD.", "1.657.621", 1657621.0, "count", "hồ sơ"),
        ("Xây dựng 05 bài trên Báo Bắc Giang.", "05", 5.0, "count", "bài"),
        ("Trong tháng, đã tiếp nhận 36.100 trường hợp.", "36.100", 36100.0, "count", "trường hợp"),
        ("trả cho công dân 1.557.842 thẻ CCCD.", "1.557.842", 1557842.0, "count", "thẻ"),
        ("Tổng số 117 TH.", "117", 117.0, "count", "TH"),
        ("đã hoàn thành 0 hồ sơ.", "0", 0.0, "count", "hồ sơ"),
        ("còn 04 huyện, thành phố chưa kết nối.", "04", 4.0, "count", "huyện, thành phố"),
        ("thu hút hơn 168.218 công dân.", "168.218", 168218.0, "count", "công dân"),
        ("thu nhận 300.307 hồ\n\nsơ cấp CCCD.", "300.307", 300307.0, "count", "hồ sơ"),
        ("cấp huyện: 214; cấp xã: 5 lượt.", "214", 214.0, "count", None),
        ("trong đó nộp trực tuyến đạt 85,29%.", "85,29%", 85.29, "percent", "%"),
        ("đến nay đạt 42,9 % kế hoạch.", "42,9 %", 42.9, "percent", "%"),
        ("đạt khoảng 98.9% tổng số.", "98.9%", 98.9, "percent", "%"),
        ("chiếm khoảng 1.1% tổng số.", "1.1%", 1.1, "percent", "%"),
        ("Cấp lại, đổi thẻ CCCD: 399/587 hồ sơ", "399/587", 399.0, "ratio", "hồ sơ"),
        ("Đã có tổng số 26/30 đơn vị cơ sở khám chữa bệnh.", "26/30", 26.0, "ratio", "đơn vị"),
        ("Sở Y tế đã triển khai 23/23 (100%) cơ quan, đơn vị.", "23/23", 23.0, "ratio", "cơ quan, đơn vị"),
        ("Đăng ký thường trú: 1229/1229 hồ sơ", "1229/1229", 1229.0, "ratio", "hồ sơ"),
        ("Thanh toán viện phí: 73/73", "73/73", 73.0, "ratio", None),
        ("(257 lượt/773 lượt phát sinh thu)", "257 lượt/773 lượt", 257.0, "ratio", "lượt"),
        ("tổng số tiền chi trả là: 520.001.000đ).", "520.001.000đ", 520001000.0, "money", "đồng"),
        ("với tổng số tiền 1.584.779.000 đồng.", "1.584.779.000", 1584779000.0, "money", "đồng"),
        ("kinh phí 1,5 tỷ đồng.", "1,5", 1.5e9, "money", "đồng"),
        ("thực hiện nghiêm túc 25/25 Dịch vụ công thiết yếu", "25/25", 25.0, "ratio", "Dịch vụ công"),
        ("Tổng số 18.407 hồ sơ tiếp nhận.", "18.407", 18407.0, "count", "hồ sơ"),
        # OCR noise and wrapped lines
        ("Đã cấp 3415] hồ sơ cấp CCCD.", "3415", 3415.0, "count", "hồ sơ"),
        ("tỷ lệ đạt !00% kế hoạch", "!00%", 100.0, "percent", "%"),
        ("tiếp nhận 36,100 trường hợp", "36,100", 36100.0, "count", "trường hợp"),
        ("tổng số tiền 520.001.000d.", "520.001.000d", 520001000.0, "money", "đồng"),
        ("hơn 1,2 triệu thẻ CCCD", "1,2", 1.2e6, "count", "thẻ"),
    ],
)
def test_figure_phrases(text: str, span: str, value: float, kind: str, unit: str | None) -> None:
    found = [r for r in figures_of(text) if r.prov.text == span]
    assert found, [r.prov.text for r in figures_of(text)]
    r = found[0]
    absolute = r.value_abs if r.kind in ("count", "money") else r.value
    assert (absolute, r.kind, r.unit) == (pytest.approx(value), kind, unit)
    assert text[r.prov.char_start : r.prov.char_end] == span


@pytest.mark.parametrize(
    ("text", "span", "value", "scale", "value_abs", "unit"),
    [
        ("cấp 1,5 triệu thẻ CCCD", "1,5", 1.5, 1e6, 1.5e6, "thẻ"),
        ("kim ngạch đạt 2,6 tỷ USD.", "2,6", 2.6, 1e9, 2.6e9, "USD"),
        ("dự toán 88.000 triệu đồng.", "88.000", 88000.0, 1e6, 8.8e10, "đồng"),
        ("thu ngân sách 51 nghìn tỷ đồng.", "51", 51.0, 1e12, 5.1e13, "đồng"),
        ("với tổng số tiền 1.584.779.000 đồng.", "1.584.779.000", 1584779000.0, None, 1584779000.0, "đồng"),
    ],
)
def test_magnitude_words_keep_the_value_as_written(
    text: str, span: str, value: float, scale: float | None, value_abs: float, unit: str
) -> None:
    (r,) = [r for r in figures_of(text) if r.prov.text.startswith(span)]
    assert (r.value, r.scale, r.value_abs, r.unit) == (value, scale, pytest.approx(value_abs), unit)


@pytest.mark.parametrize(
    ("text", "span", "role"),
    [
        ("Năm 2024 đã cấp 1.234 thẻ CCCD.", "1.234", "measured"),
        ("Tỷ lệ hồ sơ trực tuyến đạt trên 90%.", "90%", "measured"),
        ("Phấn đấu đến hết năm 2025, tỷ lệ hồ sơ trực tuyến đạt 80%.", "80%", "target"),
        ("Chỉ tiêu: 100% xã có điểm phục vụ.", "100%", "target"),
        ("bảo đảm 95% người dân được cấp CCCD", "95%", "target"),
        ("thiệt hại trên 70% diện tích, hỗ trợ 6.000.000 đồng/ha", "70%", "threshold"),
        ("tài sản có giá trị dưới 200 triệu đồng", "200", "threshold"),
        ("hộ gia đình có từ 3 người trở lên", "3", "threshold"),
    ],
)
def test_a_figure_says_whether_it_is_a_result_a_goal_or_a_bound(text: str, span: str, role: str) -> None:
    (r,) = [r for r in figures_of(text) if r.prov.text == span]
    assert r.role == role


def test_per_one_unit_is_no_count() -> None:
    texts = [r.prov.text for r in figures_of("tài sản có nguyên giá dưới 01 tỷ đồng/01 đơn vị tài sản")]
    assert texts == ["01"] and figures_of("tài sản có nguyên giá dưới 01 tỷ đồng/01 đơn vị tài sản")[0].kind == "money"


@pytest.mark.parametrize(
    "text",
    [
        "Kế hoạch số 10/KH-UBND ngày 25/01/2023 về triển khai",
        "trong tháng 02/2023, cụ thể như sau",
        "dự kiến đến quý II/2025 hoàn thành",
        "giai đoạn 2022 - 2025, tầm nhìn đến năm 2030",
        "Nghị định số 104/2022/NĐ-CP, ngày 21/12/2022 của Chính phủ",
        "Chỉ thị số 26-CT/TU ngày 28/4/2023",
        "Kế hoạch số 693KH-UBND ngày 16/10/2023",
        "Tổ công tác Đề án 06/CP tỉnh; Đề án 06",
        "2.1. Tiếp tục chỉ đạo thực hiện",
        "(1) cập nhật dữ liệu",
        "tại Quảng trường 3/2, các vị trí trung tâm",
        "đoàn kiểm tra của Cục C06, A05, A06 - Bộ Công an",
        "DVC mức độ 3, mức độ 4",
        "Cấp điện mới từ lưới điện hạ áp (220/380V)",
        "Treo pano (kích thước: 2.5m x 4m)",
        "thực hiện 7 phương thức thay thế Sổ hộ khẩu",
        "Kết quả thực hiện 25 Dịch vụ công thiết yếu",
        "cho trẻ em dưới 6 tuổi",
        "Hội nghị sơ kết 06 tháng đầu năm",
        "trong vòng 04 giờ sau khi",
        "nâng cấp lên phiên bản 2.0",
        "số hóa giai đoạn 3,4,5 trên địa bàn",
        "thiếu CMND 9 số",
        "quy định tại Điều 4 Thông tư",
        "Quảng Ngãi, ngày 21 tháng 6 năm 2022",
        "tiêm chủng COVID-19 của Bộ Y tế",
        "Số: 287 /BC-TCTĐA06",
        "tại 27.5.2024 của Bộ trưởng",
        "bộ phận 1 cửa các cấp",
        "Công an tỉnh ban hành văn bản<sup>1</sup> triển khai",
    ],
)
def test_not_figures(text: str) -> None:
    assert [r.prov.text for r in figures_of(text)] == []


def test_table_rows_are_skipped() -> None:
    assert figures_of("1\tĐăng ký thường trú\t1156\t1155\t99,91%") == []


def test_as_of_and_label() -> None:
    text = "- Tính đến ngày 15/02/2023, Công an tỉnh đã thu nhận được 1.657.621 hồ sơ cấp CCCD (cấp mới 5 trường hợp)."
    r = figures_of(text)[0]
    assert r.as_of == "2023-02-15"
    assert r.label == "hồ sơ cấp CCCD thu nhận"


def test_ratio_percent_finding() -> None:
    text = (
        "đó có sử dụng CCCD gắn chip thay BHYT: 27.634/44.101 lượt, đạt 62% (tỷ lệ tăng 11% so với tháng "
        "trước), trong đó: 121/282 cơ sở giáo dục, đạt 42,9 %."
    )
    findings = ratio_percent_findings(figures_of(text))
    assert [(a.prov.text, b.prov.text) for a, b, _ in findings] == [("27.634/44.101", "62%")]
    assert "62.66" in findings[0][2]


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789.,/%-: ()\n\tđhồsơlượtĐề án!OlI")), max_size=120))
def test_arbitrary_text_never_crashes(text: str) -> None:
    for r in figures_of(text):
        assert text[r.prov.char_start : r.prov.char_end] == r.prov.text
        assert r.kind in {"count", "percent", "ratio", "money"}


# ------------------------------------------------------------------------------------------
# dev measurement against the gold (only the lines figures.jsonl covers count)


@dataclass
class GoldReport:
    precision: float
    recall: float
    kind_accuracy: float
    unit_accuracy: float
    not_figure_emitted: float
    misses: list[dict] = field(default_factory=list)
    false_positives: list[FigureRecord] = field(default_factory=list)
    wrong: list[tuple[dict, FigureRecord]] = field(default_factory=list)


def measure(gold_path: Path = GOLD, samples: Path = SAMPLES) -> GoldReport:
    """Match = same doc, line ±2, same value (one-to-one); ambiguous gold is neutral. A not_figure
    counts as emitted when an emitted span overlaps it on its line."""
    from pipeline.ingest import triage
    from pipeline.plain_text import read_text

    gold = [json.loads(x) for x in gold_path.read_text(encoding="utf-8").splitlines() if x.strip()]
    tp = kind_ok = unit_ok = nf_hit = 0
    misses: list[dict] = []
    fps: list[FigureRecord] = []
    wrong: list[tuple[dict, FigureRecord]] = []
    for doc in sorted({g["doc"] for g in gold}):
        path = samples / doc
        records = extract_figures(build_views(read_text(triage(str(path)))), RULES)
        doc_gold = [g for g in gold if g["doc"] == doc]
        lines = {g["line"] for g in doc_gold}
        emitted = [r for r in records if r.prov.line in lines]
        used: set[int] = set()
        for cls in ("figure", "ambiguous"):
            for g in (x for x in doc_gold if x["class"] == cls):
                near = [
                    i
                    for i, r in enumerate(emitted)
                    if i not in used
                    and abs(r.prov.line - g["line"]) <= 2
                    and abs(r.value - g["value"]) < 1e-6
                ]
                if not near:
                    if cls == "figure":
                        misses.append(g)
                    continue
                best = min(near, key=lambda i: abs(emitted[i].prov.line - g["line"]))
                used.add(best)
                if cls == "figure":
                    r = emitted[best]
                    tp += 1
                    kind_ok += r.kind == g["kind"]
                    unit_ok += r.unit == g.get("unit")
                    if r.kind != g["kind"] or r.unit != g.get("unit"):
                        wrong.append((g, r))
        fps += [r for i, r in enumerate(emitted) if i not in used]
        starts = [0]
        for line in path.read_text(encoding="utf-8").split("\n"):
            starts.append(starts[-1] + len(line) + 1)
        for g in (x for x in doc_gold if x["class"] == "not_figure"):
            s, e = starts[g["line"] - 1] + g["start"], starts[g["line"] - 1] + g["end"]
            nf_hit += any(r.prov.char_start < e and s < r.prov.char_end for r in records)
    n_fig = sum(g["class"] == "figure" for g in gold)
    n_nf = sum(g["class"] == "not_figure" for g in gold)
    return GoldReport(
        precision=tp / max(1, tp + len(fps)),
        recall=tp / max(1, n_fig),
        kind_accuracy=kind_ok / max(1, tp),
        unit_accuracy=unit_ok / max(1, tp),
        not_figure_emitted=nf_hit / max(1, n_nf),
        misses=misses,
        false_positives=fps,
        wrong=wrong,
    )


@pytest.mark.skipif(not GOLD.exists() or not SAMPLES.exists(), reason="shared gold or samples not available")
def test_quality_bar_on_gold() -> None:
    report = measure()
    assert report.precision >= 0.97, [(r.prov.line, r.prov.text) for r in report.false_positives]
    assert report.recall >= 0.97, [(g["doc"], g["line"], g["text"]) for g in report.misses]
    assert report.kind_accuracy >= 0.95
    assert report.unit_accuracy >= 0.95, [(g["line"], g.get("unit"), r.unit) for g, r in report.wrong]
    assert report.not_figure_emitted <= 0.02


if __name__ == "__main__":
    rep = measure()
    print(
        f"precision {rep.precision:.4f}  recall {rep.recall:.4f}  kind {rep.kind_accuracy:.4f}  "
        f"unit {rep.unit_accuracy:.4f}  not_figure emitted {rep.not_figure_emitted:.4f}"
    )
    for g in rep.misses:
        print("MISS", g["doc"], g["line"], g["text"])
    for r in rep.false_positives:
        print("FP  ", r.prov.source, r.prov.line, r.prov.text)
    for g, r in rep.wrong:
        print("WRONG", g["doc"], g["line"], g["text"], g["kind"], g.get("unit"), "->", r.kind, r.unit)
