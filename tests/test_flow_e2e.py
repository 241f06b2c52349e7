"""End to end through Prefect and the CLI: samples plus bad files, exit codes, incremental runs.

Each `de06 run` is a process of its own (the test session's Prefect server serves them all), so
the cases share as few runs as possible.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from resources.make_fixtures import corrupt_pdf, encrypted_pdf, png_page

from tests.helpers.spans import spaced

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def run_de06(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    """One run over the samples plus a folder of bad files and a scanned page."""
    base = tmp_path_factory.mktemp("mixed")
    corpus = base / "corpus"
    shutil.copytree(ROOT / "corpus" / "samples", corpus / "samples")
    bad = corpus / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    scratch = base / "scratch"  # fixture makers leave their intermediate files here
    scratch.mkdir()
    shutil.move(corrupt_pdf(scratch / "corrupt.pdf"), bad / "corrupt.pdf")
    shutil.move(encrypted_pdf(scratch / "locked.pdf"), bad / "locked.pdf")
    shutil.move(png_page(scratch / "scan.png"), corpus / "scan.png")
    out = base / "out"
    return run_de06("run", str(corpus), "--out", str(out), "--quiet"), out, corpus


def test_samples_ok_png_by_ocr_bad_files_failed_exit_1(
    mixed_run: tuple[subprocess.CompletedProcess[str], Path, Path],
) -> None:
    proc, out, _ = mixed_run
    assert proc.returncode == 1, proc.stderr[-2000:]
    docs = json.loads((out / "documents.json").read_text(encoding="utf-8"))
    by_name = {Path(d["source"]).name: d for d in docs}
    assert len(docs) == 9
    for name in by_name:
        if name.endswith(".txt") and name != "empty.txt":
            assert by_name[name]["status"] == "ok", by_name[name]
    scan = by_name["scan.png"]
    assert scan["status"] == "ok" and scan["format"] == "image"
    assert scan["ocr_confidence"] is not None and scan["ocr_confidence"] > 50
    assert scan["doc_type"] == "BÁO CÁO"
    failed = {n: d["error"] for n, d in by_name.items() if d["status"] == "failed"}
    assert set(failed) == {"empty.txt", "corrupt.pdf", "locked.pdf"}
    assert "empty" in failed["empty.txt"]
    assert "password" in failed["locked.pdf"]
    assert failed["corrupt.pdf"]
    stderr_tracebacks = [line for line in proc.stderr.splitlines() if line.startswith("Traceback")]
    assert not stderr_tracebacks, proc.stderr[-2000:]


def test_outputs_and_manifest(mixed_run: tuple[subprocess.CompletedProcess[str], Path, Path]) -> None:
    _, out, _ = mixed_run
    for table in ("documents", "references", "figures", "services", "tables", "findings"):
        assert (out / f"{table}.csv").is_file() and (out / f"{table}.json").is_file()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["documents"] == 9
    assert manifest["counts"]["failed"] == 3
    assert len(manifest["inputs"]) == 9
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    assert not list(out.glob(".*.tmp"))


def test_every_output_row_marks_its_span_in_its_sentence_by_offset(
    mixed_run: tuple[subprocess.CompletedProcess[str], Path, Path],
) -> None:
    """What an auditor's tool does with a row alone (text files and the OCR'd scan alike)."""
    _, out, _ = mixed_run
    rows = 0
    for table in ("references", "figures", "services", "tables"):
        for row in json.loads((out / f"{table}.json").read_text(encoding="utf-8")):
            a, b = row["char_start"] - row["sentence_start"], row["char_end"] - row["sentence_start"]
            assert row["sentence"][a:b] == spaced(row["text"]), row["id"]
            rows += 1
    assert rows > 500


def test_rerun_uses_the_cache_and_a_changed_file_is_redone(
    mixed_run: tuple[subprocess.CompletedProcess[str], Path, Path],
) -> None:
    _, out, corpus = mixed_run
    before = json.loads((out / "references.json").read_text(encoding="utf-8"))
    proc = run_de06("run", str(corpus / "samples"), "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["counts"]["processed"], manifest["counts"]["cached"]) == (0, 5)
    changed = sorted((corpus / "samples").iterdir())[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "\nDòng thêm.", encoding="utf-8")
    proc = run_de06("run", str(corpus / "samples"), "--out", str(out), "--quiet")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["counts"]["processed"], manifest["counts"]["cached"]) == (1, 4)
    after = json.loads((out / "references.json").read_text(encoding="utf-8"))
    unchanged_ids = {
        r["id"] for r in before if "/samples/" in r["source"] and not r["source"].endswith(changed.name)
    }
    assert unchanged_ids
    assert unchanged_ids <= {r["id"] for r in after}


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    from pipeline.cli import main

    assert main(["run", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert main(["run"]) == 2
    assert main(["frobnicate"]) == 2
