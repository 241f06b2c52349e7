"""Rules and catalogues as data: every file in this folder, loaded once, hashed as one version.

Extractors read their data through `get_rules()`; the content hash (`RuleSet.version`) goes into
`manifest.json` and into the cache key of every document, so changing a rule re-runs the corpus.
Each `*.jsonl` rule line may carry `examples` and `counter_examples`, which
`tests/rules/test_rule_examples.py` turns into one test case each.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

RULES_DIR = Path(__file__).resolve().parent
DATA_SUFFIXES = (".jsonl", ".tsv", ".csv", ".txt", ".json")


class RuleError(ValueError):
    """A rule file is malformed; the message names the file and line to fix."""


@dataclass(frozen=True, eq=False)
class RuleSet:
    """The raw text of every rule file, parsed on demand and cached.

    Hashable by content version, so compiled patterns can be cached per rule set."""

    files: dict[str, str]
    version: str
    _parsed: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __hash__(self) -> int:
        return hash(self.version)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RuleSet) and other.version == self.version

    def text(self, name: str) -> str:
        try:
            return self.files[name]
        except KeyError:
            raise RuleError(f"rules/{name} is missing; it ships with de06, reinstall the package") from None

    def jsonl(self, name: str) -> list[dict[str, Any]]:
        """Objects of a JSON Lines file; blank lines and lines starting with // are skipped."""
        if name not in self._parsed:
            rows = []
            for number, line in enumerate(self.text(name).splitlines(), start=1):
                if not line.strip() or line.lstrip().startswith("//"):
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise RuleError(f"rules/{name}:{number}: not valid JSON ({e.msg})") from e
            self._parsed[name] = rows
        return list(self._parsed[name])

    def table(self, name: str) -> list[dict[str, str]]:
        """Rows of a CSV (`.csv`) or tab-separated (`.tsv`) file with a header line; # comments skipped."""
        if name not in self._parsed:
            body = "\n".join(x for x in self.text(name).splitlines() if not x.startswith("#"))
            delimiter = "\t" if name.endswith(".tsv") else ","
            self._parsed[name] = list(csv.DictReader(io.StringIO(body), delimiter=delimiter))
        return list(self._parsed[name])

    def lines(self, name: str) -> list[str]:
        """Non-blank lines of a text file, # comments skipped."""
        return [x.strip() for x in self.text(name).splitlines() if x.strip() and not x.startswith("#")]

    @property
    def abbreviations(self) -> tuple[str, ...]:
        """Abbreviations whose dot does not end a sentence ("TP.", "v.v.")."""
        return tuple(self.lines("abbreviations.txt"))


def load_rules(directory: Path = RULES_DIR) -> RuleSet:
    """Read every data file of `directory` and hash them together (sorted by name)."""
    files: dict[str, str] = {}
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        if path.suffix in DATA_SUFFIXES and path.is_file():
            content = path.read_text(encoding="utf-8")
            files[path.name] = content
            digest.update(path.name.encode() + b"\0" + content.encode("utf-8") + b"\0")
    return RuleSet(files=files, version=digest.hexdigest()[:16])


@lru_cache(maxsize=1)
def get_rules() -> RuleSet:
    """The packaged rule set, loaded once per process."""
    return load_rules()
