"""Long-running use: the incoming-folder service, and a run killed with -9 then resumed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from resources.make_fixtures import png_page

from pipeline.config import RunOptions
from pipeline.serve import serve, settled, snapshot

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "corpus" / "samples"


def test_a_file_still_growing_is_not_settled(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("BÁO CÁO")
    first = snapshot(tmp_path)
    f.write_text("BÁO CÁO\nthêm dòng")
    second = snapshot(tmp_path)
    assert settled(first, second) == {}
    assert settled(second, snapshot(tmp_path)) == second
    (tmp_path / "b.pdf.part").write_bytes(b"%PDF-")
    assert str(tmp_path / "b.pdf.part") not in snapshot(tmp_path)


def test_serve_loop_runs_when_settled_files_change(tmp_path: Path) -> None:
    calls: list[list[str]] = []
    stop = threading.Event()
    watch = tmp_path / "in"
    watch.mkdir()

    def run(paths: list[str]) -> None:
        calls.append(paths)
        if len(calls) == 2:
            stop.set()

    def feed() -> None:
        (watch / "one.txt").write_text("một")
        time.sleep(0.5)
        (watch / "two.txt").write_text("hai")

    threading.Thread(target=feed).start()
    serve(watch, RunOptions(out_dir=str(tmp_path / "out")), 0.2, run, stop, log=lambda m: None)
    assert [len(c) for c in calls] == [1, 2]


def _wait_for(predicate, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


@pytest.mark.slow
def test_serve_picks_up_dropped_files_and_stops_on_sigterm(tmp_path: Path) -> None:
    watch, out = tmp_path / "incoming", tmp_path / "out"
    watch.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "serve", "--watch", str(watch), "--out", str(out), "--interval", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        shutil.copy(SAMPLES / "000_7447eb4df85dea24.txt", watch)

        def sources() -> set[str]:
            try:
                return {Path(d["source"]).name for d in json.loads((out / "documents.json").read_text("utf-8"))}
            except (FileNotFoundError, json.JSONDecodeError):
                return set()

        assert _wait_for(lambda: "000_7447eb4df85dea24.txt" in sources(), 120)
        shutil.copy(SAMPLES / "004_aa727d32706dd07c.txt", watch)
        assert _wait_for(lambda: "004_aa727d32706dd07c.txt" in sources(), 60)

        def manifest() -> dict[str, int]:
            try:  # written last in a cycle, after every table and the report
                return dict(json.loads((out / "manifest.json").read_text("utf-8"))["counts"])
            except (FileNotFoundError, json.JSONDecodeError):
                return {}

        assert _wait_for(lambda: manifest().get("documents") == 2, 60)
        assert manifest()["cached"] == 1 and manifest()["processed"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, err[-2000:]
    assert "stopped" in err


@pytest.mark.slow
@pytest.mark.ocr
def test_a_run_killed_with_sigkill_resumes_without_redoing_finished_documents(tmp_path: Path) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    corpus.mkdir()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for i in range(4):  # slow OCR pages: the run is killed while some are still to do
        shutil.move(png_page(scratch / f"scan{i}.png", text=f"BÁO CÁO\nTrang số {i}\nĐạt 85,29%"), corpus)
    for sample in sorted(SAMPLES.iterdir())[:2]:
        shutil.copy(sample, corpus)
    cmd = [sys.executable, "-m", "pipeline.cli", "run", str(corpus), "--out", str(out), "--quiet", "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    cache = out / ".de06-cache"
    finished_some = _wait_for(lambda: cache.is_dir() and len(list(cache.glob("*.json"))) >= 2, 240)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert finished_some
    done_before = len(list(cache.glob("*.json")))
    assert done_before < 6, "the run finished before it could be killed"
    assert not (out / "documents.json").exists()  # no half-written table
    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["counts"]["cached"] == done_before
    assert manifest["counts"]["processed"] == 6 - done_before
    assert len(json.loads((out / "documents.json").read_text("utf-8"))) == 6
    assert not list(out.glob(".*.tmp"))
