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
SKEW_MIN = 0.4
"""Below this a rotation costs sharpness and changes nothing Tesseract reads (psm 3 is fine to ±0.5°)."""
SKEW_RESOLUTION = 0.5
"""Degrees per Hough step: within ±0.25° Tesseract reads as on an upright page, and a finer step
costs time by the step (0.1° took 1.6 s a page; this 0.11 s)."""
SKEW_WIDTH = 600
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
UNEVEN_LIGHT = 40
"""Background brightness spread (gray levels, 5th to 95th percentile) above which light is flattened."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """The image Tesseract reads and how it was made from the page: `matrix` maps prepared pixel
    coordinates back to the original page's (a 2x3 affine); `steps` name what was done."""

    image: Image.Image
    original_size: tuple[int, int]
    matrix: tuple[tuple[float, float, float], tuple[float, float, float]]
    rotation: int = 0
    skew: float = 0.0
    steps: tuple[str, ...] = ()

    def to_original(self, box: Box) -> Box:
        """The box, in prepared-image pixels, as a box on the original page (the bounds of its
        four corners mapped back)."""
        (a, b, c), (d, e, f) = self.matrix
        x0, y0, x1, y1 = box
        xs = [a * x + b * y + c for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))]
        ys = [d * x + e * y + f for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))]
        w, h = self.original_size
        return (
            round(min(max(min(xs), 0.0), w), 2),
            round(min(max(min(ys), 0.0), h), 2),
            round(min(max(max(xs), 0.0), w), 2),
            round(min(max(max(ys), 0.0), h), 2),
        )

    @property
    def identity(self) -> bool:
        return self.matrix == _IDENTITY


_IDENTITY = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0))


def prepare(image: Image.Image) -> Prepared:
    """The page as 8-bit gray with coloured ink removed, light flattened and skew corrected."""
    steps: list[str] = []
    gray = _without_colour_ink(image, steps)
    gray = _flattened(gray, steps)
    angle = measure_skew(gray)
    size = (image.width, image.height)
    if angle is None or abs(angle) < SKEW_MIN:
        return Prepared(Image.fromarray(gray, mode="L"), size, _IDENTITY, steps=tuple(steps))
    rotated, matrix = rotate(gray, angle)
    steps.append(f"deskewed {angle:+.1f}°")
    return Prepared(
        Image.fromarray(rotated, mode="L"), size, matrix, skew=round(angle, 2), steps=tuple(steps)
    )


def turned(prepared: Prepared, degrees: int) -> Prepared:
    """`prepared` turned clockwise by a right angle (what OSD asks for), boxes still mapping back."""
    import cv2

    codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    source = np.asarray(prepared.image)
    h, w = source.shape[:2]
    out = cv2.rotate(source, codes[degrees])
    # prepared (x, y) from turned (u, v): 90° cw maps (x, y) -> (h-1-y, x), so x = v, y = h-1-u.
    back = {
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


def _compose(
    outer: tuple[tuple[float, float, float], tuple[float, float, float]],
    inner: tuple[tuple[float, float, float], tuple[float, float, float]],
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """outer ∘ inner for 2x3 affine maps (apply `inner`, then `outer`)."""
    m = np.vstack([np.array(outer), [0, 0, 1]]) @ np.vstack([np.array(inner), [0, 0, 1]])
    return (tuple(float(v) for v in m[0]), tuple(float(v) for v in m[1]))  # type: ignore[return-value]


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
    scale = 400 / max(h, w)
    small = cv2.resize(gray, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
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


def measure_skew(gray: np.ndarray) -> float | None:
    """The page's skew in degrees (positive: turned clockwise), from the text lines' Hough peaks
    (the `deskew` package) on a copy scaled to `SKEW_WIDTH`; None when no lines are found."""
    import cv2
    from deskew import determine_skew

    h, w = gray.shape
    scale = min(1.0, SKEW_WIDTH / w)
    small = cv2.resize(gray, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    if cv2.countNonZero((small < 128).view(np.uint8)) < SKEW_MIN_INK:
        return None  # a word or two: their edges give any angle
    angle = determine_skew(small, min_deviation=SKEW_RESOLUTION, max_angle=SKEW_RANGE, min_angle=-SKEW_RANGE)
    if angle is None or not np.isfinite(angle):
        return None
    # deskew returns the counter-clockwise turn that straightens the page: the clockwise skew
    return float(angle)


def rotate(
    gray: np.ndarray, clockwise: float
) -> tuple[np.ndarray, tuple[tuple[float, float, float], tuple[float, float, float]]]:
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
    back = cv2.invertAffineTransform(forward)
    return out, (tuple(float(v) for v in back[0]), tuple(float(v) for v in back[1]))  # type: ignore[return-value]
