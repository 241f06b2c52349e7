"""Stage "emit": flatten records into the SPEC's tables and write them atomically.

Each table goes to `DIR/<table>.csv` and `DIR/<table>.json` (and `.parquet`); every file is written
to a temporary name in the same folder and renamed into place, so a killed run never leaves a
half-written table behind.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from pipeline.types import (
    DocumentInfo,
    DocumentResult,
    FigureRecord,
    Finding,
    PageInfo,
    PageRead,
    PageText,
    Provenance,
    ReferenceRecord,
    ServiceRecord,
    TableRowRecord,
)

PROVENANCE_FIELDS = [f.name for f in fields(Provenance)]


def _record_fields(cls: type) -> list[str]:
    return [f.name for f in fields(cls) if f.name not in ("prov", "id")]


TABLE_COLUMNS: dict[str, list[str]] = {
    "documents": [f.name for f in fields(DocumentInfo)],
    "references": ["id", *_record_fields(ReferenceRecord), *PROVENANCE_FIELDS],
    "figures": ["id", *_record_fields(FigureRecord), *PROVENANCE_FIELDS],
    "services": ["id", *_record_fields(ServiceRecord), *PROVENANCE_FIELDS],
    "tables": ["id", *_record_fields(TableRowRecord), *PROVENANCE_FIELDS],
    "findings": ["id", *_record_fields(Finding), *PROVENANCE_FIELDS],
    "pages": [f.name for f in fields(PageInfo)],
}
TABLES = tuple(TABLE_COLUMNS)
RECORD_TABLES = ("references", "figures", "services", "tables", "findings")
TABLE_CLASSES: dict[str, type] = {
    "documents": DocumentInfo,
    "references": ReferenceRecord,
    "figures": FigureRecord,
    "services": ServiceRecord,
    "tables": TableRowRecord,
    "findings": Finding,
    "pages": PageInfo,
}


MAPPING_FIELDS = ("cells", "cell_sources", "field_cells")
"""Record fields written as a JSON object (an empty one too)."""
CELL_FIELDS = ("page", "line", "char_start", "char_end", "text", "bbox", "confidence")
"""What a record's output says of each of its cells (the row's sentence and file are the record's)."""


def _plain(value: Any) -> Any:
    """JSON-ready value: tuples become lists, nested provenance becomes a dict."""
    if isinstance(value, Provenance):
        return {f: _plain(getattr(value, f)) for f in PROVENANCE_FIELDS}
    if isinstance(value, tuple | list):
        if value and all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[1], Provenance) for v in value):
            return {k: {f: _plain(getattr(p, f)) for f in CELL_FIELDS} for k, p in value}  # field → its cell
        if value and all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) for v in value):
            return {k: _plain(v) for k, v in value}  # cells: (header, text) pairs
        return [_plain(v) for v in value]
    return value


def flatten(record: Any) -> dict[str, Any]:
    """One output row: the record's own fields, then its provenance fields."""
    assert is_dataclass(record)
    row: dict[str, Any] = {}
    for f in fields(record):
        if f.name == "prov":
            continue
        value = getattr(record, f.name)
        row[f.name] = {} if f.name in MAPPING_FIELDS and not value else _plain(value)
    prov = getattr(record, "prov", None)
    if prov is not None:
        for name in PROVENANCE_FIELDS:
            row[name] = _plain(getattr(prov, name))
    return row


def result_rows(results: Iterable[DocumentResult]) -> dict[str, list[dict[str, Any]]]:
    """All tables of a run, in input order, rows in reading order within each document."""
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    for result in results:
        tables["documents"].append(flatten(result.info))
        for name in ("references", "figures", "services", "tables", "findings"):
            tables[name].extend(flatten(r) for r in getattr(result, name))
        tables["pages"].extend(page_rows(result.info.doc_id, result.info.source, [page_fields(p) for p in result.pages]))
    return tables


def page_fields(page: PageText) -> dict[str, Any]:
    """What a document's entry keeps of one page: its read decision, size and method (and, for the
    report, its text: the `pages` table leaves that out)."""
    read = page.read or PageRead("text-layer" if page.method.startswith("pdf") else "text", "")
    return {
        "page": page.page,
        "text": page.text,
        "width": page.width,
        "height": page.height,
        "method": page.method,
        "read_source": read.source,
        "reason": read.reason,
        "quality": read.quality,
        "confidence": read.confidence,
        "rotation": read.rotation,
        "skew": read.skew,
        "dpi": read.dpi,
        "steps": list(read.steps),
    }


def page_rows(doc_id: str, source: str, pages: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `pages` table rows of one document from its entry's pages."""
    return [
        {"doc_id": doc_id, "source": source, **p, "ocr_confidence": p.get("confidence"), "steps": p.get("steps") or []}
        for p in pages
    ]


_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK
"""mkstemp creates 0600 files; outputs get the mode a plain open() would give them."""


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename (atomic on one filesystem)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """A CSV cell. Text that a spreadsheet would run as a formula ("=HYPERLINK(…)", "+cmd|…",
    "@SUM(…)") gets a leading apostrophe (OWASP); JSON and Parquet keep every value exact."""
    if value is None:
        return ""
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, list):
        value = ";".join("" if v is None else str(v) for v in value)
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: _csv_cell(row.get(c)) for c in columns})
    return buffer.getvalue().encode("utf-8")


def to_json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _arrow_type(hint: Any) -> Any:
    """The Arrow type of a record field: numbers stay numbers, tuples of strings are lists,
    nested objects (cells, provenance lists) are JSON text."""
    import pyarrow as pa

    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _arrow_type(args[0])
    if origin is typing.Literal or hint is str:
        return pa.string()
    if hint is bool:
        return pa.bool_()
    if hint is int:
        return pa.int64()
    if hint is float:
        return pa.float64()
    if origin is tuple and args == [float, float, float, float]:
        return pa.list_(pa.float64())
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis and args[0] is str:
        return pa.list_(pa.string())
    return None  # JSON text


def _arrow_schema(name: str) -> Any:
    import pyarrow as pa

    hints: dict[str, Any] = {}
    for cls in (TABLE_CLASSES[name], Provenance):
        hints.update(typing.get_type_hints(cls))
    hints["id"] = str
    return pa.schema([(c, _arrow_type(hints.get(c, str)) or pa.string()) for c in TABLE_COLUMNS[name]])


def warm_arrow() -> None:
    """Import what writing Parquet needs: pyarrow, and pandas, which `pa.array` of a Python list
    imports through pyarrow's pandas shim (0.5 s)."""
    import pyarrow as pa
    import pyarrow.parquet  # noqa: F401

    pa.array([0])


class _TableFiles:
    """One table's CSV, JSON and Parquet files, written row by row into temporary files."""

    PARQUET_BATCH = 5000

    def __init__(self, out_dir: Path, name: str) -> None:
        import pyarrow.parquet as pq

        self.name = name
        self.columns = TABLE_COLUMNS[name]
        self.schema = _arrow_schema(name)
        self.targets = [out_dir / f"{name}.{ext}" for ext in ("csv", "json", "parquet")]
        self.temps = [_temp_path(t) for t in self.targets]
        self.csv = self.temps[0].open("w", encoding="utf-8", newline="")
        self.csv_writer = csv.writer(self.csv, lineterminator="\n")
        self.csv_writer.writerow(self.columns)
        self.json = self.temps[1].open("w", encoding="utf-8")
        self.json.write("[")
        self.parquet = pq.ParquetWriter(str(self.temps[2]), self.schema)
        self.batch: list[dict[str, Any]] = []
        self.count = 0

    def add(self, row: dict[str, Any]) -> None:
        row = {c: row.get(c) for c in self.columns}
        self.csv_writer.writerow([_csv_cell(row[c]) for c in self.columns])
        # The same bytes as `json.dumps(rows, indent=1)` of the whole table, one row at a time.
        body = json.dumps(row, ensure_ascii=False, indent=1).replace("\n", "\n ")
        self.json.write(("," if self.count else "") + "\n " + body)
        self.batch.append(row)
        self.count += 1
        if len(self.batch) >= self.PARQUET_BATCH:
            self._flush_parquet()

    def _flush_parquet(self) -> None:
        import pyarrow as pa

        arrays = []
        for f in self.schema:
            values = [r[f.name] for r in self.batch]
            if pa.types.is_string(f.type):
                values = [None if v is None else v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                          for v in values]
            arrays.append(pa.array(values, type=f.type))
        self.parquet.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        self.batch = []

    def close(self) -> None:
        self.csv.close()
        self.json.write("\n]\n" if self.count else "]\n")
        self.json.close()
        if self.batch:
            self._flush_parquet()
        self.parquet.close()

    def discard(self) -> None:
        for handle in (self.csv, self.json):
            handle.close()
        with contextlib.suppress(Exception):
            self.parquet.close()
        for temp in self.temps:
            temp.unlink(missing_ok=True)


def _temp_path(target: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    return Path(tmp)


class TableWriter:
    """Every table of a run as CSV, JSON and Parquet, fed one document at a time and renamed into
    place together at `commit` (headers even when empty). Memory holds one Parquet batch a table."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, _TableFiles] = {}
        try:
            for name in TABLE_COLUMNS:
                self.files[name] = _TableFiles(out_dir, name)
        except BaseException:
            self.discard()
            raise

    def add(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        files = self.files[table]
        for row in rows:
            files.add(row)

    def counts(self) -> dict[str, int]:
        return {name: f.count for name, f in self.files.items()}

    def commit(self) -> list[Path]:
        written: list[Path] = []
        try:
            for files in self.files.values():
                files.close()
                for temp in files.temps:
                    with temp.open("rb") as fh:
                        os.fsync(fh.fileno())
        except BaseException:
            self.discard()
            raise
        for files in self.files.values():
            for temp, target in zip(files.temps, files.targets, strict=True):
                temp.replace(target)
                written.append(target)
        return written

    def discard(self) -> None:
        for files in self.files.values():
            files.discard()


def write_tables(out_dir: Path, tables: dict[str, list[dict[str, Any]]]) -> list[Path]:
    """Write every table as CSV, JSON and Parquet (headers even when empty); returns the paths written."""
    writer = TableWriter(out_dir)
    for name in TABLE_COLUMNS:
        writer.add(name, tables.get(name, []))
    return writer.commit()


GENERATIONS = ".generations"
CURRENT = ".current"
PUBLISHED = (*(f"{t}.{ext}" for t in TABLE_COLUMNS for ext in ("csv", "json", "parquet")),
             "manifest.json", "report.html", "report_files")
"""What a run publishes in the output folder, each as a link into the current generation."""


def new_generation(out_dir: Path) -> Path:
    """A fresh folder for one run's outputs: `OUT/.generations/<time>-<random>`."""
    import time

    (out_dir / GENERATIONS).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{time.strftime('%Y%m%dT%H%M%S')}-", dir=out_dir / GENERATIONS))
    folder.chmod(0o777 & ~_UMASK)  # mkdtemp makes it private; outputs are as readable as plain files
    return folder


def _replace_with_link(path: Path, target: str) -> None:
    tmp = path.with_name(f".{path.name}.link.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    if path.is_dir() and not path.is_symlink():  # a report_files/ folder from before generations
        import shutil

        shutil.rmtree(path)
    tmp.replace(path)


def publish(out_dir: Path, generation: Path, keep: int = 2) -> None:
    """Switch the output folder to `generation` in one atomic step: `OUT/.current` is replaced by a
    link to it, and every published name is a link through `.current`; readers see the old set or
    the new one, never a mix. Older generations beyond `keep` are removed."""
    import shutil

    _fsync_tree(generation)
    _replace_with_link(out_dir / CURRENT, f"{GENERATIONS}/{generation.name}")
    for name in PUBLISHED:
        link = out_dir / name
        target = f"{CURRENT}/{name}"
        if not (link.is_symlink() and str(link.readlink()) == target):
            _replace_with_link(link, target)
    _fsync_dir(out_dir)
    generations = sorted((out_dir / GENERATIONS).iterdir(), key=lambda p: p.stat().st_mtime)
    for old in [g for g in generations if g != generation][: max(0, len(generations) - keep)]:
        shutil.rmtree(old, ignore_errors=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for root, _, _ in os.walk(folder):
        _fsync_dir(Path(root))


def write_manifest(
    out_dir: Path,
    documents: Sequence[tuple[dict[str, Any], dict[str, float]]],
    table_counts: dict[str, int],
    started: float,
    flow_seconds: float,
    options: Any,
    cached: int = 0,
) -> dict[str, Any]:
    """Record the run: versions, options, every input (its `documents` row and stage seconds) with
    its hash and outcome, counts, timings."""
    import time
    from datetime import UTC, datetime

    from pipeline import __version__
    from rules import get_rules

    finished = time.time()
    infos = [info for info, _ in documents]
    manifest = {
        "de06_version": __version__,
        "rules_version": get_rules().version,
        "started_at": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "finished_at": datetime.fromtimestamp(finished, UTC).isoformat(timespec="seconds"),
        "options": options.model_dump(),
        "inputs": [
            {
                "source": info.get("source"),
                "doc_id": info.get("doc_id"),
                "sha256": info.get("sha256"),
                "format": info.get("format"),
                "pages": info.get("pages"),
                "status": info.get("status"),
                "error": info.get("error"),
                "duplicate_of": info.get("duplicate_of"),
                "seconds": seconds,
            }
            for info, seconds in documents
        ],
        "counts": {
            "documents": len(infos),
            "ok": sum(i.get("status") == "ok" for i in infos),
            "partial": sum(i.get("status") == "partial" for i in infos),
            "failed": sum(i.get("status") == "failed" for i in infos),
            "duplicates": sum(i.get("duplicate_of") is not None for i in infos),
            "processed": len(infos) - cached,
            "cached": cached,
            **{f"rows_{name}": count for name, count in table_counts.items()},
        },
        "failures": [{"source": i.get("source"), "error": i.get("error")} for i in infos if i.get("status") == "failed"],
        "timings": {
            "total_seconds": round(finished - started, 3),
            "flow_seconds": round(flow_seconds, 3),
        },
    }
    atomic_write(out_dir / "manifest.json", to_json(manifest))
    return manifest
