"""The `de06 eval` scorer: tiny hand-made gold and predictions with known answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import UsageError
from pipeline.evaluate import (
    EvalReport,
    doc_names_from_documents,
    format_table,
    gold_doc_names,
    load_gold,
    load_predicted,
    norm_number,
    score,
)

DOC_A = "000_aaaa.txt"
DOC_B = "001_bbbb.txt"
DOC_C = "002_cccc.txt"
DOC_NAMES = {"aaaaaaaaaaaa": DOC_A, "bbbbbbbbbbbb": DOC_B, "cccccccccccc": DOC_C}
DOC_ID = {name: doc_id for doc_id, name in DOC_NAMES.items()}
REAL_GOLD = Path(__file__).resolve().parents[2] / "shared" / "gold"

_seq = iter(range(1, 1_000_000))


def _prov(doc: str, line: int, text: str, tag: str, char_start: int | None = None) -> dict[str, Any]:
    """Provenance fields exactly as the exporter flattens them."""
    doc_id = DOC_ID.get(doc, "ffffffffffff")
    start = line * 1000 if char_start is None else char_start
    return {
        "id": f"{doc_id}-{tag}{next(_seq):04d}",
        "doc_id": doc_id,
        "source": f"corpus/samples/{doc}",
        "page": 1,
        "line": line,
        "line_end": line,
        "char_start": start,
        "char_end": start + len(text),
        "bbox": None,
        "text": text,
        "sentence": text,
        "method": "text",
        "confidence": None,
    }


def gref(line: int, number: str | None, doc: str = DOC_A, **kw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "doc": doc,
        "line": line,
        "type": "Công văn",
        "number": number,
        "date": None,
        "issuer": None,
        "subject": None,
        "text": f"Công văn số {number}",
    }
    rec.update(kw)
    return rec


def pref(line: int, number: str | None, doc: str = DOC_A, **kw: Any) -> dict[str, Any]:
    text = kw.pop("text", f"Công văn số {number}")
    rec = _prov(doc, line, text, "R", kw.pop("char_start", None))
    rec.update(
        {
            "type": "Công văn",
            "number": number,
            "doc_key": f"Công văn {number}",
            "date": None,
            "issuer": None,
            "issuer_source": None,
            "subject": None,
        }
    )
    rec.update(kw)
    return rec


def gfig(line: int, text: str, cls: str = "figure", doc: str = DOC_A, **kw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"doc": doc, "line": line, "start": 0, "end": len(text), "text": text, "class": cls}
    rec.update(kw)
    return rec


def pfig(line: int, text: str, value: float, doc: str = DOC_A, **kw: Any) -> dict[str, Any]:
    rec = _prov(doc, line, text, "F", kw.pop("char_start", None))
    rec.update(
        {
            "value": value,
            "kind": "count",
            "numerator": None,
            "denominator": None,
            "unit": None,
            "label": None,
            "as_of": None,
        }
    )
    rec.update(kw)
    return rec


def gsvc(
    line: int, service_id: int | None, name: str, source: str, doc: str = DOC_A, **kw: Any
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "doc": doc,
        "line": line,
        "service_id": service_id,
        "catalog": "25" if service_id is not None else "422",
        "name": name,
        "source": source,
    }
    rec.update(kw)
    rec.setdefault("flags", [])
    return rec


def psvc(
    line: int, service_id: int | None, name: str, source_kind: str, doc: str = DOC_A, **kw: Any
) -> dict[str, Any]:
    rec = _prov(doc, line, name, "S", kw.pop("char_start", None))
    rec.update(
        {
            "service_id": service_id,
            "catalog": "25" if service_id is not None else "422",
            "service_name": None,
            "name_text": name,
            "source_kind": source_kind,
            "total": None,
            "online": None,
            "online_citizen": None,
            "online_business": None,
            "rate_reported": None,
            "rate_computed": None,
            "on_time": None,
            "overdue": None,
            "rejected": None,
            "level": None,
            "agency": None,
            "period_start": None,
            "period_end": None,
            "flags": [],
        }
    )
    rec.update(kw)
    return rec


def refs_score(gold: list[dict[str, Any]], pred: list[dict[str, Any]]) -> Any:
    return score({"references": gold}, {"references": pred}, DOC_NAMES).tables["references"]


# ---------------------------------------------------------------------------------------------
# references


def test_references_known_precision_recall() -> None:
    gold = [gref(10, "10/KH-UBND"), gref(20, "52/TB-TCTTKĐA"), gref(30, "104/2022/NĐ-CP")]
    fp = pref(33, "104/2022/NĐ-CP")  # right number, line off by 3
    pred = [pref(10, "10/KH-UBND"), pref(21, "52/TB-TCTTKĐA"), fp]
    ts = refs_score(gold, pred)
    assert (ts.tp, ts.fp, ts.fn) == (2, 1, 1)
    assert ts.precision == pytest.approx(2 / 3)
    assert ts.recall == pytest.approx(2 / 3)
    assert ts.f1 == pytest.approx(2 / 3)
    assert ts.misses == [
        {
            "doc": DOC_A,
            "line": 30,
            "type": "Công văn",
            "number": "104/2022/NĐ-CP",
            "text": "Công văn số 104/2022/NĐ-CP",
            "nearest_same_key_line": 33,
        }
    ]
    assert [(e["doc"], e["line"], e["id"], e["number"]) for e in ts.false_positives] == [
        (DOC_A, 33, fp["id"], "104/2022/NĐ-CP")
    ]


@pytest.mark.parametrize(
    ("offset", "matched"), [(-3, False), (-2, True), (-1, True), (0, True), (1, True), (2, True), (3, False)]
)
def test_line_tolerance_is_two(offset: int, matched: bool) -> None:
    ts = refs_score([gref(50, "10/KH-UBND")], [pref(50 + offset, "10/KH-UBND")])
    assert (ts.tp, ts.fp, ts.fn) == ((1, 0, 0) if matched else (0, 1, 1))


@pytest.mark.parametrize(
    ("gold_number", "pred_number", "matched"),
    [
        ("104/2022/NĐ-CP", "104/2022/NĐ-CP", True),
        ("104/2022/NĐ-CP", "104/2022/nđ cp", True),
        ("104/2022/NĐ-CP", "104 / 2022 / NĐ – CP", True),
        ("693/KH-UBND", "693KH-UBND", True),
        ("266/NHNNo.BK-KHCN", "266/NHNNO.BK- KHCN", True),
        ("104/2022/NĐ-CP", "105/2022/NĐ-CP", False),
        ("104/2022/NĐ-CP", "104/2022/ND-CP", False),  # Đ is a letter of its own, not D
        ("06/CP", "06/QĐ-TTg", False),
    ],
)
def test_number_normalization(gold_number: str, pred_number: str, matched: bool) -> None:
    ts = refs_score([gref(5, gold_number)], [pref(5, pred_number)])
    assert ts.tp == int(matched)


def test_norm_number() -> None:
    assert norm_number("104/2022/NĐ-CP") == "1042022nđcp"
    assert norm_number("104/2022/nđ cp") == "1042022nđcp"
    assert norm_number(None) is None


def test_number_field_is_stricter_than_the_key() -> None:
    gold = [gref(5, "104/2022/NĐ-CP"), gref(9, "693/KH-UBND")]
    pred = [pref(5, "104/2022/ NĐ-CP"), pref(9, "693KH-UBND")]  # whitespace only / missing "/"
    ts = refs_score(gold, pred)
    assert ts.tp == 2
    assert ts.fields["number"].correct == 1 and ts.fields["number"].total == 2
    assert [(e["line"], e["field"], e["predicted"]) for e in ts.field_errors] == [(9, "number", "693KH-UBND")]


@pytest.mark.parametrize(
    ("pred_type", "pred_text", "matched"),
    [
        ("Luật", "luật  căn cước\nnăm 2023", True),
        ("luật", "Luật Căn cước năm 2023", True),
        ("Luật", "Luật Căn cước", False),
        ("Nghị định", "Luật Căn cước năm 2023", False),
    ],
)
def test_numberless_laws_match_on_type_and_text(pred_type: str, pred_text: str, matched: bool) -> None:
    gold = [gref(31, None, type="Luật", text="Luật Căn cước \n\nnăm 2023")]
    pred = [pref(31, None, type=pred_type, text=pred_text)]
    assert refs_score(gold, pred).tp == int(matched)


def test_reference_field_accuracy() -> None:
    gold = [
        gref(
            10,
            "06/QĐ-TTg",
            type="Quyết định",
            date="2022-01-06",
            issuer="Thủ tướng Chính phủ",
            subject="về việc phê duyệt Đề án",
        ),
        gref(20, "01/SNV-CCVC", type="Văn bản"),  # README R5: date written before the reference
        gref(30, "33/KH-CAT", type="Kế hoạch", date="2022-01-19"),
    ]
    pred = [
        pref(
            10,
            "06/QĐ-TTg",
            type="Quyết định",
            date="2022-01-06",
            issuer="thủ tướng  Chính phủ",
            issuer_source="explicit",
            subject="Về việc\n\nphê duyệt Đề án",
        ),
        pref(20, "01/SNV-CCVC", type="Văn bản", date="2024-01-02"),
        pref(
            30, "33/KH-CAT", type="Công văn", date="2022-01-19", issuer="Công an tỉnh", issuer_source="symbol"
        ),
    ]
    ts = refs_score(gold, pred)
    assert ts.tp == 3
    acc = {name: (fs.correct, fs.total) for name, fs in ts.fields.items()}
    assert acc == {
        "type": (2, 3),
        "number": (3, 3),
        "date": (2, 3),
        "issuer": (2, 3),
        "issuer_explicit": (1, 1),
        "issuer_as_gold": (3, 3),
        "subject": (3, 3),
    }
    assert ts.fields["date"].accuracy == pytest.approx(2 / 3)
    assert sorted((e["line"], e["field"]) for e in ts.field_errors) == [
        (20, "date"),
        (30, "issuer"),
        (30, "type"),
    ]
    assert ts.extra["date_gold_null_predicted"] == [
        {"doc": DOC_A, "line": 20, "number": "01/SNV-CCVC", "predicted": "2024-01-02"}
    ]


# ---------------------------------------------------------------------------------------------
# one-to-one assignment


def test_one_prediction_serves_one_gold() -> None:
    ts = refs_score([gref(10, "45/2020/NĐ-CP"), gref(11, "45/2020/NĐ-CP")], [pref(11, "45/2020/NĐ-CP")])
    assert (ts.tp, ts.fp, ts.fn) == (1, 0, 1)
    assert [m["line"] for m in ts.misses] == [10]


def test_two_predictions_near_one_gold() -> None:
    ts = refs_score([gref(10, "45/2020/NĐ-CP")], [pref(10, "45/2020/NĐ-CP"), pref(12, "45/2020/NĐ-CP")])
    assert (ts.tp, ts.fp, ts.fn) == (1, 1, 0)
    assert [e["line"] for e in ts.false_positives] == [12]


def test_closest_pair_wins() -> None:
    # The prediction at 12 is 2 from gold 10 and 1 from gold 13: it goes to 13.
    ts = refs_score([gref(10, "9/KH"), gref(13, "9/KH")], [pref(12, "9/KH")])
    assert [m["line"] for m in ts.misses] == [10]


def test_repeated_mentions_pair_in_order() -> None:
    gold = [gref(10, "9/KH"), gref(12, "9/KH")]
    ts = refs_score(gold, [pref(11, "9/KH"), pref(14, "9/KH")])
    assert (ts.tp, ts.fp, ts.fn) == (2, 0, 0)


def test_greedy_does_not_strand_a_pairable_gold() -> None:
    # Closest-first alone pairs 10↔10 and leaves gold 12 with no prediction within 2 lines.
    ts = refs_score([gref(10, "9/KH"), gref(12, "9/KH")], [pref(8, "9/KH"), pref(10, "9/KH")])
    assert (ts.tp, ts.fp, ts.fn) == (2, 0, 0)


def test_same_line_mentions_pair_by_position() -> None:
    # Two mentions of one document on one line, with different dates (README R4, 001:106).
    gold = [gref(106, "45/2020/NĐ-CP", date="2022-04-08"), gref(106, "45/2020/NĐ-CP", date="2020-04-08")]
    # Listed out of order; char_start tells which comes first on the line.
    pred = [
        pref(106, "45/2020/NĐ-CP", date="2020-04-08", char_start=5200),
        pref(106, "45/2020/NĐ-CP", date="2022-04-08", char_start=5100),
    ]
    ts = refs_score(gold, pred)
    assert ts.tp == 2
    assert (ts.fields["date"].correct, ts.fields["date"].total) == (2, 2)


# ---------------------------------------------------------------------------------------------
# figures


def _figures_case() -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    gold_figs = [
        gfig(5, "85,29%", value=85.29, kind="percent", unit="%"),
        gfig(5, "1.657.621", value=1657621.0, kind="count", unit="hồ sơ"),
        gfig(5, "2023", "not_figure", subtype="year"),
        gfig(6, "100%", "ambiguous", value=100.0, kind="percent", unit="%", note="target"),
        gfig(7, "25/01/2023", "not_figure", subtype="date"),
        gfig(7, "3", value=3.0, kind="count", unit="huyện"),
        gfig(9, "399/587", value=399.0, kind="ratio", unit=None, numerator=399.0, denominator=587.0),
    ]
    pred_figs = [
        pfig(5, "85,29%", 85.29, kind="percent", unit="%"),  # TP
        pfig(5, "1.657.621", 1657621.0000001, unit="lượt"),  # TP, wrong unit
        pfig(5, "2023", 2023.0),  # not_figure emitted → FP
        pfig(6, "100%", 100.0, kind="percent", unit="%"),  # ambiguous → neither
        pfig(7, "42", 42.0),  # annotated line, matches nothing → FP
        pfig(8, "399/587", 399.0, kind="ratio", numerator=399.0, denominator=578.0),  # TP one line off
        pfig(50, "99", 99.0),  # line with no gold → ignored
        pfig(5, "7", 7.0, doc=DOC_B),  # B is annotated for references only → ignored
    ]
    gold = {"figures": gold_figs, "references": [gref(3, "1/KH", doc=DOC_B)]}
    return gold, {"figures": pred_figs}


def test_figures_known_numbers() -> None:
    gold, pred = _figures_case()
    ts = score(gold, pred, DOC_NAMES).tables["figures"]
    assert (ts.tp, ts.fp, ts.fn) == (3, 2, 1)
    assert ts.precision == pytest.approx(3 / 5)
    assert ts.recall == pytest.approx(3 / 4)
    assert (ts.gold, ts.predicted, ts.ignored) == (4, 5, 2)
    acc = {name: (fs.correct, fs.total) for name, fs in ts.fields.items()}
    assert acc == {"kind": (3, 3), "unit": (2, 3), "numerator": (1, 1), "denominator": (0, 1)}
    assert [(m["line"], m["value"]) for m in ts.misses] == [(7, 3.0)]
    assert sorted((e["line"], e["reason"]) for e in ts.false_positives) == [
        (5, "not_figure"),
        (7, "unmatched"),
    ]


def test_figures_not_figure_and_ambiguous_counts() -> None:
    gold, pred = _figures_case()
    extra = score(gold, pred, DOC_NAMES).tables["figures"].extra
    assert extra["not_figure_total"] == 2
    assert extra["not_figure_emitted"] == 1
    assert extra["not_figure_emitted_rate"] == 0.5
    assert extra["not_figure_emitted_by_subtype"] == {"year": 1}
    assert (extra["ambiguous_total"], extra["ambiguous_matched"]) == (1, 1)


def test_unpredicted_ambiguous_is_not_a_miss() -> None:
    gold = {"figures": [gfig(6, "100%", "ambiguous", value=100.0, kind="percent", unit="%")]}
    ts = score(gold, {"figures": []}, DOC_NAMES).tables["figures"]
    assert (ts.tp, ts.fp, ts.fn, ts.gold) == (0, 0, 0, 0)


def test_prediction_next_to_ambiguous_is_not_credited_to_a_farther_figure() -> None:
    gold = {
        "figures": [
            gfig(5, "100%", value=100.0, kind="percent", unit="%"),
            gfig(6, "100%", "ambiguous", value=100.0, kind="percent", unit="%"),
        ]
    }
    ts = score(gold, {"figures": [pfig(6, "100%", 100.0, kind="percent", unit="%")]}, DOC_NAMES).tables[
        "figures"
    ]
    assert (ts.tp, ts.fp, ts.fn) == (0, 0, 1)
    assert ts.extra["ambiguous_matched"] == 1


def test_not_figure_inside_a_longer_span() -> None:
    # "06" emitted from the own number "06 /BC-TCTĐA06" (001:3).
    gold = {"figures": [gfig(3, "06 /BC-TCTĐA06", "not_figure", subtype="doc_number")]}
    ts = score(gold, {"figures": [pfig(3, "06", 6.0)]}, DOC_NAMES).tables["figures"]
    assert (ts.tp, ts.fp, ts.fn) == (0, 1, 0)
    assert ts.extra["not_figure_emitted"] == 1
    assert ts.false_positives[0]["subtype"] == "doc_number"


# ---------------------------------------------------------------------------------------------
# services


def test_services_422_rows_match_by_name() -> None:
    gold = [
        gsvc(202, None, "Thủ tục Xác nhận thông tin về cư trú", "narrative", total=317, online=317),
        gsvc(
            204,
            None,
            "Đăng ký tham gia (tham gia mới; \n\nchuyển từ bắt buộc)",
            "narrative",
            total=4,
            online=4,
        ),
        gsvc(210, 7, "Đăng ký khai sinh", "table", total=100, rate_reported=None, flags=["div0"]),
        gsvc(211, 9, "Cấp thẻ CCCD", "table", total=50, online=40, rate_reported=80.0, agency="Công an tỉnh"),
    ]
    pred = [
        # Both 422 rows predicted on line 203, in the opposite order: only the name pairs them right.
        psvc(
            203,
            None,
            "Đăng ký tham gia (tham gia mới;\nchuyển từ bắt buộc)",
            "narrative",
            total=4.0,
            online=4.0,
            char_start=100,
        ),
        psvc(
            203,
            None,
            "Thủ tục xác nhận thông tin về cư trú.",
            "narrative",
            total=317.0,
            online=300.0,
            char_start=200,
        ),
        psvc(210, 7, "Đăng ký khai sinh", "table", total=100.0, flags=[]),
        psvc(211, 9, "Cấp thẻ CCCD", "narrative", total=50.0, online=40.0),  # wrong source kind
    ]
    ts = score({"services": gold}, {"services": pred}, DOC_NAMES).tables["services"]
    assert (ts.tp, ts.fp, ts.fn) == (3, 1, 1)
    acc = {name: (fs.correct, fs.total) for name, fs in ts.fields.items()}
    assert acc == {
        "catalog": (3, 3),
        "total": (3, 3),
        "online": (1, 2),
        "rate_reported": (1, 1),  # gold null (div0) and predicted null agree
        "flags": (2, 3),
    }
    assert ts.extra["flag_recall"] == {"correct": 0, "total": 1, "accuracy": 0.0}
    assert ts.extra["flag_recall_by_flag"] == {"div0": {"correct": 0, "total": 1, "accuracy": 0.0}}
    assert [(m["line"], m["service_id"], m["source"]) for m in ts.misses] == [(211, 9, "table")]
    assert [(e["line"], e["source_kind"]) for e in ts.false_positives] == [(211, "narrative")]
    assert sorted((e["line"], e["field"]) for e in ts.field_errors) == [(202, "online"), (210, "flags")]


def test_services_422_name_must_agree() -> None:
    gold = [gsvc(202, None, "Thủ tục Xác nhận thông tin về cư trú", "narrative", total=317)]
    pred = [psvc(202, None, "Đăng ký thuế", "narrative", total=317.0)]
    ts = score({"services": gold}, {"services": pred}, DOC_NAMES).tables["services"]
    assert (ts.tp, ts.fp, ts.fn) == (0, 1, 1)


def test_services_canonical_name_also_matches_422() -> None:
    gold = [gsvc(202, None, "Thủ tục Xác nhận thông tin về cư trú", "narrative")]
    pred = [
        psvc(202, None, "Xác nhận cư trú", "narrative", service_name="Thủ tục xác nhận thông tin về cư trú")
    ]
    assert score({"services": gold}, {"services": pred}, DOC_NAMES).tables["services"].tp == 1


def test_services_numeric_tolerance_and_extra_flags() -> None:
    gold = [
        gsvc(55, 3, "Đăng ký thường trú", "narrative", rate_reported=85.29, flags=["conflicts_with_table"])
    ]
    pred = [
        psvc(
            55,
            3,
            "Đăng ký thường trú",
            "narrative",
            rate_reported=85.29000000001,
            flags=["conflicts_with_table", "sum_mismatch"],
        ),
    ]
    ts = score({"services": gold}, {"services": pred}, DOC_NAMES).tables["services"]
    assert ts.fields["rate_reported"].correct == 1
    assert ts.fields["flags"].correct == 1  # an extra flag the gold does not use is not an error
    assert ts.extra["flag_recall"]["correct"] == 1


# ---------------------------------------------------------------------------------------------
# documents


def test_documents_field_accuracy() -> None:
    gold = [
        {
            "doc": DOC_A,
            "doc_type": "BÁO CÁO",
            "own_number": "06/BC-TCTĐA06",
            "locality": "Quảng Ngãi",
            "issue_date": "2022-06-21",
            "signer": "Đặng Văn Minh",
            "title": "Sơ kết 6 tháng đầu năm 2022",
        },
        {"doc": DOC_B, "doc_type": "KẾ HOẠCH", "own_number": None, "signer": "Mai Sơn"},
    ]
    pa = _prov(DOC_A, 1, "", "X")
    pa.update(
        {
            "sha256": "a" * 64,
            "format": "text",
            "pages": 1,
            "doc_type": "BÁO CÁO",
            "own_number": "06 /BC-TCTĐA06",
            "locality": "Quảng Ngãi",
            "issue_date": "2022-06-22",
            "signer": "đặng văn minh",
            "title": "Sơ kết 6 tháng\nđầu năm 2022",
            "status": "ok",
        }
    )
    dup = dict(pa, id="dup")
    other = dict(pa, doc_id="eeeeeeeeeeee", source="elsewhere/999_zz.txt")  # not in the gold at all
    ts = score({"documents": gold}, {"documents": [pa, dup, other]}, DOC_NAMES).tables["documents"]
    assert (ts.tp, ts.fp, ts.fn, ts.ignored) == (1, 1, 1, 1)
    acc = {name: (fs.correct, fs.total) for name, fs in ts.fields.items()}
    assert acc == {
        "doc_type": (1, 1),
        "own_number": (1, 1),
        "locality": (1, 1),
        "issue_date": (0, 1),
        "signer": (1, 1),
        "title": (1, 1),
    }
    assert ts.misses == [{"doc": DOC_B}]
    assert [(e["field"], e["gold"], e["predicted"]) for e in ts.field_errors] == [
        ("issue_date", "2022-06-21", "2022-06-22")
    ]


# ---------------------------------------------------------------------------------------------
# document resolution, loading, output


def test_unknown_documents_are_ignored_and_source_is_a_fallback() -> None:
    by_source = pref(10, "10/KH-UBND")
    by_source["doc_id"] = "not-in-map"
    by_source["source"] = "/abs/elsewhere/" + DOC_A
    stranger = pref(10, "10/KH-UBND")
    stranger["doc_id"] = "not-in-map"
    stranger["source"] = "corpus/samples/zzz.txt"
    ts = refs_score([gref(10, "10/KH-UBND")], [by_source, stranger])
    assert (ts.tp, ts.fp, ts.fn, ts.ignored) == (1, 0, 0, 1)


def test_predictions_in_an_annotated_doc_without_gold_rows_are_false_positives() -> None:
    gold = {"references": [gref(3, "1/KH", doc=DOC_A)], "services": [gsvc(5, 1, "x", "table", doc=DOC_B)]}
    ts = score(gold, {"references": [pref(4, "2/KH", doc=DOC_B)]}, DOC_NAMES).tables["references"]
    assert (ts.tp, ts.fp, ts.fn) == (0, 1, 1)


def test_only_gold_tables_are_scored() -> None:
    report = score({"references": [gref(3, "1/KH")]}, {"figures": [pfig(3, "1", 1.0)]}, DOC_NAMES)
    assert list(report.tables) == ["references"]
    assert report.tables["references"].fn == 1


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n\n", encoding="utf-8")


def test_load_gold_skips_missing_tables(tmp_path: Path) -> None:
    _write_jsonl(tmp_path / "references.jsonl", [gref(1, "1/KH"), gref(2, "2/KH")])
    _write_jsonl(tmp_path / "services.jsonl", [gsvc(3, 1, "x", "table")])
    gold = load_gold(tmp_path)
    assert sorted(gold) == ["references", "services"]
    assert [r["number"] for r in gold["references"]] == ["1/KH", "2/KH"]
    assert gold_doc_names(gold) == {DOC_A}


def test_load_gold_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load_gold(tmp_path / "nope")
    with pytest.raises(UsageError, match="no gold files"):
        load_gold(tmp_path)
    (tmp_path / "figures.jsonl").write_text('{"doc": "a", "line": 1}\n{oops\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"figures\.jsonl:2"):
        load_gold(tmp_path)


def test_load_predicted_and_doc_names(tmp_path: Path) -> None:
    doc = {"doc_id": "aaaaaaaaaaaa", "source": "corpus/samples/" + DOC_A}
    (tmp_path / "documents.json").write_text(json.dumps([doc]), encoding="utf-8")
    (tmp_path / "references.json").write_text(json.dumps([pref(1, "1/KH")]), encoding="utf-8")
    pred = load_predicted(tmp_path)
    assert len(pred["documents"]) == 1 and len(pred["references"]) == 1
    assert pred["figures"] == [] and pred["services"] == []
    assert doc_names_from_documents(pred["documents"]) == {"aaaaaaaaaaaa": DOC_A}


def test_to_json_and_format_table() -> None:
    gold = [gref(10, "10/KH-UBND"), gref(20, "52/TB"), gref(30, "104/2022/NĐ-CP")]
    pred = [pref(10, "10/KH-UBND"), pref(21, "52/TB"), pref(33, "104/2022/NĐ-CP")]
    report = score({"references": gold}, {"references": pred}, DOC_NAMES)
    assert isinstance(report, EvalReport)
    data = json.loads(json.dumps(report.to_json(), ensure_ascii=False))
    refs = data["tables"]["references"]
    assert (refs["tp"], refs["fp"], refs["fn"]) == (2, 1, 1)
    assert refs["precision"] == 0.6667 and refs["recall"] == 0.6667
    assert refs["fields"]["type"] == {"correct": 2, "total": 2, "accuracy": 1.0}
    assert [m["line"] for m in refs["misses"]] == [30]
    assert [f["line"] for f in refs["false_positives"]] == [33]
    assert data["line_tolerance"] == 2
    text = format_table(report)
    row = next(line for line in text.splitlines() if line.startswith("references"))
    assert row.split() == ["references", "3", "3", "2", "1", "1", "0.667", "0.667", "0.667"]


def test_empty_predictions_give_zero_not_an_error() -> None:
    ts = refs_score([gref(1, "1/KH")], [])
    assert (ts.precision, ts.recall, ts.f1) == (0.0, 0.0, 0.0)


# ---------------------------------------------------------------------------------------------
# the real dev gold: a perfect system scores 1.0, known damage gives known numbers


def _gold_as_predictions(gold: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    ids = {name: f"{i:012d}" for i, name in enumerate(sorted(gold_doc_names(gold)))}
    pred: dict[str, list[dict[str, Any]]] = {}
    pred["documents"] = [dict(r, doc_id=ids[r["doc"]], source=r["doc"]) for r in gold.get("documents", [])]
    pred["references"] = [dict(r, doc_id=ids[r["doc"]]) for r in gold.get("references", [])]
    pred["figures"] = [
        dict(r, doc_id=ids[r["doc"]]) for r in gold.get("figures", []) if r["class"] == "figure"
    ]
    pred["services"] = [
        dict(r, doc_id=ids[r["doc"]], source_kind=r["source"], name_text=r["name"])
        for r in gold.get("services", [])
    ]
    return pred


@pytest.fixture(scope="module")
def real_gold() -> dict[str, list[dict[str, Any]]]:
    if not REAL_GOLD.is_dir():
        pytest.skip(f"dev gold not found at {REAL_GOLD}")
    return load_gold(REAL_GOLD)


def _ids(gold: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    return {f"{i:012d}": name for i, name in enumerate(sorted(gold_doc_names(gold)))}


def test_real_gold_scores_itself_perfectly(real_gold: dict[str, list[dict[str, Any]]]) -> None:
    report = score(real_gold, _gold_as_predictions(real_gold), _ids(real_gold))
    assert set(report.tables) == {"documents", "references", "figures", "services"}
    for name, ts in report.tables.items():
        assert (ts.fp, ts.fn) == (0, 0), name
        assert all(fs.correct == fs.total for fs in ts.fields.values()), name
    assert report.tables["figures"].tp == sum(r["class"] == "figure" for r in real_gold["figures"])


@pytest.mark.parametrize("shift", [1, -2])
def test_real_gold_tolerates_small_line_shifts(
    real_gold: dict[str, list[dict[str, Any]]], shift: int
) -> None:
    pred = _gold_as_predictions(real_gold)
    pred = {t: [dict(r, line=r["line"] + shift) if "line" in r else r for r in rs] for t, rs in pred.items()}
    report = score(real_gold, pred, _ids(real_gold))
    for name, ts in report.tables.items():
        assert (ts.fp, ts.fn) == (0, 0), name


def test_real_gold_dropped_references_give_known_recall(real_gold: dict[str, list[dict[str, Any]]]) -> None:
    pred = _gold_as_predictions(real_gold)
    kept = [r for i, r in enumerate(pred["references"]) if i % 10 != 0]
    dropped = len(pred["references"]) - len(kept)
    ts = score(real_gold, {"references": kept}, _ids(real_gold)).tables["references"]
    assert (ts.tp, ts.fp, ts.fn) == (len(kept), 0, dropped)
    assert ts.recall == pytest.approx(len(kept) / len(real_gold["references"]))
