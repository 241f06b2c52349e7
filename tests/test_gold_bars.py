"""The issues' quality bars, measured the way `de06 eval` measures them (same scorer, same matching),
on the five samples run through the whole stage chain without Prefect."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.document import process_document
from pipeline.evaluate import EvalReport, load_gold, score
from pipeline.export import result_rows


@pytest.fixture(scope="module")
def report(gold_dir: Path, samples: list[Path]) -> EvalReport:
    results = [process_document(p) for p in samples]
    tables = result_rows(results)
    names = {r.info.doc_id: Path(r.info.source).name for r in results}
    return score(load_gold(gold_dir), tables, names)


def _accuracy(report: EvalReport, table: str, field: str) -> float:
    value = report.tables[table].fields[field].accuracy
    assert value is not None, (table, field)
    return value


def test_documents_match_field_by_field(report: EvalReport) -> None:
    docs = report.tables["documents"]
    assert docs.tp == 5
    assert all(score.accuracy == 1.0 for score in docs.fields.values())


def test_references_bar(report: EvalReport) -> None:  # issue 4
    refs = report.tables["references"]
    assert refs.precision >= 0.98 and refs.recall >= 0.98
    for field in ("type", "date", "issuer_explicit"):
        assert _accuracy(report, "references", field) >= 0.98, field


def test_figures_bar(report: EvalReport) -> None:  # issue 5
    figs = report.tables["figures"]
    assert figs.precision >= 0.97 and figs.recall >= 0.97
    assert _accuracy(report, "figures", "kind") >= 0.95
    assert _accuracy(report, "figures", "unit") >= 0.95
    assert figs.extra["not_figure_emitted_rate"] <= 0.02


def test_services_bar(report: EvalReport) -> None:  # issue 6
    services = report.tables["services"]
    assert services.recall >= 0.95 and services.precision >= 0.95
    for field in ("total", "online", "online_citizen", "online_business", "rate_reported", "on_time", "overdue"):
        assert _accuracy(report, "services", field) >= 0.99, field
    assert services.extra["flag_recall"]["accuracy"] == 1.0
