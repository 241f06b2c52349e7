"""Hostile and broken files, one per class an archive can hold: each gets the outcome a user
would want, fast, and none can take anything else down. Every fixture is generated here."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline import stages
from pipeline.cache import DocumentEntry
from pipeline.config import RunOptions
from pipeline.ingest import triage
from pipeline.pdf_text import MAX_RENDER_PIXELS, render_dpi
from tests.resources import hostile


def run_through_workers(path: Path, out: Path, **overrides: object) -> DocumentEntry:
    """The stages as the flow runs them (each in a worker process with limits), without Prefect."""
    options = RunOptions(out_dir=str(out), **overrides)  # type: ignore[arg-type]
    return stages.process(triage(path), options)


Case = tuple[str, Callable[[Path], Path], str, str | None]
# (file name, maker, expected status, words the error must hold)
CASES: list[Case] = [
    ("canvas.png", hostile.png_canvas_bomb, "failed", "too large to read safely"),
    ("text_chunk.png", hostile.png_metadata_bomb, "ok", None),
    ("colour_profile.png", lambda p: hostile.png_metadata_bomb(p, b"iCCP"), "ok", None),
    ("loop.tif", hostile.tiff_ifd_loop, "ok", None),
    ("many.tif", lambda p: hostile.tiff_pages(p, 600), "failed", "600 pages, over the limit of 500"),
    ("rotated.jpg", lambda p: hostile.jpeg_with_exif(p, hostile.exif_rotated()), "ok", None),
    ("broken_exif.jpg", lambda p: hostile.jpeg_with_exif(p, hostile.exif_broken()), "ok", None),
    ("huge_box.pdf", hostile.huge_mediabox_pdf, "ok", None),
    ("page_tree_loop.pdf", hostile.page_tree_loop_pdf, "failed", "cannot be"),
    ("deep.pdf", hostile.deep_nesting_pdf, "ok", None),
    ("pages.pdf", lambda p: hostile.many_pages_pdf(p, 2000), "failed", "2000 pages, over the limit of 500; split it"),
    ("zip_bomb.docx", hostile.docx_zip_bomb, "failed", "zip bomb"),
    ("laughs.docx", hostile.docx_billion_laughs, "failed", "billion laughs"),
    ("deep.docx", hostile.docx_deep_nesting, "failed", "nests deeper than 256 levels"),
    ("odt.docx", hostile.odt_named_docx, "failed", "OpenDocument"),
    ("ole.docx", hostile.ole_named_docx, "failed", "legacy Word"),
    ("runaway.txt", hostile.runaway_reference_line, "ok", None),
    ("dots.txt", hostile.digit_chain_line, "ok", None),
    ("slashes.txt", lambda p: hostile.digit_chain_line(p, "/"), "ok", None),
    ("short_lines.txt", hostile.many_short_lines, "ok", None),
    ("nul.txt", hostile.nul_bytes_text, "ok", None),
]


@pytest.mark.parametrize(("name", "make", "status", "words"), CASES, ids=[c[0] for c in CASES])
def test_each_hostile_class_gets_its_outcome(
    tmp_path: Path, name: str, make: Callable[[Path], Path], status: str, words: str | None
) -> None:
    entry = run_through_workers(make(tmp_path / name), tmp_path / "out")
    error = entry.info["error"] or ""
    assert entry.status == status, error
    if words:
        assert words in error and "unexpected" not in error


def test_runaway_lines_yield_no_noise(tmp_path: Path) -> None:
    for make in (hostile.runaway_reference_line, hostile.digit_chain_line):
        entry = run_through_workers(make(tmp_path / f"{make.__name__}.txt"), tmp_path / "out")
        assert entry.count("figures") < 10 and entry.count("references") < 10
        assert all(len(r["sentence"]) < 1000 for r in (*entry.rows["figures"], *entry.rows["references"]))


def test_a_document_yielding_absurd_numbers_of_records_stops_with_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "dense.txt"
    path.write_text("Tỷ lệ " + " ".join("5%" for _ in range(3000)), encoding="utf-8")
    entry = run_through_workers(path, tmp_path / "out", min_record_limit=100)
    assert entry.status == "partial"
    assert "stopped at" in (entry.info["error"] or "")
    assert any(f["kind"] == "record_limit" for f in entry.rows["findings"])
    assert entry.count("figures") <= max(100, len(path.read_text(encoding="utf-8")) // 6)


def test_scripts_and_launch_actions_in_a_pdf_are_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    entry = run_through_workers(hostile.actions_pdf(tmp_path / "actions.pdf", marker), tmp_path / "out")
    assert entry.status == "ok"
    assert not marker.exists()


def test_external_entities_in_a_docx_are_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("MẬT KHẨU 123456", encoding="utf-8")
    entry = run_through_workers(hostile.docx_external_entity(tmp_path / "x.docx", str(secret)), tmp_path / "out")
    assert all("123456" not in p["text"] for p in entry.pages)


def test_gigantic_pages_render_within_the_pixel_budget() -> None:
    dpi = render_dpi(14400, 14400, 300)
    assert (14400 / 72 * dpi) ** 2 <= MAX_RENDER_PIXELS * 1.001
    assert render_dpi(595, 842, 300) == 300


def test_a_compressed_image_bomb_inside_a_pdf_stays_within_its_worker(tmp_path: Path) -> None:
    entry = run_through_workers(hostile.image_bomb_pdf(tmp_path / "bomb.pdf"), tmp_path / "out", max_memory=2**30)
    # Read (pdfium downsamples it) or refused for memory: either way it is this document's outcome.
    assert entry.status == "ok" or "--max-memory" in (entry.info["error"] or "")


def test_special_files_in_a_folder_are_listed_never_opened(tmp_path: Path) -> None:
    import os

    from pipeline.ingest import expand_inputs

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "report.txt").write_text(hostile.GOOD_REPORT, encoding="utf-8")
    os.mkfifo(folder / "pipe.txt")
    (folder / "loop_a").symlink_to(folder / "loop_b")
    (folder / "loop_b").symlink_to(folder / "loop_a")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "socket"))
    try:
        files, missing, skipped = expand_inputs([str(folder)])
    finally:
        server.close()
    assert [f.name for f in files] == ["report.txt"] and not missing
    reasons = {Path(p).name: why for p, why in skipped}
    assert "FIFO" in reasons["pipe.txt"] and "socket" in reasons["socket"]
    assert "loops" in reasons["loop_a"] and "loops" in reasons["loop_b"]


def test_links_leaving_the_input_folder_are_listed_not_read(tmp_path: Path) -> None:
    from pipeline.ingest import expand_inputs

    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    secret = tmp_path / "os-release"
    secret.write_text("PRETTY_NAME=secret", encoding="utf-8")
    (folder / "outside.txt").symlink_to(secret)
    (folder / "sub" / "inside.txt").write_text(hostile.GOOD_REPORT, encoding="utf-8")
    (folder / "inside_link.txt").symlink_to(folder / "sub" / "inside.txt")
    files, _, skipped = expand_inputs([str(folder)])
    assert len(files) == 1 and files[0].resolve().name == "inside.txt"  # a link inside the tree: one file
    assert [(Path(p).name, "outside the input folder" in why) for p, why in skipped] == [("outside.txt", True)]
    files, _, skipped = expand_inputs([str(folder)], follow_links=True)
    assert "outside.txt" in {f.name for f in files} and not skipped
