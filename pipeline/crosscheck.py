"""Stage "validate": cross-check the records of one document and report inconsistencies."""

from __future__ import annotations

from typing import Any

from extractors.figures import ratio_percent_findings
from extractors.references import DATE_YEAR_FINDING_KIND, date_year_findings
from extractors.services import apply_service_crosschecks, service_findings
from pipeline.types import Finding


def find_inconsistencies(tables: dict[str, list[Any]]) -> tuple[dict[str, list[Any]], list[Finding]]:
    """Cross-check the numbered records of one document (ids already assigned).

    Returns the tables with flags updated (ids kept) and the findings, whose `record_ids` name the
    records involved.
    """
    findings: list[Finding] = []
    for reference, message in date_year_findings(tables["references"]):
        findings.append(
            Finding(prov=reference.prov, kind=DATE_YEAR_FINDING_KIND, message=message, record_ids=(reference.id,))
        )
    for ratio, percent, message in ratio_percent_findings(tables["figures"]):
        findings.append(
            Finding(prov=percent.prov, kind="ratio_percent_mismatch", message=message, record_ids=(ratio.id, percent.id))
        )
    services, _ = apply_service_crosschecks(tables["services"])
    findings.extend(service_findings(services, tables["tables"]))
    return {**tables, "services": services}, findings
