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
from typing import TYPE_CHECKING

import regex

from pipeline.legacy_vn import MOJIBAKE, is_syllable, repair_mojibake_aligned
from pipeline.types import PageRead

if TYPE_CHECKING:
    from pipeline.legacy_vn import Aligned

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
    mojibake = len(MOJIBAKE.findall(text))
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
    if is_syllable(word):
        return "plain" if word.isascii() else "marked"
    if word.isascii() and (_ABBREVIATION.fullmatch(word) or len(word) > 7 or word.isupper()):
        return "skip"
    return "other"



@dataclass(frozen=True, slots=True)
class Judgement:
    """A text judged: its `quality` and `problem` (None when it reads as Vietnamese print), and its
    exact `repair` with the repair's quality when it is mojibake that the codec round trip restores
    into print."""

    quality: TextQuality
    problem: str | None = None
    repaired: Aligned | None = None
    repaired_quality: TextQuality | None = None


def judge(text: str) -> Judgement:
    quality = measure(text)
    problem = quality.problem()
    if problem is None or not (quality.mojibake and problem.startswith("mojibake")):
        return Judgement(quality, problem)
    repaired = repair_mojibake_aligned(text)
    after = measure(repaired[0]) if repaired is not None else None
    if repaired is None or after is None or after.problem() is not None:
        return Judgement(quality, problem)
    return Judgement(quality, problem, repaired, after)


def judge_text(text: str, what: str, repair: bool = True) -> tuple[str, PageRead]:
    """A file's own text as it is taken, and how: `repaired` when it is mojibake that the exact codec
    round trip restores (and `repair` allows it: offsets already computed on the text must not
    move), else as it is. Text files have no image to OCR, so any other problem is only named."""
    judged = judge(text)
    if judged.problem is None:
        return text, PageRead("text", what, judged.quality.score if judged.quality.judged else None)
    if repair and judged.repaired is not None and judged.repaired_quality is not None:
        reason = f"{what}: {judged.problem}, repaired exactly"
        return judged.repaired[0], PageRead("repaired", reason, judged.repaired_quality.score)
    return text, PageRead("text", f"{what}: {judged.problem}", judged.quality.score)
