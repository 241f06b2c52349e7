"""Per-document result cache: unchanged files are not redone.

A result is stored under a key made of the file's sha256, the rule set's content hash, the de06
version, a hash of the extraction code and the options that change what is read (OCR mode, language, psm, dpi). Each entry is
written atomically as soon as its document finishes, so a run killed part-way resumes where it
stopped. Only complete (`ok`) results are kept: failures and partial results are retried.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.config import RunOptions
from pipeline.export import atomic_write
from pipeline.types import DocumentResult, InputFile
from rules import get_rules

CACHE_DIRNAME = ".de06-cache"


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


def _with_source(result: DocumentResult, source: str) -> DocumentResult:
    """The same bytes found at another path: same ids, the new path in every `source`."""
    if result.info.source == source:
        return result

    def move(records: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(replace(r, prov=replace(r.prov, source=source)) for r in records)

    return replace(
        result,
        info=replace(result.info, source=source),
        references=move(result.references),
        figures=move(result.figures),
        services=move(result.services),
        tables=move(result.tables),
        findings=move(result.findings),
    )


class ResultCache:
    """Pickled `DocumentResult`s in `directory` (plain frozen dataclasses, safe to pickle)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, input_file: InputFile, options: RunOptions) -> Path:
        return self.directory / f"{cache_key(input_file, options)}.pickle"

    def get(self, input_file: InputFile, options: RunOptions) -> DocumentResult | None:
        path = self._path(input_file, options)
        try:
            with path.open("rb") as fh:
                result = pickle.load(fh)
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001 - a damaged entry is a miss, not an error
            path.unlink(missing_ok=True)
            return None
        if not isinstance(result, DocumentResult) or result.info.sha256 != input_file.sha256:
            return None
        return _with_source(result, input_file.source)

    def put(self, result: DocumentResult, input_file: InputFile, options: RunOptions) -> None:
        if result.info.status != "ok":
            return
        atomic_write(self._path(input_file, options), pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
