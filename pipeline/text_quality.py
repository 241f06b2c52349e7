"""Stage "ingest": how much a page's text looks like Vietnamese print, before it is trusted.

A PDF's text layer may be anything: an earlier OCR without Vietnamese ("UY BAN NHAN DAN TINH NINH
B!NH"), UTF-8 read as cp1252 ("Cá»™ng hÃ²a"), a legacy font (`pipeline.legacy_vn`). OCR of an
upside-down page is garbage of the same kind. Three measures, on letter words:
- `syllables`: the share that are Vietnamese syllables (onset, nucleus, coda, at most one tone);
- `diacritics`: the share of those syllables written with a letter outside ASCII — Vietnamese
  print has 55-75 %, a layer that lost its diacritics under 10 %;
- `broken`: words with punctuation inside ("chi'c", "B!NH") and `mojibake` sequences.
Capitalised ASCII abbreviations (UBND, KH, TTg) and Latin words in running text count for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import regex

from pipeline.legacy_vn import _is_syllable
from pipeline.types import PageRead

MIN_WORDS = 20
"""Fewer letter words than this (a signature page, a table of numbers) are not judged."""
MIN_SCORE = 0.6
"""Below this the text is not Vietnamese print: a text layer is replaced by OCR."""
MIN_DIACRITICS = 0.2
"""Under this share of syllables with a Vietnamese letter, the diacritics were lost."""
TYPICAL_DIACRITICS = 0.4
"""At or above this share of syllables with a Vietnamese letter the text scores in full."""

_WORD = regex.compile(r"\p{L}+")
_ABBREVIATION = regex.compile(r"[A-Z][A-Za-z]{0,7}")
_BROKEN = regex.compile(r"(?<=\p{L})[!|\\{}~^'`\"¦§¤]+(?=\p{L})|(?<=\p{Ll})[0-9](?=\p{Ll})")


def _continuation_class() -> str:
    """A character class of the UTF-8 continuation bytes 0x80-0xBF as cp1252 shows them."""
    shown = set()
    for byte in range(0x80, 0xC0):
        try:
            shown.add(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            shown.add(chr(byte))
        shown.add(chr(byte))  # and as Latin-1
    return "[" + "".join(regex.escape(c) for c in sorted(shown)) + "]"


# UTF-8 lead bytes of Vietnamese letters seen as cp1252/Latin-1 ("á»™", "Ã²", "Æ°", "Ä‘", "áº¡"),
# each followed by a continuation byte.
_MOJIBAKE = regex.compile("[ÃÂÄÅÆáâ]" + _continuation_class())


@dataclass(frozen=True, slots=True)
class TextQuality:
    score: float
    """0..1: syllable share, scaled down when diacritics are missing and by broken words."""
    words: int
    syllables: float
    diacritics: float
    broken: int
    mojibake: int

    @property
    def judged(self) -> bool:
        return self.words >= MIN_WORDS

    def problem(self) -> str | None:
        """Why this is not trustworthy Vietnamese text, in words for the `pages` table; or None."""
        if not self.judged:
            return None
        if self.mojibake >= max(3, 0.05 * self.words):  # "XÃ…" in a heading is no mojibake
            return f"mojibake: {self.mojibake} UTF-8 sequences read as cp1252 (e.g. 'á»')"
        if self.diacritics < MIN_DIACRITICS and self.syllables >= 0.5:
            return (
                f"no diacritics: {self.diacritics:.0%} of syllables carry a Vietnamese letter "
                f"(print has over {TYPICAL_DIACRITICS:.0%})"
            )
        if self.score < MIN_SCORE:
            return (
                f"not Vietnamese print: quality {self.score:.2f} ({self.syllables:.0%} of {self.words} "
                f"words are syllables, {self.broken} broken by punctuation)"
            )
        return None


SAMPLE_CHARS = 24_000
"""Longer texts are judged on evenly spaced windows of this many characters in all: a page is
judged whole, a 1 MB text file in bounded time."""


def measure(text: str) -> TextQuality:
    """The quality of `text`: whole up to `SAMPLE_CHARS`, else on four evenly spaced windows."""
    if len(text) > SAMPLE_CHARS:
        step, width = len(text) // 4, SAMPLE_CHARS // 4
        text = "\n".join(text[k * step : k * step + width] for k in range(4))
    words = syllables = marked = 0
    for match in _WORD.finditer(text):
        word = match.group()
        kind = _word_kind(word)
        if kind == "skip":
            continue
        words += 1
        if kind != "other":
            syllables += 1
            marked += kind == "marked"
    broken = len(_BROKEN.findall(text))
    mojibake = len(_MOJIBAKE.findall(text))
    syllable_share = syllables / words if words else 1.0
    diacritic_share = marked / syllables if syllables else 0.0
    score = syllable_share * min(1.0, diacritic_share / TYPICAL_DIACRITICS) - (broken + mojibake) / max(
        words, 1
    )
    return TextQuality(
        score=round(max(0.0, min(1.0, score)), 3),
        words=words,
        syllables=round(syllable_share, 3),
        diacritics=round(diacritic_share, 3),
        broken=broken,
        mojibake=mojibake,
    )


@lru_cache(maxsize=65536)
def _word_kind(word: str) -> str:
    """`marked` (a syllable with a Vietnamese letter), `plain` (an ASCII syllable), `other`, or
    `skip` (abbreviations and ASCII words that are no syllable, like English: neutral)."""
    if _is_syllable(word):
        return "plain" if word.isascii() else "marked"
    if word.isascii() and (_ABBREVIATION.fullmatch(word) or len(word) > 7 or word.isupper()):
        return "skip"
    return "other"


def has_mojibake(text: str) -> bool:
    """Whether `text` holds a UTF-8 sequence read as cp1252 ("á»", "Ã²")."""
    return _MOJIBAKE.search(text) is not None


def judge_text(text: str, what: str) -> PageRead:
    """How a file's own text is taken: as it is, or `repaired` when it is UTF-8 mojibake that the
    exact codec round trip restores into Vietnamese print. Text files have no image to OCR, so a
    layer without diacritics is kept and its problem named."""
    from pipeline.legacy_vn import repair_mojibake_aligned

    quality = measure(text)
    problem = quality.problem()
    if problem is None:
        return PageRead("text", what, quality.score if quality.judged else None)
    if quality.mojibake and problem.startswith("mojibake"):
        repaired = repair_mojibake_aligned(text)
        after = measure(repaired[0]) if repaired is not None else None
        if after is not None and after.problem() is None:
            return PageRead("repaired", f"{what}: {problem}, repaired exactly", after.score)
    return PageRead("text", f"{what}: {problem}", quality.score)
