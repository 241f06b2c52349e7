"""The stage chain without Prefect: failures stay inside their document, ids are stable."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.config import RunOptions
from pipeline.document import process_document
from pipeline.types import InputFile, PageText, StageError


@pytest.mark.parametrize(
    ("name", "data", "category", "words"),
    [
        ("empty.txt", b"", "empty", "empty"),
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "unsupported", ".docx"),
        ("sheet.xyz", b"PK\x03\x04 not a report", "unsupported", "unsupported"),
        ("legacy.txt", "Céng hßa".encode("cp1252") + b"\x81\x8d", "encoding", "UTF-8"),
    ],
)
def test_bad_inputs_fail_with_a_reason(tmp_path: Path, name: str, data: bytes, category: str, words: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    result = process_document(path)
    assert result.info.status == "failed"
    assert result.errors[0].category == category
    assert words in (result.info.error or "")


def test_oversized_input_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 2048)
    result = process_document(path, RunOptions(max_bytes=1024))
    assert result.info.status == "failed" and "limit" in (result.info.error or "")


def test_same_bytes_give_same_ids_wherever_the_file_lives(tmp_path: Path, samples: list[Path]) -> None:
    copy = tmp_path / "elsewhere" / "renamed.txt"
    copy.parent.mkdir()
    shutil.copy(samples[0], copy)
    a = process_document(samples[0])
    b = process_document(copy)
    assert a.info.doc_id == b.info.doc_id == a.info.sha256[:12]
    for table in ("references", "figures", "services", "findings"):
        assert [r.id for r in getattr(a, table)] == [r.id for r in getattr(b, table)]


def test_a_failed_ocr_page_makes_the_document_partial(samples: list[Path]) -> None:
    from pipeline.document import finish_document, plan_document
    from pipeline.ingest import triage

    plan = plan_document(triage(samples[0]), RunOptions())
    result = finish_document(plan, [StageError("ocr", 2, "ocr", "tesseract timed out")], RunOptions())
    assert result.info.status == "partial"
    assert result.info.error == "page 2: tesseract timed out"


def test_ocr_results_are_merged_in_page_order(tmp_path: Path) -> None:
    def fake_ocr(input_file: InputFile, n: int, options: RunOptions) -> PageText:
        from pipeline.types import build_lines

        text = f"Trang {n}\nBÁO CÁO\nKết quả trang {n}"
        return PageText(page=n, text=text, method="ocr:fake", lines=build_lines(text))

    png = tmp_path / "scan.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)

    from pipeline import document

    plan = document.ReadPlan(document.triage(png), "image", 2, ocr_pages=(2, 1))
    result = document.finish_document(plan, [fake_ocr(plan.input, 2, RunOptions()), fake_ocr(plan.input, 1, RunOptions())], RunOptions())
    assert result.info.status == "ok"
    assert result.info.doc_type == "BÁO CÁO"
    assert result.info.title == "Kết quả trang 1"
