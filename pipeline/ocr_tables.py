"""Ruled tables on page images: the cell grid from the ruling lines, and rows read cell by cell.

On a scan, Tesseract's page segmentation (psm 3) drops whole columns of short numbers and merges
header cells whose gaps are narrow; gap clustering cannot recover what it never read. A ruled table
carries its own grid: the vertical rules are the column edges and the horizontal rules the row
edges. So `find_grids` takes the rules (the same run-length mask that erases them), `compose` stacks
the grid-free row strips of every table into one image (one extra Tesseract call per page, not one
per cell), read as a uniform block (psm 6: each strip is small and unskewed, the case psm 6 is good
at), and `grid_rows` puts every word back into its cell by its box. Pure geometry apart from
Tesseract's TSV, so tests replay recorded or hand-written TSV.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
import regex
from PIL import Image

from pipeline.types import Box

GRID_MIN_VERTICAL = 3
"""Vertical rules a page needs before its grid is erased: a ruled table has one per column edge,
prose pages have none (their images, and so their OCR, stay exactly as they were)."""
RULE_MAX_WIDTH = 9
"""A rule's thickness in pixels at most: a thicker band of rule pixels is a skewed rule (its rows
would be mixed up by the grid), so such a table is left to word-box gap clustering."""
TABLE_PSM = 6
"""Page segmentation for the composed row strips: one uniform block of text lines."""
STRIP_GAP = 30
"""White pixels between and around the composed strips: keeps Tesseract from joining two rows."""
STRIP_PAD = 4
"""Pixels cut off inside the rules on every side of a strip (rule edges, anti-aliasing)."""

_ARTEFACT = regex.compile(r"^[|\[\]{}_]+$")
"""A token that is only a rule remnant; dashes stay (in a cell, "–" is text: "Sở Tư pháp – BHXH")."""
_EDGE_JUNK = "|[]{}_"


@dataclass(frozen=True, slots=True)
class Rule:
    """One ruling line: its position across (`at`) and the stretches it is drawn along."""

    at: float
    segments: tuple[tuple[int, int], ...]

    def covers(self, lo: float, hi: float) -> bool:
        """Whether the rule is drawn along most of `[lo, hi]` (a spanning cell has no rule there)."""
        if hi <= lo:
            return False
        drawn = sum(max(0.0, min(hi, b) - max(lo, a)) for a, b in self.segments)
        return drawn >= 0.5 * (hi - lo)


@dataclass(frozen=True, slots=True)
class Grid:
    """One ruled table: vertical rules left to right, horizontal rules top to bottom (pixels)."""

    verticals: tuple[Rule, ...]
    horizontals: tuple[Rule, ...]

    @property
    def box(self) -> Box:
        return (self.verticals[0].at, self.horizontals[0].at, self.verticals[-1].at, self.horizontals[-1].at)

    @property
    def columns(self) -> int:
        return len(self.verticals) - 1


@dataclass(frozen=True, slots=True)
class Strip:
    """Where one cell of a grid sits in the composed image and on the page."""

    grid: int
    row: int
    column: int
    """The cell's first column (a cell spanning columns, with no rule drawn between, is one strip)."""
    y: int
    """Top of the cell in the composed image (its left is at x = STRIP_GAP)."""
    top: int
    left: int
    """Top left of the cell on the page (pixels)."""
    height: int


def runs(mask: np.ndarray, length: int) -> np.ndarray:
    """Pixels in a horizontal run of >= `length` dark pixels: an erosion then a dilation by a
    1 x `length` line, each done in log2(length) shifted ANDs/ORs (fast on whole pages)."""
    eroded = mask.copy()
    span = 1
    while span < length:
        step = min(span, length - span)
        eroded[:, :-step] &= eroded[:, step:]
        eroded[:, -step:] = False
        span += step
    grown = eroded.copy()
    span = 1
    while span < length:
        step = min(span, length - span)
        grown[:, step:] |= grown[:, :-step].copy()
        span += step
    return grown


def _spans(values: np.ndarray, join: int) -> list[tuple[int, int]]:
    """Sorted indexes grouped into inclusive `(first, last)` runs, gaps of <= `join` bridged."""
    out: list[tuple[int, int]] = []
    for v in values.tolist():
        if out and v - out[-1][1] <= join:
            out[-1] = (out[-1][0], v)
        else:
            out.append((v, v))
    return out


def _rules(mask: np.ndarray, length: int) -> list[tuple[int, int, tuple[tuple[int, int], ...]]]:
    """Vertical rules of a rule mask: (first column, last column, drawn y stretches)."""
    out = []
    for c0, c1 in _spans(np.flatnonzero(mask.sum(axis=0) >= length), 3):
        along = np.flatnonzero(mask[:, c0 : c1 + 1].any(axis=1))
        segments = tuple((a, b) for a, b in _spans(along, 3) if b - a >= length)
        if segments:
            out.append((c0, c1, segments))
    return out


def rule_masks(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(vertical, horizontal) rule pixel masks of a page and the minimum rule length, or None when
    the page has fewer than `GRID_MIN_VERTICAL` vertical rules (prose, letterheads)."""
    height, width = gray.shape
    dark = gray < 160
    # A rule is a straight dark run longer than any glyph stroke (an em dash is ~0.2 in).
    run = max(60, min(height, width) // 25)
    if width <= run or height <= run:
        return None
    vertical = runs(dark.T, run).T
    columns = np.flatnonzero(vertical.sum(axis=0) >= run)
    edges = int(np.count_nonzero(np.diff(columns) > 3)) + (1 if columns.size else 0)
    if edges < GRID_MIN_VERTICAL:
        return None
    return vertical, runs(dark, run), run


def find_grids(vertical: np.ndarray, horizontal: np.ndarray, length: int) -> list[Grid]:
    """The ruled tables of a page: rule stretches joined where they touch (two tables on one page
    stay apart even where their rules share an x), each group with >= 3 vertical and >= 2
    horizontal rules, all thin (a skewed table is left out), top to bottom."""
    # (kind, first, last pixel across, one drawn stretch along)
    items = [("v", x0, x1, seg) for x0, x1, segs in _rules(vertical, length) for seg in segs]
    items += [("h", y0, y1, seg) for y0, y1, segs in _rules(horizontal.T, length) for seg in segs]
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    tol = 6
    for i, (kind_i, a0, a1, (s0, s1)) in enumerate(items):
        if kind_i != "v":
            continue
        for j, (kind_j, b0, b1, (t0, t1)) in enumerate(items):
            # a vertical stretch [s0, s1] at x in [a0, a1] meets a horizontal [t0, t1] at y in [b0, b1]
            if kind_j == "h" and s0 - tol <= b1 and b0 <= s1 + tol and t0 - tol <= a1 and a0 <= t1 + tol:
                parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(items)):
        groups.setdefault(root(i), []).append(i)
    grids: list[Grid] = []
    for members in groups.values():
        rules: dict[str, dict[tuple[int, int], list[tuple[int, int]]]] = {"v": {}, "h": {}}
        for i in members:
            kind, c0, c1, seg = items[i]
            rules[kind].setdefault((c0, c1), []).append(seg)
        v, h = rules["v"], rules["h"]
        if len(v) < GRID_MIN_VERTICAL or len(h) < 2:
            continue
        if any(c1 - c0 + 1 > RULE_MAX_WIDTH for c0, c1 in [*v, *h]):
            continue

        def as_rules(found: dict[tuple[int, int], list[tuple[int, int]]]) -> tuple[Rule, ...]:
            return tuple(Rule((c0 + c1) / 2, tuple(sorted(segs))) for (c0, c1), segs in sorted(found.items()))

        grids.append(Grid(as_rules(v), as_rules(h)))
    grids.sort(key=lambda g: g.box[1])
    return grids


def cells(grid: Grid) -> list[tuple[int, int, Box]]:
    """(row, first column, pixel box inside the rules) of every cell of `grid`: columns whose rule
    between them is not drawn along a row are one spanning cell (a merged header cell)."""
    out: list[tuple[int, int, Box]] = []
    for r, (upper, lower) in enumerate(zip(grid.horizontals, grid.horizontals[1:], strict=False)):
        first = 0
        for c in range(1, grid.columns + 1):
            if c < grid.columns and not grid.verticals[c].covers(upper.at, lower.at):
                continue
            box = (grid.verticals[first].at, upper.at, grid.verticals[c].at, lower.at)
            out.append((r, first, box))
            first = c
    return out


def compose(cleaned: Image.Image, grids: list[Grid]) -> tuple[Image.Image, list[Strip]] | None:
    """Every non-blank cell of every grid (inside its rules, grid already erased) stacked into one
    gray image, `STRIP_GAP` white pixels apart, and where each came from. One cell per line: side by
    side, Tesseract glues a cell's line-final word to the next one ("thiếtbj" for "thiết bị")."""
    import numpy as np

    gray = cleaned.convert("L")
    pixels = np.asarray(gray)
    placed: list[tuple[tuple[int, int, int, int], Strip]] = []
    y = STRIP_GAP
    width = 0
    for g, grid in enumerate(grids):
        for r, c, (x0, y0, x1, y1) in cells(grid):
            left, top = int(x0) + STRIP_PAD, int(y0) + STRIP_PAD
            right, bottom = int(x1) - STRIP_PAD + 1, int(y1) - STRIP_PAD + 1
            if bottom - top < 8 or right - left < 8:
                continue
            if np.count_nonzero(pixels[top:bottom, left:right] < 128) < 12:
                continue  # a blank cell: nothing to read
            placed.append(((left, top, right, bottom), Strip(g, r, c, y, top, left, bottom - top)))
            y += bottom - top + STRIP_GAP
            width = max(width, right - left)
    if not placed:
        return None
    out = Image.new("L", (width + 2 * STRIP_GAP, y), 255)
    for crop, strip in placed:
        out.paste(gray.crop(crop), (STRIP_GAP, strip.y))
    return out, [s for _, s in placed]


MAX_IMAGE_HEIGHT = 30000
"""Tesseract refuses images over 32767 pixels a side ("Image too large"); a tall table at 300 dpi,
or a grid found on a page turned sideways (every cell a tall strip), stacks past that."""


def chunks(composed: Image.Image, strips: list[Strip]) -> list[tuple[Image.Image, int]]:
    """The composed image cut between strips into pieces Tesseract accepts: (piece, its top in the
    composed image). Words read on a piece are moved down by that top before `grid_rows`."""
    if composed.height <= MAX_IMAGE_HEIGHT:
        return [(composed, 0)]
    pieces: list[tuple[Image.Image, int]] = []
    top = 0
    for strip in strips:
        end = strip.y + strip.height + STRIP_GAP
        if end - top > MAX_IMAGE_HEIGHT and strip.y - STRIP_GAP > top:
            pieces.append((composed.crop((0, top, composed.width, strip.y - STRIP_GAP)), top))
            top = strip.y - STRIP_GAP
    pieces.append((composed.crop((0, top, composed.width, min(composed.height, top + MAX_IMAGE_HEIGHT))), top))
    return pieces


@dataclass(slots=True)
class GridTable:
    """A grid table read cell by cell: per row, per column, the words `(text, page box, conf)`."""

    box: Box
    rows: list[list[list[tuple[str, Box, float]]]]


def grid_rows(
    words: list[tuple[tuple[int, int, int, int], str, Box, float]], grids: list[Grid], strips: list[Strip]
) -> list[GridTable]:
    """The words of the composed image (`parse_tsv` order) put back into their cells: a word
    belongs to the strip its centre is in; its box is moved back onto the page (pixels)."""
    tables = [GridTable(g.box, [[[] for _ in range(g.columns)] for _ in range(len(g.horizontals) - 1)]) for g in grids]
    tops = [s.y for s in strips]
    for _, text, box, conf in words:
        token = text.strip()
        if _ARTEFACT.match(token):
            continue
        token = token.strip(_EDGE_JUNK) or token
        cy = (box[1] + box[3]) / 2
        k = bisect.bisect_right(tops, cy + STRIP_GAP / 2) - 1
        if k < 0:
            continue
        strip = strips[k]
        dx, dy = strip.left - STRIP_GAP, strip.top - strip.y
        page_box = (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)
        tables[strip.grid].rows[strip.row][strip.column].append((token, page_box, conf))
    return tables
