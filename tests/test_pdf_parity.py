"""The same extraction on a text-layer PDF rendering of each sample gives the same records.

Each sample report is rendered by `report_pdf` (tests/resources/make_fixtures.py): prose wrapped
to the page, markdown markers dropped, "\\t" lines drawn as ruled tables (landscape when wide), the
source's table page breaks kept. Both files go through `process_document`; records are compared by
value (references by type, number key and date; figures by value and kind; services by id and
numbers; table rows by cells), and every PDF record must point into its page (`text` is the page
text slice, a box inside the page). Differences that a PDF rightly has are listed here, with why.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from resources import make_fixtures as fx

from pipeline.config import RunOptions
from pipeline.document import process_document
from pipeline.ingest import triage
from pipeline.pdf_text import plan_pdf
from pipeline.types import DocumentResult, PageText, Provenance, ServiceRecord, TableRowRecord
from tests.helpers.spans import span_problems

pytestmark = pytest.mark.slow  # ~20 s: five renderings, each read twice
# Text layers only: a page whose layer is near-empty (003's last page, a few words) would go to
# Tesseract under `auto`; parity is about the text layer, and these tests must not need the engine.
NO_OCR = RunOptions(ocr="never")


SAMPLES = sorted(fx.SAMPLES_DIR.glob("*.txt"))
IDS = [p.stem[:3] for p in SAMPLES]

# Rows of 002's task table whose cells the exported document wrapped onto the next page (the
# text repeats the header, then a row with an empty "STT"): one row with `continued_from` in the PDF.
CONTINUED_ROWS = {"002": {"5", "18", "22"}}


@dataclass(frozen=True)
class Run:
    text: DocumentResult
    pdf: DocumentResult
    pages: dict[int, PageText]
    """The PDF's page texts by page number, as the reader gave them to the extractors."""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    folder = tmp_path_factory.mktemp("parity")
    out: dict[str, Run] = {}
    for sample, name in zip(SAMPLES, IDS, strict=True):
        pdf = fx.report_pdf(folder / f"{name}.pdf", sample.read_text(encoding="utf-8"))
        pages = {p.page: p for p in plan_pdf(triage(pdf), NO_OCR).text_pages}
        out[name] = Run(process_document(sample), process_document(pdf, NO_OCR), pages)
    return out


def _records(result: DocumentResult) -> list[Any]:
    return [*result.references, *result.figures, *result.services, *result.tables, *result.findings]


def _check_prov(prov: Provenance, pages: dict[int, PageText]) -> None:
    page = pages[prov.page]
    assert not span_problems(prov, page.text), (prov, span_problems(prov, page.text))
    assert page.line_at(prov.char_start).number == prov.line
    assert prov.method == "pdf-text"
    assert prov.bbox is not None, prov
    x0, top, x1, bottom = prov.bbox
    assert page.width is not None and page.height is not None
    assert 0 <= x0 <= x1 <= page.width and 0 <= top <= bottom <= page.height


@pytest.mark.parametrize("name", IDS)
def test_pdf_runs_cleanly_and_every_record_points_into_its_page(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    assert (run.pdf.info.status, run.pdf.info.format, run.pdf.errors) == ("ok", "pdf", ())
    assert run.pdf.info.pages == len(run.pages)
    for record in _records(run.pdf):
        assert record.prov.page >= 1
        _check_prov(record.prov, run.pages)
        for more in getattr(record, "continued_from", ()):
            _check_prov(more, run.pages)


def _ref_key(result: DocumentResult) -> Counter[tuple[str, str, str | None]]:
    from extractors.references import number_key

    return Counter((r.type, number_key(r.number or ""), r.date) for r in result.references)


@pytest.mark.parametrize("name", IDS)
def test_references_are_the_same(runs: dict[str, Run], name: str) -> None:
    text, pdf = _ref_key(runs[name].text), _ref_key(runs[name].pdf)
    assert sum(text.values()) > 0
    assert pdf == text


def _figure_key(result: DocumentResult) -> Counter[tuple[float, str]]:
    return Counter((f.value, f.kind) for f in result.figures)


@pytest.mark.parametrize("name", IDS)
def test_figures_are_the_same(runs: dict[str, Run], name: str) -> None:
    # Sample 001's footnote marks are drawn raised and small: the reader must wrap them in
    # <sup>…</sup> ("21¹ văn bản" is 21, not 211; a mark alone on its line opens the footnote).
    text, pdf = _figure_key(runs[name].text), _figure_key(runs[name].pdf)
    assert sum(text.values()) > 0
    assert (text - pdf, pdf - text) == (Counter(), Counter())


def test_figures_are_the_same_without_footnote_markers(tmp_path: Path) -> None:
    sample = SAMPLES[IDS.index("001")]
    pdf = fx.report_pdf(tmp_path / "001-nosup.pdf", sample.read_text(encoding="utf-8"), sup="drop")
    assert _figure_key(process_document(pdf, NO_OCR)) == _figure_key(process_document(sample))


def _service_key(r: ServiceRecord) -> tuple[Any, ...]:
    return (r.service_id, r.catalog, r.source_kind, r.total, r.online, r.online_citizen, r.online_business,
            r.rate_reported, r.on_time, r.overdue, r.rejected, r.level, r.agency, r.flags)


@pytest.mark.parametrize("name", IDS)
def test_service_table_and_catalogue_rows_are_the_same(runs: dict[str, Run], name: str) -> None:
    def rows(result: DocumentResult) -> Counter[tuple[Any, ...]]:
        return Counter(_service_key(r) for r in result.services if r.source_kind in ("table", "catalog"))

    text, pdf = rows(runs[name].text), rows(runs[name].pdf)
    assert pdf == text
    expected = {"000": 25, "002": 25, "004": 15}.get(name)
    if expected is not None:  # the 25-service tables of 000 and 004, 002's catalogue
        assert sum(text.values()) >= expected


def _on_one_page(span: str, pages: dict[int, PageText]) -> bool:
    words = " ".join(span.split())
    return any(words in " ".join(p.text.split()) for p in pages.values())


@pytest.mark.parametrize("name", IDS)
def test_every_service_value_has_its_own_cell_and_box(runs: dict[str, Run], name: str) -> None:
    """A service row's total, online, rate … each point at their own cell (own span, own box inside
    the row's), and the same fields have cells in the text file and in the PDF."""
    from extractors.vn_numbers import parse_number

    for result, pages in ((runs[name].pdf, runs[name].pages), (runs[name].text, None)):
        for service in result.services:
            for field_name, cell in service.field_cells:
                value = getattr(service, field_name)
                assert value is not None and cell.text, (service.id, field_name)
                if field_name == "agency":
                    assert " ".join(cell.text.split()) == value
                else:
                    assert parse_number(cell.text, percent=field_name == "rate_reported") == value, (service.id, cell)
                if pages is None:
                    continue
                assert not span_problems(cell, pages[cell.page].text), (service.id, field_name)
                assert cell.bbox is not None and service.prov.bbox is not None
                if cell.page == service.prov.page:
                    x0, top, x1, bottom = cell.bbox
                    rx0, rtop, rx1, rbottom = service.prov.bbox
                    assert rx0 - 1 <= x0 <= x1 <= rx1 + 1 and rtop - 1 <= top <= bottom <= rbottom + 1
    for row in runs[name].pdf.tables:
        for column, cell in row.cell_sources:
            assert not span_problems(cell, runs[name].pages[cell.page].text), (row.id, column)
            # a row continued on the next page keeps the first part of a cell it joined
            assert cell.bbox is not None and dict(row.cells)[column].startswith(" ".join(cell.text.split()))
    fields_of = lambda r: sorted((s.service_id or 0, tuple(f for f, _ in s.field_cells)) for s in r.services)  # noqa: E731
    assert fields_of(runs[name].pdf) == fields_of(runs[name].text)


@pytest.mark.parametrize("name", IDS)
def test_narrative_service_rows_are_the_same(runs: dict[str, Run], name: str) -> None:
    # Including rows a PDF page break cuts in two ("…Đăng ký tạm trú" ⏎ page ⏎ "(98,95%)"): the
    # name's page holds the row, its figure is read from the top of the next page.
    run = runs[name]
    pdf = Counter(_service_key(r) for r in run.pdf.services if r.source_kind == "narrative")
    text = Counter(_service_key(r) for r in run.text.services if r.source_kind == "narrative")
    assert pdf == text


def _cells(row: TableRowRecord) -> tuple[str, ...]:
    return tuple(c for _, c in row.cells)


@pytest.mark.parametrize("name", IDS)
def test_table_rows_are_the_same_and_wrapped_rows_are_joined(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    continued = CONTINUED_ROWS.get(name, set())
    text_rows, pdf_rows = list(run.text.tables), list(run.pdf.tables)
    # In the text, the wrapped rest is a row of its own; join it to the row above for comparison.
    joined: list[tuple[bool, tuple[str, ...]]] = []
    i = 0
    while i < len(text_rows):
        row, cells = text_rows[i], _cells(text_rows[i])
        rest = text_rows[i + 1] if i + 1 < len(text_rows) else None
        if cells and cells[0] in continued and rest is not None and rest.table_id == row.table_id and not _cells(rest)[0]:
            joined.append((False, tuple(f"{a} {b}".strip() for a, b in zip(cells, _cells(rest), strict=True))))
            i += 2
            continue
        joined.append((row.is_header, cells))
        i += 1
    assert Counter((r.is_header, _cells(r)) for r in pdf_rows) == Counter(joined)
    with_rest = [r for r in pdf_rows if r.continued_from]
    assert {_cells(r)[0] for r in with_rest} == continued
    for r in with_rest:
        (more,) = r.continued_from
        assert more.page == r.prov.page + 1 and more.line <= 3  # at the top of the next page


@pytest.mark.parametrize("repeat_headings", [True, False], ids=["repeated-header", "no-repeated-header"])
def test_tables_broken_where_the_page_ends(tmp_path: Path, repeat_headings: bool) -> None:
    # Without the source's page breaks fpdf2 breaks 004's tables where the page is full, repeating
    # the header rows or not; either way the same service rows come out, from more than one page.
    sample = SAMPLES[IDS.index("004")]
    pdf = fx.report_pdf(tmp_path / "004.pdf", sample.read_text(encoding="utf-8"),
                        source_breaks=False, repeat_headings=repeat_headings)
    text, got = process_document(sample), process_document(pdf, NO_OCR)
    rows = [r for r in got.services if r.source_kind == "table"]
    assert Counter(map(_service_key, rows)) == Counter(
        _service_key(r) for r in text.services if r.source_kind == "table"
    )
    assert len({r.prov.page for r in rows}) >= 2
    assert len({r.table_id for r in got.tables}) == len({r.table_id for r in text.tables})
