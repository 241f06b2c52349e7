"""Stage "figures": every statistic in the prose (counts, percentages, ratios, money), nothing else.

How it works, per prose block of each `PageView` (table rows are skipped: the services
extractor owns them):
1. *guards* from `rules/figure_patterns.jsonl` mask numerals that are not figures: dates, years,
   document numbers, "Đề án 06", section numbering, codes, specs, levels, programme constants;
2. *figure* patterns (money, percent, ratio, count, in file order) claim the remaining numerals;
   a match touching a masked or already claimed numeral is dropped;
3. each figure gets its unit (the counted noun from `rules/figure_units.tsv` right after it),
   a short label from the sentence, `as_of` from "tính đến (hết) ngày …" and provenance.

Spans follow shared/gold/FIGURES.md: the numeral plus an attached "%"/"đ"; a ratio is one record.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import regex

from extractors.figure_roles import RoleRules, compile_roles, figure_role
from extractors.vn_dates import match_date
from extractors.vn_numbers import parse_number
from pipeline.normalize import SENTENCE_CONTEXT, PageView, bounded_ranges, fold
from pipeline.types import FigureRecord
from rules import RuleError, RuleSet

PATTERNS_FILE = "figure_patterns.jsonl"
UNITS_FILE = "figure_units.tsv"
KINDS = ("count", "percent", "ratio", "money")
_SCALES = {"nghìn tỷ": 1e12, "ngàn tỷ": 1e12, "nghìn": 1e3, "ngàn": 1e3, "triệu": 1e6, "tỷ": 1e9, "tỉ": 1e9}
_SCALE_AFTER = regex.compile(r"\s+((?:nghìn|ngàn)\s+tỷ|nghìn|ngàn|triệu|tỷ|tỉ)(?![\p{L}])", regex.IGNORECASE)
_FOREIGN = {"usd": "USD", "đô la mỹ": "USD", "đô la": "USD", "đôla": "USD"}
"""Currencies other than the đồng, as the `unit` of money figures."""
_PLACEHOLDER = re.compile(r"(?<!\\[pP])\{([A-Z]{2,})\}")  # not \p{L}


def _scale(word: str | None) -> float | None:
    return _SCALES.get(" ".join(word.lower().split())) if word else None


@dataclass(frozen=True, slots=True)
class FigureRule:
    """One compiled line of figure_patterns.jsonl."""

    id: str
    kind: str  # define | figure | guard
    pattern: regex.Pattern[str]
    subtype: str | None = None
    figure_kind: str | None = None


@dataclass(frozen=True, slots=True)
class FigureRules:
    """Everything the extractor needs, compiled once per rule-set version."""

    figures: tuple[FigureRule, ...]
    guards: tuple[FigureRule, ...]
    by_id: dict[str, FigureRule]
    unit_after: regex.Pattern[str]
    roles: RoleRules


def compile_rules(rules: RuleSet) -> FigureRules:
    """Compiled figure rules of `rules` (cached: compiled once per rule-set version)."""
    return _compile(rules)


def _unit_alternation(units: Sequence[str]) -> str:
    # Longest first so "hồ sơ điện tử" wins over "hồ sơ"; capitals (TH, DVC) must match exactly.
    parts = []
    for unit in sorted(set(units), key=len, reverse=True):
        is_abbrev = unit.upper() == unit and any(c.isalpha() for c in unit)
        text = unicodedata.normalize("NFC", unit) if is_abbrev else fold(unit)
        words = [regex.escape(w) for w in regex.split(r"\s+", text.strip()) if w]
        body = r"\s+".join(words).replace(r"\,", ",").replace(",", r"\s*,")
        parts.append(f"(?-i:{body})" if is_abbrev else body)
    return "(?:" + "|".join(parts) + ")"


@functools.lru_cache(maxsize=4)
def _compile(rules: RuleSet) -> FigureRules:
    units = [row["unit"].strip() for row in rules.table(UNITS_FILE) if (row.get("unit") or "").strip()]
    if not units:
        raise RuleError(f"rules/{UNITS_FILE}: no units; it needs a header line 'unit<TAB>group'")
    defines: dict[str, str] = {"UNIT": _unit_alternation(units)}
    rows = rules.jsonl(PATTERNS_FILE)
    for row in rows:
        if row.get("kind") == "define":
            defines[row["name"]] = _expand(row["pattern"], defines, row["id"])
    compiled: list[FigureRule] = []
    for row in rows:
        rid = row.get("id", "?")
        kind = row.get("kind")
        if kind not in {"define", "figure", "guard"} or "pattern" not in row:
            raise RuleError(f"rules/{PATTERNS_FILE}: rule {rid} needs kind define|figure|guard and a pattern")
        if kind == "figure" and row.get("figure_kind") not in KINDS:
            raise RuleError(f"rules/{PATTERNS_FILE}: figure rule {rid} needs figure_kind in {KINDS}")
        flags = regex.IGNORECASE if "i" in row.get("flags", "") else 0
        try:
            pattern = regex.compile(_expand(row["pattern"], defines, rid), flags | regex.MULTILINE)
        except regex.error as e:
            raise RuleError(f"rules/{PATTERNS_FILE}: rule {rid} does not compile ({e})") from e
        compiled.append(FigureRule(rid, kind, pattern, row.get("subtype"), row.get("figure_kind")))
    unit_after = regex.compile(
        r"[\]|]?[ \t]*(?:\([^()\n]{0,20}%\)[ \t]*)?(?P<unit>" + defines["UNIT"] + r")(?![\p{L}\d])",
        regex.IGNORECASE,
    )
    return FigureRules(
        figures=tuple(r for r in compiled if r.kind == "figure"),
        guards=tuple(r for r in compiled if r.kind == "guard"),
        by_id={r.id: r for r in compiled},
        unit_after=unit_after,
        roles=compile_roles(rules),
    )


def _expand(pattern: str, defines: dict[str, str], rid: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in defines:
            raise RuleError(f"rules/{PATTERNS_FILE}: rule {rid} uses undefined {{{name}}}")
        return "(?:" + defines[name] + ")"

    # Only ALL-CAPS names are placeholders, so regex quantifiers such as \d{1,3} are untouched.
    return _PLACEHOLDER.sub(sub, pattern)


# --------------------------------------------------------------------------------------------
# extraction


def extract_figures(views: Sequence[PageView], rules: RuleSet) -> list[FigureRecord]:
    """Every figure in the prose blocks of `views`, in reading order."""
    compiled = compile_rules(rules)
    records: list[FigureRecord] = []
    for view in views:
        windows = [w for w in _prose_windows(view) if any(c.isdigit() for c in view.text[w[0] : w[1]])]
        for (start, end), masked in zip(windows, _guard_masks(view.text, windows, compiled.guards), strict=True):
            records.extend(_extract_block(view, start, end, masked, compiled))
    return records


def _prose_windows(view: PageView) -> Iterator[tuple[int, int]]:
    for index, block in enumerate(view.blocks):
        if block.kind in ("table_row", "table_cell", "blank"):  # numbers in tables are not prose
            continue
        start = view.block_starts[index]
        end = view.block_starts[index + 1] - 1 if index + 1 < len(view.blocks) else len(view.text)
        yield from bounded_ranges(view.text, start, end)


_WINDOW_JOIN = "\n\x00\n"
"""Between windows scanned together: no guard matches a NUL (decoding drops NULs from every text),
so no match crosses it, and each side reads as the end or the start of a line, as a lone window would."""


def _guard_masks(text: str, windows: Sequence[tuple[int, int]], guards: Sequence[FigureRule]) -> list[list[bool]]:
    """The guard mask of every window, from one scan a guard over all the windows of a page: a
    `finditer` call costs ~1.5 µs before it reads a character, and a page has hundreds of windows."""
    joined = _WINDOW_JOIN.join(text[s:e] for s, e in windows)
    masked = _guard_mask(joined, guards)
    masks = []
    offset = 0
    for s, e in windows:
        masks.append(masked[offset : offset + e - s])
        offset += e - s + len(_WINDOW_JOIN)
    return masks


@dataclass(slots=True)
class _Hit:
    start: int  # span in block text
    end: int
    kind: str
    value: float
    numerator: float | None = None
    denominator: float | None = None
    unit: tuple[int, int] | None = None  # span of the unit in block text
    unit_text: str | None = None
    scale: float | None = None


def _guard_mask(text: str, guards: Sequence[FigureRule]) -> list[bool]:
    masked = [False] * len(text)
    for guard in guards:
        has_x = "x" in guard.pattern.groupindex
        for m in guard.pattern.finditer(text, overlapped=False):
            spans = [s for s in m.spans("x") if s[0] >= 0] if has_x else []
            for s, e in spans or [m.span()]:
                for i in range(s, e):
                    masked[i] = True
    return masked


def _extract_block(
    view: PageView, start: int, end: int, masked: list[bool], compiled: FigureRules
) -> list[FigureRecord]:
    text = view.text[start:end]
    claimed = [False] * len(text)
    hits: list[_Hit] = []
    for rule in compiled.figures:
        for m in rule.pattern.finditer(text):
            groups = [m.span(g) for g in ("num", "den") if g in rule.pattern.groupindex and m.span(g)[0] >= 0]
            if any(any(masked[i] or claimed[i] for i in range(s, e)) for s, e in groups):
                continue
            hit = _make_hit(m, rule.figure_kind or "count", text, compiled)
            if hit is None:
                continue
            for i in range(m.start(), m.end()):
                claimed[i] = True
            hits.append(hit)
    hits.sort(key=lambda h: h.start)
    return [_record(view, start, text, hit, compiled.roles) for hit in hits]


def _make_hit(m: regex.Match[str], kind: str, text: str, compiled: FigureRules) -> _Hit | None:
    num_s, num_e = m.span("num")
    value = parse_number(m.group("num"), percent=kind == "percent", count=kind in ("count", "ratio"))
    if value is None:
        return None
    if kind == "percent":
        return _Hit(m.start(), m.end(), kind, value)
    if kind == "money":
        attached = m.start("cur") == num_e  # "520.001.000đ": the đ belongs to the span
        currency = _FOREIGN.get(" ".join(m.group("cur").lower().split()), "đồng")
        return _Hit(num_s, m.end() if attached else num_e, kind, value, unit_text=currency, scale=_scale(m.group("scale")))
    if kind == "ratio":
        den = parse_number(m.group("den"), count=True)
        if den is None:
            return None
        hit = _Hit(num_s, m.end("den"), kind, value, numerator=value, denominator=den)
        if "unit" in m.re.groupindex and m.span("unit")[0] >= 0:
            hit.end = m.end()
            hit.unit = m.span("unit")
            return hit
        _attach_unit(hit, text, compiled)
        return hit
    hit = _Hit(num_s, num_e, "count", value)
    scale = _SCALE_AFTER.match(text, num_e)
    if scale:  # "1,2 triệu thẻ": value 1.2 as written, scale 1e6; the unit follows the scale word
        hit.scale = _scale(scale.group(1))
    _attach_unit(hit, text, compiled, scale.end() if scale else num_e)
    if hit.unit is None and value != int(value):
        return None  # "2.5" with nothing counted is a version, a spec or a stray section number
    return hit


def _attach_unit(hit: _Hit, text: str, compiled: FigureRules, pos: int | None = None) -> None:
    u = compiled.unit_after.match(text, hit.end if pos is None else pos)
    if u:
        hit.unit = u.span("unit")


def _original(view: PageView, start: int, end: int) -> str:
    """Source text of a normalized span with whitespace collapsed and markup asterisks dropped."""
    s, e = view.to_original(start, end)
    return " ".join(view.page.text[s:e].replace("*", " ").replace("_", " ").split())


def _record(view: PageView, block_start: int, text: str, hit: _Hit, roles: RoleRules) -> FigureRecord:
    prov = view.provenance_norm(block_start + hit.start, block_start + hit.end)
    if hit.kind == "percent":
        unit: str | None = "%"
    elif hit.kind == "money":
        unit = hit.unit_text
    elif hit.unit is not None:
        unit = _original(view, block_start + hit.unit[0], block_start + hit.unit[1])
    else:
        unit = None
    return FigureRecord(
        prov=prov,
        value=hit.value,
        kind=hit.kind,
        numerator=hit.numerator,
        denominator=hit.denominator,
        unit=unit,
        scale=hit.scale,
        value_abs=hit.value * (hit.scale or 1.0) if hit.kind in ("count", "money") else None,
        role=figure_role(text, hit.start, hit.end, roles),
        label=_label(text, hit),
        as_of=_as_of(view, prov.char_start, prov.char_end),
    )


# --------------------------------------------------------------------------------------------
# label and as_of

# Words that carry no meaning of their own around a number ("đã thu nhận được 5 hồ sơ").
_FUNCTION_WORDS = frozenset(
    "đã được có là với cho tổng số hơn gần khoảng trên dưới đạt và còn mới thêm nay "
    "trong đó tại của các những gồm bao chiếm tỷ lệ tỉ lệ đến từ theo thì mà này".split()
)
_STOP_AFTER = frozenset("đạt và trong tại của với so để trên cho từ đến khi nhưng được đã".split())
_GAP = regex.compile(r"[ ]+")
_PERCENT_OF = regex.compile(r"\s*(?:các|những)?\s*")
_WORD = regex.compile(r"[\p{L}][\p{L}\p{M}\-]*")
_DELIM = regex.compile(r"[;:()\[\]\n=]|,\s|\.\s|\s[-–]\s")
_LOOK_BACK = 200


def _label(text: str, hit: _Hit) -> str | None:
    """A short noun phrase saying what is counted: the unit phrase after the number plus the
    verb before it ("hồ sơ cấp CCCD thu nhận"), or for bare numbers the phrase before them."""
    if hit.kind == "percent":
        # "100% TTHC được số hóa", "96% học viên": the phrase after says what the share is of.
        m = _PERCENT_OF.match(text, hit.end)
        start = m.end() if m else hit.end
        after = _words_after(text, start) if start < len(text) and text[start : start + 1].isalpha() else []
        if after and after[0].lower() not in _STOP_AFTER | _FUNCTION_WORDS:
            return " ".join(after)
    if hit.unit is not None:
        after = _words_after(text, hit.unit[0])
        before = _verb_before(text, hit.start)
        return " ".join(after + before) or None
    return _phrase_before(text, hit.start)


def _words_after(text: str, pos: int, limit: int = 6) -> list[str]:
    words: list[str] = []
    i = pos
    while len(words) < limit:
        m = _WORD.match(text, i)
        if not m:
            break
        w = m.group(0)
        if words and w.lower() in _STOP_AFTER:
            break
        words.append(w)
        i = m.end()
        gap = _GAP.match(text, i)
        if not gap:
            break
        i = gap.end()
    return words


def _last_delimiter(text: str, pos: int) -> tuple[int, bool]:
    """End of the last delimiter before `pos` and whether there is one, looking back at most
    `_LOOK_BACK` characters (a label is a few words: scanning from the block start made long
    blocks quadratic)."""
    start = max(0, pos - _LOOK_BACK)
    cut = max((m.end() for m in _DELIM.finditer(text, start, pos)), default=-1)
    return (cut, True) if cut >= 0 else (start, False)


def _verb_before(text: str, pos: int, limit: int = 3) -> list[str]:
    cut, _ = _last_delimiter(text, pos)
    words = _WORD.findall(text[cut:pos])
    while words and words[-1].lower() in _FUNCTION_WORDS:
        words.pop()
    picked: list[str] = []
    for w in reversed(words):
        if w.lower() in _FUNCTION_WORDS or not w[0].islower() or len(picked) >= limit:
            break
        picked.insert(0, w)
    return picked


def _phrase_before(text: str, pos: int, limit: int = 6) -> str | None:
    segment_end = pos
    for _ in range(2):  # "Khởi tạo Hồ sơ sức khỏe: 160.330/170.491": look past one delimiter
        cut, delimited = _last_delimiter(text, segment_end)
        segment = text[cut:segment_end]
        segment = regex.split(r"\d[\d.,/%]*", segment)[-1]
        words = _WORD.findall(segment)
        while words and words[-1].lower() in _FUNCTION_WORDS:
            words.pop()
        while words and words[0].lower() in _FUNCTION_WORDS:
            words.pop(0)
        if words:
            return " ".join(words[-limit:])
        if not delimited or cut == 0:
            break
        segment_end = max(0, cut - 1)
        while segment_end > 0 and text[segment_end - 1] in " ;:([=":
            segment_end -= 1
        if segment_end and text[segment_end - 1] == ")":
            opening = text.rfind("(", 0, segment_end)
            segment_end = opening if opening > 0 else segment_end
    return None


_AS_OF = regex.compile(r"tính\s+đến\s+(?:hết\s+)?", regex.IGNORECASE)


def _as_of(view: PageView, start: int, end: int) -> str | None:
    """ISO date of "tính đến (hết) (ngày) …" in the sentence of `[start, end)` (read at most
    `SENTENCE_CONTEXT` characters each side; normalized only when the words are there)."""
    s0, e0 = view.sentence_range(start)
    if not _AS_OF.search(view.page.text, max(s0, start - SENTENCE_CONTEXT), min(max(e0, end), end + SENTENCE_CONTEXT)):
        return None
    sentence = view.sentence_text(start, end, SENTENCE_CONTEXT)
    m = _AS_OF.search(sentence)
    if not m:
        return None
    found = match_date(sentence, m.end())
    return found.iso if found else None


# --------------------------------------------------------------------------------------------
# ratio ↔ percent consistency

_CHANGE_WORDS = regex.compile(r"(?:tăng|giảm)\s*(?:\p{L}+\s*){0,4}$", regex.IGNORECASE)


def ratio_percent_findings(records: Sequence[FigureRecord]) -> list[tuple[FigureRecord, FigureRecord, str]]:
    """(ratio, percent, message) for each sentence stating a ratio and a percentage that does not
    match it within the rounding of the written percentage ("27.634/44.101 lượt, đạt 62%").

    The percent paired with a ratio is the first one after it in the sentence (before the next
    ratio), else the nearest one before it; month-on-month changes ("tăng 11%") are skipped.
    """
    by_sentence: dict[tuple[str, str, int, int, int], list[FigureRecord]] = {}
    for r in records:
        key = (r.prov.doc_id, r.prov.source, r.prov.page, r.prov.sentence_start, r.prov.sentence_end)
        by_sentence.setdefault(key, []).append(r)
    findings: list[tuple[FigureRecord, FigureRecord, str]] = []
    for group in by_sentence.values():
        group = sorted(group, key=lambda r: r.prov.char_start)
        used: set[int] = set()
        for i, ratio in enumerate(group):
            if ratio.kind != "ratio" or not ratio.denominator:
                continue
            percent = _paired_percent(group, i, used)
            if percent is None:
                continue
            used.add(id(percent))
            computed = 100.0 * (ratio.numerator or 0.0) / ratio.denominator
            decimals = _decimals(percent.prov.text)
            if abs(computed - percent.value) <= 0.5 * 10**-decimals + 1e-9:
                continue
            findings.append(
                (
                    ratio,
                    percent,
                    f"{ratio.prov.text} is {computed:.{max(decimals, 2)}f}%, but the text says {percent.prov.text}",
                )
            )
    return findings


def _paired_percent(group: list[FigureRecord], i: int, used: set[int]) -> FigureRecord | None:
    def eligible(r: FigureRecord) -> bool:
        if r.kind != "percent" or id(r) in used:
            return False
        # A rate change ("tỷ lệ tăng 11%") is not the ratio's percentage.
        at = r.prov.char_start - r.prov.sentence_start
        return not _CHANGE_WORDS.search(r.prov.sentence[max(0, at - 40) : at])

    for r in group[i + 1 :]:
        if r.kind == "ratio":
            break
        if eligible(r):
            return r
    for r in reversed(group[:i]):
        if r.kind == "ratio":
            break
        if eligible(r):
            return r
    return None


def _decimals(percent_text: str) -> int:
    m = regex.search(r"[.,](\d{1,2})\s*%", percent_text)
    return len(m.group(1)) if m else 0
