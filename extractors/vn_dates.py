"""Vietnamese date phrases → ISO dates: pure functions shared by the extractors.

Forms understood (all of them occur in Đề án 06 reports):

- numeric: ``25/01/2023``, ``8/4/2022`` (d/m/yyyy), ``27.5.2024``, ``01-02-2023``;
- verbal: ``ngày 14 tháng 5 năm 2016`` (``ngày`` and ``năm`` optional, diacritics optional);
- OCR noise: ``O``/``o`` read for ``0`` and ``l``/``I``/``|`` read for ``1`` inside the digits,
  stray spaces around the separators (``08 / 4 / 2022``).

Public API:

- `DATE_PATTERN`: the regex source (``regex`` module syntax) of one date expression, for
  embedding in larger patterns; its named groups are ``d1 m1 y1`` (numeric) and ``d2 m2 y2`` (verbal).
- `match_date(text, pos)`: the date that starts exactly at `pos` (optionally after "ngày").
- `find_dates(text)`: every date in a text, left to right.
- `parse_date_text(text)`: a whole phrase such as "ngày 14 tháng 5 năm 2016" → "2016-05-14".
- `to_iso(day, month, year)`: validated ISO string or None.
- `ocr_digits(s)`: the digit repairs used above.

Impossible calendar dates ("31/02/2023") are still *matched* (the span is a date as written) but
give ``iso=None``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from functools import lru_cache

import regex

# A digit as OCR may render it; at least one real digit is required per field (checked in code).
_D = r"[0-9OoIl|]"
_SEP_SPACE = r"[ \u00a0]?"
# Diacritic-tolerant spellings of the words around verbal dates.
_NGAY = r"(?i:ng[aàáảãạ]y)"
_THANG = r"(?i:th[aàáảãạ]ng)"
_NAM = r"(?i:n[aăàáảãạằắẳẵặ]m)"

DATE_PATTERN = (
    # numeric: the two separators must agree (d/m/y, d.m.y or d-m-y)
    rf"(?<![\d/.\-])(?P<d1>{_D}{{1,2}}){_SEP_SPACE}(?P<sep>[/.\-]){_SEP_SPACE}(?P<m1>{_D}{{1,2}})"
    rf"{_SEP_SPACE}(?P=sep){_SEP_SPACE}(?P<y1>{_D}{{4}})(?![\d])"
    r"|"
    # verbal: "14 tháng 5 năm 2016", "14 tháng 5, năm 2016"
    rf"(?<![\d])(?P<d2>{_D}{{1,2}})[ ]{_THANG}[ ](?P<m2>{_D}{{1,2}}),?[ ](?:{_NAM}[ ])?(?P<y2>{_D}{{4}})(?![\d])"
)
"""Regex source of one date (no leading "ngày"); see the module docstring for the groups."""

_OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"})


@dataclass(frozen=True, slots=True)
class DateMatch:
    """One date found in a text: `[start, end)` offsets, the text as written and its ISO form."""

    start: int
    end: int
    text: str
    iso: str | None


def ocr_digits(s: str) -> str:
    """Repair the usual OCR digit confusions: O/o → 0, l/I/| → 1 ("2O22" → "2022")."""
    return s.translate(_OCR_DIGITS)


def to_iso(day: int, month: int, year: int) -> str | None:
    """`yyyy-mm-dd` when the three numbers form a real calendar date in 1900–2100, else None."""
    if not 1900 <= year <= 2100:
        return None
    try:
        return _dt.date(year, month, day).isoformat()
    except ValueError:
        return None


@lru_cache(maxsize=1)
def _date_re() -> regex.Pattern[str]:
    return regex.compile(DATE_PATTERN)


@lru_cache(maxsize=1)
def _anchored_re() -> regex.Pattern[str]:
    # Optional "ngày" (also "ngay", OCR) before the date, so callers can anchor on either.
    return regex.compile(rf"(?:{_NGAY}[ \u00a0]{{0,2}})?(?:{DATE_PATTERN})")


def _fields(m: regex.Match[str]) -> tuple[str, str, str]:
    if m.group("d1") is not None:
        return m.group("d1"), m.group("m1"), m.group("y1")
    return m.group("d2"), m.group("m2"), m.group("y2")


def _plausible(year: str) -> bool:
    # OCR may garble a whole day or month ("ll/6/2O24"), but "Ol/lO/OOOO" is not a date: the year
    # needs at least two genuine digits.
    return sum(c.isdigit() for c in year) >= 2


def _to_match(m: regex.Match[str]) -> DateMatch | None:
    d, mo, y = _fields(m)
    if not _plausible(y):
        return None
    iso = to_iso(int(ocr_digits(d)), int(ocr_digits(mo)), int(ocr_digits(y)))
    return DateMatch(m.start(), m.end(), m.group(0), iso)


def match_date(text: str, pos: int = 0) -> DateMatch | None:
    """The date starting exactly at `pos` (an optional leading "ngày " is part of the match)."""
    m = _anchored_re().match(text, pos)
    return _to_match(m) if m else None


def find_dates(text: str) -> list[DateMatch]:
    """Every date in `text`, left to right (the leading "ngày" is not included in the spans)."""
    found: list[DateMatch] = []
    for m in _date_re().finditer(text):
        dm = _to_match(m)
        if dm is not None:
            found.append(dm)
    return found


def parse_date_text(text: str) -> str | None:
    """ISO date of a phrase that is one date, e.g. "ngày 14 tháng 5 năm 2016" → "2016-05-14".

    Leading/trailing whitespace and punctuation are ignored; anything else around the date makes
    the phrase not a date (returns None). Use `find_dates` to search inside longer text.
    """
    core = text.strip().strip(",.;:()")
    core = " ".join(core.split())
    m = _anchored_re().fullmatch(core)
    if not m:
        return None
    dm = _to_match(m)
    return dm.iso if dm else None
