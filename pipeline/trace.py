"""`de06 trace`: from any emitted record (or a bare number) back to where it was read.

Pure functions over the written tables (`DIR/<table>.json`), so a trace needs no re-run:
`load_outputs` → `find_record` / `find_by_value` → `render_trace`. `trace_main` is the command;
only its exit codes (0 found, 2 unknown id or usage) leave this module.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import math
import os
import re
import shlex
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from pipeline.display import visible
from pipeline.errors import ExitCode

# Tables whose rows carry provenance, in the order a value search reports them.
RECORD_TABLES = ("figures", "services", "references", "tables", "findings")
ALL_TABLES = ("documents", *RECORD_TABLES)
SERVICE_NUMBERS = (
    "total",
    "online",
    "online_citizen",
    "online_business",
    "rate_reported",
    "rate_computed",
    "on_time",
    "overdue",
    "rejected",
)
PROVENANCE_ORDER = (
    "doc_id",
    "source",
    "page",
    "line",
    "line_end",
    "char_start",
    "char_end",
    "bbox",
    "text",
    "sentence",
    "sentence_start",
    "sentence_end",
    "method",
    "confidence",
)

ANSI_SPAN = "\x1b[1;30;43m"  # bold black on yellow: visible on dark and light terminals
ANSI_DIM = "\x1b[2m"
ANSI_BOLD = "\x1b[1m"
ANSI_RESET = "\x1b[0m"
OPEN_MARK, CLOSE_MARK = "[[", "]]"

# A numeral as written in a report: digits with "." / "," groups, optional sign and "%".
_NUMERAL = re.compile(r"(?<![\d.,])\d+(?:[.,]\d+)*%?")


def load_outputs(out_dir: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Every table JSON found in `out_dir` (missing tables are simply absent)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in ALL_TABLES:
        path = Path(out_dir) / f"{name}.json"
        if path.is_file():
            rows = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(rows, list):
                tables[name] = [r for r in rows if isinstance(r, dict)]
    return tables


def find_record(tables: dict[str, list[dict[str, Any]]], record_id: str) -> tuple[str, dict[str, Any]] | None:
    """The table name and row whose `id` is `record_id`, or None."""
    wanted = record_id.strip()
    for name in RECORD_TABLES:
        for row in tables.get(name, []):
            if row.get("id") == wanted:
                return name, row
    return None


def parse_vn_number(text: str) -> float | None:
    """A number typed the Vietnamese way: "." groups thousands, "," is the decimal mark.

    "85,29" → 85.29, "1.657.621" → 1657621, "85,29%" → 85.29. A lone "." followed by one or two
    digits is read as a decimal point ("98.5"), as reports (and users) sometimes write it.
    """
    from extractors.vn_numbers import parse_number

    s = text.strip().rstrip("%").strip().replace("\u00a0", "").replace(" ", "")
    if not s or not re.fullmatch(r"[+-]?\d+(?:\.\d+)*(?:,\d+)?", s):
        return None  # typed by a person: stricter than OCR'd text, at most one decimal comma
    value = parse_number(s.lstrip("+-"))  # the one reading of Vietnamese numerals
    return -value if value is not None and s.startswith("-") else value


def _same(a: Any, b: float) -> bool:
    return isinstance(a, int | float) and not isinstance(a, bool) and math.isclose(float(a), b, abs_tol=1e-9)


def _numbers_in(text: str) -> list[float]:
    found = (parse_vn_number(m.group(0)) for m in _NUMERAL.finditer(text))
    return [v for v in found if v is not None]


def find_by_value(
    tables: dict[str, list[dict[str, Any]]], value_text: str, doc_id: str | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """Records that hold the number `value_text`: figure value/numerator/denominator, service
    counts and rates, or a numeral in any record's `text`. Figures come first, then services."""
    value = parse_vn_number(value_text)
    if value is None:
        return []
    hits: list[tuple[str, dict[str, Any]]] = []
    for name in RECORD_TABLES:
        for row in tables.get(name, []):
            if doc_id and row.get("doc_id") != doc_id:
                continue
            fields: Iterable[str] = ()
            if name == "figures":
                fields = ("value", "numerator", "denominator")
            elif name == "services":
                fields = SERVICE_NUMBERS
            text = str(row.get("text") or "")
            # Whole numerals only: "85,2" must not match "85,29%".
            if any(_same(row.get(f), value) for f in fields) or any(
                _same(v, value) for v in _numbers_in(text)
            ):
                hits.append((name, row))
    return hits


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict | list):
        return visible(json.dumps(value, ensure_ascii=False))
    return visible(str(value))


def _mark(text: str, color: bool) -> str:
    text = visible(text)
    return f"{ANSI_SPAN}{text}{ANSI_RESET}" if color else f"{OPEN_MARK}{text}{CLOSE_MARK}"


def _span_in_sentence(record: dict[str, Any]) -> tuple[int, int] | None:
    """Where the span sits in the record's sentence: `char_start − sentence_start` (exact by
    construction; nothing is searched for). None for outputs of a de06 before sentence offsets."""
    try:
        a = int(record["char_start"]) - int(record["sentence_start"])
        return a, a + int(record["char_end"]) - int(record["char_start"])
    except (KeyError, TypeError, ValueError):
        return None


def _sentence_with_span(record: dict[str, Any], color: bool) -> str:
    """The record's sentence with its span marked; controls are made visible per part."""
    sentence = str(record.get("sentence") or "")
    span = _span_in_sentence(record)
    if span is None:
        return visible(sentence)
    a, b = span
    if not 0 <= a <= b <= len(sentence):
        return visible(sentence) + "\n  (the span's offsets fall outside the sentence)"
    return visible(sentence[:a]) + _mark(visible(sentence[a:b]), color) + visible(sentence[b:])


def is_text_input(record: dict[str, Any]) -> bool:
    """Text/markdown inputs: line numbers are the file's physical lines, so `sed -n` shows them."""
    return str(record.get("method") or "").startswith("text") and record.get("bbox") is None


def sed_command(record: dict[str, Any]) -> str:
    """The shell command that prints the record's line(s) of a text input."""
    line = int(record.get("line") or 1)
    end = int(record.get("line_end") or line)
    lines = f"{line}p" if end == line else f"{line},{end}p"
    return f"sed -n {shlex.quote(lines)} {shlex.quote(str(record.get('source') or ''))}"


def _source_lines(record: dict[str, Any], source_text: str, color: bool) -> list[str] | None:
    """The record's physical lines from the source file, span highlighted; None if the file no
    longer holds the span at the recorded offsets (edited or replaced since the run)."""
    start, end = record.get("char_start"), record.get("char_end")
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start <= end <= len(source_text):
        return None
    if source_text[start:end] != record.get("text"):
        return None
    first = source_text.rfind("\n", 0, start) + 1
    stop = source_text.find("\n", end)
    stop = len(source_text) if stop < 0 else stop
    block = visible(source_text[first:start]) + _mark(source_text[start:end], color) + visible(source_text[end:stop])
    number = source_text.count("\n", 0, first) + 1
    width = len(str(number + block.count("\n")))
    return [f"  {number + i:>{width}} │ {ln}" for i, ln in enumerate(block.split("\n"))]


def render_trace(table: str, record: dict[str, Any], source_text_or_none: str | None, color: bool) -> str:
    """A human-readable trace: the record's fields, where it was read, and the span in context.

    `source_text_or_none` is the decoded text of a text input (char offsets index into it); it is
    used to show the exact line(s). Without it (PDFs, moved files) the stored sentence is shown.
    ANSI colour when `color`, else `[[…]]` markers so piped output stays greppable.
    """
    bold = (lambda s: f"{ANSI_BOLD}{s}{ANSI_RESET}") if color else (lambda s: s)
    dim = (lambda s: f"{ANSI_DIM}{s}{ANSI_RESET}") if color else (lambda s: s)
    out = [bold(f"{table} {record.get('id', '?')}")]
    own = [k for k in record if k not in PROVENANCE_ORDER and k not in ("id", "field_cells")]
    width = max((len(k) for k in own), default=0)
    out.extend(f"  {k:<{width}}  {_fmt(record[k])}" for k in own)
    cells = record.get("field_cells")
    if isinstance(cells, dict) and cells:
        out.append("")
        out.append(bold("cells") + "     where each value was read")
        width = max(len(k) for k in cells)
        for name, cell in cells.items():
            if not isinstance(cell, dict):
                continue
            where = f"page {cell.get('page')}, line {cell.get('line')}, chars {cell.get('char_start')}–{cell.get('char_end')}"
            box = f", box {_fmt(cell['bbox'])}" if cell.get("bbox") is not None else ""
            out.append(f"  {name:<{width}}  {_mark(visible(str(cell.get('text') or '')), color)}  {where}{box}")

    page, line, line_end = record.get("page"), record.get("line"), record.get("line_end")
    lines = f"line {line}" if line_end in (None, line) else f"lines {line}–{line_end}"
    out.append("")
    out.append(f"{bold('file')}      {_fmt(record.get('source'))}  (doc {_fmt(record.get('doc_id'))})")
    out.append(
        f"{bold('where')}     page {page}, {lines}, chars {record.get('char_start')}–{record.get('char_end')}"
    )
    out.append(
        f"{bold('method')}    {record.get('method')}"
        + (f", OCR confidence {record['confidence']}" if record.get("confidence") is not None else "")
    )
    if record.get("bbox") is not None:
        out.append(f"{bold('box')}       {_fmt(record['bbox'])}  (x0, top, x1, bottom; page {page})")
    out.append(f"{bold('span')}      {_mark(str(record.get('text') or ''), color)}")

    shown = _source_lines(record, source_text_or_none, color) if source_text_or_none is not None else None
    out.append(bold("sentence"))
    out.append("  " + _sentence_with_span(record, color))
    if shown is not None:
        out.append(bold("source line(s)"))
        out.extend(shown)
    elif source_text_or_none is not None:
        out.append(
            dim("  (the file no longer holds this span at the recorded offsets; it changed after the run)")
        )
    if is_text_input(record):
        out.append(f"{bold('show it')}   {sed_command(record)}")
    return "\n".join(out)


def listed_inputs(out_dir: Path) -> dict[str, str]:
    """source → sha256 of the inputs the run's manifest lists: the only files trace may read."""
    try:
        manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
        return {str(i["source"]): str(i["sha256"]) for i in manifest.get("inputs", []) if i.get("sha256")}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def read_source_text(record: dict[str, Any], allowed: dict[str, str] | None = None) -> str | None:
    """The decoded text of a text input, re-read from `source` (relative to the cwd); None when
    the record is not from a text input, the file is gone or unreadable, or (given `allowed`) the
    file is not one the run's manifest lists with these very bytes: a forged table naming
    `/etc/shadow` must not make trace print it."""
    if not is_text_input(record):
        return None
    source = str(record.get("source") or "")
    if allowed is not None and source not in allowed:
        return None
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if allowed is not None and hashlib.sha256(data).hexdigest() != allowed[source]:
        return None
    from pipeline.plain_text import decode_text  # the same decoding the run used, BOMs and legacy encodings

    try:
        return decode_text(data)[0]
    except Exception:  # noqa: BLE001 - any decoding trouble just means: fall back to the sentence
        return None


# Characters a terminal acts on that `json.dumps(ensure_ascii=False)` leaves raw: DEL, C1 controls,
# direction marks and overrides. Written as \u escapes, the JSON means the same and shows safely.
_JSON_UNSAFE = re.compile("[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def trace_json(matches: Sequence[tuple[str, dict[str, Any]]], report: Path | None) -> str:
    """`de06 trace --json`: one object a match: its table, every field of its row, where its span
    sits in its sentence, and the report link that opens it."""
    out = []
    for table, record in matches:
        span = _span_in_sentence(record)
        link = f"{report.resolve().as_uri()}#rec={record.get('id')}" if report is not None else None
        out.append({"table": table, "record": record, "span_in_sentence": span, "report": link})
    text = json.dumps(out, ensure_ascii=False, indent=1)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def add_trace_arguments(parser: argparse.ArgumentParser) -> None:
    """The `de06 trace` options, for cli.py's subparser and for `trace_main`."""
    parser.add_argument("record_id", nargs="?", metavar="RECORD_ID", help="e.g. e1ba2992a9ae-F0003")
    parser.add_argument("--out", default="outputs", help="folder of a `de06 run` (default: outputs/)")
    parser.add_argument("--value", metavar="NUMBER", help='find records holding a number, e.g. "85,29"')
    parser.add_argument("--doc", metavar="DOC_ID", help="with --value: only this document")
    parser.add_argument(
        "--color", choices=["auto", "always", "never"], default="auto", help="colour (auto: on a terminal)"
    )
    parser.add_argument(
        "--json", action="store_true", help="the matching records as JSON, with the span's offsets in its sentence"
    )


def _use_color(choice: str, stream: TextIO) -> bool:
    if choice != "auto":
        return choice == "always"
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def run_trace(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Execute a parsed `de06 trace`; returns 0 when something was found, 2 otherwise."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    usage = int(ExitCode.usage)
    if bool(args.record_id) == bool(args.value):
        print("de06 trace: give a RECORD_ID or --value NUMBER (not both)", file=stderr)
        return usage
    if args.doc and not args.value:
        print("de06 trace: --doc only narrows a --value search", file=stderr)
        return usage
    out_dir = Path(args.out)
    tables = load_outputs(out_dir)
    if not any(tables.get(t) is not None for t in RECORD_TABLES):
        print(
            f"de06 trace: no output tables in {out_dir}/; run `de06 run INPUT --out {out_dir}` first",
            file=stderr,
        )
        return usage
    color = _use_color(args.color, stdout)
    report = out_dir / "report.html"
    allowed = listed_inputs(out_dir)

    if args.record_id:
        found = find_record(tables, args.record_id)
        if found is None:
            ids = [str(r.get("id")) for t in RECORD_TABLES for r in tables.get(t, [])]
            near = difflib.get_close_matches(args.record_id.strip(), ids, n=3, cutoff=0.75)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            print(
                f"de06 trace: no record {args.record_id!r} in {out_dir}/ ({len(ids)} records; ids look like "
                f"<doc_id>-F0001){hint}",
                file=stderr,
            )
            return usage
        matches = [found]
    else:
        if parse_vn_number(args.value) is None:
            print(f"de06 trace: {args.value!r} is not a number (write 85,29 or 1.657.621)", file=stderr)
            return usage
        matches = find_by_value(tables, args.value, args.doc)
        if not matches:
            scope = f" in document {args.doc}" if args.doc else ""
            print(f"de06 trace: no record holds {args.value}{scope} in {out_dir}/", file=stderr)
            return usage
        if not args.json:
            print(
                f"{len(matches)} record(s) hold {args.value} (= {parse_vn_number(args.value):g}):\n", file=stdout
            )

    if args.json:
        print(trace_json(matches, report if report.is_file() else None), file=stdout)
        return int(ExitCode.ok)
    for i, (table, record) in enumerate(matches):
        if i:
            print("\n" + "─" * 60 + "\n", file=stdout)
        print(render_trace(table, record, read_source_text(record, allowed), color), file=stdout)
        if report.is_file():
            print(f"report    {report.resolve().as_uri()}#rec={record.get('id')}", file=stdout)
    return int(ExitCode.ok)


def trace_main(
    argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """`de06 trace` as a function: parse `argv` (without the "trace" word) and run it."""
    parser = argparse.ArgumentParser(prog="de06 trace", description="Show where a record or number was read.")
    add_trace_arguments(parser)
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 for --help
        return int(e.code or 0)
    return run_trace(args, stdout, stderr)


if __name__ == "__main__":
    raise SystemExit(trace_main())
