"""Run options, built once from the command line and passed (picklable) to every task."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

OcrMode = Literal["auto", "always", "never"]

MAX_INPUT_BYTES = 200 * 1024 * 1024
"""Inputs above this size are rejected: a report is rarely over a few tens of MB, and a larger
file is more likely a mis-filed archive or video than a report."""
MAX_PAGES = 2000
OCR_DPI = 300
OCR_TIMEOUT_SECONDS = 300


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
