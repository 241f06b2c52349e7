"""Extractor "references.v1": every numbered legal/administrative document a report cites.

Rules are data (`rules/doc_types.jsonl`, `rules/issuer_symbols.tsv`, `rules/reference_patterns.jsonl`);
this module only compiles them (once per rule-set version) and applies them.

How a mention is read, on the normalized text of a `PageView` (wrapped lines already joined):

1. *mention*: a type word ("Kế hoạch", "QUYẾT ĐỊNH", "QĐ", "công văn hướng dẫn") + optional "số" +
   number/symbol ("10/KH-UBND", "104/2022/NĐ-CP", "693KH-UBND", "26-CT/TU"), or a law by name
   ("Luật Căn cước năm 2023", numberless);
2. *date*: the date written right after the number ("ngày 25/01/2023", ", ngày …", "27.5.2024");
3. *issuer*: "của X" right after the date/number (explicit), else derived from the symbol (TTg → Thủ
   tướng Chính phủ); "A ngày … và B ngày … của X" gives X to B only (the nearer reference);
4. *subject*: the "về việc …"/"về …" clause that follows, up to the end of the clause.

The record's span runs from the type word through the date (or the number when there is none) and
is mapped back to the original page text, so `prov.text` is the exact source span. The report's own
number ("Số: 287 /BC-…" in the header, and "Kèm theo Báo cáo số 287/BC-…") is not a reference.

Public API: `extract_references(views, rules)`, `find_references(text, rules)` (pure, for tests),
`date_year_findings(records)`, `compile_rules(rules)`, `number_key(number)`.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import regex

from extractors.vn_dates import DATE_PATTERN, match_date, ocr_digits
from pipeline.normalize import PageView
from pipeline.types import ReferenceRecord
from rules import RuleError, RuleSet

DOC_TYPES_FILE = "doc_types.jsonl"
ISSUERS_FILE = "issuer_symbols.tsv"
PATTERNS_FILE = "reference_patterns.jsonl"

DATE_YEAR_FINDING_KIND = "reference_date_year_mismatch"
"""`Finding.kind` for a reference whose date year contradicts the year inside its number."""

# Patterns must stay linear: a match attempt that exceeds this is abandoned for the page
# (regex raises TimeoutError), never allowed to hang a worker.
_REGEX_TIMEOUT_S = 5.0
_MAX_SUBJECT_CHARS = 900
_MAX_ISSUER_CHARS = 140
_BUILTIN_FRAGMENTS = {
    "date": DATE_PATTERN,
    "ngay": r"(?i:ng[aàáảãạ]y)",
    "nam": r"(?i:n[aăàáảãạằắẳẵặ]m)",
}
_PLACEHOLDER = regex.compile(r"<<(\w+)>>")
TYPE_LED = ("mention", "mention_bare")
_LAW_NUMBER = regex.compile(r"[ \n](?:số|Số)[ \n]?")
TYPE_LEAD = r"(?<![\p{L}\d])(?P<type><<types>>)"
# Small helper patterns, compiled once.
_RE_KEY_STRIP = regex.compile(r"[\s/\-–‐—]+")
_RE_UNIT = regex.compile(r"\([^)]*\)")
_RE_SYMBOL_SPLIT = regex.compile(r"[-/]")
_RE_SPACES = regex.compile(r"\s+")
_RE_SYMBOL_PART = regex.compile(r"[^-/()&.]+")
_RE_TRAILING_DIGITS = regex.compile(r"\d+$")
_RE_DANGLING = regex.compile(r"(?:[ ,\-–]|[ ]và|[ ]hoặc)+$")
_RE_LAST_WORD = regex.compile(r"[\p{L}.]+$")
_RE_COORDINATOR = regex.compile(r"(?:[ ]?[,;][ ]?(?:và[ ])?|[ ]và[ ]|[ ]?[,;]?[ ]?-[ ])$")
_RE_CLOSE_QUOTE = regex.compile(r"[”\"]")
_RE_SENTENCE_BREAK = regex.compile(r"\.[ ]\p{Lu}")
_DASHES = str.maketrans({"–": "-", "‐": "-", "—": "-", "Ð": "Đ", "\u00a0": " "})


@dataclass(frozen=True, slots=True)
class DocType:
    """One reference type from `doc_types.jsonl`."""

    type: str
    codes: tuple[str, ...] = ()
    generic: bool = False
    joint: bool = False
    requires_so: bool = False


@dataclass(frozen=True)
class CompiledRules:
    """Every reference rule compiled, plus the lookup tables built from the data files."""

    version: str
    patterns: dict[str, regex.Pattern[str]]
    """Compiled pattern of every rule of `reference_patterns.jsonl`, by rule id."""
    by_name: dict[str, regex.Pattern[str]]
    """The same patterns by their short `name` (mention, number, date_link, …)."""
    modes: dict[str, str]
    spellings: dict[str, DocType]
    """Folded type spelling ("ke hoach") → type."""
    abbreviations: dict[str, DocType]
    codes: dict[str, DocType]
    """Type code inside symbols (QĐ, KH, CT, …) → type."""
    issuers: dict[str, str]
    issuers_folded: dict[str, str]
    sentence_abbreviations: frozenset[str] = field(default_factory=frozenset)
    code_spellings: dict[str, str] = field(default_factory=dict)
    """Case-folded and accent-folded type/issuer code → the code as listed ("ttg" → "TTg")."""
    folded_types: regex.Pattern[str] | None = None
    """Every type spelling as it reads in a text folded with `_fold_table` (see `_type_starts`)."""


@dataclass(frozen=True, slots=True)
class RefHit:
    """A reference found in one text; offsets are into that text (half-open)."""

    start: int
    end: int
    """Span from the type word through the date, or through the number when there is no date."""
    type: str
    number: str | None
    doc_key: str
    date: str | None = None
    issuer: str | None = None
    issuer_source: str | None = None
    subject: str | None = None
    issuer_span: tuple[int, int] | None = None
    subject_span: tuple[int, int] | None = None
    tail: int = 0
    """End of everything attached to the mention (date, issuer), before any subject."""


# --------------------------------------------------------------------------------------------
# Rule loading and compilation


def fold_word(text: str) -> str:
    """Key for type spellings: no diacritics, case-folded, single spaces ("QUYẾT ĐỊNH" → "quyet dinh")."""
    text = text.replace("đ", "d").replace("Đ", "D").replace("Ð", "D")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


@lru_cache(maxsize=1)
def _letter_groups() -> dict[str, frozenset[str]]:
    """Base letter → every Latin letter with that base, any case and diacritic."""
    groups: dict[str, set[str]] = {}
    for cp in list(range(0x41, 0x7B)) + list(range(0xC0, 0x250)) + list(range(0x1E00, 0x1F00)):
        ch = chr(cp)
        if not ch.isalpha():
            continue
        base = fold_word(ch)
        if len(base) == 1 and base.isascii():
            groups.setdefault(base, set()).add(ch)
    return {b: frozenset(chars) for b, chars in groups.items()}


@lru_cache(maxsize=1)
def _letter_classes() -> dict[str, str]:
    """Base letter → regex class of every letter with that base."""
    return {b: "[" + "".join(sorted(chars)) + "]" for b, chars in _letter_groups().items()}


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """`str.translate` table: every letter of a class to its base, so a text keeps its length."""
    return {ord(ch): base for base, chars in _letter_groups().items() for ch in chars}


def _tolerant(spelling: str, folded: bool = False) -> str:
    """Regex for a type spelling that ignores case and diacritics (OCR and unaccented typing);
    `folded`: the same spelling as it reads in a text folded with `_fold_table`."""
    classes = _letter_classes()
    parts: list[str] = []
    for ch in spelling:
        if ch.isspace():
            parts.append(r"[ \n]")
        elif fold_word(ch) in classes:
            parts.append(fold_word(ch) if folded else classes[fold_word(ch)])
        else:
            parts.append(regex.escape(ch))
    return "".join(parts)


def _abbreviation_regex(abbr: str) -> str:
    # Case-sensitive, but Đ may be read as Ð or D by OCR.
    return "".join("[ĐÐD]" if c == "Đ" else regex.escape(c) for c in abbr)


def _load_doc_types(rows: Iterable[dict[str, Any]]) -> tuple[dict[str, DocType], dict[str, DocType], dict[str, DocType]]:
    spellings: dict[str, DocType] = {}
    abbreviations: dict[str, DocType] = {}
    codes: dict[str, DocType] = {}
    for row in rows:
        try:
            dt = DocType(
                type=row["type"],
                codes=tuple(row.get("codes", ())),
                generic=bool(row.get("generic", False)),
                joint=bool(row.get("joint", False)),
                requires_so=bool(row.get("requires_so", False)),
            )
        except KeyError as e:
            raise RuleError(f"rules/{DOC_TYPES_FILE}: rule {row.get('id')!r} lacks {e}") from e
        for s in row.get("spellings", ()):
            spellings[fold_word(s)] = dt
        for a in row.get("abbreviations", ()):
            abbreviations[a] = dt
        for c in dt.codes:
            codes.setdefault(c, dt)
    return spellings, abbreviations, codes


def _expand(pattern: str, fragments: dict[str, str], rule_id: str, depth: int = 0) -> str:
    if depth > 8:
        raise RuleError(f"rules/{PATTERNS_FILE}: {rule_id}: placeholders nest too deep (a cycle?)")

    def sub(m: regex.Match[str]) -> str:
        name = m.group(1)
        if name not in fragments:
            raise RuleError(f"rules/{PATTERNS_FILE}: {rule_id}: unknown placeholder <<{name}>>")
        return "(?:" + _expand(fragments[name], fragments, rule_id, depth + 1) + ")"

    return _PLACEHOLDER.sub(sub, pattern)


def compile_rules(rules: RuleSet) -> CompiledRules:
    """Compile the reference rules of `rules`, once per rule-set version."""
    return _compile(rules)


@lru_cache(maxsize=4)
def _compile(rules: RuleSet) -> CompiledRules:
    spellings, abbreviations, codes = _load_doc_types(rules.jsonl(DOC_TYPES_FILE))
    type_spellings = sorted({s for s in _raw_spellings(rules)}, key=len, reverse=True)
    fragments = dict(_BUILTIN_FRAGMENTS)
    fragments["types"] = "|".join(_tolerant(s) for s in type_spellings)
    fragments["abbrs"] = "|".join(_abbreviation_regex(a) for a in sorted(abbreviations, key=len, reverse=True))
    rows = rules.jsonl(PATTERNS_FILE)
    for row in rows:
        if "name" in row:
            fragments[row["name"]] = row["pattern"]
        if row.get("name") in TYPE_LED and not row["pattern"].startswith(TYPE_LEAD):
            # `_find_mentions` tries these only where a type spelling starts (`_type_starts`).
            raise RuleError(f"rules/{PATTERNS_FILE}: {row.get('id')}: must start with {TYPE_LEAD}")
    patterns: dict[str, regex.Pattern[str]] = {}
    by_name: dict[str, regex.Pattern[str]] = {}
    modes: dict[str, str] = {}
    for row in rows:
        rule_id = row.get("id", "?")
        try:
            compiled = regex.compile(_expand(row["pattern"], fragments, rule_id), regex.V0)
        except (regex.error, KeyError) as e:
            raise RuleError(f"rules/{PATTERNS_FILE}: {rule_id}: pattern does not compile ({e})") from e
        patterns[rule_id] = compiled
        modes[rule_id] = row.get("mode", "search")
        if "name" in row:
            by_name[row["name"]] = compiled
    issuers: dict[str, str] = {}
    for row in rules.table(ISSUERS_FILE):
        code = (row.get("code") or "").strip()
        if code:
            issuers[code] = (row.get("issuer") or "").strip()
    return CompiledRules(
        version=rules.version,
        patterns=patterns,
        by_name=by_name,
        modes=modes,
        spellings=spellings,
        abbreviations=abbreviations,
        codes=codes,
        issuers=issuers,
        issuers_folded={k.casefold(): v for k, v in issuers.items()},
        sentence_abbreviations=frozenset(a.rstrip(".") for a in rules.abbreviations),
        code_spellings=_code_spellings([*codes, *issuers]),
        folded_types=regex.compile(
            r"(?<![a-z0-9])(?:" + "|".join(_tolerant(s, folded=True) for s in type_spellings) + ")", regex.V0
        ),
    )


def _code_spellings(known: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k in known:  # first listed wins; exact case-folded forms take precedence over accent-folded
        out.setdefault(fold_word(k), k)
    for k in known:
        out[k.casefold()] = k
    return out


def _raw_spellings(rules: RuleSet) -> list[str]:
    return [s for row in rules.jsonl(DOC_TYPES_FILE) for s in row.get("spellings", ())]


# --------------------------------------------------------------------------------------------
# Numbers, keys and symbol issuers


def number_key(number: str) -> str:
    """SPEC matching key of a number: no whitespace, "/" or dashes, case-folded."""
    return _RE_KEY_STRIP.sub("", number.translate(_DASHES)).casefold()


def _symbol_tokens(symbol: str) -> list[str]:
    # "KH-CAT-PV01(PC06)" → ["KH", "CAT", "PV01"]: the (unit) suffixes never name the issuer.
    bare = _RE_UNIT.sub("", symbol)
    return [t for t in _RE_SYMBOL_SPLIT.split(bare) if t]


OCR_TEXT: ContextVar[bool] = ContextVar("OCR_TEXT", default=False)
"""Set while reading an OCR'd page: enables repairs of Tesseract's letter doubling in symbols."""


def _undoubled(token: str, c: CompiledRules) -> str | None:
    """The known code `token` becomes when its doubled last letter is dropped: Tesseract's fast
    `vie` model reads "CAT" as "CATT" (bench/scan_parity.py). Only the last letter: "BTTP" is a
    real unit code, not a doubled "BTP"; typed text is never touched."""
    if len(token) > 2 and token[-1] == token[-2]:
        candidate = token[:-1]
        if candidate in c.codes or candidate in c.issuers:
            return candidate
    return None


def _canonical_symbol(symbol: str, c: CompiledRules) -> str:
    """Symbol with whitespace removed, dashes unified, Ð → Đ and known codes in their usual case."""
    symbol = _RE_SPACES.sub("", symbol.translate(_DASHES))

    def fix(m: regex.Match[str]) -> str:
        tok = m.group(0)
        if tok in c.codes or tok in c.issuers:
            return tok
        if OCR_TEXT.get() and (repaired := _undoubled(tok, c)):
            return repaired
        # OCR and unaccented typing: "TTG" → "TTg", "ND" → "NĐ", "QD" → "QĐ".
        return c.code_spellings.get(tok.casefold()) or c.code_spellings.get(fold_word(tok)) or tok

    return _RE_SYMBOL_PART.sub(fix, symbol)


def _build_number(m: regex.Match[str], c: CompiledRules) -> tuple[str, str]:
    """(number as recorded, symbol) from a match of the number rule; repairs "693KH-UBND" → "693/KH-UBND"."""
    raw = m.group("num")
    suffix = raw[-1] if raw[-1].isalpha() and raw[-1] not in "OoIl" else ""  # "36a/NQ-CP"
    num = ocr_digits(raw[: len(raw) - len(suffix)]) + suffix
    symbol = _canonical_symbol(m.group("symbol"), c)
    if m.group("party") is not None:
        return f"{num}-{symbol}", symbol
    year = m.group("year")
    if year is not None:
        return f"{num}/{ocr_digits(year)}/{symbol}", symbol
    return f"{num}/{symbol}", symbol


def _key_type(dt: DocType, symbol: str, c: CompiledRules) -> str:
    """Type used in doc_key: generic letters take the type their symbol carries (else Công văn)."""
    if not dt.generic:
        return dt.type
    for tok in _symbol_tokens(symbol):
        if tok in c.codes:
            return c.codes[tok].type
    return "Công văn"


def _lookup_issuer(token: str, c: CompiledRules) -> str | None:
    for cand in (token, _RE_TRAILING_DIGITS.sub("", token)):
        if cand in c.issuers:
            return c.issuers[cand]
        if cand.casefold() in c.issuers_folded:
            return c.issuers_folded[cand.casefold()]
    return None


def symbol_issuer(symbol: str, dt: DocType, c: CompiledRules) -> str | None:
    """Issuer implied by a symbol: the first code after the type code (all codes for joint types)."""
    tokens = [t for t in _symbol_tokens(symbol) if t not in c.codes]
    if not tokens:
        return None
    if dt.joint:
        names = [n for n in (_lookup_issuer(t, c) for t in tokens) if n]
        return " - ".join(names) if names else None
    return _lookup_issuer(tokens[0], c)


# --------------------------------------------------------------------------------------------
# Finding mentions in one text


@dataclass(slots=True)
class _Mention:
    start: int
    num_end: int
    dt: DocType
    number: str | None
    symbol: str
    law_name: str | None = None
    end: int = 0
    date: str | None = None
    tail: int = 0
    issuer: str | None = None
    issuer_span: tuple[int, int] | None = None
    subject_span: tuple[int, int] | None = None


def _collapse(s: str) -> str:
    return " ".join(s.split())


def _block_end(text: str, pos: int) -> int:
    nl = text.find("\n", pos)
    return len(text) if nl < 0 else nl


def _abbreviation_type(written: str, c: CompiledRules) -> DocType | None:
    """Type of an abbreviation as written, allowing OCR's Ð or D for Đ ("QD" → QĐ)."""
    written = written.replace("Ð", "Đ")
    if written in c.abbreviations:
        return c.abbreviations[written]
    for abbr, dt in c.abbreviations.items():
        if abbr.replace("Đ", "D") == written.replace("Đ", "D"):
            return dt
    return None


class _Spans:
    """Disjoint `[start, end)` spans already claimed, with O(log n) overlap tests."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.starts, end) - 1
        return i >= 0 and self.ends[i] > start

    def add(self, start: int, end: int) -> None:
        i = bisect.bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


def _type_starts(text: str, c: CompiledRules) -> list[int]:
    """Every offset where a type spelling starts. The accent-tolerant type alternation costs the
    regex engine a great deal at every offset of a text; the same spellings in the folded text
    (same length, letters to their base) are plain ASCII, found ~10× faster."""
    assert c.folded_types is not None
    folded = text.translate(_fold_table())
    return [m.start() for m in c.folded_types.finditer(folded, overlapped=True)]


def _matches_from(pattern: regex.Pattern[str], text: str, starts: Sequence[int]) -> Iterator[regex.Match[str]]:
    """What `pattern.finditer(text)` finds, for a pattern whose every match starts at one of the
    sorted offsets `starts`: the leftmost match at or after the end of the previous one."""
    end = 0
    for start in starts:
        if start < end:
            continue
        m = pattern.match(text, start, timeout=_REGEX_TIMEOUT_S)
        if m is not None and m.end() > m.start():
            yield m
            end = m.end()


def _find_mentions(text: str, c: CompiledRules, own_keys: frozenset[str]) -> list[_Mention]:
    found: list[_Mention] = []
    law_type = c.spellings.get("luat", DocType("Luật"))
    taken = _Spans()
    type_starts = _type_starts(text, c)  # both patterns below start with <<types>>
    for m in _matches_from(c.by_name["mention"], text, type_starts):
        dt = c.spellings.get(fold_word(m.group("type")))
        if dt is None or (dt.requires_so and not m.group("so")):
            continue
        number, symbol = _build_number(m, c)
        found.append(_Mention(m.start(), m.end(), dt, number, symbol))
        taken.add(m.start(), m.end())
    for m in c.by_name["mention_abbr"].finditer(text, timeout=_REGEX_TIMEOUT_S):
        dt = _abbreviation_type(m.group("abbr"), c)
        if dt is None or taken.overlaps(m.start(), m.end()):
            continue
        number, symbol = _build_number(m, c)
        # "QĐ 422/QĐ-TTg" without "số" only counts when the symbol carries the same code.
        if not m.group("so") and not set(dt.codes) & set(_symbol_tokens(symbol)):
            continue
        found.append(_Mention(m.start(), m.end(), dt, number, symbol))
        taken.add(m.start(), m.end())
    for m in _matches_from(c.by_name["mention_bare"], text, type_starts):
        # "Công văn số 123 ngày 12/3/2023": no symbol, but the date makes it a document number.
        dt = c.spellings.get(fold_word(m.group("type")))
        if dt is None or taken.overlaps(m.start(), m.end()):
            continue
        found.append(_Mention(m.start(), m.end(), dt, m.group("num"), ""))
        taken.add(m.start(), m.end())
    for m in c.by_name["mention_symbol"].finditer(text, timeout=_REGEX_TIMEOUT_S):
        # No type word at all ("(số 180/QĐ-UBND)"): the type comes from the symbol's type code,
        # which must lead a symbol that also names an issuer ("Đề án 06/CP" has no type code).
        if taken.overlaps(m.start(), m.end()):
            continue
        if m.group("so") and ":" in m.group("so"):
            continue  # "Số: 123/BC-UBND" is a document header (an own number), not a citation
        number, symbol = _build_number(m, c)
        tokens = _symbol_tokens(symbol)
        if len(tokens) < 2 or tokens[0] not in c.codes:
            continue
        found.append(_Mention(m.start(), m.end(), c.codes[tokens[0]], number, symbol))
        taken.add(m.start(), m.end())
    for m in c.by_name["law"].finditer(text, timeout=_REGEX_TIMEOUT_S):
        if taken.overlaps(m.start(), m.start() + 1):
            continue
        after = _LAW_NUMBER.match(text, m.end())
        numbered = c.by_name["number"].match(text, after.end(), timeout=_REGEX_TIMEOUT_S) if after else None
        if numbered is not None:  # "Luật Căn cước số 26/2023/QH15": the law's number follows its name
            number, symbol = _build_number(numbered, c)
            found.append(_Mention(m.start(), numbered.end(), law_type, number, symbol))
            continue
        name = _collapse(m.group("name"))
        if m.group("amend"):
            name = f"{name} ({_collapse(m.group('amend'))})"
        found.append(_Mention(m.start(), m.end(), law_type, None, "", law_name=name, end=m.end(), tail=m.end()))
    found.sort(key=lambda x: x.start)
    kept: list[_Mention] = []
    for x in found:
        if kept and x.start < kept[-1].num_end:
            continue
        if x.number is not None and number_key(x.number) in own_keys:
            continue  # the report's own number ("Kèm theo Báo cáo số 287/BC-…")
        kept.append(x)
    return kept


def _attach_date(text: str, x: _Mention, c: CompiledRules) -> None:
    x.end = x.tail = x.num_end
    m = c.by_name["date_link"].match(text, x.num_end, timeout=_REGEX_TIMEOUT_S)
    if m:
        dm = match_date(text, m.start("date"))
        x.end = x.tail = m.end()
        x.date = dm.iso if dm else None


def _continuations(text: str, x: _Mention, c: CompiledRules, own_keys: frozenset[str]) -> list[_Mention]:
    """Further numbers sharing x's type word: "Công văn số 142/… ngày …, số 413/… ngày …"."""
    out: list[_Mention] = []
    cur = x
    for _ in range(20):
        m = c.by_name["continuation"].match(text, cur.end, timeout=_REGEX_TIMEOUT_S)
        if not m:
            break
        number, symbol = _build_number(m, c)
        nxt = _Mention(m.start("so"), m.end(), x.dt, number, symbol)
        _attach_date(text, nxt, c)
        if number_key(number) not in own_keys:
            out.append(nxt)
        cur = nxt
    return out


def _cut_issuer(text: str, start: int, limit: int, c: CompiledRules) -> int:
    """End of the issuer phrase that starts at `start` (stops at a clause word or punctuation)."""
    stop = c.by_name["issuer_stop"].search(text, start, limit, timeout=_REGEX_TIMEOUT_S)
    end = stop.start() if stop else limit
    # A coordinator left dangling before the next reference ("của Chính phủ và | Quyết định số …").
    trail = _RE_DANGLING.search(text[start:end])
    return start + trail.start() if trail else end


def _attach_issuer(text: str, x: _Mention, next_start: int, c: CompiledRules) -> None:
    limit = min(next_start, _block_end(text, x.end), x.end + _MAX_ISSUER_CHARS)
    m = c.by_name["issuer_link"].match(text, x.end, limit, timeout=_REGEX_TIMEOUT_S)
    if m:
        end = _cut_issuer(text, m.end(), limit, c)
        if end > m.end():
            x.issuer_span = (m.end(), end)
            x.tail = end
        return
    # No "của": accept an issuer written straight after a dated reference ("… ngày 31/01/2020 Bộ
    # Thông tin và Truyền thông về việc …") only when its head is a known issuer word and the
    # phrase is followed by the subject or by the end of the clause.
    if x.date is None or not text.startswith(" ", x.end):
        return
    head = c.by_name["issuer_head"].match(text, x.end + 1, limit, timeout=_REGEX_TIMEOUT_S)
    if not head:
        return
    end = _cut_issuer(text, x.end + 1, limit, c)
    after = text[end:limit]
    if end > head.end() - 1 and (
        c.by_name["subject_start"].match(after) or after[:1] in ("", ";", ".", ")") or after.startswith(" (")
    ):
        x.issuer_span = (x.end + 1, end)
        x.tail = end


def _is_sentence_end(text: str, dot: int, c: CompiledRules) -> bool:
    word = _RE_LAST_WORD.search(text[max(0, dot - 12) : dot])
    return not (word and word.group(0) in c.sentence_abbreviations)


def _coordinated_before(text: str, pos: int) -> int | None:
    """If the text right before `pos` is a coordinator (", ", "; ", " và ", ", và "), where it starts."""
    m = _RE_COORDINATOR.search(text[max(0, pos - 8) : pos])
    return pos - len(m.group(0)) if m else None


_SUBJECT_PUNCT = regex.compile(r"[();.:]")


def _upto(mentions: Sequence[_Mention], limit: int) -> int:
    """Index of the first mention starting at or after `limit` (mentions are sorted by start)."""
    lo, hi = 0, len(mentions)
    while lo < hi:
        mid = (lo + hi) // 2
        if mentions[mid].start < limit:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _subject_end(text: str, x: _Mention, s0: int, mentions: Sequence[_Mention], idx: int, c: CompiledRules) -> int:
    """Where the subject starting at `s0` (at "về") ends; see the gold README for the conventions."""
    limit = min(_block_end(text, s0), s0 + _MAX_SUBJECT_CHARS)
    ends: list[int] = [limit]
    # 1. Punctuation: ";" (not inside an enumeration after ":"), a sentence-final ".", or a ")"
    #    closing a parenthesis opened before the subject.
    depth = 0
    enumeration = False  # after ":", ";" separates the items of an enumeration inside the subject
    for pm in _SUBJECT_PUNCT.finditer(text, s0, limit):
        i = pm.start()
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                ends.append(i)
                break
            depth -= 1
        elif ch == ";" and depth == 0 and not enumeration:
            ends.append(_semicolon_list_end(text, x, i, limit, mentions, idx))
            break
        elif ch == "." and depth == 0 and (i + 1 >= limit or text[i + 1] == " " and _is_sentence_end(text, i, c)):
            ends.append(i)
            break
        elif ch == ":" and depth == 0:
            enumeration = True
    # 2. A new clause or a trailing aside.
    for name in ("subject_clause_end", "subject_aside"):
        m = c.by_name[name].search(text, s0, limit, timeout=_REGEX_TIMEOUT_S)
        if m:
            ends.append(m.start())
    # 3. The next listed reference, unless it is coordinated with a reference nested in the subject.
    following = mentions[idx + 1 : _upto(mentions, limit)]
    nested_tails = [y.tail for y in following if s0 <= y.start]
    for y in following:
        if y.start <= s0:
            continue
        coord = _coordinated_before(text, y.start)
        if coord is None:
            continue
        if any(t <= coord and not text[t:coord].strip() for t in nested_tails if t <= y.start):
            continue  # "… của Nghị định số 63/… và Thông tư số 04/…": both inside the subject
        ends.append(coord)
        break
    end = min(ends)
    # 4. An approval's subject is the approved title: it ends at the title's closing quote.
    m = c.by_name["subject_approval"].match(text, s0, end, timeout=_REGEX_TIMEOUT_S)
    if m:
        close = _RE_CLOSE_QUOTE.search(text[m.end() : end])
        if close:
            end = m.end() + close.end()
    while end > s0 and text[end - 1] in " ,;-–\t":
        end -= 1
    return end


def _semicolon_list_end(
    text: str, x: _Mention, semi: int, limit: int, mentions: Sequence[_Mention], idx: int
) -> int:
    """In a ";"-separated list of references, a subject may itself hold ";" (a list of topics).

    It runs on to the "; " right before the next listed reference when x itself follows "; " in
    that list, the next reference follows within a few short segments, and no sentence ends between.
    """
    before = text[max(0, x.start - 3) : x.start]
    if ";" not in before:
        return semi
    nxt = next((y for y in mentions[idx + 1 : _upto(mentions, limit)] if y.start > semi), None)
    if nxt is None or nxt.start > limit:
        return semi
    coord = _coordinated_before(text, nxt.start)
    if coord is None or ";" not in text[coord : nxt.start]:
        return semi
    middle = text[semi:coord]
    segments = [s for s in middle.split(";") if s.strip()]
    if not segments or len(segments) > 4 or any(len(s) > 200 for s in segments):
        return semi
    if _RE_SENTENCE_BREAK.search(middle):
        return semi
    return coord


# A block break the segmenter left inside a sentence: the next block goes on in lower case, or the
# previous one ends on a word that cannot end a sentence ("của", "ngày", "số", …).
_SOFT_BREAK = regex.compile(
    r"(?:(?<=[^.;:!?…\n\t])\n(?=\p{Ll})"
    r"|(?<=(?<![\p{L}])(?:của|và|ngày|số|về|việc|tại|theo|các|với|cho|tháng|năm|Thủ|tướng|Chính|Bộ|UBND))"
    r"\n(?=[\p{L}\d]))"
    r"(?![\p{L}\d]{1,4}[.)][ ])"  # but never into a list item or heading ("a) Kết quả", "2. Về …")
)


def _soften_breaks(text: str) -> str:
    """`text` with in-sentence block breaks turned into spaces (same length, so offsets hold)."""
    return _SOFT_BREAK.sub(" ", text) if "\n" in text else text


def find_references(
    text: str, rules: RuleSet, own_numbers: Iterable[str] = (), *, with_subjects: bool = True
) -> list[RefHit]:
    """Every reference in `text` (normalized matching text, e.g. `PageView.text`), left to right.

    Pure: offsets, issuer and subject strings are taken from `text` itself. `own_numbers` are the
    report's own numbers, never returned as references.
    """
    c = compile_rules(rules)
    own_keys = frozenset(number_key(n) for n in own_numbers)
    text = _soften_breaks(text)
    try:
        base = _find_mentions(text, c, own_keys)
        mentions: list[_Mention] = []
        for x in base:
            if x.law_name is None:
                _attach_date(text, x, c)
                mentions.append(x)
                mentions.extend(_continuations(text, x, c, own_keys))
            else:
                mentions.append(x)
        mentions.sort(key=lambda y: y.start)
        for i, x in enumerate(mentions):
            if x.law_name is not None:
                continue
            nxt = mentions[i + 1].start if i + 1 < len(mentions) else len(text)
            _attach_issuer(text, x, nxt, c)
        if with_subjects:
            for i, x in enumerate(mentions):
                if x.law_name is not None:
                    continue
                nxt = mentions[i + 1].start if i + 1 < len(mentions) else len(text)
                m = c.by_name["subject_start"].match(text, x.tail, min(nxt, _block_end(text, x.tail)))
                if m:
                    s0 = m.start("subject")
                    e0 = _subject_end(text, x, s0, mentions, i, c)
                    if e0 > m.end():
                        x.subject_span = (s0, e0)
    except TimeoutError:
        return []  # pathological input: better no references than a hung worker
    return [_to_hit(text, x, c) for x in mentions]


def _to_hit(text: str, x: _Mention, c: CompiledRules) -> RefHit:
    if x.law_name is not None:
        return RefHit(x.start, x.end, x.dt.type, None, f"{x.dt.type} {x.law_name}", tail=x.tail)
    assert x.number is not None
    # Ð (U+00D0, an OCR look-alike) never occurs in Vietnamese: report Đ.
    issuer = _collapse(text[slice(*x.issuer_span)]).replace("Ð", "Đ") if x.issuer_span else None
    source = "explicit" if issuer else None
    if issuer is None:
        issuer = symbol_issuer(x.symbol, x.dt, c)
        source = "symbol" if issuer else None
    subject = _collapse(text[slice(*x.subject_span)]).replace("Ð", "Đ") if x.subject_span else None
    return RefHit(
        start=x.start,
        end=x.end,
        type=x.dt.type,
        number=x.number,
        doc_key=f"{_key_type(x.dt, x.symbol, c)} {x.number}",
        date=x.date,
        issuer=issuer,
        issuer_source=source,
        subject=subject,
        issuer_span=x.issuer_span,
        subject_span=x.subject_span,
        tail=x.tail,
    )


# --------------------------------------------------------------------------------------------
# Pipeline stage


def own_numbers(views: Sequence[PageView], rules: RuleSet) -> list[str]:
    """The report's own number(s) from the header of its first page ("Số: 287 /BC-TCTĐA06")."""
    if not views:
        return []
    c = compile_rules(rules)
    head = views[0].text[:3000]
    out: list[str] = []
    for m in c.by_name["own_number"].finditer(head, timeout=_REGEX_TIMEOUT_S):
        out.append(_build_number(m, c)[0])
    return out


_SUP = regex.compile(r"<sup>[^<]{0,8}</sup>")


def _original_phrase(view: PageView, span: tuple[int, int]) -> str:
    # Issuer and subject are reported as written (gold keeps "(*sửa đổi*)"), whitespace-normalized,
    # without footnote markers.
    s, e = view.to_original(*span)
    return _collapse(_SUP.sub(" ", view.page.text[s:e])).replace("Ð", "Đ")


def extract_references(views: Sequence[PageView], rules: RuleSet) -> list[ReferenceRecord]:
    """One `ReferenceRecord` per mention of a numbered document (and per law cited by name)."""
    own = own_numbers(views, rules)
    records: list[ReferenceRecord] = []
    for view in views:
        token = OCR_TEXT.set(view.page.method.startswith("ocr:"))
        try:
            hits = find_references(view.text, rules, own)
        finally:
            OCR_TEXT.reset(token)
        for hit in hits:
            prov = view.provenance_norm(hit.start, hit.end)
            issuer = hit.issuer
            if hit.issuer_source == "explicit" and hit.issuer_span:
                issuer = _original_phrase(view, hit.issuer_span)
            subject = _original_phrase(view, hit.subject_span) if hit.subject_span else None
            records.append(
                ReferenceRecord(
                    prov=prov,
                    type=hit.type,
                    number=hit.number,
                    doc_key=hit.doc_key,
                    date=hit.date,
                    issuer=issuer,
                    issuer_source=hit.issuer_source,
                    subject=subject,
                )
            )
    return records


_NUMBER_YEAR = regex.compile(r"^[^/]+/((?:19|20)\d\d)/")


def date_year_findings(records: Iterable[ReferenceRecord]) -> list[tuple[ReferenceRecord, str]]:
    """References whose date year contradicts the year inside their number, with a message.

    "Nghị định số 45/2020/NĐ-CP ngày 08/4/2022": a document numbered in 2020 is dated 2020. The
    `Finding.kind` to use is `DATE_YEAR_FINDING_KIND`.
    """
    out: list[tuple[ReferenceRecord, str]] = []
    for r in records:
        if not r.number or not r.date:
            continue
        m = _NUMBER_YEAR.match(r.number)
        if m and m.group(1) != r.date[:4]:
            out.append(
                (
                    r,
                    f"{r.doc_key}: date {r.date} contradicts the year {m.group(1)} in its number "
                    f"(line {r.prov.line}: {r.prov.text!r})",
                )
            )
    return out
