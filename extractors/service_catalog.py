"""The service catalogues (the 25 essential services, QĐ 422) and matching names to them by meaning.

Names are compared on a key that ignores case, diacritics, punctuation and the usual abbreviations
("CCCD" → "căn cước công dân"), with rapidfuzz's `ratio` against the canonical name and every alias.
A match carries its score (0–100); callers decide the threshold. Typos are told apart from
variants: a name that equals an alias except for diacritics on a word ("chủ thẻ" for "chủ thể"), or
that equals an alias marked "~" in the catalogue, is a `name_typo`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import regex
from rapidfuzz import fuzz

from pipeline.normalize import fold, strip_diacritics
from rules import RuleSet

CATALOG_FILES = {"25": "services_25.csv", "422": "services_422.csv"}
_PUNCT = regex.compile(r"[^\p{L}\p{N}]+")
_MARKUP = regex.compile(r"</?\w+\s*/?>|\*\*|__")


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One service of a catalogue: its number there, canonical name, level, agency and aliases."""

    catalog: str
    number: int | None
    name: str
    level: int | None
    agency: str | None
    aliases: tuple[str, ...]
    typo_aliases: tuple[str, ...]
    expected_agency: tuple[str, ...]

    @property
    def service_id(self) -> int | None:
        """The SPEC's service_id: the number in the 25-service catalogue, null for other catalogues."""
        return self.number if self.catalog == "25" else None


@dataclass(frozen=True, slots=True)
class Match:
    entry: CatalogEntry | None
    score: float
    alias: str | None
    """The catalogue text (name or alias) that matched best."""
    typo: bool = False


@dataclass(frozen=True, slots=True)
class Catalog:
    entries: tuple[CatalogEntry, ...]
    keys: tuple[tuple[str, CatalogEntry, str, bool], ...]
    """(match key, entry, source text, is a known misspelling) for every name and alias."""
    abbrev: tuple[tuple[str, str], ...]

    def key(self, text: str) -> str:
        return name_key(text, self.abbrev)

    def match(self, text: str, prefer: str | None = None) -> Match:
        """Best entry for `text`; with `prefer` ("25"/"422") that catalogue wins ties and near-ties."""
        k = self.key(text)
        if not k:
            return Match(None, 0.0, None)
        best: tuple[float, CatalogEntry | None, str | None, bool] = (0.0, None, None, False)
        for key, entry, source, is_typo in self.keys:
            score = float(fuzz.ratio(k, key))
            if prefer is not None and entry.catalog == prefer:
                score = min(100.0, score + 3.0)  # the section or caption names the catalogue
            if score > best[0] or (score == best[0] and best[1] is not None and _rank(entry) < _rank(best[1])):
                best = (score, entry, source, is_typo)
        score, entry, source, is_typo = best
        typo = is_typo or (source is not None and diacritic_typo(text, source))
        return Match(entry, round(min(score, 100.0), 2), source, typo)


def _rank(entry: CatalogEntry) -> int:
    return 0 if entry.catalog == "25" else 1


def name_key(text: str, abbrev: Sequence[tuple[str, str]] = ()) -> str:
    """Matching key: no markup, case, diacritics or punctuation; abbreviations expanded."""
    s = strip_diacritics(fold(_MARKUP.sub(" ", text))).replace("&", " va ")
    s = " ".join(_PUNCT.sub(" ", s).split())
    if abbrev:
        s = f" {s} "
        for short, long in abbrev:
            s = s.replace(f" {short} ", f" {long} ")
        s = s.strip()
    return s


def _words(text: str) -> list[str]:
    return _PUNCT.sub(" ", fold(_MARKUP.sub(" ", text))).split()


def diacritic_typo(written: str, reference: str) -> bool:
    """True when `written` is `reference` with one word's diacritics changed ("chủ thẻ"/"chủ thể").

    Spelling variants that change letters ("kí"/"ký") are not typos, nor are abbreviations."""
    a, b = _words(written), _words(reference)
    if len(a) != len(b) or a == b:
        return False
    diffs = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    if len(diffs) != 1:
        return False
    x, y = diffs[0]
    return strip_diacritics(x) == strip_diacritics(y) and _marks(x) != _marks(y)


def _marks(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.combining(c))


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in (value or "").split("|") if x.strip())


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


@lru_cache(maxsize=4)
def load_catalog(rules: RuleSet) -> Catalog:
    """Both catalogues from the rule files, with their match keys (cached per rule set)."""
    abbrev: list[tuple[str, str]] = []
    for cue in rules.jsonl("service_cues.jsonl"):
        if cue.get("kind") == "abbrev":
            abbrev.extend(sorted(cue["map"].items(), key=lambda kv: -len(kv[0])))
    entries: list[CatalogEntry] = []
    keys: list[tuple[str, CatalogEntry, str, bool]] = []
    for catalog, filename in CATALOG_FILES.items():
        for row in rules.table(filename):
            aliases = _split(row.get("aliases"))
            entry = CatalogEntry(
                catalog=catalog,
                number=_int(row.get("service_id")),
                name=row["name"].strip(),
                level=_int(row.get("level")),
                agency=(row.get("agency") or "").strip() or None,
                aliases=tuple(a for a in aliases if not a.startswith("~")),
                typo_aliases=tuple(a[1:] for a in aliases if a.startswith("~")),
                expected_agency=_split(row.get("expected_agency")),
            )
            entries.append(entry)
            for text in (entry.name, *entry.aliases):
                keys.append((name_key(text, abbrev), entry, text, False))
            for text in entry.typo_aliases:
                keys.append((name_key(text, abbrev), entry, text, True))
    return Catalog(tuple(entries), tuple(keys), tuple(abbrev))


def agency_unexpected(entry: CatalogEntry | None, agency: str | None) -> bool:
    """A stated agency that names none of the agencies the catalogue expects for the service."""
    if entry is None or not agency or not entry.expected_agency:
        return False
    written = name_key(agency)
    return not any(f" {name_key(x)} " in f" {written} " for x in entry.expected_agency)
