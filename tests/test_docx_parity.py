"""A DOCX made from a sample (paragraphs, and real Word tables for its tab rows) gives the same
records as the text file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from docx import Document

from pipeline.document import process_document

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "corpus" / "samples").glob("*.txt"))


def to_docx(text: str, path: Path) -> Path:
    doc = Document()
    rows: list[list[str]] = []

    def flush() -> None:
        if rows:
            table = doc.add_table(rows=len(rows), cols=max(len(r) for r in rows))
            for i, row in enumerate(rows):
                for j, cell in enumerate(row):
                    table.cell(i, j).text = cell
            rows.clear()

    for line in text.split("\n"):
        if "\t" in line:
            rows.append(line.split("\t"))
            continue
        flush()
        if line.strip():
            doc.add_paragraph(line.replace("**", "").lstrip("# "))
    flush()
    doc.save(str(path))
    return path


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s.name[:3] in ("000", "004")], ids=lambda p: p.name[:3])
def test_docx_gives_the_records_of_the_text_file(sample: Path, tmp_path: Path) -> None:
    text = process_document(sample)
    docx = process_document(to_docx(sample.read_text(encoding="utf-8"), tmp_path / "report.docx"))
    assert docx.info.status == "ok" and docx.info.format == "docx"
    assert (docx.info.doc_type, docx.info.locality, docx.info.signer) == (
        text.info.doc_type, text.info.locality, text.info.signer)
    assert Counter((r.type, r.number, r.date) for r in docx.references) == Counter(
        (r.type, r.number, r.date) for r in text.references)
    assert Counter((f.value, f.kind) for f in docx.figures) == Counter((f.value, f.kind) for f in text.figures)
    key = lambda s: (s.service_id, s.source_kind, s.total, s.online, s.rate_reported, s.flags)  # noqa: E731
    assert Counter(map(key, docx.services)) == Counter(map(key, text.services))
