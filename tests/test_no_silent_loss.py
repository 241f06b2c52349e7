"""Bytes that once lost records silently, and cells that a spreadsheet would run."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pipeline.config import RunOptions
from pipeline.document import process_document
from pipeline.export import to_csv


def test_old_mac_line_ends_give_the_same_records_as_unix_ones(tmp_path: Path, samples: list[Path]) -> None:
    unix = samples[0].read_bytes()
    (tmp_path / "cr.txt").write_bytes(unix.replace(b"\n", b"\r"))
    options = RunOptions(isolate=False)
    a = process_document(samples[0], options)
    b = process_document(tmp_path / "cr.txt", options)
    assert len(b.figures) == len(a.figures) > 50
    assert len(b.references) == len(a.references)
    assert len(b.tables) == len(a.tables)
    assert [f.prov.char_start for f in b.figures] == [f.prov.char_start for f in a.figures]


def test_a_nul_byte_inside_a_reference_neither_hides_it_nor_reaches_an_output(tmp_path: Path) -> None:
    path = tmp_path / "nul.txt"
    path.write_bytes("Thực hiện Kế hoạch số 10/K\x00H-UBND ngày 25/01/2023 của UBND tỉnh.\x00\n".encode())
    result = process_document(path, RunOptions(isolate=False))
    assert [r.number for r in result.references] == ["10/KH-UBND"]
    for record in result.references:
        assert "\x00" not in record.prov.text + record.prov.sentence


def test_csv_cells_that_start_a_formula_are_neutralised_and_json_stays_exact() -> None:
    rows = [
        {"text": "=HYPERLINK(\"http://x\",\"y\")", "n": -2.5},
        {"text": "+cmd|' /C calc'!A0", "n": 1},
        {"text": "-2+3+cmd|' /C calc'!A0", "n": 2},
        {"text": "@SUM(1+1)*cmd|' /C calc'!A0", "n": 3},
        {"text": "\tTAB", "n": 4},
        {"text": "Tỷ lệ đạt 85,29%", "n": 5},
    ]
    parsed = list(csv.reader(io.StringIO(to_csv(rows, ["text", "n"]).decode("utf-8"))))[1:]
    assert [r[0][0] for r in parsed[:5]] == ["'"] * 5
    assert parsed[5][0] == "Tỷ lệ đạt 85,29%"
    assert parsed[0][1] == "-2.5"  # numbers are numbers, not formulas
