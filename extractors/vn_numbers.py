"""Vietnamese numerals as writers (and OCR engines) actually produce them.

Convention: "." groups thousands and "," is the decimal mark ("1.657.621" → 1657621.0,
"85,29" → 85.29). Exceptions handled because reports contain them:
- a single "." followed by one or two digits is a decimal point ("98.9%", "1.1%", "2.5m");
- English-style grouping ("1,657,621", "1,234.5") when the shape is unambiguous;
- OCR noise: look-alike letters inside a numeral ("1O0" → 100, "2l" → 21, "!" → 1), stray
  brackets and trailing punctuation ("3415]" → 3415), spaces inside thousand groups.

Pure functions, no rules and no I/O: the figure extractor decides *whether* a token is a figure,
this module only decides *what value* it has.
"""

from __future__ import annotations

import regex

# OCR look-alikes that stand for digits only when they sit inside a numeral.
_OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "D": "0", "l": "1", "I": "1", "|": "1", "!": "1", "S": "5"})
_EDGE_JUNK = " \t\r\n[](){}<>*_\"'“”‘’:;"
_GROUPED_DOT = regex.compile(r"^\d{1,3}(?:\.\d{3})+$")
_GROUPED_COMMA = regex.compile(r"^\d{1,3}(?:,\d{3})+$")
_SPACED_GROUPS = regex.compile(r"^\d{1,3}(?: \d{3})+(?:[.,]\d+)?$")
_CLEAN = regex.compile(r"^\d+(?:[.,]\d+)*$")


def clean_numeral(text: str) -> str:
    """The numeral with OCR look-alikes mapped to digits and edge junk removed ("" if none)."""
    s = text.strip(_EDGE_JUNK).rstrip("%đ").strip(_EDGE_JUNK)
    s = s.rstrip(".,")  # a sentence or section dot after the number is not part of it
    s = s.lstrip("+")
    if not s or not any(c.isdigit() for c in s):
        # "!" alone is the classic OCR reading of "1"; anything else without a digit is not a number.
        return "1" if s in {"!", "l", "I", "|"} else ""
    s = s.translate(_OCR_DIGITS)
    s = s.replace("\u00a0", " ").replace("\u202f", " ").replace("\u2009", " ")
    if " " in s and not _SPACED_GROUPS.match(s):
        return ""  # spaces are only allowed between thousand groups ("1 657 621")
    s = s.replace(" ", "")
    s = regex.sub(r"[.,]{2,}", lambda m: m.group(0)[0], s)  # "1..234" → "1.234"
    return s if _CLEAN.match(s) else ""


def parse_number(text: str, *, percent: bool | None = None, count: bool = False) -> float | None:
    """Value of a Vietnamese numeral, or None when `text` holds no readable number.

    `percent` says the numeral is followed by "%" (detected from `text` when None); it only
    matters for "." followed by three digits, which is grouping unless the result could not be
    a percentage ("12.345%" stays 12345 anyway: grouping is the Vietnamese reading).
    `count` says the numeral counts things, so "36,100" (comma + three digits, a common OCR or
    English-style slip) is read as grouping: 36100, not 36.1.
    """
    if percent is None:
        percent = text.rstrip().endswith("%")
    s = clean_numeral(text)
    if not s:
        return None
    has_dot, has_comma = "." in s, "," in s
    if not has_dot and not has_comma:
        return float(s)
    if has_dot and has_comma:
        # Both marks: whichever comes last is the decimal mark ("1.234,5" VN, "1,234.5" EN).
        if s.rfind(",") > s.rfind("."):
            return _float(s.replace(".", "").replace(",", "."))
        return _float(s.replace(",", ""))
    if has_comma:
        if (s.count(",") > 1 or count) and _GROUPED_COMMA.match(s):
            return _float(s.replace(",", ""))  # "1,657,621": English grouping
        head, _, tail = s.rpartition(",")
        return _float(head.replace(",", "") + "." + tail)
    # Only dots.
    if _GROUPED_DOT.match(s):
        return _float(s.replace(".", ""))
    head, _, tail = s.rpartition(".")
    if len(tail) <= 2 or (percent and len(tail) != 3):
        # "98.9%", "1.1%", "2.5": a decimal point; earlier dots (if any) group thousands.
        return _float(head.replace(".", "") + "." + tail)
    # Irregular groups ("1.23.456", OCR-dropped digit): read all dots as grouping.
    return _float(s.replace(".", ""))


def _float(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None
