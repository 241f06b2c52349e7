"""One bad file fails alone: a whole `de06 run` over good reports beside hostile files, a killed
de06, Ctrl-C, a tampered cache, a locked or unwritable output folder."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.app import output_lock
from pipeline.cli import main
from tests.resources import hostile
from tests.resources.make_fixtures import corrupt_pdf, png_page

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "corpus" / "samples").glob("*.txt"))
MARK = "DE06_TEST_MARK"


def marked_processes(mark: str) -> list[int]:
    """Processes whose environment carries `DE06_TEST_MARK=mark` (everything a run started)."""
    needle = f"{MARK}={mark}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
                    if state != "Z":
                        found.append(int(entry.name))
            except OSError:
                continue
    return found


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def scans(corpus: Path, scratch: Path, count: int) -> None:
    """`count` one-page scans in `corpus` (the fixture maker's intermediate files stay in scratch)."""
    scratch.mkdir(exist_ok=True)
    for i in range(count):
        shutil.move(png_page(scratch / f"scan{i}.png", text=f"BÁO CÁO\nTrang số {i}\nĐạt 85,29%"), corpus)


def start_de06(mark: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, MARK: mark, "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "run", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # like a shell job: signals to it reach de06 alone
    )


@pytest.mark.slow
def test_good_reports_complete_beside_every_hostile_class(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for sample in SAMPLES[:2]:
        shutil.copy(sample, corpus)
    shutil.copy(SAMPLES[0], corpus / "copy of the first report.txt")
    made = tmp_path / "made"
    made.mkdir()
    for name, make in [
        ("canvas.png", hostile.png_canvas_bomb),
        ("laughs.docx", hostile.docx_billion_laughs),
        ("bomb.docx", hostile.docx_zip_bomb),
        ("runaway.txt", hostile.runaway_reference_line),
        ("loop.pdf", hostile.page_tree_loop_pdf),
    ]:
        shutil.move(make(made / name), corpus / name)
    # Decodes to 121 megapixels: over a 200 MB worker limit, so this one runs out of memory.
    (corpus / "huge.png").write_bytes(hostile.bilevel_png(11_000, 11_000))
    (corpus / "empty.txt").write_bytes(b"")
    os.mkfifo(corpus / "pipe.txt")
    (corpus / "loop").symlink_to(corpus / "loop")
    for odd in ("line\nbreak.txt", "quote\"'.txt", "-leading-dash.txt", "[bold red]markup.txt"):
        (corpus / odd).write_text(hostile.GOOD_REPORT, encoding="utf-8")
    (corpus / os.fsdecode(b"bad-\xff-name.txt")).write_text(hostile.GOOD_REPORT, encoding="utf-8")
    out = tmp_path / "out"
    mark = uuid.uuid4().hex
    proc = start_de06(mark, str(corpus), "--out", str(out), "--max-memory", "200M", "--workers", "2")
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 1, err[-3000:]
    assert "Traceback" not in err
    docs = json.loads((out / "documents.json").read_text(encoding="utf-8"))
    by_name = {Path(d["source"]).name: d for d in docs}
    assert len(docs) == len(list(corpus.iterdir()))  # nothing lost, nothing skipped silently

    from pipeline.config import RunOptions
    from pipeline.document import process_document

    figures = json.loads((out / "figures.json").read_text(encoding="utf-8"))
    for sample in SAMPLES[:2]:
        alone = process_document(sample, RunOptions(isolate=False))
        doc = by_name[sample.name]
        assert doc["status"] == "ok"
        assert sum(f["doc_id"] == doc["doc_id"] for f in figures) == len(alone.figures)
    copy = by_name["copy of the first report.txt"]
    assert copy["duplicate_of"].endswith(SAMPLES[0].name) and copy["doc_id"] == by_name[SAMPLES[0].name]["doc_id"]
    ids = [r["id"] for table in ("references", "figures", "services", "findings")
           for r in json.loads((out / f"{table}.json").read_text(encoding="utf-8"))]
    assert len(ids) == len(set(ids))

    expected = {
        "canvas.png": "too large to read safely",
        "laughs.docx": "billion laughs",
        "bomb.docx": "zip bomb",
        "loop.pdf": "cannot be",
        "huge.png": "--max-memory",
        "empty.txt": "empty",
        "pipe.txt": "FIFO",
        "loop": "loops",
    }
    for name, words in expected.items():
        assert by_name[name]["status"] == "failed", name
        assert words in by_name[name]["error"], (name, by_name[name]["error"])
    assert by_name["runaway.txt"]["status"] == "ok"
    for name in ("line\nbreak.txt", "quote\"'.txt", "-leading-dash.txt", "[bold red]markup.txt"):
        assert by_name[name]["status"] == "ok" or by_name[name]["duplicate_of"], name
    assert wait_for(lambda: not marked_processes(mark), 10), "processes outlived the run"


@pytest.mark.slow
@pytest.mark.ocr
def test_kill_9_of_de06_leaves_no_process_behind(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    scans(corpus, tmp_path / "scratch", 4)
    mark = uuid.uuid4().hex
    proc = start_de06(mark, str(corpus), "--out", str(tmp_path / "out"), "--quiet", "--workers", "2")
    try:
        # The watchdog, the forkserver and at least one worker (or its tesseract) are up.
        assert wait_for(lambda: len(marked_processes(mark)) >= 3, 120), marked_processes(mark)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    assert wait_for(lambda: not marked_processes(mark), 15), f"left behind: {marked_processes(mark)}"


@pytest.mark.slow
@pytest.mark.ocr
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_writes_what_finished_says_so_and_exits_130(tmp_path: Path, signum: int) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLES[0], corpus / "a_report.txt")
    scans(corpus, tmp_path / "scratch", 4)
    out = tmp_path / "out"
    mark = uuid.uuid4().hex
    proc = start_de06(mark, str(corpus), "--out", str(out), "--quiet", "--workers", "1")
    cache = out / ".de06-cache"
    try:
        assert wait_for(lambda: cache.is_dir() and any(cache.glob("*.json")), 180)
    finally:
        os.kill(proc.pid, signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err[-3000:]
    assert "interrupted" in err and "Traceback" not in err
    docs = json.loads((out / "documents.json").read_text(encoding="utf-8"))
    assert len(docs) == 5
    by_name = {Path(d["source"]).name: d for d in docs}
    assert by_name["a_report.txt"]["status"] == "ok"
    assert any("interrupted" in (d["error"] or "") for d in docs)
    assert wait_for(lambda: not marked_processes(mark), 15), f"left behind: {marked_processes(mark)}"


@pytest.mark.slow
def test_a_tampered_cache_is_ignored_and_never_executed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLES[1], corpus)
    (corpus / "empty.txt").write_bytes(b"")
    out = tmp_path / "out"
    first = start_de06(uuid.uuid4().hex, str(corpus), "--out", str(out), "--quiet")
    assert first.wait(timeout=600) == 1
    cache = out / ".de06-cache"
    entries = sorted(cache.glob("*.json"))
    assert len(entries) == 1  # the report (the empty file is refused at triage, never cached)
    marker = tmp_path / "pwned"
    payload = b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."
    for entry in entries:
        entry.with_suffix(".pickle").write_bytes(payload)  # where the old cache looked
    report_entry = next(e for e in entries if json.loads(e.read_bytes())["info"]["status"] == "ok")
    forged = json.loads(report_entry.read_bytes())
    forged["rows"]["figures"] = "not rows"
    report_entry.write_text(json.dumps(forged), encoding="utf-8")
    second = start_de06(uuid.uuid4().hex, str(corpus), "--out", str(out), "--quiet")
    _, err = second.communicate(timeout=600)
    assert second.returncode == 1
    assert not marker.exists()
    assert "ignoring a cache entry" in err
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["processed"] == 2 and manifest["counts"]["cached"] == 0


@pytest.mark.slow
def test_files_refused_at_triage_and_cached_failures_start_no_orchestration(tmp_path: Path) -> None:
    """Empty and unsupported files fail at triage, in de06's own process; a corrupt PDF fails in a
    worker the first time and comes from the cache after. Neither needs Prefect again."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "notes.xlsx").write_bytes(b"PK\x03\x04not a report")
    out = tmp_path / "out"
    dead_api = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"}  # nothing listens there

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "run", str(corpus), "--out", str(out), "--quiet"],
            cwd=ROOT, env=dead_api, capture_output=True, text=True, timeout=120,
        )

    first = run()
    assert first.returncode == 1, first.stderr[-2000:]
    docs = {Path(d["source"]).name: d for d in json.loads((out / "documents.json").read_text(encoding="utf-8"))}
    assert docs["empty.txt"]["error"].startswith("the file is empty")
    assert docs["notes.xlsx"]["error"].startswith("unsupported file type .xlsx")

    shutil.move(corrupt_pdf(tmp_path / "corrupt.pdf"), corpus)
    assert main(["run", str(corpus), "--out", str(out), "--quiet"]) == 1  # the PDF needs a worker once
    again = run()
    assert again.returncode == 1, again.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["cached"] == 1 and manifest["counts"]["failed"] == 3


def test_a_second_run_on_the_same_output_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with output_lock(out):
        assert main(["run", str(SAMPLES[0]), "--out", str(out), "--quiet"]) == 4
    err = capsys.readouterr().err
    assert f"another de06 run (pid {os.getpid()}) is writing to {out}" in err


def test_an_output_folder_that_cannot_be_written_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert main(["run", str(SAMPLES[0]), "--out", str(a_file), "--quiet"]) == 4
    assert "is a file, not a folder" in capsys.readouterr().err
    assert main(["run", str(SAMPLES[0]), "--out", str(a_file / "sub"), "--quiet"]) == 4
    assert "cannot write to the output folder" in capsys.readouterr().err

    import errno
    import tempfile

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", full)
    assert main(["run", str(SAMPLES[0]), "--out", str(tmp_path / "full"), "--quiet"]) == 4
    err = capsys.readouterr().err
    assert "the disk is full" in err and "Traceback" not in err


def test_an_output_folder_holding_other_files_is_refused_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.app import prepare_output

    out = tmp_path / "Documents"
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"mine")
    assert main(["run", str(SAMPLES[0]), "--out", str(out), "--quiet"]) == 2
    assert "no de06 output folder" in capsys.readouterr().err
    prepare_output(out, force=True)  # --force: the user said so
    (out / ".gitkeep").write_text("")
    prepare_output(tmp_path / "new")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".gitkeep").write_text("")
    prepare_output(empty)


def test_the_output_folder_inside_an_input_folder_is_never_ingested(tmp_path: Path) -> None:
    from pipeline.ingest import expand_inputs

    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "a.txt").write_text(hostile.GOOD_REPORT, encoding="utf-8")
    out = tmp_path / "reports" / "de06-out"
    out.mkdir()
    (out / "documents.csv").write_text("doc_id\n", encoding="utf-8")
    files, _, _ = expand_inputs([str(tmp_path / "reports")], exclude=out)
    assert [f.name for f in files] == ["a.txt"]


def test_the_bytes_parsed_are_the_bytes_hashed(tmp_path: Path) -> None:
    from pipeline.ingest import snapshot, triage

    path = tmp_path / "r.txt"
    path.write_text("Kế hoạch số 10/KH-UBND", encoding="utf-8")
    hashed = triage(path)
    path.write_text("Kế hoạch số 99/KH-UBND, thay thế", encoding="utf-8")  # swapped after hashing
    copy = snapshot(hashed, tmp_path / "work")
    assert Path(copy.path).read_bytes() == path.read_bytes()
    assert copy.sha256 != hashed.sha256  # keyed by what will be parsed, not by what was hashed first
    import hashlib

    assert copy.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert copy.source == hashed.source and Path(copy.path).parent == tmp_path / "work"


@pytest.mark.slow
def test_outputs_switch_as_one_set_and_a_failed_write_keeps_the_previous_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from pipeline import export

    out = tmp_path / "out"
    assert main(["run", str(SAMPLES[0]), "--out", str(out), "--quiet"]) == 0
    before = {name: (out / name).read_bytes() for name in ("documents.json", "figures.csv", "manifest.json")}
    assert (out / "documents.json").is_symlink() and (out / ".current").is_symlink()

    real_add = export.TableWriter.add

    def disk_full(self, table, rows):  # type: ignore[no-untyped-def]
        if table == "figures":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_add(self, table, rows)

    monkeypatch.setattr(export.TableWriter, "add", disk_full)
    assert main(["run", str(SAMPLES[0]), str(SAMPLES[1]), "--out", str(out), "--quiet"]) == 4
    err = capsys.readouterr().err
    assert "the disk is full" in err and "previous outputs there are unchanged" in err
    assert {name: (out / name).read_bytes() for name in before} == before
    assert len(list((out / ".generations").iterdir())) == 1  # the failed generation is gone
    monkeypatch.undo()
    assert main(["run", str(SAMPLES[0]), str(SAMPLES[1]), "--out", str(out), "--quiet"]) == 0
    docs = json.loads((out / "documents.json").read_text(encoding="utf-8"))
    assert len(docs) == 2


def test_the_summary_prints_paths_holding_markup_as_they_are(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # one line a row, so the test reads whole cells
    from pipeline.app import DocumentSummary
    from pipeline.cli import _print_summary

    info = {"source": "in/[/b][bold red]x\x1b]52;c;eA==\x07.txt", "status": "failed", "format": None, "pages": None,
            "error": "[/i] cannot read", "duplicate_of": None}
    counts = dict.fromkeys(("references", "figures", "services", "tables", "findings"), 0)
    _print_summary([DocumentSummary(info, counts, False)], {"timings": {"total_seconds": 1.0}}, Path("out"))
    err = capsys.readouterr().err
    assert "[/b]" in err and "[bold red]" in err and "[/i]" in err  # shown, not interpreted, no crash
    assert "\x1b" not in err and "<U+001B>" in err  # and no escape sequence reaches the terminal
