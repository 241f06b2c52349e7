"""The real documents in ../shared/corpus-real/ (no gold): every one is read, none fails, and
every record of every table keeps the provenance invariant. Skipped when the folder is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import RunOptions
from pipeline.document import process_document
from tests.helpers.spans import span_problems

REAL = Path(__file__).resolve().parents[2] / "shared" / "corpus-real"
pytestmark = pytest.mark.slow


def _real_files() -> list[Path]:
    if not REAL.is_dir():
        return []
    return sorted((REAL / "text").glob("*.txt")) + sorted((REAL / "pdf").glob("*.pdf"))


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/corpus-real is not beside this checkout")
def test_every_real_document_is_read_with_exact_provenance() -> None:
    options = RunOptions(isolate=False, ocr="never")
    problems: list[str] = []
    records = 0
    for path in _real_files():
        result = process_document(path, options)
        if result.info.status != "ok":
            problems.append(f"{path.name}: {result.info.status} {result.info.error}")
            continue
        pages = {p.page: p.text for p in result.pages}
        for table in ("references", "figures", "services", "tables", "findings"):
            for record in getattr(result, table):
                records += 1
                p = record.prov
                problems.extend(f"{path.name} {record.id}: {m}" for m in span_problems(p, pages[p.page]))
                if len(p.sentence) > 2 * 400 + len(p.text) + 4:
                    problems.append(f"{path.name} {record.id}: sentence of {len(p.sentence)} characters")
    assert records > 10_000
    assert not problems, "\n".join(problems[:20])
