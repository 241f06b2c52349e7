"""The extractor registry: name.vN → the function and the output table it fills.

Each extractor takes the document's page views and the rule set and returns records carrying a
`Provenance`. `tests/test_registry.py` compares this registry with `tests/registry.json`, so adding,
renaming or re-versioning an extractor is a visible change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.normalize import PageView
from rules import RuleSet

ExtractorFunction = Callable[[Sequence[PageView], RuleSet], Sequence[Any]]


@dataclass(frozen=True, slots=True)
class Extractor:
    name: str
    table: str
    function: ExtractorFunction


def _registry() -> dict[str, Extractor]:
    from extractors.figures import extract_figures
    from extractors.references import extract_references
    from extractors.services import extract_service_rows, extract_table_rows

    entries = [
        Extractor("references.v1", "references", extract_references),
        Extractor("figures.v1", "figures", extract_figures),
        Extractor("services.v1", "services", extract_service_rows),
        Extractor("tables.v1", "tables", extract_table_rows),
    ]
    return {e.name: e for e in entries}


EXTRACTORS: dict[str, Extractor] = _registry()
