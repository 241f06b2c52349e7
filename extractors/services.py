"""Rows of per-service figures (the 25 essential services, QĐ 422) from tables and prose, every
table row as a generic `tables` record, and the cross-checks an auditor needs.

Tables are read from lines whose cells are tab-separated (text exports, DOCX/PDF readers that mark
`PageText.table_rows`). A multi-row header ("Nộp trực tuyến / Công dân / Doanh nghiệp") gives every
column a path of header cells; `rules/service_headers.jsonl` maps paths to fields. A table that goes
on after a page break (same column count, at the bottom of one page and the top of the next) is one
table: a repeated header is dropped, and a first row without an index there is the wrapped rest of
the previous row (one row, both locations). Prose rows come from the cue patterns of
`rules/service_cues.jsonl`; names are matched to the catalogues of `extractors/service_catalog.py`.
An unmatched row found in a service table or a service section is kept with `service_id` null and
the flag `unmatched`; a figure whose preceding words match no service is not a service row.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import regex

from extractors.service_catalog import Catalog, Match, agency_unexpected, load_catalog
from extractors.vn_dates import find_dates
from extractors.vn_numbers import parse_number
from pipeline.normalize import PageView, fold, strip_diacritics
from pipeline.types import Finding, Provenance, ServiceRecord, TableRowRecord
from rules import RuleSet, get_rules

NUM = r"\d{1,3}(?:[.,]\d{3})+(?:,\d+)?|\d+(?:[.,]\d+)?"
TABLE_MATCH_MIN = 80.0  # a table's name cell is a service name by position, so a lower bar than prose
PROSE_MATCH_MIN = 85.0
PROSE_PREFER_LONGEST = 90.0
RATE_TOLERANCE = 0.05
COUNT_FIELDS = ("total", "online", "online_citizen", "online_business", "on_time", "overdue", "rejected")
_MARKUP = regex.compile(r"</?\w+\s*/?>|\*\*|__")
_INDEX = regex.compile(r"^\s*\d{1,3}\s*[.)]?\s*$")
_NUMERIC_CELL = regex.compile(rf"^\s*(?:{NUM})\s*%?\s*$|#DIV/0!?")
_SECTION = regex.compile(
    r"^\s*(?:(?P<roman>[IVXL]{1,5})[.)]|(?P<num>\d{1,2}(?:\.\d{1,2}){0,4})\.?|(?P<letter>[a-zđ])\))\s+\S"
)
_APPENDIX = regex.compile(r"^\s*phụ lục\b", regex.IGNORECASE)
_FROM = regex.compile(r"\b(?:từ|tu)\b", regex.IGNORECASE)
_PERIOD_JOIN = regex.compile(r"^\s*(?:đến|tới|den|-|–)\s*(?:ngày\s*)?$", regex.IGNORECASE)
_BULLET = regex.compile(r"^[\s\-+•●▪–*]+|^\s*(?:\d{1,2}(?:\.\d{1,2})*[.)]|[a-zđ]\))\s+")


# ----------------------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class HeaderRule:
    id: str
    field: str
    target: str
    pattern: regex.Pattern[str]


@dataclass(frozen=True, slots=True)
class NarrativeRule:
    id: str
    pattern: regex.Pattern[str]
    list_only: bool


@dataclass(frozen=True, slots=True)
class ServiceRules:
    catalog: Catalog
    headers: tuple[HeaderRule, ...]
    narrative: tuple[NarrativeRule, ...]
    totals_row: regex.Pattern[str]
    group_row: regex.Pattern[str]
    service_context: regex.Pattern[str]
    catalog_hints: tuple[tuple[str, regex.Pattern[str]], ...]
    skip_words: tuple[str, ...]


@lru_cache(maxsize=4)
def compile_service_rules(rules: RuleSet) -> ServiceRules:
    """Header, cue and catalogue rules, compiled once per rule set."""
    headers = tuple(
        HeaderRule(r["id"], r["field"], r["target"], regex.compile(r["pattern"]))
        for r in rules.jsonl("service_headers.jsonl")
    )
    cues = rules.jsonl("service_cues.jsonl")

    def one(kind: str) -> regex.Pattern[str]:
        pats = [c["pattern"] for c in cues if c["kind"] == kind]
        return regex.compile("|".join(f"(?:{p})" for p in pats), regex.IGNORECASE)

    narrative = tuple(
        NarrativeRule(c["id"], regex.compile(c["pattern"].replace("{NUM}", f"(?:{NUM})"), regex.IGNORECASE),
                      bool(c.get("list_only")))
        for c in cues
        if c["kind"] == "narrative"
    )
    hints = tuple((c["catalog"], regex.compile(c["pattern"], regex.IGNORECASE)) for c in cues if c["kind"] == "catalog_hint")
    skip = tuple(w for c in cues if c["kind"] == "skip_name_word" for w in c["words"])
    return ServiceRules(
        catalog=load_catalog(rules),
        headers=headers,
        narrative=narrative,
        totals_row=one("totals_row"),
        group_row=one("group_row"),
        service_context=one("service_context"),
        catalog_hints=hints,
        skip_words=skip,
    )


def header_key(path: str) -> str:
    """Folded, diacritic-free header text ("Nộp trực tuyến / Công dân" → "nop truc tuyen / cong dan")."""
    return " ".join(strip_diacritics(fold(_MARKUP.sub(" ", path))).replace("\n", " ").split())


def map_header(path: Sequence[str], compiled: ServiceRules) -> tuple[str | None, str | None]:
    """(field, rule id) for a column whose header cells, top to bottom, are `path`."""
    parts = [header_key(p) for p in path if p.strip()]
    if not parts:
        return None, None
    full, leaf = " / ".join(parts), parts[-1]
    for rule in compiled.headers:
        if rule.pattern.search(leaf if rule.target == "leaf" else full):
            return rule.field, rule.id
    return None, None


# ---------------------------------------------------------------------------------- context


@dataclass(frozen=True, slots=True)
class _Section:
    level: int
    period: tuple[str, str] | None
    hint: str | None
    service: bool


def find_period(text: str) -> tuple[str, str] | None:
    """The "(từ 16/01/2024 đến 15/02/2024)" range of a caption or heading, as ISO dates."""
    dates = find_dates(text)
    for m in _FROM.finditer(text):
        after = [d for d in dates if d.start >= m.end() and regex.fullmatch(r"[\s:]*(?:ngày\s*)?", text[m.end() : d.start], regex.IGNORECASE)]
        if not after:
            continue
        first = after[0]
        for second in dates:
            if second.start > first.end and _PERIOD_JOIN.match(text[first.end : second.start]):
                if first.iso and second.iso:
                    return first.iso, second.iso
                break
    return None


def _hint(text: str, compiled: ServiceRules) -> str | None:
    for catalog, pattern in compiled.catalog_hints:
        if pattern.search(text):
            return catalog
    return None


def _section_level(text: str) -> int | None:
    m = _SECTION.match(text)
    if not m:
        return None
    if m.group("roman"):
        return 1
    if m.group("num"):
        return 1 + m.group("num").count(".") + 1
    return 9


class _Context:
    """The enclosing sections of the current block: their period, catalogue and subject."""

    def __init__(self) -> None:
        self.stack: list[_Section] = []

    def see(self, text: str, kind: str, compiled: ServiceRules) -> None:
        if _APPENDIX.match(text):
            self.stack = []
            return
        level = _section_level(text) if kind in ("heading", "list_item", "paragraph") and len(text) < 400 else None
        if level is None:
            return
        self.stack = [s for s in self.stack if s.level < level]
        head = text[:300]
        self.stack.append(_Section(level, find_period(head), _hint(head, compiled), bool(compiled.service_context.search(head))))

    @property
    def period(self) -> tuple[str, str] | None:
        return next((s.period for s in reversed(self.stack) if s.period), None)

    @property
    def hint(self) -> str | None:
        return next((s.hint for s in reversed(self.stack) if s.hint), None)

    @property
    def service(self) -> bool:
        return any(s.service for s in self.stack)


# ------------------------------------------------------------------------------------ tables


CellSpan = tuple[PageView, int, int]
"""Where a cell's text is: its page view and its offsets in that page's text."""


@dataclass
class _Row:
    view: PageView
    start: int
    end: int
    cells: list[str]
    more: list[tuple[PageView, int, int]] = field(default_factory=list)
    spans: list[CellSpan | None] = field(default_factory=list)
    """Each cell's text in the page (None for an empty cell); a row continued on the next page
    keeps, per cell, the first part that holds text."""

    def prov(self) -> Provenance:
        return self.view.provenance(self.start, self.end)


def _cell_spans(view: PageView, line_start: int, cells: Sequence[str]) -> list[CellSpan | None]:
    """The offsets of each "\t"-separated cell of the line at `line_start`, trimmed of spaces."""
    spans: list[CellSpan | None] = []
    pos = line_start
    for cell in cells:
        lead = len(cell) - len(cell.lstrip())
        core = cell.strip()
        spans.append((view, pos + lead, pos + lead + len(core)) if core else None)
        pos += len(cell) + 1
    return spans


@dataclass
class _Table:
    rows: list[_Row]
    title: str | None
    caption: str
    period: tuple[str, str] | None
    hint: str | None
    page_breaks: list[int] = field(default_factory=list)
    """Indexes in `rows` where a page break continued the table."""
    header: list[_Row] = field(default_factory=list)
    body: list[_Row] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    fields: list[str | None] = field(default_factory=list)


def _clean(cell: str) -> str:
    return " ".join(_MARKUP.sub(" ", cell).split())


def _is_data_row(cells: Sequence[str]) -> bool:
    filled = [c for c in cells if c.strip()]
    if not filled:
        return False
    return bool(_INDEX.match(_clean(filled[0]))) or any(_NUMERIC_CELL.search(_clean(c)) for c in filled[1:])


def _title(blocks: list[tuple[str, str]]) -> tuple[str | None, str]:
    """(title, caption text) from the short blocks just above a table (kind, normalized text): the
    block right above, then upwards through capitalised headings and "(…)" lines up to a "Phụ lục"."""
    picked: list[str] = []
    for kind, text in reversed(blocks[-6:]):  # noqa: B007 - kind kept for readers
        if len(text) > 300:
            break
        letters = [ch for ch in text if ch.isalpha()]
        capitals = sum(ch.isupper() for ch in letters) >= 0.7 * len(letters) if letters else False
        caption_like = bool(_APPENDIX.match(text)) or text.startswith("(") or capitals or kind == "heading" and capitals
        if picked and not caption_like:
            break
        picked.insert(0, text)
        if _APPENDIX.match(text):
            break
    caption = " ".join(picked)
    return (caption or None), caption


_WORDISH = regex.compile(r"\p{L}{2,}|\d")


def _ocr_noise(text: str) -> bool:
    """Whether a line is what OCR makes of rules, borders and specks: no word of two letters and
    no digit, or letters under a third of its visible characters."""
    visible = [ch for ch in text if not ch.isspace()]
    if not visible:
        return False
    letters = sum(ch.isalpha() for ch in visible)
    return not _WORDISH.search(text) or letters < len(visible) / 3


def _read_tables(views: Sequence[PageView], compiled: ServiceRules) -> list[_Table]:
    tables: list[_Table] = []
    context = _Context()
    current: _Table | None = None
    recent: list[tuple[str, str]] = []  # non-table blocks since the last table row
    for view in views:
        page_started = True
        tail_blocks = 0
        for bi, block in enumerate(view.blocks):
            if block.kind == "table_cell":
                continue  # a cell of a one-cell-a-line web table: neither a row nor prose
            if block.kind != "table_row":
                text = view.text[view.block_starts[bi] : view.block_starts[bi + 1] - 1] if bi + 1 < len(view.blocks) else view.text[view.block_starts[bi] :]
                if _ocr_noise(text):
                    continue  # rule remnants and border specks read as ".—_=g —…": no prose
                if current is not None and (len(text) > 15 or tail_blocks >= 1):
                    current = None  # prose between rows ends the table (a page number does not)
                tail_blocks += 1
                context.see(text, block.kind, compiled)
                recent.append((block.kind, text))
                continue
            s, e = block.pieces[0]
            line = view.page.line_at(s)
            raw = view.page.text[line.char_start : line.char_end].rstrip("\r")
            cells = raw.split("\t")
            row = _Row(view, s, e, cells, spans=_cell_spans(view, line.char_start, cells))
            continues = (
                current is not None
                and (not page_started or (tail_blocks <= 1 and len(row.cells) == len(current.rows[-1].cells)))
            )
            if continues and current is not None:
                if page_started:
                    current.page_breaks.append(len(current.rows))
                current.rows.append(row)
            else:
                title, caption = _title(recent)
                current = _Table([row], title, caption, find_period(caption) or context.period,
                                 _hint(caption, compiled) or context.hint)
                tables.append(current)
            recent = []
            page_started = False
            tail_blocks = 0
        # A table left open at the bottom of the page may continue on the next one.
    for table in tables:
        _shape(table, compiled)
    return tables


def _shape(table: _Table, compiled: ServiceRules) -> None:
    """Split header from body, drop repeated headers, join rows wrapped across a page break."""
    rows = table.rows
    header: list[_Row] = []
    for row in rows:
        filled = [c for c in row.cells if c.strip()]
        if _is_data_row(row.cells) or len(header) >= 4 or (header and len(filled) < 2):
            break
        if len(filled) == 1 and compiled.group_row.search(_clean(filled[0])):
            break
        header.append(row)
    table.header = header
    header_keys = [[header_key(c) for c in h.cells] for h in header]
    body: list[_Row] = []
    breaks = set(table.page_breaks)
    index_col = 0
    pending_break = False
    for i, row in enumerate(rows[len(header) :], start=len(header)):
        pending_break = pending_break or i in breaks
        keys = [header_key(c) for c in row.cells]
        if header_keys and keys in header_keys:
            continue  # a header repeated after a page break or a gap
        after_break, pending_break = pending_break, False
        first = _clean(row.cells[index_col]) if row.cells else ""
        name_like = " ".join(_clean(c) for c in row.cells[index_col + 1 : index_col + 2])
        if (
            after_break
            and body
            and not first
            and _INDEX.match(_clean(body[-1].cells[index_col]) or "x")
            and not compiled.totals_row.search(name_like)
        ):
            prev = body[-1]  # the rest of a row whose cells wrapped onto the next page
            prev.cells = [f"{a} {b}".strip() if b.strip() else a for a, b in zip(prev.cells, row.cells, strict=False)]
            prev.spans = [a or b for a, b in zip(prev.spans, row.spans, strict=False)]
            prev.more.append((row.view, row.start, row.end))
            continue
        body.append(row)
    table.body = body
    width = max((len(r.cells) for r in rows), default=0)
    table.columns, paths = _column_names([h.cells for h in header], width)
    table.fields = [map_header(p, compiled)[0] if header else None for p in paths]


def _column_names(header: list[list[str]], width: int) -> tuple[list[str], list[list[str]]]:
    """Names ("group / leaf") of every column; a blank header cell under a spanning parent takes the
    cell on its left, so "Nộp trực tuyến" covers both "Công dân" and "Doanh nghiệp"."""
    grid = [[_clean(r[j]) if j < len(r) else "" for j in range(width)] for r in header]
    filled = [row[:] for row in grid]
    for k, row in enumerate(grid):
        for j in range(1, width):
            if row[j]:
                continue
            spans_parent = k == 0 or (not grid[k - 1][j] and filled[k - 1][j] == filled[k - 1][j - 1])
            if spans_parent and filled[k][j - 1] and (k == 0 or filled[k - 1][j] == filled[k - 1][j - 1]):
                # the top row spans right only when a lower row has a cell under it
                if k == 0 and not any(grid[m][j] for m in range(1, len(grid))):
                    continue
                filled[k][j] = filled[k][j - 1]
    paths: list[list[str]] = []
    names: list[str] = []
    seen: dict[str, int] = {}
    for j in range(width):
        path: list[str] = []
        for k in range(len(filled)):
            if filled[k][j] and (not path or path[-1] != filled[k][j]):
                path.append(filled[k][j])
        paths.append(path)
        name = " / ".join(path) or f"col{j + 1}"
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names, paths


# --------------------------------------------------------------------------------- records


def _number(cell: str | None) -> float | None:
    if cell is None:
        return None
    text = _clean(cell)
    if not text or "DIV" in text.upper() or not regex.search(r"\d", text):
        return None
    return parse_number(text)


def _decimals(cell: str) -> int:
    m = regex.search(r"[.,](\d{1,2})\s*%", cell)
    return len(m.group(1)) if m else 0


def _flags(values: dict[str, Any], rate_cell: str | None, match: Match | None, agency: str | None) -> list[str]:
    flags: list[str] = []
    total, online, rate = values.get("total"), values.get("online"), values.get("rate_reported")
    blank_rate = rate_cell is not None and _clean(rate_cell) in {"-", "–", "—"}
    if rate_cell is not None and ("DIV/0" in rate_cell.upper() or (blank_rate and total == 0)):
        flags.append("div0")
    if rate is not None and total and online is not None:
        tolerance = max(RATE_TOLERANCE, 0.5 * 10 ** -_decimals(rate_cell or "")) if rate_cell else RATE_TOLERANCE
        if abs(online / total * 100 - rate) > tolerance + 1e-9:
            flags.append("rate_mismatch")
    if total is not None and (values.get("on_time") or 0) + (values.get("overdue") or 0) > total:
        flags.append("on_time_exceeds_total")
    if total == 0 and rate is not None:
        flags.append("zero_total_rate_reported")
    if match is not None and match.entry is not None and match.typo:
        flags.append("name_typo")
    if match is not None and agency_unexpected(match.entry, agency):
        flags.append("agency_unexpected")
    if match is None or match.entry is None:
        flags.append("unmatched")
    return flags


def _record(
    prov: Provenance,
    name_text: str,
    match: Match,
    source_kind: str,
    values: dict[str, Any],
    rate_cell: str | None,
    period: tuple[str, str] | None,
    hint: str | None,
) -> ServiceRecord:
    entry = match.entry
    if values.get("online") is None and (values.get("online_citizen") is not None or values.get("online_business") is not None):
        values["online"] = (values.get("online_citizen") or 0) + (values.get("online_business") or 0)
    total, online = values.get("total"), values.get("online")
    computed = round(online / total * 100, 2) if total and online is not None else None
    level = values.get("level")
    return ServiceRecord(
        prov=prov,
        service_id=entry.service_id if entry else None,
        catalog=entry.catalog if entry else (hint or "25"),
        service_name=entry.name if entry else None,
        name_text=name_text,
        source_kind=source_kind,
        total=total,
        online=online,
        online_citizen=values.get("online_citizen"),
        online_business=values.get("online_business"),
        rate_reported=values.get("rate_reported"),
        rate_computed=computed,
        on_time=values.get("on_time"),
        overdue=values.get("overdue"),
        rejected=values.get("rejected"),
        level=int(level) if isinstance(level, float) and level.is_integer() else None,
        agency=values.get("agency"),
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
        flags=tuple(_flags(values, rate_cell, match, values.get("agency"))),
        match_score=match.score,
    )


def _best_suffix(segment: str, compiled: ServiceRules, prefer: str | None) -> tuple[int, Match]:
    """(offset in `segment`, match) of the suffix that best names a service: the best score, and
    among suffixes within 1.5 points of it the longest; a suffix never starts with a joining word
    ("và", "là") nor inside a word."""
    starts = [m.start() for m in regex.finditer(r"(?<![\p{L}\p{N}])[\p{L}\p{N}“\"(]", segment)]
    scored: list[tuple[int, Match]] = []
    for pos in starts:
        cand = segment[pos:].strip()
        low = cand.casefold()
        if any(low == w or low.startswith(w + " ") for w in compiled.skip_words) or len(cand) < 6:
            continue
        scored.append((pos, compiled.catalog.match(cand, prefer)))
    if not scored:
        return 0, Match(None, 0.0, None)
    top = max(m.score for _, m in scored)
    return next((pos, m) for pos, m in scored if m.score >= top - 1.5)


def _table_services(table: _Table, compiled: ServiceRules) -> list[ServiceRecord]:
    fields = table.fields
    if "name" not in fields:
        return []
    name_col = fields.index("name")
    has_counts = any(f in fields for f in (*COUNT_FIELDS, "rate_reported"))
    kind = "table" if has_counts else "catalog"
    out: list[ServiceRecord] = []
    for row in table.body:
        cells = row.cells + [""] * (len(fields) - len(row.cells))
        name = _clean(cells[name_col])
        first = next((_clean(c) for c in cells if _clean(c)), "")
        if not name or compiled.totals_row.search(name) or compiled.totals_row.search(first):
            continue
        numeric = [c for f, c in zip(fields, cells, strict=False) if f in (*COUNT_FIELDS, "rate_reported") and _clean(c)]
        if not numeric and not any(_clean(c) for f, c in zip(fields, cells, strict=False) if f in ("level", "agency")):
            continue  # a group heading row ("I. NHÓM DỊCH VỤ CÔNG …")
        match = compiled.catalog.match(name, table.hint)
        if match.score < TABLE_MATCH_MIN:
            pos, alt = _best_suffix(name, compiled, table.hint)
            match = alt if alt.score >= TABLE_MATCH_MIN else Match(None, match.score, None)
        values: dict[str, Any] = {}
        sources: list[tuple[str, Provenance]] = []
        rate_cell: str | None = None
        for j, (f, c) in enumerate(zip(fields, cells, strict=False)):
            if f in COUNT_FIELDS or f == "rate_reported":
                values[f] = _number(c)
                if f == "rate_reported":
                    rate_cell = c
            elif f == "level":
                values[f] = _number(c)
            elif f == "agency":
                values[f] = _clean(c) or None
            span = row.spans[j] if j < len(row.spans) else None
            if f is not None and span is not None and values.get(f) is not None:
                view, start, end = span
                sources.append((f, view.provenance(start, end)))
        record = _record(row.prov(), " ".join(cells[name_col].split()), match, kind, values, rate_cell,
                         table.period, table.hint)
        out.append(replace(record, field_cells=tuple(sources)))
    return out


# ------------------------------------------------------------------------------------ prose


def _segment_start(text: str, end: int) -> int:
    """Start of the clause ending at `end`: after the last ";", ":" or ". " outside brackets/quotes."""
    depth = 0
    start = 0
    for i in range(end):
        ch = text[i]
        if ch in "(“[":
            depth += 1
        elif ch in ")”]":
            depth = max(0, depth - 1)
        elif depth == 0 and (ch in ";:" or (ch == "." and i + 1 < end and text[i + 1] == " " and not text[i - 1 : i].isdigit())):
            start = i + 1
    return start


def _prose_services(
    view: PageView,
    lo: int,
    hi: int,
    context: _Context,
    compiled: ServiceRules,
    tail: str = "",
    tail_view: PageView | None = None,
) -> list[ServiceRecord]:
    """Service rows in the normalized text `view.text[lo:hi]` (one paragraph, or paragraphs read as
    one; "\\n" is read as a space so offsets stay the view's). `tail` is the start of the next page
    (`tail_view`) when the paragraph runs on there: a row whose name is on this page may have its
    figure there."""
    text = view.text[lo:hi].replace("\n", " ") + (" " + tail if tail else "")
    hits: list[tuple[regex.Match[str], NarrativeRule]] = []
    for rule in compiled.narrative:
        for m in rule.pattern.finditer(text):
            if not any(h.start() < m.end() and m.start() < h.end() for h, _ in hits):
                hits.append((m, rule))
    hits.sort(key=lambda h: h[0].start())
    out: list[ServiceRecord] = []
    floor = 0  # a name never reaches back over the previous row's figure
    for m, rule in hits:
        seg_start = max(floor, _segment_start(text, m.start()))
        floor = m.end()
        segment = text[seg_start : m.start()]
        lead = _BULLET.match(segment)
        offset = lead.end() if lead else 0
        while offset < len(segment) and segment[offset] in " ,":
            offset += 1
        name = segment[offset:].rstrip()
        if not name:
            continue
        prefer = context.hint
        if rule.list_only:
            match = compiled.catalog.match(name, prefer)
            if match.score < PROSE_MATCH_MIN:
                _, alt = _best_suffix(name, compiled, prefer)
                match = alt if alt.score >= PROSE_MATCH_MIN else Match(None, match.score, None)
            if match.entry is None and not (context.service or prefer):
                continue
        else:
            pos, match = _best_suffix(name, compiled, prefer)
            if match.score < PROSE_MATCH_MIN:
                continue
            offset += pos
            name = segment[offset:].rstrip()
        values: dict[str, Any] = {}
        sources: list[tuple[str, Provenance]] = []
        for group in ("online", "total", "rate"):
            if m.groupdict().get(group) is not None:
                name_of = "rate_reported" if group == "rate" else group
                values[name_of] = parse_number(m.group(group))
                gs, ge = m.span(group)
                if lo + ge <= hi:
                    sources.append((name_of, view.provenance(*view.to_original(lo + gs, lo + ge))))
                elif tail_view is not None and gs > hi - lo:  # read from the next page's start: located there
                    shift = hi - lo + 1
                    sources.append((name_of, tail_view.provenance(*tail_view.to_original(gs - shift, ge - shift))))
        name_start = lo + seg_start + offset
        if name_start >= hi:
            continue  # a row wholly on the next page is read there
        # A name may run on onto the next page: the span (provenance) stays on this page, and the
        # part read from the next page is added to the name as written.
        name_end = min(name_start + len(name), hi)
        spill = text[hi - lo + 1 : seg_start + offset + len(name)] if name_start + len(name) > hi else ""
        end = min(lo + m.end(), hi)
        while end > name_end and view.text[end - 1] in " .;,\n":
            end -= 1
        s, e = view.to_original(name_start, end)
        ns, ne = view.to_original(name_start, name_end)
        name_text = " ".join((view.page.text[ns:ne] + " " + spill).split())
        record = _record(view.provenance(s, e), name_text, match, "narrative", values, None, context.period, prefer)
        out.append(replace(record, field_cells=tuple(sources)))
    return out


def _unclosed(text: str) -> bool:
    return text.count("(") > text.count(")") or text.count("“") > text.count("”")


_COUNT_ONLY = regex.compile(rf"^\s*(?:{NUM})(?:\s*/\s*(?:{NUM}))?\s*(?:hồ sơ|trường hợp|hs)?\s*[.;,]?\s*$", regex.IGNORECASE)


def _narrative(views: Sequence[PageView], compiled: ServiceRules) -> list[ServiceRecord]:
    out: list[ServiceRecord] = []
    context = _Context()
    for vi, view in enumerate(views):
        starts = [*view.block_starts, len(view.text) + 1]
        bi = 0
        while bi < len(view.blocks):
            if view.blocks[bi].kind in ("table_row", "table_cell"):
                bi += 1
                continue
            lo, hi = starts[bi], starts[bi + 1] - 1
            context.see(view.text[lo:hi], view.blocks[bi].kind, compiled)
            # Paragraphs read as one: a bracket or quote left open ("(tham gia mới;" ⏎ "chuyển …)"),
            # or "NAME:" closing one paragraph and "4/4 hồ sơ" alone on the next.
            while bi + 1 < len(view.blocks) and view.blocks[bi + 1].kind not in ("table_row", "table_cell"):
                joined = view.text[lo:hi]
                following = view.text[starts[bi + 1] : starts[bi + 2] - 1]
                if not (_unclosed(joined) and len(joined) < 600) and not (
                    joined.rstrip().endswith(":") and _COUNT_ONLY.match(following)
                ):
                    break
                bi += 1
                hi = starts[bi + 1] - 1
            tail = _next_page_start(views, vi) if bi == len(view.blocks) - 1 else ""
            out.extend(_prose_services(view, lo, hi, context, compiled, tail, views[vi + 1] if tail else None))
            bi += 1
    return out


def _next_page_start(views: Sequence[PageView], index: int) -> str:
    """The first prose block of the next page, when this page's last block runs on into it."""
    view = views[index]
    if index + 1 >= len(views) or not view.text or view.text.rstrip()[-1:] in ".;!?":
        return ""
    following = views[index + 1]
    if not following.blocks or following.blocks[0].kind in ("table_row", "heading"):
        return ""
    end = following.block_starts[1] - 1 if len(following.blocks) > 1 else len(following.text)
    return following.text[:end].replace("\n", " ")


# --------------------------------------------------------------------------------- public API


@lru_cache(maxsize=2)  # services and tables of the same document read its tables once
def _tables_cached(views: tuple[PageView, ...], rules: RuleSet) -> list[_Table]:
    return _read_tables(views, compile_service_rules(rules))


def extract_service_rows(views: Sequence[PageView], rules: RuleSet) -> list[ServiceRecord]:
    """Every service row of a document: table and catalogue rows first, then prose rows, each in
    reading order; flags hold the row-level checks (div0, rate_mismatch, on_time_exceeds_total,
    zero_total_rate_reported, name_typo, agency_unexpected, unmatched)."""
    compiled = compile_service_rules(rules)
    out: list[ServiceRecord] = []
    for table in _tables_cached(tuple(views), rules):
        out.extend(_table_services(table, compiled))
    out.extend(_narrative(views, compiled))
    return out


def extract_table_rows(views: Sequence[PageView], rules: RuleSet) -> list[TableRowRecord]:
    """Every row of every table ("t1", "t2", … in document order), header rows marked, repeated
    headers dropped; a row wrapped across a page break is one record whose `continued_from` holds
    the other locations."""
    out: list[TableRowRecord] = []
    for n, table in enumerate(_tables_cached(tuple(views), rules), start=1):
        rows = [(r, True) for r in table.header] + [(r, False) for r in table.body]
        for index, (row, is_header) in enumerate(rows):
            names = [table.columns[j] if j < len(table.columns) else f"col{j + 1}" for j in range(len(row.cells))]
            cells = tuple((name, _clean(c)) for name, c in zip(names, row.cells, strict=True))
            sources = tuple(
                (name, span[0].provenance(span[1], span[2]))
                for name, span in zip(names, row.spans, strict=False)
                if span is not None
            )
            out.append(
                TableRowRecord(
                    prov=row.prov(),
                    table_id=f"t{n}",
                    table_title=table.title,
                    row_index=index,
                    is_header=is_header,
                    cells=cells,
                    cell_sources=sources,
                    continued_from=tuple(v.provenance(s, e) for v, s, e in row.more),
                )
            )
    return out


def _rate(record: ServiceRecord) -> float | None:
    return record.rate_reported if record.rate_reported is not None else record.rate_computed


def _same_service_key(record: ServiceRecord) -> tuple[str, str, Any] | None:
    if record.service_id is not None:
        return (record.prov.doc_id, record.catalog, record.service_id)
    if record.service_name:
        return (record.prov.doc_id, record.catalog, record.service_name)
    return None


def _conflicts(services: Sequence[ServiceRecord]) -> list[tuple[int, ServiceRecord]]:
    """(index of the narrative record, the table record it contradicts)."""
    tables: dict[tuple[str, str, Any], list[ServiceRecord]] = defaultdict(list)
    for r in services:
        key = _same_service_key(r)
        if r.source_kind == "table" and key and _rate(r) is not None:
            tables[key].append(r)
    found: list[tuple[int, ServiceRecord]] = []
    for i, r in enumerate(services):
        key = _same_service_key(r)
        rate = _rate(r)
        if r.source_kind != "narrative" or key is None or rate is None:
            continue
        tolerance = 0.5 if float(rate).is_integer() else RATE_TOLERANCE
        for t in tables.get(key, []):
            other = _rate(t)
            if other is not None and abs(other - rate) > tolerance + 1e-9:
                found.append((i, t))
                break
    return found


def apply_service_crosschecks(services: Sequence[ServiceRecord]) -> tuple[list[ServiceRecord], list[Finding]]:
    """Flag `conflicts_with_table` on prose rows whose rate differs from the same document's table
    row for the same service; returns the updated records (ids kept) and one finding per conflict."""
    updated = list(services)
    findings: list[Finding] = []
    for i, table_row in _conflicts(services):
        r = updated[i]
        if "conflicts_with_table" not in r.flags:
            updated[i] = replace(r, flags=(*r.flags, "conflicts_with_table"))
        findings.append(_conflict_finding(updated[i], table_row))
    return updated, findings


def _conflict_finding(r: ServiceRecord, t: ServiceRecord) -> Finding:
    return Finding(
        prov=r.prov,
        kind="conflicts_with_table",
        message=(f"{r.service_name or r.name_text}: the text gives {_rate(r):g}% (line {r.prov.line}), "
                 f"the table {_rate(t):g}% (line {t.prov.line})"),
        record_ids=tuple(x for x in (r.id, t.id) if x),
    )


_FLAG_MESSAGES = {
    "div0": "the rate cell is '#DIV/0!' or '-' (no filings)",
    "rate_mismatch": "the reported rate does not match online/total",
    "on_time_exceeds_total": "on-time plus overdue filings exceed the total",
    "zero_total_rate_reported": "a rate is printed for a total of 0",
    "name_typo": "the service name is misspelt",
    "agency_unexpected": "the agency is not one that runs this service",
    "unmatched": "the name matches no catalogue service",
}


def service_findings(services: Sequence[ServiceRecord], tables: Sequence[TableRowRecord]) -> list[Finding]:
    """Findings for auditors: one per row-level flag, one per prose/table rate conflict (whether or
    not `apply_service_crosschecks` already set the flag), and one per table column whose totals
    row differs from the sum of its rows (service and district tables alike)."""
    findings: list[Finding] = []
    for r in services:
        for flag in r.flags:
            if flag in _FLAG_MESSAGES:
                detail = ""
                if flag == "rate_mismatch" and r.rate_computed is not None:
                    detail = f": {r.rate_reported:g}% printed, {r.online:g}/{r.total:g} = {r.rate_computed:g}%"
                elif flag == "on_time_exceeds_total":
                    detail = f": {r.on_time or 0:g} + {r.overdue or 0:g} > {r.total:g}"
                findings.append(Finding(r.prov, flag, f"{r.service_name or r.name_text}: {_FLAG_MESSAGES[flag]}{detail}",
                                        tuple(x for x in (r.id,) if x)))
    for i, t in _conflicts(services):
        findings.append(_conflict_finding(services[i], t))
    findings.extend(_sum_findings(tables))
    return findings


def _sum_findings(tables: Sequence[TableRowRecord]) -> list[Finding]:
    compiled = compile_service_rules(get_rules())
    totals_row = compiled.totals_row
    by_table: dict[tuple[str, str], list[TableRowRecord]] = defaultdict(list)
    for row in tables:
        by_table[(row.prov.doc_id, row.table_id)].append(row)
    findings: list[Finding] = []
    for rows in by_table.values():
        body = [r for r in rows if not r.is_header]
        for k, row in enumerate(body):
            texts = [c for _, c in row.cells if c]
            if not texts or not any(totals_row.search(c) for c in texts[:2]):
                continue
            parts = [r for r in body[:k] if not any(totals_row.search(c) for _, c in r.cells[:2] if c)]
            for j, (name, cell) in enumerate(row.cells):
                # Rates and percentages do not add up across rows; only counts are checked.
                if "%" in cell or "%" in name or j == 0 or map_header(name.split(" / "), compiled)[0] == "rate_reported":
                    continue
                value = _number(cell)
                if value is None:
                    continue
                numbers = [_number(p.cells[j][1]) for p in parts if j < len(p.cells)]
                numbers = [x for x in numbers if x is not None]
                if len(numbers) < 2:
                    continue
                total = sum(numbers)
                if not math.isclose(total, value, abs_tol=0.5):
                    findings.append(Finding(
                        row.prov, "sum_mismatch",
                        f"{row.table_title or row.table_id}, column '{name}': the totals row says {value:g}, "
                        f"the rows add up to {total:g}",
                        tuple(x for x in (row.id, *(p.id for p in parts)) if x),
                    ))
            break
    return findings
