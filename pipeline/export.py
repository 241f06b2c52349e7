"""Stage "emit": flatten records into the SPEC's tables and write them atomically.

Each table goes to `DIR/<table>.csv` and `DIR/<table>.json` (and `.parquet`); every file is written
to a temporary name in the same folder and renamed into place, so a killed run never leaves a
half-written table behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from pipeline.types import (
    DocumentInfo,
    DocumentResult,
    FigureRecord,
    Finding,
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
}
TABLES = tuple(TABLE_COLUMNS)


def _plain(value: Any) -> Any:
    """JSON-ready value: tuples become lists, nested provenance becomes a dict."""
    if isinstance(value, Provenance):
        return {f: _plain(getattr(value, f)) for f in PROVENANCE_FIELDS}
    if isinstance(value, tuple | list):
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
        row[f.name] = _plain(getattr(record, f.name))
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
    return tables


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


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return ";".join("" if v is None else str(v) for v in value)
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


def to_parquet(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> bytes:
    """Parquet for analysts: objects (cells, continued_from) as JSON text, lists as lists."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def cell(value: Any) -> Any:
        if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict) for v in value)):
            return json.dumps(value, ensure_ascii=False)
        return value

    data = {c: [cell(row.get(c)) for row in rows] for c in columns}
    arrays = {}
    for c, values in data.items():
        try:
            arrays[c] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types: keep the column as text
            arrays[c] = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    table = pa.table(arrays) if rows else pa.table({c: pa.array([], type=pa.string()) for c in columns})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def write_tables(out_dir: Path, tables: dict[str, list[dict[str, Any]]]) -> list[Path]:
    """Write every table as CSV, JSON and Parquet (headers even when empty); returns the paths written."""
    written = []
    for name, columns in TABLE_COLUMNS.items():
        rows = [{c: row.get(c) for c in columns} for row in tables.get(name, [])]
        for path, data in (
            (out_dir / f"{name}.csv", to_csv(rows, columns)),
            (out_dir / f"{name}.json", to_json(rows)),
            (out_dir / f"{name}.parquet", to_parquet(rows, columns)),
        ):
            atomic_write(path, data)
            written.append(path)
    return written


def write_manifest(
    out_dir: Path,
    results: Sequence[DocumentResult],
    tables: dict[str, list[dict[str, Any]]],
    started: float,
    flow_seconds: float,
    options: Any,
    cached: int = 0,
) -> dict[str, Any]:
    """Record the run: versions, options, every input with its hash and outcome, counts, timings."""
    import time
    from datetime import UTC, datetime

    from pipeline import __version__
    from rules import get_rules

    finished = time.time()
    manifest = {
        "de06_version": __version__,
        "rules_version": get_rules().version,
        "started_at": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "finished_at": datetime.fromtimestamp(finished, UTC).isoformat(timespec="seconds"),
        "options": options.model_dump(),
        "inputs": [
            {
                "source": r.info.source,
                "doc_id": r.info.doc_id,
                "sha256": r.info.sha256,
                "format": r.info.format,
                "pages": r.info.pages,
                "status": r.info.status,
                "error": r.info.error,
                "seconds": r.timings,
            }
            for r in results
        ],
        "counts": {
            "documents": len(results),
            "ok": sum(r.info.status == "ok" for r in results),
            "partial": sum(r.info.status == "partial" for r in results),
            "failed": sum(r.info.status == "failed" for r in results),
            "processed": len(results) - cached,
            "cached": cached,
            **{f"rows_{name}": len(rows) for name, rows in tables.items()},
        },
        "failures": [
            {"source": r.info.source, "error": r.info.error} for r in results if r.info.status == "failed"
        ],
        "timings": {
            "total_seconds": round(finished - started, 3),
            "flow_seconds": round(flow_seconds, 3),
        },
    }
    atomic_write(out_dir / "manifest.json", to_json(manifest))
    return manifest
