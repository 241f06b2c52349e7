"""Run options, built once from the command line and passed (picklable) to every task."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

OcrMode = Literal["auto", "always", "never"]

MAX_INPUT_BYTES = 200 * 1024 * 1024
"""Inputs above this size are rejected: a report is rarely over a few tens of MB, and a larger
file is more likely a mis-filed archive or video than a report."""
MAX_PAGES = 500
"""Pages a document may have: a report runs to tens of pages, a bound annual volume to a few
hundred; a file of thousands is an archive dump to split, and would hold the run for hours."""
OCR_DPI = 300
OCR_TIMEOUT_SECONDS = 300
SECONDS_PER_PAGE = 120.0
"""Default wall-time a page may take in a worker (an OCR'd page takes 2-5 s; a text page ms)."""
MIN_RECORD_LIMIT = 2000
"""Records of one table a document may always yield; beyond it, at most one per 6 characters
of text (the densest real list has one every ~8): more is a runaway file, not a report."""


def default_max_memory(workers: int) -> int:
    """Memory one worker may add: the machine's memory shared by the workers with room for de06
    itself and the system, between 1 and 4 GiB (a 300-dpi page needs well under 1 GiB)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2**30
    share = total // (max(1, workers) + 2)
    return int(min(4 * 2**30, max(2**30, share)))


class RunOptions(BaseModel):
    """How to run: OCR policy, parallelism, runner, and where outputs go."""

    model_config = ConfigDict(frozen=True)

    ocr: OcrMode = "auto"
    workers: int = Field(default=2, ge=1, le=64)
    runner: Literal["local", "dask"] = "local"
    address: str | None = None
    out_dir: str = "outputs"
    ocr_lang: str = "vie"
    ocr_psm: int = 3
    ocr_dpi: int = OCR_DPI
    max_bytes: int = MAX_INPUT_BYTES
    force: bool = False
    """Ignore cached results and process every input again."""
    use_cache: bool = True
    max_memory: int = Field(default_factory=lambda: default_max_memory(2), ge=0)
    """Bytes of memory a worker process may add for one stage of one document (0: no limit)."""
    timeout: float = Field(default=SECONDS_PER_PAGE, gt=0)
    """Wall seconds a page may take in a worker; a stage always gets at least a minute."""
    max_pages: int = Field(default=MAX_PAGES, ge=1)
    min_record_limit: int = Field(default=MIN_RECORD_LIMIT, ge=1)
    follow_links: bool = False
    """Read files that links in an input folder point to outside that folder."""
    isolate: bool = True
    """Run each stage in a worker process with the limits above (off: in-process, for tests)."""
