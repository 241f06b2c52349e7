"""Text inputs: strict decoding, physical lines, offsets that slice back to the file's lines."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from pipeline.errors import EncodingError
from pipeline.ingest import triage
from pipeline.plain_text import decode_text, read_text


def test_every_line_of_every_sample_slices_back_to_the_file_line(samples: list[Path]) -> None:
    for path in samples:
        raw_lines = path.read_text(encoding="utf-8").split("\n")
        doc = read_text(triage(path))
        page = doc.pages[0]
        assert len(page.lines) == len(raw_lines), path.name
        for line, raw in zip(page.lines, raw_lines, strict=True):
            assert page.text[line.char_start : line.char_end] == raw


def test_gold_line_count_for_a_file_without_final_newline(samples: list[Path]) -> None:
    doc = read_text(triage(next(p for p in samples if p.name.startswith("001_"))))
    assert len(doc.pages[0].lines) == 434  # wc -l says 433: the last line has no newline


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("Cộng hòa".encode(), "Cộng hòa"),
        (codecs.BOM_UTF8 + "Cộng hòa".encode(), "Cộng hòa"),
        ("Cộng hòa".encode("utf-16"), "Cộng hòa"),
        (codecs.BOM_UTF16_BE + "Cộng hòa".encode("utf-16-be"), "Cộng hòa"),
    ],
    ids=["utf8", "utf8-bom", "utf16-le-bom", "utf16-be-bom"],
)
def test_decodes_unicode_encodings(data: bytes, expected: str) -> None:
    assert decode_text(data)[0] == expected


def test_crlf_lines_keep_their_carriage_return_inside_the_line(tmp_path: Path) -> None:
    f = tmp_path / "crlf.txt"
    f.write_bytes(b"a\r\nb\r\n")
    page = read_text(triage(f)).pages[0]
    assert [page.text[ln.char_start : ln.char_end] for ln in page.lines] == ["a\r", "b\r", ""]


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe\x00\xd8", b"abc\x00\x00\x9f\x80", b"\x80\x81\x82 not text \xfe"],
    ids=["broken-utf16", "binary-with-nul", "garbage"],
)
def test_undecodable_text_is_rejected_with_a_reason(data: bytes) -> None:
    with pytest.raises(EncodingError) as err:
        decode_text(data)
    assert "UTF" in err.value.message or "encoding" in err.value.message
