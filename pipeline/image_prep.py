"""Stage "ingest" (OCR side): make a page image fit for Tesseract, and map boxes back.

Measured on degraded renderings of our own pages (shared/notes/ocr-and-pdf.md, bench/scan_parity.py):
skew is the cliff (psm 3 drops whole paragraphs at 2° clockwise), a red seal or blue signature turned
gray becomes a dark blob over the signer, and a phone photo's shadow blanks part of the page. So
every OCR'd page is, in this order: stripped of coloured ink, flattened when its light is uneven,
and deskewed. Right-angle turns are found by Tesseract's OSD, only for pages that read badly
(`pipeline.ocr` asks, since OSD costs a Tesseract call). Words are read on the prepared image;
`Prepared.to_original` puts their boxes back on the page as it was scanned, where the auditor looks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from pipeline.types import Box

SKEW_RANGE = 15.0
"""Larger angles are not skew but a photo or a turned page; OSD handles right angles."""
SKEW_MIN = 0.15
"""Below this a page is left as it is (an upright page measures within ±0.05°); above it even
prose reads the same either way, but a ruled table's grid is only found straightened."""
SKEW_RESOLUTION = 0.5
"""Degrees per Hough step: within ±0.25° Tesseract reads as on an upright page, and a finer step
costs time by the step (0.1° took 1.6 s a page; this 0.11 s)."""
SKEW_WIDTH = 600
SKEW_FINE = 0.05
"""Degrees per step of the refinement around the Hough angle."""
SKEW_FINE_WIDTH = 1200
"""The refinement works on the page scaled to this width (0.05° moves a line's end by a pixel)."""
"""Skew is measured on the page scaled to this width: the angle does not depend on resolution."""
SKEW_MIN_INK = 3000
"""Dark pixels (at `SKEW_WIDTH`) below which a page holds too little text to measure its skew:
about two full lines of print."""
INK_SATURATION = 40
"""Coloured ink (seals, signatures, handwriting) has HSV saturation above this; print has ~0, and
the halo of a seal's anti-aliased edge, left in, makes Tesseract take the text under it for a picture."""
INK_STRETCH = 3.5
"""How much darker than the ink a pixel under it must be to stay dark: print under a seal does."""
INK_MARGIN = 25.0
"""Gray levels darker than the ink that still count as ink (JPEG ringing at the ink's edges)."""
SPECKLE_PAGE = 250
"""Specks (dark blobs of at most 4 pixels at 300 dpi) above which a page is a speckled fax or
copy: a clean or photographed page has under 150."""
SPECKLE_AREA = 20
"""Dark blobs up to this many pixels (at 300 dpi) go on a speckled page; a diacritic of 12-pt
print is about 25."""
SPECKLE_REACH = 6
"""Pixels (at 300 dpi) around print within which a small blob is kept: a diacritic or a dot."""
A4_300DPI_PIXELS = 2480 * 3508
SHEET_WIDTH = 500
"""A photographed sheet is looked for on a copy this large (its edges, not its print)."""
SHEET_PAD = 4
SHEET_MIN_INSET = 0.02
"""A sheet whose corners all lie within this share of the picture's side from its corners fills
the picture: nothing to undo."""
SHEET_MIN_SHARE = 0.5
"""The sheet covers at least this share of the picture."""
SHEET_CONTRAST = 40.0
"""Paper at least this much brighter (gray levels) than just outside its edge: a sheet on a desk."""
UNEVEN_LIGHT = 40
"""Background brightness spread (gray levels, 5th to 95th percentile) above which light is flattened."""


Matrix = tuple[tuple[float, float, float], ...]
"""A 2x3 affine map or a 3x3 homography (a photographed sheet's perspective), as rows."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """The image Tesseract reads and how it was made from the page: `matrix` maps prepared pixel
    coordinates back to the original page's; `steps` name what was done."""

    image: Image.Image
    original_size: tuple[int, int]
    matrix: Matrix
    rotation: int = 0
    skew: float = 0.0
    steps: tuple[str, ...] = ()

    def to_original(self, box: Box) -> Box:
        """The box, in prepared-image pixels, as a box on the original page (the bounds of its
        four corners mapped back)."""
        x0, y0, x1, y1 = box
        mapped = _square(self.matrix) @ np.array([[x0, x1, x0, x1], [y0, y0, y1, y1], [1.0, 1.0, 1.0, 1.0]])
        xs, ys = mapped[0] / mapped[2], mapped[1] / mapped[2]
        w, h = self.original_size
        return (
            round(min(max(float(xs.min()), 0.0), w), 2),
            round(min(max(float(ys.min()), 0.0), h), 2),
            round(min(max(float(xs.max()), 0.0), w), 2),
            round(min(max(float(ys.max()), 0.0), h), 2),
        )

    @property
    def identity(self) -> bool:
        return bool(np.allclose(_square(self.matrix), np.eye(3)))


_IDENTITY: Matrix = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


def _square(matrix: Matrix) -> np.ndarray:
    m = np.array(matrix, dtype=np.float64)
    return m if m.shape == (3, 3) else np.vstack([m, [0.0, 0.0, 1.0]])


def _rows(m: np.ndarray) -> Matrix:
    return tuple(tuple(float(v) for v in row) for row in m)  # type: ignore[return-value]


def prepare(image: Image.Image) -> Prepared:
    """The page as 8-bit gray with coloured ink removed, a photographed sheet's perspective undone,
    light flattened, speckle removed and skew corrected."""
    steps: list[str] = []
    size = (image.width, image.height)
    gray = _without_colour_ink(image, steps)
    gray, matrix = _sheet_flattened(gray, steps)
    gray = _flattened(gray, steps)
    gray = _despeckled(gray, steps)
    angle = measure_skew(gray)
    if angle is None or abs(angle) < SKEW_MIN:
        return Prepared(Image.fromarray(gray, mode="L"), size, matrix, steps=tuple(steps))
    rotated, back = rotate(gray, angle)
    steps.append(f"deskewed {angle:+.2f}°")
    return Prepared(
        Image.fromarray(rotated, mode="L"), size, _compose(matrix, back), skew=round(angle, 2), steps=tuple(steps)
    )


def turned(prepared: Prepared, degrees: int) -> Prepared:
    """`prepared` turned clockwise by a right angle (what OSD asks for), boxes still mapping back."""
    import cv2

    codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    source = np.asarray(prepared.image)
    h, w = source.shape[:2]
    out = cv2.rotate(source, codes[degrees])
    # prepared (x, y) from turned (u, v): 90° cw maps (x, y) -> (h-1-y, x), so x = v, y = h-1-u.
    back: Matrix = {
        90: ((0.0, 1.0, 0.0), (-1.0, 0.0, h - 1.0)),
        180: ((-1.0, 0.0, w - 1.0), (0.0, -1.0, h - 1.0)),
        270: ((0.0, -1.0, w - 1.0), (1.0, 0.0, 0.0)),
    }[degrees]
    matrix = _compose(prepared.matrix, back)
    return Prepared(
        Image.fromarray(out, mode="L"),
        prepared.original_size,
        matrix,
        rotation=(prepared.rotation + degrees) % 360,
        skew=prepared.skew,
        steps=(*prepared.steps, f"turned {degrees}°"),
    )


def _compose(outer: Matrix, inner: Matrix) -> Matrix:
    """outer ∘ inner (apply `inner`, then `outer`), as a 3x3 matrix."""
    return _rows(_square(outer) @ _square(inner))


def _sheet_flattened(gray: np.ndarray, steps: list[str]) -> tuple[np.ndarray, Matrix]:
    """A photographed sheet (paper on a darker surround, seen at an angle) warped to a flat
    rectangle, and the map back; anything else is returned as it is. The sheet's edge is the
    outermost edge of the paper's light (a small copy with the print closed away): four corners,
    most of the picture, clearly brighter inside than out. A scan has no such edge."""
    import cv2

    scale = SHEET_WIDTH / max(gray.shape)
    small = _shrunk(gray, scale)
    light = cv2.GaussianBlur(cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((11, 11), np.uint8)), (5, 5), 0)
    # a black frame closes the edge of a sheet that runs out of the picture
    framed = cv2.copyMakeBorder(light, SHEET_PAD, SHEET_PAD, SHEET_PAD, SHEET_PAD, cv2.BORDER_CONSTANT, value=0)
    edges = cv2.dilate(cv2.Canny(framed, 15, 45), np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    sheet = None
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:4]:
        hull = cv2.convexHull(contour)
        corners = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
        quad = _ordered(corners.reshape(-1, 2).astype(np.float32) - SHEET_PAD) if len(corners) == 4 else None
        sh, sw = small.shape
        frame = np.float32([[0, 0], [sw - 1, 0], [sw - 1, sh - 1], [0, sh - 1]])
        if quad is not None and np.abs(quad - frame).max() > SHEET_MIN_INSET * max(sh, sw):
            sheet = quad  # the largest four-cornered outline that is not the picture's own frame
            break
    if sheet is None or cv2.contourArea(sheet) < SHEET_MIN_SHARE * small.size:
        return gray, _IDENTITY
    quad = sheet
    inside = np.zeros_like(small)
    cv2.fillConvexPoly(inside, quad.astype(np.int32), 255)
    inside = cv2.erode(inside, np.ones((7, 7), np.uint8))
    outside = cv2.dilate(255 - inside, np.ones((3, 3), np.uint8)) & (255 - cv2.dilate(inside, np.ones((15, 15), np.uint8)))
    if cv2.countNonZero(outside) < 0.01 * small.size:
        return gray, _IDENTITY
    if float(light[inside > 0].mean()) - float(light[outside > 0].mean()) < SHEET_CONTRAST:
        return gray, _IDENTITY  # no darker surround: a ruled box or a border, not a sheet on a desk
    quad /= scale
    out_w = int(max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3])))
    out_h = int(max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1])))
    target = np.float32([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]])
    forward = cv2.getPerspectiveTransform(quad, target)
    flat = cv2.warpPerspective(gray, forward, (out_w, out_h), flags=cv2.INTER_CUBIC, borderValue=255)
    steps.append("sheet flattened (photographed at an angle)")
    return flat, _rows(np.linalg.inv(forward))


def _ordered(points: np.ndarray) -> np.ndarray:
    """Four corners as top-left, top-right, bottom-right, bottom-left."""
    total, diff = points.sum(axis=1), np.diff(points, axis=1).ravel()
    return np.float32([points[total.argmin()], points[diff.argmin()], points[total.argmax()], points[diff.argmax()]])


def _without_colour_ink(image: Image.Image, steps: list[str]) -> np.ndarray:
    """8-bit gray in which strongly coloured pixels (red seals, blue ink) fade to paper white while
    black print keeps its luminance: print has saturation ~0, and print under a seal is a coloured
    pixel much darker than the ink alone, which stays dark."""
    import cv2

    if image.mode not in ("RGB", "RGBA", "P", "CMYK"):
        return np.asarray(image.convert("L"))
    rgb = np.asarray(image.convert("RGB"))
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    saturation, brightest = hsv[:, :, 1], hsv[:, :, 2]
    ink = saturation > INK_SATURATION
    share = cv2.countNonZero(ink.view(np.uint8)) / ink.size
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if share < 0.0005:
        return gray
    steps.append(f"colour ink removed ({share:.1%} of pixels)")
    # Ink on paper is as bright as that ink itself (the 90th percentile of its hue: a red seal and a
    # blue pen differ); print under the ink is darker by the print's darkness: stretch that
    # difference so the print stays black.
    hue_bin = hsv[:, :, 0] // 30  # OpenCV hue is 0..179: six bins
    level = np.full(6, 255.0, np.float32)
    for b in np.unique(hue_bin[ink]):
        level[b] = np.percentile(brightest[ink & (hue_bin == b)], 90)
    below = np.maximum(level[hue_bin] - brightest.astype(np.float32) - INK_MARGIN, 0)
    lifted = np.clip(255.0 - below * INK_STRETCH, 0, 255).astype(np.uint8)
    np.copyto(gray, lifted, where=ink)
    return gray


def _flattened(gray: np.ndarray, steps: list[str]) -> np.ndarray:
    """Uneven light (a photo's shadow, a copier's dark edge) divided out by the page's background,
    estimated as a large closing of a small copy; even light is left alone."""
    import cv2

    h, w = gray.shape
    small = _shrunk(gray, 400 / max(h, w))
    # closing removes the text (dark, thin) and keeps the paper's light
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    background = cv2.medianBlur(background, 21)
    lo, hi = np.percentile(background, (5, 95))
    if hi - lo <= UNEVEN_LIGHT or hi < 40:
        return gray
    full = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    flat = np.clip(gray.astype(np.float32) / np.maximum(full, 1.0) * 245.0, 0, 255).astype(np.uint8)
    steps.append(f"light flattened (background {lo:.0f}-{hi:.0f})")
    return flat


def _despeckled(gray: np.ndarray, steps: list[str]) -> np.ndarray:
    """A fax's or photocopy's speckle taken out: on a page with more than `SPECKLE_PAGE` specks
    (dark blobs of at most 4 pixels, at 300 dpi, which print never makes), every dark blob up to
    `SPECKLE_AREA` pixels goes. Specks beside a symbol make Tesseract split it ("QĐ- TTg",
    "10/KH: UBND"); clean pages are left alone, since small print's diacritics are blobs too."""
    import cv2

    h, w = gray.shape
    per_a4 = max(0.1, h * w / A4_300DPI_PIXELS)  # areas below are for an A4 page at 300 dpi
    dark = gray < 128
    _, labels, stats, _ = cv2.connectedComponentsWithStats(dark.view(np.uint8), connectivity=8)
    areas = stats[:, cv2.CC_STAT_AREA]
    specks = int(np.count_nonzero(areas[1:] <= 4 * per_a4))
    if specks <= SPECKLE_PAGE * per_a4:
        return gray
    small = areas <= SPECKLE_AREA * per_a4
    small[0] = False
    # a blob beside a glyph may be its diacritic or a thousands dot ("1.657"): only lone ones go
    in_small = small[labels]
    reach = max(3, int(round(SPECKLE_REACH * per_a4**0.5)))
    print_mask = (dark & ~in_small).view(np.uint8)
    near_print = cv2.dilate(print_mask, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8))
    small[np.unique(labels[in_small & (near_print > 0)])] = False
    out = gray.copy()
    out[small[labels]] = 255
    steps.append(f"despeckled ({int(small.sum())} specks)")
    return out


def measure_skew(gray: np.ndarray) -> float | None:
    """The page's skew in degrees (positive: turned clockwise); None when the page holds too little
    to tell. Two coarse guesses on a copy scaled to `SKEW_WIDTH` — the `deskew` package's Hough
    lines, and the sharpest row profile over ±`SKEW_RANGE` (ruled tables, where Hough peaks on the
    many column rules can answer nothing or 13° for a 2° page) — the better by row profile is then
    refined to `SKEW_FINE` degrees."""
    import cv2
    from deskew import determine_skew

    w = gray.shape[1]
    small = _shrunk(gray, min(1.0, SKEW_WIDTH / w))
    # small print and thin rules turn gray when scaled down: count anything darker than paper
    dark = small < 200
    if cv2.countNonZero(dark.view(np.uint8)) < SKEW_MIN_INK:
        return None  # a word or two: their edges give any angle
    guesses = []
    hough = determine_skew(small, min_deviation=SKEW_RESOLUTION, max_angle=SKEW_RANGE, min_angle=-SKEW_RANGE)
    if hough is not None and np.isfinite(hough):
        guesses.append(float(hough))  # deskew's counter-clockwise correction is the clockwise skew
    ys, xs = np.nonzero(dark)
    guesses.append(_sharpest(xs, ys, np.arange(-SKEW_RANGE, SKEW_RANGE + 1e-9, SKEW_RESOLUTION))[1])
    fine = _shrunk(gray, min(1.0, SKEW_FINE_WIDTH / w))
    fy, fx = np.nonzero(fine < 128)
    if fx.size < SKEW_MIN_INK:
        return guesses[0]
    best = max(_sharpest(fx, fy, np.arange(g - 2 * SKEW_RESOLUTION, g + 2 * SKEW_RESOLUTION + 1e-9, SKEW_FINE)) for g in guesses)
    return round(best[1], 2)


def _shrunk(gray: np.ndarray, scale: float) -> np.ndarray:
    """`gray` scaled by `scale` (area averaging): the small copies the measurements work on."""
    import cv2

    h, w = gray.shape
    return cv2.resize(gray, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)


def _sharpest(xs: np.ndarray, ys: np.ndarray, angles: np.ndarray) -> tuple[float, float]:
    """(score, angle) of the angle at which the dark pixels fall into the sharpest row profile
    (sum of squared row counts): text lines and table rules lie flat when the skew is undone."""
    xs_f, ys_f = xs.astype(np.float64), ys.astype(np.float64)
    best = (-1.0, 0.0)
    for angle in angles:
        rows = ys_f - xs_f * np.tan(np.radians(angle))  # a line skewed clockwise by `angle` becomes flat
        profile = np.bincount((rows - rows.min()).astype(np.int64)).astype(np.float64)
        score = float(np.dot(profile, profile))
        if score > best[0]:
            best = (score, float(angle))
    return best


def rotate(gray: np.ndarray, clockwise: float) -> tuple[np.ndarray, Matrix]:
    """`gray` rotated to undo a clockwise skew, canvas grown to keep the corners, white fill; and
    the affine map from the rotated image's pixels back to `gray`'s."""
    import cv2

    h, w = gray.shape
    forward = cv2.getRotationMatrix2D((w / 2, h / 2), clockwise, 1.0)  # cv2: positive = counter-clockwise
    cos, sin = abs(forward[0, 0]), abs(forward[0, 1])
    new_w, new_h = int(h * sin + w * cos + 0.5), int(h * cos + w * sin + 0.5)
    forward[0, 2] += new_w / 2 - w / 2
    forward[1, 2] += new_h / 2 - h / 2
    out = cv2.warpAffine(gray, forward, (new_w, new_h), flags=cv2.INTER_CUBIC, borderValue=255)
    return out, _rows(cv2.invertAffineTransform(forward))
