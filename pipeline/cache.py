"""Per-document entries on disk: the result cache and the parts the outputs are built from.

Each finished document is written at once as one JSON entry (`OUT/.de06-cache/<key>.json`): its
`documents` row, the rows of every record table, its page texts and page images. The run's tables
and report are then streamed from these entries one document at a time, so memory does not grow
with the corpus, and a run killed part-way resumes from them.

The key is made of the file's sha256, the rule set's content hash, the de06 version, a hash of
the extraction code and the options that change what is read. Entries are data, never code: an
output folder may be shared, so nothing in it is unpickled; an entry that does not parse, has the
wrong shape or names other bytes is ignored (with a warning) and the document is processed again.
Complete results and deterministic failures (empty, encrypted, corrupt, unsupported files) are
served again; partial results and failures that may pass next time (timeouts, crashes) are not.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.config import RunOptions
from pipeline.export import RECORD_TABLES, atomic_write, flatten, page_fields
from pipeline.types import DocumentInfo, DocumentResult, InputFile
from rules import get_rules

CACHE_DIRNAME = ".de06-cache"
ENTRY_FORMAT = "de06-entry/1"
DETERMINISTIC_FAILURES = frozenset({"empty", "too_large", "unsupported", "encoding", "encrypted", "corrupt"})
"""Failure categories that the same bytes will always give: cached like results."""
_INFO_FIELDS = frozenset(f.name for f in fields(DocumentInfo))


@lru_cache(maxsize=1)
def code_version() -> str:
    """Hash of the extraction code itself, so an edited extractor never serves stale results
    (the version string only changes at releases)."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for package in ("pipeline", "extractors"):
        for path in sorted((root / package).glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def cache_key(input_file: InputFile, options: RunOptions) -> str:
    parts = [
        input_file.sha256,
        get_rules().version,
        __version__,
        code_version(),
        options.ocr,
        options.ocr_lang,
        str(options.ocr_psm),
        str(options.ocr_dpi),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class DocumentEntry:
    """One document's outputs as plain rows: what the tables, the report and the summary need."""

    info: dict[str, Any]
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pages: list[dict[str, Any]] = field(default_factory=list)
    reusable: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return str(self.info.get("status"))

    def count(self, table: str) -> int:
        return len(self.rows.get(table, ()))

    def at_source(self, source: str, duplicate_of: str | None = None) -> DocumentEntry:
        """The same bytes found at another path: same ids, the new path in every `source`."""
        info = {**self.info, "source": source, "duplicate_of": duplicate_of}
        if duplicate_of is not None:  # a copy lists itself; its records stay with the first copy
            return DocumentEntry(info, {}, [], self.reusable, self.timings)
        if self.info.get("source") == source:
            return DocumentEntry(info, self.rows, self.pages, self.reusable, self.timings)
        rows = {t: [{**r, "source": source} for r in rs] for t, rs in self.rows.items()}
        return DocumentEntry(info, rows, self.pages, self.reusable, self.timings)


def entry_from_result(result: DocumentResult, images: dict[int, str] | None = None) -> DocumentEntry:
    images = images or {}
    failure = result.errors[-1].category if result.info.status == "failed" and result.errors else None
    reusable = result.info.status == "ok" or failure in DETERMINISTIC_FAILURES
    return DocumentEntry(
        info=flatten(result.info),
        rows={t: [flatten(r) for r in getattr(result, t)] for t in RECORD_TABLES},
        pages=[{**page_fields(p), "image": images.get(p.page)} for p in result.pages],
        reusable=reusable,
        timings=dict(result.timings),
    )


def _valid(data: Any, sha256: str) -> bool:
    """The shape an entry must have before any of it is used."""
    if not isinstance(data, dict) or data.get("format") != ENTRY_FORMAT:
        return False
    info, rows, pages = data.get("info"), data.get("rows"), data.get("pages")
    if not isinstance(info, dict) or info.get("sha256") != sha256 or not set(info) <= _INFO_FIELDS:
        return False
    if not isinstance(rows, dict) or not set(rows) <= set(RECORD_TABLES):
        return False
    if any(not isinstance(rs, list) or not all(isinstance(r, dict) for r in rs) for rs in rows.values()):
        return False
    return isinstance(pages, list) and all(
        isinstance(p, dict) and isinstance(p.get("page"), int) and isinstance(p.get("text"), str) for p in pages
    )


class ResultCache:
    """Document entries in `directory`, one JSON file each, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def get(self, input_file: InputFile, options: RunOptions) -> DocumentEntry | None:
        """The stored entry for these bytes, if it may be served again."""
        entry = self.load(cache_key(input_file, options), input_file.sha256)
        if entry is None or not entry.reusable:
            return None
        return entry.at_source(input_file.source)

    def load(self, key: str, sha256: str) -> DocumentEntry | None:
        path = self._path(key)
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError) as e:
            print(f"de06: ignoring an unreadable cache entry {path.name} ({type(e).__name__}); reprocessing", file=sys.stderr)
            return None
        if not _valid(data, sha256):
            print(f"de06: ignoring a cache entry of unexpected shape ({path.name}); reprocessing", file=sys.stderr)
            return None
        return DocumentEntry(
            info=data["info"],
            rows=data["rows"],
            pages=data["pages"],
            reusable=bool(data.get("reusable")),
            timings=data.get("timings") if isinstance(data.get("timings"), dict) else {},
        )

    def put(self, key: str, entry: DocumentEntry) -> None:
        data = {
            "format": ENTRY_FORMAT,
            "key": key,
            "reusable": entry.reusable,
            "info": entry.info,
            "rows": entry.rows,
            "pages": entry.pages,
            "timings": entry.timings,
        }
        atomic_write(self._path(key), json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
