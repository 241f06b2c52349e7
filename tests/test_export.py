"""Emit: tables with headers even when empty, lists and cells in CSV, atomic replacement."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pipeline.document import process_document
from pipeline.export import TABLE_COLUMNS, atomic_write, result_rows, write_tables


def test_every_table_is_written_with_its_header(tmp_path: Path, samples: list[Path]) -> None:
    tables = result_rows([process_document(samples[0])])
    write_tables(tmp_path, tables)
    for name, columns in TABLE_COLUMNS.items():
        with (tmp_path / f"{name}.csv").open(encoding="utf-8") as fh:
            assert next(csv.reader(fh)) == columns
        rows = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
        assert isinstance(rows, list)
    docs = json.loads((tmp_path / "documents.json").read_text(encoding="utf-8"))
    assert docs[0]["doc_type"] == "BÁO CÁO" and docs[0]["status"] == "ok"
    import pandas as pd

    for name, columns in TABLE_COLUMNS.items():
        frame = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert list(frame.columns) == columns
        assert len(frame) == len(tables[name])
    figures = pd.read_parquet(tmp_path / "figures.parquet")
    assert figures["value"].dtype == "float64"


def test_provenance_fields_follow_every_record(samples: list[Path]) -> None:
    for name in ("references", "figures", "services", "findings"):
        assert TABLE_COLUMNS[name][0] == "id"
        for field in ("doc_id", "source", "page", "line", "line_end", "char_start", "char_end", "bbox",
                      "text", "sentence", "method", "confidence"):
            assert field in TABLE_COLUMNS[name]


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "t.json"
    target.write_text("old")

    class Boom(bytes):
        pass

    with pytest.raises(TypeError):
        atomic_write(target, 12345)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]  # no temp file left behind
