"""Invariants over every record the pipeline emits for the samples: spans slice back exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.document import process_document
from pipeline.ingest import triage
from pipeline.plain_text import read_text
from pipeline.types import DocumentResult
from tests.helpers.spans import span_problems

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "corpus" / "samples").glob("*.txt"))


@pytest.fixture(scope="module", params=SAMPLES, ids=[p.name[:3] for p in SAMPLES])
def sample_result(request: pytest.FixtureRequest) -> tuple[str, DocumentResult]:
    path: Path = request.param
    return read_text(triage(path)).pages[0].text, process_document(path)


def _records(result: DocumentResult) -> list:  # type: ignore[type-arg]
    return [*result.references, *result.figures, *result.services, *result.tables, *result.findings]


def test_text_is_the_exact_slice_of_the_page(sample_result: tuple[str, DocumentResult]) -> None:
    text, result = sample_result
    for record in _records(result):
        p = record.prov
        assert text[p.char_start : p.char_end] == p.text, record.id


def test_lines_are_the_physical_lines_holding_the_span(sample_result: tuple[str, DocumentResult]) -> None:
    text, result = sample_result
    for record in _records(result):
        p = record.prov
        assert p.line == text.count("\n", 0, p.char_start) + 1, record.id
        assert p.line_end == text.count("\n", 0, max(p.char_start, p.char_end - 1)) + 1, record.id


def test_the_span_sits_in_its_sentence_at_its_offsets(sample_result: tuple[str, DocumentResult]) -> None:
    """`sentence` is the page text from `sentence_start` to `sentence_end`, whitespace made spaces:
    the span is found by offset, never by searching (a span that repeats in its sentence too)."""
    text, result = sample_result
    for record in _records(result):
        assert not span_problems(record.prov, text), (record.id, span_problems(record.prov, text))


def test_a_span_that_repeats_in_its_sentence_is_marked_where_it_was_read(tmp_path: Path) -> None:
    text = "Đã lắp 14 màn hình tại 14 xã, mỗi xã 14 màn hình.\n"
    path = tmp_path / "repeat.txt"
    path.write_text(text, encoding="utf-8")
    figures = process_document(path).figures
    starts = sorted(f.prov.char_start for f in figures if f.prov.text.startswith("14"))
    assert starts == [i for i in range(len(text)) if text.startswith("14", i)]  # all three, each its own place
    for f in figures:
        p = f.prov
        assert p.sentence[p.char_start - p.sentence_start : p.char_end - p.sentence_start] == p.text


def test_ids_are_unique_and_in_reading_order(sample_result: tuple[str, DocumentResult]) -> None:
    _, result = sample_result
    for table in ("references", "figures", "services", "tables", "findings"):
        records = getattr(result, table)
        ids = [r.id for r in records]
        assert len(set(ids)) == len(ids)
        assert all(i.startswith(result.info.doc_id + "-") for i in ids)
        if table != "findings":
            starts = [(r.prov.page, r.prov.char_start) for r in records]
            assert starts == sorted(starts)


def test_findings_name_existing_records(sample_result: tuple[str, DocumentResult]) -> None:
    _, result = sample_result
    known = {r.id for r in _records(result)}
    for finding in result.findings:
        assert finding.record_ids and set(finding.record_ids) <= known, finding
