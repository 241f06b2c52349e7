"""Stage "validate": cross-check the records of one document and report inconsistencies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from extractors.figures import ratio_percent_findings
from pipeline.normalize import PageView
from pipeline.types import Finding
from rules import RuleSet


def find_inconsistencies(
    tables: dict[str, list[Any]], views: Sequence[PageView], rules: RuleSet
) -> list[Finding]:
    """Findings across the numbered records of one document (ids are already assigned)."""
    findings: list[Finding] = []
    for ratio, percent, message in ratio_percent_findings(tables["figures"]):
        findings.append(
            Finding(
                prov=percent.prov,
                kind="ratio_percent_mismatch",
                message=message,
                record_ids=(ratio.id, percent.id),
            )
        )
    return findings
