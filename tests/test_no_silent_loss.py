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


def test_a_word_table_inside_a_table_cell_keeps_its_text(tmp_path: Path) -> None:
    from docx import Document

    from pipeline.docx_text import read_docx
    from pipeline.ingest import triage

    document = Document()
    outer = document.add_table(rows=1, cols=2)
    outer.cell(0, 0).text = "Dịch vụ công"
    inner = outer.cell(0, 1).add_table(rows=2, cols=2)
    for r, row in enumerate((("Tổng số", "587"), ("Trực tuyến", "399"))):
        for c, text in enumerate(row):
            inner.cell(r, c).text = text
    path = tmp_path / "nested.docx"
    document.save(str(path))
    text = read_docx(triage(path)).pages[0].text
    assert text == "Dịch vụ công\tTổng số 587 Trực tuyến 399"


def test_a_folder_that_cannot_be_listed_is_reported_not_skipped(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    from pipeline.ingest import expand_inputs

    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "a.txt").write_text("Báo cáo", encoding="utf-8")
    (tmp_path / "closed").mkdir()
    real = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if str(path).endswith("closed"):  # root passes every permission check: refuse like a 0311 folder
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    files, _, skipped = expand_inputs([str(tmp_path)])
    assert [f.name for f in files] == ["a.txt"]
    assert [(Path(p).name, "cannot be listed" in why) for p, why in skipped] == [("closed", True)]
