"""Stage "normalize": a matching view of each page that maps back to the original offsets.

The original page text is never changed. `PageView` holds:
- `blocks`: paragraphs (hard-wrapped lines joined), headings, list items, footnotes and table rows,
  each as the original line ranges it is made of;
- `text`: the normalized text used for matching: NFC, one tone-mark convention, markup
  (`**`, `<b>`, `#` headings) removed, a block's wrapped lines joined by one space, blocks
  separated by "\\n", runs of spaces collapsed (tabs kept: they separate table cells);
- `origin`: for every normalized character, the original offset it came from, so a match
  `[s, e)` in `text` maps back with `to_original(s, e)`;
- sentences, so every span can name the sentence (or table row) that holds it.
"""

from __future__ import annotations

import bisect
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import regex

from pipeline.types import DocText, PageText, Provenance
from rules import get_rules

# Tone marks written on the second vowel of oa/oe/uy ("hoà", "thuý") move to the first ("hòa",
# "thúy") so both conventions compare equal; the swap keeps lengths, so offsets are untouched.
SENTENCE_WINDOW = 400
"""Characters of a record's sentence kept on each side of its span (longer sentences are cut)."""
SENTENCE_CONTEXT = 3000
"""Characters on each side of a span that an extractor may read of its sentence."""
BLOCK_WINDOW = 6000
"""Extractors read a block longer than this in windows of about this size (see `bounded_ranges`)."""
_WINDOW_CUT = regex.compile(r"[.;!?]\s|\n|,\s")
_WHITESPACE = regex.compile(r"\s")
"""One space for each whitespace character: a record's sentence keeps the length of the text it
was read from, so `sentence[char_start - sentence_start:…]` is its span."""

_TONES = {"\u0300": "grave", "\u0301": "acute", "\u0303": "tilde", "\u0309": "hook", "\u0323": "dot"}


def _tone_swap_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for first, second in (("o", "a"), ("o", "e"), ("u", "y")):
        for mark in _TONES:
            for upper in (False, True):
                f = first.upper() if upper else first
                s_ = second.upper() if upper else second
                old = f + unicodedata.normalize("NFC", s_ + mark)
                new = unicodedata.normalize("NFC", f + mark) + s_
                table[old] = new
    return table


_TONE_SWAP = _tone_swap_table()
# Only a syllable-final oa/oe/uy after a consonant (or alone): "quý" keeps its mark on y because
# "qu" is the onset, and "thuở"-like vowel runs are left alone.
_TONE_RE = regex.compile(
    "(?<![aăâeêioôơuưyqAĂÂEÊIOÔƠUƯYQ\\p{M}])("
    + "|".join(regex.escape(k) for k in _TONE_SWAP)
    + ")(?![\\p{L}])"
)
# Markup that is not text: markdown emphasis and headings, HTML-ish tags.
_MARKUP_RE = regex.compile(r"\*\*|__|(?<!\w)\*(?=\S)|(?<=\S)\*(?!\w)|</?(?:b|i|u|em|strong|span|p|br|sub)\s*/?>")
_SPACES = " \u00a0\u2009\u202f\r\f\v"
_SPACE_OR_TEXT = regex.compile(f"([{_SPACES}]+)|([^{_SPACES}]+)")
_SPACE_TO_COLLAPSE = regex.compile(f"[{_SPACES}]{{2,}}|[{_SPACES[1:]}]|\t ")
"""What `_SPACE_OR_TEXT` would change: space runs, other spaces, a space after a tab."""
_SUP_RE = regex.compile(r"<sup>\s*[^<]{0,6}\s*</sup>")
_HEADING_RE = regex.compile(r"^\s*#{1,6}\s+")
_FOOTNOTE_RE = regex.compile(r"^\s*(?:<sup>\s*\d{1,3}\s*</sup>|\[\d{1,3}\]|\d{1,3}\s*\))?")
_FOOTNOTE_START = regex.compile(r"^\s*(?:<sup>\s*\d{1,3}\s*</sup>|\[\^?\d{1,3}\]:?)\s*\S")
_LIST_START = regex.compile(
    r"^\s*(?:[-+•●▪–*]\s|\(?\d{1,2}[.)]\s|\d{1,2}(?:\.\d{1,2}){1,3}\.?\s|[a-zđ]\)\s|"
    r"[IVXL]{1,5}[.)]\s|#{1,6}\s|\*{1,2}[IVXLa-zđ\d])"
)
_TERMINAL = regex.compile(r"[.;:!?…]\s*(?:\*{1,2}|</\w+>)?\s*$")
_HEADING_CAPS = regex.compile(r"^[\p{Lu}\d\s,.;:()\-–“”\"/&]+$")


@dataclass(frozen=True, slots=True)
class Block:
    """A run of original text that reads as one unit; `pieces` are original line ranges."""

    kind: str  # paragraph | heading | list_item | footnote | table_row | table_cell | blank
    pieces: tuple[tuple[int, int], ...]

    @property
    def start(self) -> int:
        return self.pieces[0][0]

    @property
    def end(self) -> int:
        return self.pieces[-1][1]


def fold(text: str) -> str:
    """Comparison key: NFC, one tone convention, case-folded, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = _TONE_RE.sub(lambda m: _TONE_SWAP[m.group(1)], text)
    return " ".join(text.casefold().split())


def strip_diacritics(text: str) -> str:
    """ASCII-ish skeleton of Vietnamese text ("Đề án" → "De an") for tolerant matching."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if not unicodedata.combining(c))


def _is_table_line(page: PageText, start: int, end: int, line: str) -> bool:
    if "\t" in line:
        return True
    return any(s <= start and end <= e for s, e in page.table_rows)


def segment_blocks(page: PageText) -> tuple[Block, ...]:
    """Group the page's lines into blocks, joining hard-wrapped prose.

    A line continues the open paragraph when that paragraph does not end in terminal
    punctuation and the line does not start a list item, heading, footnote or table row.
    Footnotes become their own blocks and do not close the body paragraph they interrupt, so a
    body sentence split by a footnote (sample 001) still reads as one sentence.
    """
    blocks: list[Block] = []
    open_pieces: list[tuple[int, int]] = []
    open_kind = "paragraph"
    text = page.text
    body_open_index: int | None = None  # index in `blocks` of a body paragraph a footnote interrupted
    wrap_width = _wrap_width(page)
    cell_lines = set(page.table_cells)
    blank_breaks = _blank_lines_break_paragraphs(page)
    saw_blank = False

    def close() -> None:
        nonlocal open_pieces
        if open_pieces:
            blocks.append(Block(open_kind, tuple(open_pieces)))
        open_pieces = []

    for ln in page.lines:
        raw = text[ln.char_start : ln.char_end]
        stripped = raw.strip()
        if not stripped:
            saw_blank = True
            continue
        if saw_blank and blank_breaks and open_kind != "footnote":
            close()
        after_blank, saw_blank = saw_blank, False
        lead = len(raw) - len(raw.lstrip())
        piece = (ln.char_start + lead, ln.char_start + len(raw.rstrip()))
        if _is_table_line(page, ln.char_start, ln.char_end, raw):
            close()
            blocks.append(Block("table_row", (piece,)))
            body_open_index = None
            continue
        if page.table_cells and (ln.char_start, ln.char_end) in cell_lines:
            close()
            blocks.append(Block("table_cell", (piece,)))
            body_open_index = None
            continue
        if stripped in {"---", "***", "___"}:
            continue
        if _FOOTNOTE_START.match(raw):
            if open_pieces and open_kind != "footnote":
                last = text[open_pieces[-1][0] : open_pieces[-1][1]]
                close()
                if not _TERMINAL.search(last):
                    body_open_index = len(blocks) - 1
            else:
                close()
            open_kind = "footnote"
            open_pieces = [piece]
            continue
        starts_new = bool(_LIST_START.match(raw) or _HEADING_RE.match(raw)) or _looks_like_heading(stripped)
        first_char = stripped.lstrip("*_“\"(")[:1]
        if (
            body_open_index is not None
            and not starts_new
            and first_char.islower()
            and (not open_pieces or open_kind == "footnote")
            # Right under a footnote line (no blank line between), a lowercase line continues the
            # footnote, as in PDF text where footnotes wrap at the page foot.
            and (after_blank or not open_pieces)
        ):
            # A body paragraph resumes after the footnotes that interrupted it.
            close()
            resumed = blocks.pop(body_open_index)
            blocks.insert(body_open_index, Block(resumed.kind, resumed.pieces + (piece,)))
            last_text = stripped
            body_open_index = None if _TERMINAL.search(last_text) else body_open_index
            open_kind = "paragraph"
            continue
        if open_pieces and open_kind != "footnote" or open_pieces and open_kind == "footnote":
            prev = text[open_pieces[-1][0] : open_pieces[-1][1]]
            short_prev = len(prev) < 0.6 * wrap_width and (first_char.isupper() or first_char.isdigit())
            if not starts_new and not _TERMINAL.search(prev) and not _looks_like_heading(prev) and not short_prev:
                open_pieces.append(piece)
                continue
            if open_kind == "footnote" and not starts_new and first_char.islower():
                open_pieces.append(piece)
                continue
        close()
        body_open_index = None
        if _HEADING_RE.match(raw) or _looks_like_heading(stripped):
            open_kind = "heading"
        elif _LIST_START.match(raw):
            open_kind = "list_item"
        else:
            open_kind = "paragraph"
        open_pieces = [piece]
    close()
    return tuple(blocks)


def _blank_lines_break_paragraphs(page: PageText) -> bool:
    """Whether a blank line means "new paragraph": not when blank lines follow nearly every line
    (double-spaced exports such as sample 003, where they are only line spacing)."""
    lines = [page.text[ln.char_start : ln.char_end].strip() for ln in page.lines]
    non_blank = [i for i, line in enumerate(lines) if line][:-1]  # the last line has nothing after it
    if not non_blank:
        return True
    followed = sum(1 for i in non_blank if not lines[i + 1])
    return followed / len(non_blank) < 0.7


def _wrap_width(page: PageText) -> float:
    """Typical length of a full prose line (90th percentile): shorter lines likely end a paragraph."""
    lengths = sorted(
        len(page.text[ln.char_start : ln.char_end].strip())
        for ln in page.lines
        if "\t" not in page.text[ln.char_start : ln.char_end] and page.text[ln.char_start : ln.char_end].strip()
    )
    return float(lengths[int(0.9 * (len(lengths) - 1))]) if lengths else 0.0


def _looks_like_heading(line: str) -> bool:
    """An all-capitals short line ("BÁO CÁO", "I. CÔNG TÁC CHỈ ĐẠO") stands alone."""
    core = line.strip().strip("*#_ ")
    if len(core) > 120 or any(c.islower() and c.isalpha() for c in core):  # prose stops at its first letters
        return False
    return sum(1 for c in core if c.isalpha()) >= 3


@dataclass(frozen=True, slots=True, eq=False)
class PageView:
    """A page ready for extraction: the original page, its blocks and the normalized text.

    Compared and hashed by identity: a view is made once a page, and hashing its text and origin
    map (extractors cache per document) cost more than some extractors."""

    doc_id: str
    source: str
    page: PageText
    blocks: tuple[Block, ...]
    text: str
    origin: tuple[int, ...]
    """`origin[i]` is the original offset of normalized char `i`; `origin[len(text)]` closes it."""
    block_starts: tuple[int, ...]
    """Normalized offset where each block begins (blocks are separated by one "\\n")."""
    sentence_ranges: tuple[tuple[int, int], ...]
    """Original `[start, end)` of every sentence, in order."""
    sentence_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sentence_starts", tuple(s for s, _ in self.sentence_ranges))

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalized span to the original text, trimmed to the characters it covers."""
        if end <= start:
            o = self.origin[start]
            return o, o
        return self.origin[start], self.origin[end - 1] + 1

    def block_at(self, norm_offset: int) -> Block:
        """The block holding normalized offset `norm_offset`."""
        return self.blocks[max(0, bisect.bisect_right(self.block_starts, norm_offset) - 1)]

    def sentence_range(self, start: int) -> tuple[int, int]:
        """Original range of the sentence that holds original offset `start`."""
        i = bisect.bisect_right(self.sentence_starts, start) - 1
        if i >= 0 and self.sentence_ranges[i][0] <= start < self.sentence_ranges[i][1]:
            return self.sentence_ranges[i]
        line = self.page.line_at(start)
        return line.char_start, line.char_end

    def sentence_text(self, start: int, end: int | None = None, window: int = SENTENCE_WINDOW) -> str:
        """Whitespace-normalized sentence text holding `[start, end)` (several if it spans them).

        A sentence longer than the window (a page that is one endless line) is cut to `window`
        characters on each side of the span, at a space, and marked with "…". Extractors that read
        the sentence for meaning ask for a wider window (`SENTENCE_CONTEXT`).
        """
        stop = end if end is not None else start
        s0, e0 = self.sentence_bounds(start, stop, window)
        full_s, full_e = self._sentence_of(start, stop)
        head = "… " if s0 > full_s else ""
        tail = " …" if e0 < full_e else ""
        return head + " ".join(self.page.text[s0:e0].split()) + tail

    def sentence_bounds(self, start: int, end: int, window: int = SENTENCE_WINDOW) -> tuple[int, int]:
        """Original range of the sentence(s) holding `[start, end)`, cut at a space to `window`
        characters on each side of the span when longer: every record then carries a bounded
        sentence instead of a copy of a page that is one endless line."""
        s0, e0 = self._sentence_of(start, end)
        text = self.page.text
        if start - s0 > window:
            cut = text.find(" ", start - window, start)
            s0 = cut + 1 if cut >= 0 else start - window
        if e0 - end > window:
            cut = text.rfind(" ", end, end + window)
            e0 = cut if cut >= 0 else end + window
        return s0, e0

    def _sentence_of(self, start: int, end: int) -> tuple[int, int]:
        s0, e0 = self.sentence_range(start)
        if end > e0:
            _, e0 = self.sentence_range(max(start, end - 1))
            e0 = max(e0, end)
        return s0, e0

    def provenance(self, start: int, end: int) -> Provenance:
        """Provenance of the original span `[start, end)` of this page."""
        page = self.page
        first = page.line_at(start)
        last = page.line_at(max(start, end - 1))
        s0, e0 = self.sentence_bounds(start, end)
        return Provenance(
            doc_id=self.doc_id,
            source=self.source,
            page=page.page,
            line=first.number,
            line_end=last.number,
            char_start=start,
            char_end=end,
            bbox=page.bbox_of(start, end),
            text=page.text[start:end],
            sentence=_WHITESPACE.sub(" ", page.text[s0:e0]),
            sentence_start=s0,
            sentence_end=e0,
            method=page.method,
            confidence=page.confidence_of(start, end),
        )

    def provenance_norm(self, start: int, end: int) -> Provenance:
        """Provenance of a normalized span (mapped back first)."""
        return self.provenance(*self.to_original(start, end))


def _normalize_piece(text: str, start: int, end: int, out: list[str], origin: list[int]) -> None:
    """Append the normalized form of `text[start:end]` to `out` (non-empty chunks of text, one
    origin a character), recording origins."""
    segment = text[start:end]
    cuts: list[tuple[int, int, str]] = []  # (start, end, replacement) of markup, within segment
    m = _HEADING_RE.match(segment)
    if m:
        cuts.append((m.start(), m.end(), ""))
    cuts.extend((m.start(), m.end(), " ") for m in _SUP_RE.finditer(segment))
    cuts.extend(
        (m.start(), m.end(), " " if "br" in m.group(0) else "") for m in _MARKUP_RE.finditer(segment)
    )
    pos = 0
    for cut_start, cut_end, replacement in sorted(cuts):
        if cut_start < pos:
            continue  # overlapping markup matches: the first one wins
        _append_text(segment, pos, cut_start, start, out, origin)
        if replacement and not (out and out[-1][-1] in " \n\t"):
            out.append(" ")
            origin.append(start + cut_start)
        pos = cut_end
    _append_text(segment, pos, len(segment), start, out, origin)


def _append_text(segment: str, s: int, e: int, base: int, out: list[str], origin: list[int]) -> None:
    """Append `segment[s:e]` composed to NFC with space runs collapsed; `base` + index = origin."""
    if s >= e:
        return
    piece = segment[s:e]
    last_space = bool(out) and out[-1][-1] in " \n\t"
    if "\u00d0" not in piece and unicodedata.is_normalized("NFC", piece):
        if _SPACE_TO_COLLAPSE.search(piece) is None:
            # Nearly every line: single plain spaces only, so it is copied whole.
            skip = 1 if last_space and piece[0] == " " else 0
            if skip < len(piece):
                out.append(piece[skip:])
                origin.extend(range(base + s + skip, base + e))
            return
        # Copy runs of text whole, collapse runs of spaces.
        for m in _SPACE_OR_TEXT.finditer(piece):
            if m.group(1) is not None:
                if not last_space:
                    out.append(" ")
                    origin.append(base + s + m.start())
                    last_space = True
            else:
                out.append(m.group(2))
                origin.extend(range(base + s + m.start(), base + s + m.end()))
                last_space = m.group(2)[-1] == "\t"
        return
    i = s
    while i < e:
        ch = segment[i]
        # Keep a base letter with its combining marks together so NFC can compose them.
        j = i + 1
        while j < e and unicodedata.combining(segment[j]):
            j += 1
        if ch in _SPACES:
            if not last_space:
                out.append(" ")
                origin.append(base + i)
                last_space = True
            i = j
            continue
        for c in unicodedata.normalize("NFC", segment[i:j]):
            if c == "\u00d0":  # Tesseract's ETH look-alike: a spurious copy after Đ ("QĐÐ"), else Đ
                if out and out[-1][-1] in "Đđ":
                    continue
                c = "Đ"
            out.append(c)
            origin.append(base + i)
        last_space = ch == "\t"
        i = j


def build_view(doc_id: str, source: str, page: PageText) -> PageView:
    """Segment the page and build its normalized text and origin map."""
    blocks = segment_blocks(page)
    out: list[str] = []
    origin: list[int] = []
    block_starts: list[int] = []
    for bi, block in enumerate(blocks):
        if bi:
            out.append("\n")
            origin.append(blocks[bi - 1].end)
        block_starts.append(len(origin))  # one origin a character of the chunks in `out`
        for pi, (s, e) in enumerate(block.pieces):
            if pi and out and out[-1][-1] != " ":
                out.append(" ")
                origin.append(block.pieces[pi - 1][1])
            _normalize_piece(page.text, s, e, out, origin)
        while out and out[-1][-1] == " " and len(origin) > block_starts[-1]:
            out[-1] = out[-1][:-1]
            if not out[-1]:
                out.pop()
            origin.pop()
    origin.append(blocks[-1].end if blocks else 0)
    norm = "".join(out)
    norm = _TONE_RE.sub(lambda m: _TONE_SWAP[m.group(1)], norm)
    sentences = _sentence_ranges(page.text, blocks)
    return PageView(
        doc_id=doc_id,
        source=source,
        page=page,
        blocks=blocks,
        text=norm,
        origin=tuple(origin),
        block_starts=tuple(block_starts),
        sentence_ranges=sentences,
    )


@lru_cache(maxsize=1)
def _sentence_end_re() -> regex.Pattern[str]:
    abbreviations = get_rules().abbreviations
    alternatives = "|".join(regex.escape(a.rstrip(".")) for a in sorted(abbreviations, key=len, reverse=True))
    # A sentence ends at . ! ? … followed by space(s) and a capital/quote/list marker, unless the
    # dot closes a known abbreviation ("TP. Bắc Giang") or sits inside a number ("1.657.621").
    return regex.compile(
        r"(?<!\b(?:" + alternatives + r"))(?<!\b\p{Lu})[.!?…]+[\"”’)]*(?=\s+[\p{Lu}\"“(\-+•])"
    )


def _sentence_ranges(text: str, blocks: tuple[Block, ...]) -> tuple[tuple[int, int], ...]:
    """Original ranges of the sentences of every block (a table row or heading is one sentence)."""
    ranges: list[tuple[int, int]] = []
    end_re = _sentence_end_re()
    for block in blocks:
        if block.kind in ("table_row", "table_cell", "heading"):
            ranges.append((block.start, block.end))
            continue
        # Sentence ends are searched piece by piece; a sentence may run across pieces.
        current = block.start
        for s, e in block.pieces:
            for m in end_re.finditer(text, s, e):
                ranges.append((current, m.end()))
                nxt = m.end()
                while nxt < e and text[nxt].isspace():
                    nxt += 1
                current = nxt
        if current < block.end:
            ranges.append((current, block.end))
    return tuple(sorted(ranges))


def build_views(doc: DocText) -> tuple[PageView, ...]:
    """The normalized view of every page of a document."""
    return tuple(build_view(doc.input.doc_id, doc.input.source, p) for p in doc.pages)


def bounded_ranges(text: str, start: int, end: int, size: int = BLOCK_WINDOW) -> list[tuple[int, int]]:
    """`[start, end)` of `text` as consecutive ranges of at most about `size` characters.

    Real paragraphs fit in one window; a runaway line (one 1 MB line of repeated symbols) is read
    in pieces cut after the last sentence or clause end of each window (else at a space), so no
    extractor step ever scans more than one window around a number.
    """
    ranges: list[tuple[int, int]] = []
    while end - start > size:
        limit = start + size
        cut = -1
        for m in _WINDOW_CUT.finditer(text, limit - size // 4, limit):
            cut = m.end()
        if cut < 0:
            cut = text.rfind(" ", start + size // 2, limit) + 1 or limit
        ranges.append((start, cut))
        start = cut
    ranges.append((start, end))
    return ranges
