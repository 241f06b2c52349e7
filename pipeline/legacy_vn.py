"""Legacy Vietnamese 8-bit encodings (TCVN3/ABC, VNI, Windows-1258): detection and exact transcoding.

Two views of the same problem:
- bytes (`detect_legacy_bytes`, `transcode_legacy_bytes`): a text file saved in a legacy encoding;
- text (`detect_legacy_text`, `transcode_legacy_text`): a PDF text layer set in a legacy font, which
  text extractors return as Latin-1/cp1252 look-alikes ("Céng hßa X· héi" is TCVN3 for
  "Cộng hòa Xã hội", "Coäng hoøa xaõ hoäi" is VNI for the same).

The byte → letter tables are data (`rules/legacy_tcvn3.tsv`, `rules/legacy_vni.tsv`). Transcoding is
all-or-nothing: when a word cannot be converted with certainty (TCVN3 capitals set in the .VnTimeH
font, codes outside the table inside a word, VNI marks on no vowel) the result is None, and the
caller reports the encoding by name or OCRs the page instead of guessing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import cache
from importlib import resources

import regex

TCVN3 = "TCVN3"
VNI = "VNI"
CP1258 = "Windows-1258"

# Tone marks as combining characters (after NFD).
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_VN_ONLY = regex.compile(r"[\u0102\u0103\u0110\u0111\u01a0\u01a1\u01af\u01b0\u1ea0-\u1ef9]")
# One Vietnamese syllable without its tone mark (lowercase): onset, 1-3 vowels, coda. Loose on
# purpose: it only has to tell Vietnamese words from look-alike garbage.
_NUCLEI = (
    "iêu oai oay oeo uây uôi ươi ươu uya uyê uyu yêu "
    "ai ao au ay âu ây eo êu ia iê iu oa oă oe oi oo ôi ơi ua uâ uê ui uô uơ uy ưa ưi ưu ươ yê "
    "a ă â e ê i o ô ơ u ư y"
).split()
_SYLLABLE = regex.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?(?:"
    + "|".join(_NUCLEI)
    + r")(?:ng|nh|ch|[cmnpt])?"
)
# Word tokens of a text that may be in a legacy encoding: ASCII letters plus the whole Latin-1 upper
# half (legacy codes look like ¸ µ ß × ÷ …) and the soft hyphen (TCVN3 "ư").
_WORD = regex.compile(r"[A-Za-z\u00a1-\u00ff]+")


def _cp1252_view(byte: int) -> str:
    """How a byte shows up in text extracted from a PDF font with WinAnsi encoding."""
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


@cache
def _table(encoding: str) -> dict[str, str]:
    """Look-alike sequence (bytes read as Latin-1) → Unicode letter, from the TSV in `rules/`."""
    name = {TCVN3: "legacy_tcvn3.tsv", VNI: "legacy_vni.tsv"}[encoding]
    text = resources.files("rules").joinpath(name).read_text(encoding="utf-8")
    table: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line or line.startswith("#") or line.startswith(("byte\t", "bytes\t")):
            continue
        code, codepoint, letter, _shown = line.split("\t")
        seq = bytes.fromhex(code).decode("latin-1")
        # The TSV is hand-checked data: fail loudly on a typo rather than decode wrongly.
        if chr(int(codepoint[2:], 16)) != letter or seq in table:
            raise ValueError(f"{name}:{number}: inconsistent or duplicate row {line!r}")
        table[seq] = letter
    if len(set(table.values())) != len(table):
        raise ValueError(f"{name}: two codes map to the same letter")
    return table


@cache
def _tcvn3_chars() -> dict[str, str]:
    """TCVN3 single-character map, including the cp1252 views of the bytes."""
    out: dict[str, str] = {}
    for seq, letter in _table(TCVN3).items():
        out[seq] = letter
        out[_cp1252_view(ord(seq))] = letter
    return out


def is_syllable(word: str) -> bool:
    """Whether `word` reads as one Vietnamese syllable (at most one tone mark)."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = sum(1 for ch in decomposed if ch in _TONE_MARKS)
    base = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONE_MARKS))
    return tones <= 1 and _SYLLABLE.fullmatch(base) is not None


def _decode_word(word: str, encoding: str) -> str | None:
    """One word converted from look-alikes, or None when some part has no exact reading."""
    pieces = _decode_word_pieces(word, encoding)
    return None if pieces is None else "".join(ch for ch, _ in pieces)


def _decode_word_pieces(word: str, encoding: str, strict: bool = True) -> list[tuple[str, int]] | None:
    """(output letter, source characters it was read from) for each letter of `word`, or None.

    `strict=False` accepts TCVN3 words whose case is uncertain (detection only)."""
    out: list[tuple[str, int]] = []
    if encoding == TCVN3:
        chars = _tcvn3_chars()
        converted_lower = False
        for ch in word:
            if ch in chars:
                letter = chars[ch]
                converted_lower |= letter.islower()
                out.append((letter, 1))
            elif ch.isascii():
                out.append((ch, 1))
            else:
                return None  # a TCVN 5712 code outside VN3 (a VN1 capital or combining mark)
        # VN3 has no accented capitals: a heading set in .VnTimeH shows lowercase codes between
        # capitals ("CéNG"). Which letters were capitals cannot be known for sure.
        ascii_letters = [c for c in word if c.isascii() and c.isalpha()]
        if strict and converted_lower and len(ascii_letters) >= 2 and all(c.isupper() for c in ascii_letters):
            return None
        return out
    table = _table(VNI)
    i = 0
    while i < len(word):
        pair = word[i : i + 2]
        if len(pair) == 2 and pair in table:
            out.append((table[pair], 2))
            i += 2
        elif word[i] in table:
            out.append((table[word[i]], 1))
            i += 1
        elif word[i].isascii():
            out.append((word[i], 1))
            i += 1
        else:
            return None  # a mark with no vowel before it, or a byte VNI does not use
    return out


def _word_scores(text: str, encoding: str) -> tuple[int, int, int]:
    """(words that only make sense decoded, words that decode to Vietnamese, words that fail)."""
    evidence = valid = failed = 0
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        # Not strict: a .VnTimeH heading is still evidence of TCVN3, even if it cannot be converted.
        pieces = _decode_word_pieces(word, encoding, strict=False)
        decoded = None if pieces is None else "".join(ch for ch, _ in pieces)
        if decoded is None or not all(is_syllable(part) for part in _syllables(decoded)):
            failed += 1
            continue
        valid += 1
        # Words like "có" are valid either way; evidence is a word that is not Vietnamese as it
        # stands ("hßa", "Coäng") but is once decoded.
        if decoded != word and not all(is_syllable(part) for part in _syllables(word)):
            evidence += 1
    return evidence, valid, failed


def _syllables(word: str) -> list[str]:
    """The alphabetic runs of a word that hold a non-ASCII letter (digits/ASCII-only runs skipped)."""
    return [run for run in regex.findall(r"\p{L}+", word) if not run.isascii()]


def detect_legacy_text(text: str) -> str | None:
    """`"TCVN3"` or `"VNI"` when `text` is Vietnamese written with legacy-font look-alikes, else None.

    Ordinary Unicode Vietnamese is recognised by its letters outside Latin-1 (ộ, ư, đ, ạ …); when
    those are common the text is taken as it is."""
    words = [w for w in _WORD.findall(text) if not w.isascii()]
    vn_words = len(regex.findall(r"\p{L}*" + _VN_ONLY.pattern + r"\p{L}*", text))
    best: tuple[int, str] | None = None
    for encoding in (TCVN3, VNI):
        evidence, valid, failed = _word_scores(text, encoding)
        if evidence < 2 or valid < 0.6 * len(words) or vn_words > 0.1 * max(1, len(words)):
            continue
        if best is None or evidence - failed > best[0]:
            best = (evidence - failed, encoding)
    return best[1] if best else None


def transcode_legacy_text(text: str, encoding: str) -> str | None:
    """`text` converted from `encoding` look-alikes to NFC Unicode, or None if any word is uncertain."""
    aligned = transcode_legacy_aligned(text, encoding)
    return None if aligned is None else unicodedata.normalize("NFC", aligned[0])


Aligned = tuple[str, tuple[tuple[int, int], ...]]
"""Converted text and, for every output character, the half-open range of the source it came from."""


def _rewrite_tokens(
    text: str, pattern: regex.Pattern[str], rewrite: Callable[[str], list[tuple[str, int, int]] | None]
) -> Aligned | None:
    """`text` with every `pattern` match replaced by `rewrite(token)` — (char, start, end in the
    token) triples — and everything between kept; None as soon as one token cannot be rewritten."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    last = 0
    for match in pattern.finditer(text):
        for pos in range(last, match.start()):
            out.append(text[pos])
            spans.append((pos, pos + 1))
        pieces = rewrite(match.group())
        if pieces is None:
            return None
        base = match.start()
        for ch, start, end in pieces:
            out.append(ch)
            spans.append((base + start, base + end))
        last = match.end()
    for pos in range(last, len(text)):
        out.append(text[pos])
        spans.append((pos, pos + 1))
    return "".join(out), tuple(spans)


def transcode_legacy_aligned(text: str, encoding: str) -> Aligned | None:
    """Like `transcode_legacy_text`, plus for every output character the half-open range of `text`
    it came from (VNI letters take two source characters), so per-character boxes can follow."""
    if encoding not in (TCVN3, VNI):
        return None

    def decoded(word: str) -> list[tuple[str, int, int]] | None:
        pieces = [(ch, 1) for ch in word] if word.isascii() else _decode_word_pieces(word, encoding)
        if pieces is None:
            return None
        out, pos = [], 0
        for ch, width in pieces:
            out.append((ch, pos, pos + width))
            pos += width
        return out

    return _rewrite_tokens(text, _WORD, decoded)


def detect_legacy_bytes(data: bytes) -> str | None:
    """Name of the legacy encoding `data` is written in (`"TCVN3"`, `"VNI"`, `"Windows-1258"`), or None.

    Valid UTF-8 and plain ASCII are never legacy."""
    if data.isascii():
        return None
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    latin = _bytes_view(data)
    found = detect_legacy_text(latin)
    scores: dict[str, int] = {}
    if found is not None:
        scores[found] = _word_scores(latin, found)[1]
    # Windows-1258 writes tones as combining marks after the letter; decode it and count syllables.
    try:
        cp = unicodedata.normalize("NFC", data.decode("cp1258"))
    except UnicodeDecodeError:
        cp = None
    if cp is not None:
        words = [w for w in regex.findall(r"\p{L}+", cp) if not w.isascii()]
        good = sum(1 for w in words if is_syllable(w))
        uses_vn = sum(1 for w in words if _VN_ONLY.search(w))
        if words and good >= 0.8 * len(words) and uses_vn >= 2:
            scores[CP1258] = good
    if not scores:
        return None
    return max(scores, key=lambda k: scores[k])


def transcode_legacy_bytes(data: bytes, encoding: str) -> str | None:
    """Unicode (NFC) text of `data` in `encoding`, or None when it cannot be converted exactly."""
    if encoding == CP1258:
        try:
            return unicodedata.normalize("NFC", data.decode("cp1258"))
        except UnicodeDecodeError:
            return None
    if encoding not in (TCVN3, VNI):
        return None
    # Control bytes 0x01-0x17 other than whitespace are TCVN 5712 VN1 capitals: not VN3.
    if any(b < 0x20 and b not in (0x09, 0x0A, 0x0C, 0x0D) for b in data):
        return None
    return transcode_legacy_text(_bytes_view(data), encoding)


def _bytes_view(data: bytes) -> str:
    """Bytes as the look-alike text a legacy font shows: Latin-1, with cp1252 quotes and dashes
    for 0x80-0x9F (neither VN3 nor VNI puts letters there)."""
    return "".join(_cp1252_view(b) if 0x80 <= b < 0xA0 else chr(b) for b in data)


def encode_legacy_text(text: str, encoding: str) -> str | None:
    """The look-alike form of Unicode `text` in `encoding` (the inverse table), or None when some
    letter has no code (e.g. accented capitals in TCVN3). Used to build test inputs and round trips."""
    if encoding not in (TCVN3, VNI):
        return None
    inverse = {letter: seq for seq, letter in _table(encoding).items()}
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in inverse:
            out.append(inverse[ch])
        elif ch.isascii() or (ord(ch) >= 0x100 and not ch.isalpha()):
            out.append(ch)  # ASCII and typographic punctuation (“ ” – …) are the same in both
        else:
            return None  # a Latin-1 symbol would read as a legacy code; a letter with no code
    return "".join(out)



_TOKEN = regex.compile(r"[^ \t\n\r\f\v]+")  # NBSP (0xA0) is the second byte of "à"


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
MOJIBAKE = regex.compile("[ÃÂÄÅÆáâ]" + _continuation_class())


def has_mojibake(text: str) -> bool:
    """Whether `text` holds a UTF-8 sequence read as cp1252 ("á»", "Ã²")."""
    return MOJIBAKE.search(text) is not None


def _utf8_round_trip(token: str) -> str | None:
    """`token` as the UTF-8 it was before a cp1252/Latin-1 reading, or None when its characters are
    not all single bytes in those codecs or the bytes are no valid UTF-8 (then it was no mojibake)."""
    data = bytearray()
    for ch in token:
        try:
            data += ch.encode("cp1252")
        except UnicodeEncodeError:
            if ord(ch) > 0xFF:
                return None
            data.append(ord(ch))  # a byte cp1252 leaves undefined, passed through as Latin-1
    try:
        return unicodedata.normalize("NFC", data.decode("utf-8"))
    except UnicodeDecodeError:
        return None


def _unmojibaked(token: str) -> list[tuple[str, int, int]] | None:
    fixed = None if token.isascii() else _utf8_round_trip(token)
    if fixed is not None and fixed != token:
        return [(ch, 0, len(token)) for ch in fixed]  # each repaired letter points at its token
    if has_mojibake(token) or "\ufffd" in token:
        return None
    return [(ch, i, i + 1) for i, ch in enumerate(token)]


def repair_mojibake_aligned(text: str) -> Aligned | None:
    """UTF-8 text that was read as cp1252/Latin-1 ("Cá»™ng hÃ²a" for "Cộng hòa"), put back token by
    token through the exact codec round trip, with each output character's source range (a repaired
    token's characters all point at the whole token); None when a token that looks like mojibake
    does not come back exactly (a byte was lost, e.g. to U+FFFD)."""
    return _rewrite_tokens(text, _TOKEN, _unmojibaked)
