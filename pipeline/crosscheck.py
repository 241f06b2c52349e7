"""Stage "validate": cross-check the records of one document and report inconsistencies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.normalize import PageView
from pipeline.types import Finding
from rules import RuleSet


def find_inconsistencies(
    tables: dict[str, list[Any]], views: Sequence[PageView], rules: RuleSet
) -> list[Finding]:
    """Findings across the numbered records of one document (ids are already assigned)."""
    findings: list[Finding] = []
    return findings
