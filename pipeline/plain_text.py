"""Read text and markdown files: strict decoding, physical lines, no guessing."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from pipeline import text_quality
from pipeline.errors import EncodingError
from pipeline.legacy_vn import detect_legacy_bytes, transcode_legacy_bytes
from pipeline.types import DocText, InputFile, Line, PageText, build_lines


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode report bytes; returns (text, method). UTF-8 (BOM optional) and UTF-16 with BOM are
    read as they are; legacy Vietnamese encodings are recognised and converted only when the
    conversion is exact, otherwise an `EncodingError` names the encoding found.

    NUL bytes inside otherwise valid text are dropped (they split words: "10/K\\0H" is "10/KH"),
    and old-Mac line ends (a lone CR) become LF, one character for one, so lines are lines."""
    text, method = _decode(data)
    if "\x00" in text:
        text = text.replace("\x00", "")
    if "\r" in text:
        text = _LONE_CR.sub("\n", text)
    return text, method


_LONE_CR = re.compile(r"\r(?!\n)")


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[3:], "utf-8"), "text"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16"), "text"
    try:
        return data.decode("utf-8"), "text"
    except UnicodeDecodeError as e:
        if b"\x00" in data[:4096]:
            raise EncodingError(
                "the file contains NUL bytes: it looks like binary data or UTF-16 without a BOM; "
                "save it as UTF-8"
            ) from e
        legacy = detect_legacy_bytes(data)
        if legacy is None:
            raise EncodingError(
                f"the file is not valid UTF-8 (byte {data[e.start]:#04x} at offset {e.start}) and is not a "
                "recognised Vietnamese encoding; save it as UTF-8"
            ) from e
        converted = transcode_legacy_bytes(data, legacy)
        if converted is None:
            raise EncodingError(
                f"the file is in the legacy {legacy} encoding and could not be converted exactly; "
                "save it as UTF-8 (Unikey's converter does this)"
            ) from e
        return converted, f"text:{legacy}"


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise EncodingError(
            f"the file starts with a {encoding.upper()} byte-order mark but is not valid {encoding.upper()} "
            f"(offset {e.start}); re-save it as UTF-8"
        ) from e


CELL_MAX_LINES = 4
CELL_MAX_CHARS = 200
"""A run between two "|" lines longer than this is a document body a web page framed, not a cell."""


def pipe_cells(text: str, lines: tuple[Line, ...]) -> tuple[tuple[int, int], ...]:
    """Ranges of the lines that are table cells in a web export: tables come out one cell per
    line (or a few lines), each cell between lines holding only "|"."""
    marks = [i for i, ln in enumerate(lines) if text[ln.char_start : ln.char_end].strip() == "|"]
    cells: list[tuple[int, int]] = []
    for a, b in zip(marks, marks[1:], strict=False):
        run = [ln for ln in lines[a + 1 : b] if text[ln.char_start : ln.char_end].strip()]
        if 0 < len(run) <= CELL_MAX_LINES and sum(ln.char_end - ln.char_start for ln in run) <= CELL_MAX_CHARS:
            cells.extend((ln.char_start, ln.char_end) for ln in run)
    return tuple(cells)


def read_text(input_file: InputFile) -> DocText:
    """One page holding the decoded file: line k is the file's physical line k."""
    text, method = decode_text(Path(input_file.path).read_bytes())
    text, read = text_quality.judge_text(text, f"a text file ({method})")
    if read.source == "repaired":
        method = f"{method}+utf8-repaired"
    # Physical lines are "\n"-separated; a lone "\r" (old Mac) also ends a line in editors, but
    # Windows "\r\n" must not count twice, so "\r" stays inside the line it ends.
    lines = build_lines(text)
    page = PageText(
        page=1,
        text=text,
        method=method,
        lines=lines,
        table_cells=pipe_cells(text, lines) if "|" in text else (),
        read=read,
    )
    return DocText(input=input_file, format="text", pages=(page,), page_count=1)
