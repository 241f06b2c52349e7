"""The extractor registry is a visible contract: adding or re-versioning one changes this snapshot."""

from __future__ import annotations

import json
from pathlib import Path

from extractors import EXTRACTORS
from pipeline.export import TABLE_COLUMNS


def test_registry_matches_the_committed_snapshot() -> None:
    snapshot = json.loads((Path(__file__).with_name("registry.json")).read_text(encoding="utf-8"))
    assert [{"name": e.name, "table": e.table} for e in EXTRACTORS.values()] == snapshot


def test_every_extractor_fills_an_output_table() -> None:
    assert all(e.table in TABLE_COLUMNS for e in EXTRACTORS.values())
