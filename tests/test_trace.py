"""`de06 trace`: record id or number → where it was read, from small hand-made output tables."""

from __future__ import annotations

import io
import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipeline.trace import (
    find_by_value,
    find_record,
    load_outputs,
    parse_vn_number,
    render_trace,
    sed_command,
    trace_main,
)

SOURCE_TEXT = (
    "BÁO CÁO\n"
    "Trong tháng, đã tiếp nhận 42.328 trường hợp (trong đó nộp trực tuyến 36.100 trường hợp đạt 85,29%).\n"
    "Tổng số\t36.017\t42.328\t85,29%\n"
    "Thực hiện Công văn số 376/TCTĐA06 ngày 27/4/2022 về việc thực hiện Đề án 06.\n"
)
DOC = "abcdef012345"


def prov(text: str, needle: str, source: str, occurrence: int = 0, **extra: Any) -> dict[str, Any]:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(needle, start + 1)
    end = start + len(needle)
    line = text.count("\n", 0, start) + 1
    first = text.rfind("\n", 0, start) + 1
    stop = text.find("\n", end)
    row = {
        "doc_id": DOC,
        "source": source,
        "page": 1,
        "line": line,
        "line_end": text.count("\n", 0, end - 1) + 1,
        "char_start": start,
        "char_end": end,
        "bbox": None,
        "text": needle,
        "sentence": "".join(" " if c.isspace() else c for c in text[first:stop]),
        "sentence_start": first,
        "sentence_end": stop,
        "method": "text",
        "confidence": None,
    }
    row.update(extra)
    return row


@pytest.fixture
def out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An output folder and the text input it came from, with `source` relative to the cwd."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "report 1.txt").write_text(SOURCE_TEXT, encoding="utf-8")
    src = "in/report 1.txt"
    tables = {
        "documents": [{"doc_id": DOC, "source": src, "format": "text", "status": "ok"}],
        "figures": [
            {
                "id": f"{DOC}-F0001",
                "value": 42328.0,
                "kind": "count",
                "unit": "trường hợp",
                **prov(SOURCE_TEXT, "42.328", src),
            },
            {
                "id": f"{DOC}-F0002",
                "value": 85.29,
                "kind": "percent",
                "unit": "%",
                **prov(SOURCE_TEXT, "85,29%", src),
            },
            {
                "id": f"{DOC}-F0003",
                "value": 36100.0,
                "numerator": 36100.0,
                "denominator": 42328.0,
                "kind": "ratio",
                **prov(SOURCE_TEXT, "36.100", src),
            },
        ],
        "services": [
            {
                "id": f"{DOC}-S0001",
                "name_text": "Tổng số",
                "total": 42328.0,
                "online": 36017.0,
                "rate_reported": 85.29,
                **prov(SOURCE_TEXT, "Tổng số\t36.017\t42.328\t85,29%", src),
            },
        ],
        "references": [
            {
                "id": f"{DOC}-R0001",
                "type": "Công văn",
                "number": "376/TCTĐA06",
                **prov(SOURCE_TEXT, "Công văn số 376/TCTĐA06", src),
            },
        ],
        "findings": [],
    }
    out_dir = tmp_path / "outputs"
    out_dir.mkdir()
    for name, rows in tables.items():
        (out_dir / f"{name}.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return out_dir


def run(argv: list[str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = trace_main(argv, stdout=stdout, stderr=stderr)
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("85,29", 85.29),
        ("85,29%", 85.29),
        ("1.657.621", 1657621.0),
        ("42.328", 42328.0),
        ("12", 12.0),
        ("98.5", 98.5),
        ("0,5", 0.5),
        ("1.234,5", 1234.5),
        ("abc", None),
        ("", None),
        ("1,2,3", None),
    ],
)
def test_parse_vn_number(typed: str, value: float | None) -> None:
    assert parse_vn_number(typed) == value


def test_find_record_by_id(out: Path) -> None:
    tables = load_outputs(out)
    table, record = find_record(tables, f"{DOC}-R0001") or ("", {})
    assert table == "references" and record["number"] == "376/TCTĐA06"
    assert find_record(tables, f"{DOC}-R9999") is None
    assert find_record(tables, DOC) is None  # a document id is not a record id


def test_unknown_id_exits_2_with_a_clear_message(out: Path) -> None:
    code, stdout, stderr = run([f"{DOC}-F0009", "--out", str(out)])
    assert code == 2 and stdout == ""
    assert f"no record '{DOC}-F0009'" in stderr and "did you mean" in stderr


@pytest.mark.parametrize("argv", [[], ["X", "--value", "1"], ["--doc", DOC]])
def test_usage_errors_exit_2(out: Path, argv: list[str]) -> None:
    assert run([*argv, "--out", str(out)])[0] == 2


def test_missing_outputs_exit_2(tmp_path: Path) -> None:
    code, _, stderr = run(["x-F0001", "--out", str(tmp_path / "nowhere")])
    assert code == 2 and "de06 run" in stderr


def test_trace_prints_fields_location_and_marked_span(out: Path) -> None:
    code, stdout, _ = run([f"{DOC}-F0002", "--out", str(out)])
    assert code == 0
    assert "\x1b[" not in stdout  # not a terminal: markers, no colour
    assert "value  85.29" in stdout
    assert "in/report 1.txt" in stdout and "page 1, line 2" in stdout
    assert "nộp trực tuyến 36.100 trường hợp đạt [[85,29%]])." in stdout
    assert "sed -n 2p 'in/report 1.txt'" in stdout


def test_value_search_finds_the_figure(out: Path) -> None:
    code, stdout, _ = run(["--value", "85,29", "--out", str(out)])
    assert code == 0
    assert f"figures {DOC}-F0002" in stdout  # value 85.29
    assert f"services {DOC}-S0001" in stdout  # rate_reported 85.29
    assert stdout.index(f"{DOC}-F0002") < stdout.index(f"{DOC}-S0001")  # figures first
    hits = find_by_value(load_outputs(out), "85,29")
    assert [r["id"] for _, r in hits] == [f"{DOC}-F0002", f"{DOC}-S0001"]


@pytest.mark.parametrize(
    ("typed", "doc", "ids"),
    [
        ("42.328", None, ["F0001", "F0003", "S0001"]),  # value, denominator, service total
        ("36.100", None, ["F0003"]),
        ("36.017", None, ["S0001"]),  # a service field
        ("85,2", None, []),  # whole numerals only
        ("85,29", "000000000000", []),
        ("376", None, ["R0001"]),  # a numeral inside a record's text
    ],
)
def test_find_by_value(out: Path, typed: str, doc: str | None, ids: list[str]) -> None:
    hits = find_by_value(load_outputs(out), typed, doc)
    assert [r["id"].split("-")[1] for _, r in hits] == ids


def test_value_not_found_exits_2(out: Path) -> None:
    code, _, stderr = run(["--value", "7,77", "--out", str(out)])
    assert code == 2 and "no record holds 7,77" in stderr


def test_colour_on_a_terminal(out: Path) -> None:
    code, stdout, _ = run([f"{DOC}-F0002", "--out", str(out), "--color", "always"])
    assert code == 0 and "\x1b[1;30;43m85,29%\x1b[0m" in stdout and "[[" not in stdout


def test_sed_command_shows_the_line(out: Path) -> None:
    tables = load_outputs(out)
    _, record = find_record(tables, f"{DOC}-S0001") or ("", {})
    command = sed_command(record)
    assert command == "sed -n 3p 'in/report 1.txt'"
    shown = subprocess.run(shlex.split(command), capture_output=True, text=True, check=True).stdout
    assert record["text"] in shown


def test_source_lines_shown_and_fallback_when_moved(out: Path) -> None:
    tables = load_outputs(out)
    _, record = find_record(tables, f"{DOC}-R0001") or ("", {})
    with_source = render_trace("references", record, SOURCE_TEXT, color=False)
    assert "4 │ Thực hiện [[Công văn số 376/TCTĐA06]] ngày 27/4/2022" in with_source
    moved = render_trace("references", record, None, color=False)
    assert "source line(s)" not in moved
    assert "Thực hiện [[Công văn số 376/TCTĐA06]] ngày" in moved  # the stored sentence
    changed = render_trace("references", record, "something else entirely", color=False)
    assert "changed after the run" in changed


def test_pdf_record_shows_box_and_no_sed() -> None:
    record = {
        "id": "p-F0001",
        "value": 3.0,
        "doc_id": "p",
        "source": "scan.pdf",
        "page": 2,
        "line": 7,
        "line_end": 7,
        "char_start": 10,
        "char_end": 11,
        "bbox": [10.5, 20.0, 30.25, 31.0],
        "text": "3",
        "sentence": "có 3 xã, 3 phường",
        "sentence_start": 1,  # chars 10-11 are the second "3"
        "sentence_end": 18,
        "method": "ocr:tesseract-5.3-vie",
        "confidence": 91.0,
    }
    shown = render_trace("figures", record, None, color=False)
    assert "[10.5, 20.0, 30.25, 31.0]" in shown and "page 2" in shown and "OCR confidence 91.0" in shown
    assert "sed -n" not in shown
    assert "có 3 xã, [[3]] phường" in shown  # the occurrence at the record's offsets, not the first


def test_trace_shows_control_and_bidi_characters_visibly_and_reads_only_listed_files(tmp_path: Path) -> None:

    from pipeline.trace import read_source_text, render_trace, visible

    record = {
        "id": "abc-F0001", "value": 1.234, "kind": "count", "doc_id": "abc", "source": "/etc/shadow",
        "page": 1, "line": 1, "line_end": 1, "char_start": 0, "char_end": 5, "bbox": None,
        "text": "1.234", "sentence": "\x1b]52;c;cHduZWQ=\x07 đạt \u202e1.234 hồ sơ", "method": "text",
        "confidence": None,
    }
    shown = render_trace("figures", record, None, color=False)
    assert "\x1b" not in shown and "\u202e" not in shown and "\x07" not in shown
    assert "<U+001B>" in shown and "<U+202E>" in shown
    assert visible("Tỷ lệ 85,29%\tx") == "Tỷ lệ 85,29%\tx"
    # A forged table naming a file that the run's manifest does not list is never read.
    assert read_source_text(record, allowed={}) is None
    listed = tmp_path / "r.txt"
    listed.write_text("1.234 hồ sơ", encoding="utf-8")
    import hashlib

    digest = hashlib.sha256(listed.read_bytes()).hexdigest()
    forged = {**record, "source": str(listed)}
    assert read_source_text(forged, allowed={str(listed): digest}) == "1.234 hồ sơ"
    assert read_source_text(forged, allowed={str(listed): "0" * 64}) is None  # bytes changed since the run


def test_trace_json_gives_every_field_and_the_span_offsets_for_scripts(out: Path) -> None:
    code, stdout, _ = run([f"{DOC}-F0002", "--out", str(out), "--json"])
    assert code == 0
    (match,) = json.loads(stdout)
    assert match["table"] == "figures" and match["record"]["value"] == 85.29
    a, b = match["span_in_sentence"]
    assert match["record"]["sentence"][a:b] == "85,29%"
    code, stdout, _ = run(["--value", "42.328", "--out", str(out), "--json"])
    assert code == 0 and {m["record"]["id"] for m in json.loads(stdout)} >= {f"{DOC}-F0001"}


def test_trace_json_escapes_what_a_terminal_would_act_on() -> None:
    from pipeline.trace import trace_json

    record = {"id": "x-F1", "text": "1", "sentence": "\u202e1 \x9b2J", "char_start": 0, "char_end": 1,
              "sentence_start": 0}
    shown = trace_json([("figures", record)], None)
    assert "\u202e" not in shown and "\x9b" not in shown
    assert json.loads(shown)[0]["record"]["sentence"] == record["sentence"]


def test_a_service_row_shows_the_cell_of_each_value(out: Path) -> None:
    tables = json.loads((out / "services.json").read_text(encoding="utf-8"))
    start = SOURCE_TEXT.index("42.328")
    tables[0]["field_cells"] = {
        "total": {"page": 1, "line": 3, "char_start": start, "char_end": start + 6, "text": "42.328",
                  "bbox": [120.5, 300.0, 150.25, 312.0], "confidence": None},
    }
    (out / "services.json").write_text(json.dumps(tables, ensure_ascii=False), encoding="utf-8")
    code, stdout, _ = run([f"{DOC}-S0001", "--out", str(out), "--color", "never"])
    assert code == 0
    assert f"total  [[42.328]]  page 1, line 3, chars {start}–{start + 6}, box [120.5, 300.0, 150.25, 312.0]" in stdout
