"""Degraded scans of our own rendered pages, the way archives hold them (seeded, nothing committed).

Each `Condition` turns a clean 300-dpi RGB page rendering into what an office scanner, a fax, a
photocopier or a phone gives: skew, a red seal over the signature, blue ink, speckle, a shadow
gradient, keystone, JPEG, a lower resolution, a page turned sideways or upside down.
`degraded_pdf` writes an image-only PDF of a text-layer PDF under one condition; `bench/scan_parity.py`
scores every condition against the clean text and the OCR tests read single pages of it.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Step = Callable[[Image.Image, random.Random, int, int], Image.Image]
"""(page image, seeded rng, page index, page count) -> degraded image."""


def skew(degrees: float, fill: tuple[int, int, int] = (255, 255, 255)) -> Step:
    """Rotate by `degrees` (positive = clockwise, as a sheet fed askew); the corners show `fill`
    (white: the scanner's lid; a desk's gray under a phone)."""

    def step(image: Image.Image, rng: random.Random, index: int, count: int) -> Image.Image:
        colour = fill[0] if image.mode == "L" else fill
        return image.rotate(-degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=colour)

    return step


def turn(degrees: int, pages: str = "last") -> Step:
    """Turn one page by a right angle: the last page (`last`) or every second page (`odd`)."""

    def step(image: Image.Image, rng: random.Random, index: int, count: int) -> Image.Image:
        chosen = index == count - 1 if pages == "last" else index % 2 == 1
        return image.rotate(-degrees, expand=True) if chosen else image

    return step


def red_seal(image: Image.Image, rng: random.Random, index: int, count: int) -> Image.Image:
    """A round red seal, with ring text strokes and a star, stamped over the lower right of the
    last page (where the signer's name is) and lightly over the first page's header."""
    if index not in (0, count - 1):
        return image
    out = image.copy()
    layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    w, h = out.size
    r = int(w * 0.11)
    cx = int(w * (0.68 if index == count - 1 else 0.25)) + rng.randint(-20, 20)
    cy = int(h * (0.72 if index == count - 1 else 0.12)) + rng.randint(-20, 20)
    ink = (205, 30, 40, 170)
    for k in (0, int(r * 0.18)):
        draw.ellipse((cx - r + k, cy - r + k, cx + r - k, cy + r - k), outline=ink, width=max(3, r // 25))
    for a in range(0, 360, 9):  # the ring's lettering, as short strokes
        t = math.radians(a)
        x0, y0 = cx + math.cos(t) * r * 0.86, cy + math.sin(t) * r * 0.86
        x1, y1 = cx + math.cos(t) * r * 0.72, cy + math.sin(t) * r * 0.72
        draw.line((x0, y0, x1, y1), fill=ink, width=max(2, r // 40))
    star = [
        (
            cx + math.cos(math.radians(90 + 72 * i * 2)) * r * 0.3,
            cy - math.sin(math.radians(90 + 72 * i * 2)) * r * 0.3,
        )
        for i in range(5)
    ]
    draw.polygon(star, fill=ink)
    return Image.alpha_composite(out.convert("RGBA"), layer).convert("RGB")


def blue_ink(image: Image.Image, rng: random.Random, index: int, count: int) -> Image.Image:
    """A blue signature scribble on the last page and a handwritten blue tick in a margin of others."""
    out = image.copy()
    draw = ImageDraw.Draw(out)
    w, h = out.size
    ink = (25, 45, 190)
    if index == count - 1:
        x, y = w * 0.58, h * 0.75
        points = [
            (x + i * w * 0.012, y + math.sin(i * 1.3) * h * 0.02 + rng.uniform(-8, 8)) for i in range(24)
        ]
        draw.line(points, fill=ink, width=6, joint="curve")
    else:
        x, y = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.2, 0.8)
        draw.line([(x, y), (x + 40, y + 50), (x + 160, y - 90)], fill=ink, width=7)
    return out


def speckle(density: float) -> Step:
    """Fax and photocopy noise: black dots of 1-3 pixels, then a hard threshold."""

    def step(image: Image.Image, rng: random.Random, index: int, count: int) -> Image.Image:
        gray = np.asarray(image.convert("L")).copy()
        gen = np.random.default_rng(rng.randint(0, 2**31))
        n = int(gray.size * density)
        ys = gen.integers(0, gray.shape[0] - 3, n)
        xs = gen.integers(0, gray.shape[1] - 3, n)
        sizes = gen.integers(1, 4, n)
        for y, x, s in zip(ys, xs, sizes, strict=True):
            gray[y : y + s, x : x + s] = 0
        binary = np.where(gray < 150, 0, 255).astype(np.uint8)
        return Image.fromarray(binary, mode="L").convert("RGB")

    return step


def shadow(image: Image.Image, rng: random.Random, index: int, count: int) -> Image.Image:
    """A phone photo's uneven light: the page darkens towards one corner (down to 45 %)."""
    a = np.asarray(image.convert("RGB")).astype(np.float32)
    h, w = a.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 1.0 - 0.55 * ((xx / w) * 0.6 + (yy / h) * 0.4)
    return Image.fromarray(np.clip(a * light[..., None] * 0.95 + 8, 0, 255).astype(np.uint8))


DESK = (90, 90, 90)


def keystone(amount: float) -> Step:
    """A phone held slightly tilted: the top edge `amount` narrower than the bottom, on grey."""

    def step(image: Image.Image, rng: random.Random, index: int, count: int) -> Image.Image:
        import cv2

        a = np.asarray(image.convert("RGB"))
        h, w = a.shape[:2]
        inset = w * amount / 2
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        dst = np.float32([[inset, h * 0.02], [w - inset, h * 0.02], [w, h], [0, h]])
        matrix = cv2.getPerspectiveTransform(src, dst)
        warped = cv2.warpPerspective(a, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=DESK)
        return Image.fromarray(warped)

    return step


def blur(radius: float) -> Step:
    def step(image: Image.Image, rng: random.Random, index: int, count: int) -> Image.Image:
        return image.filter(ImageFilter.GaussianBlur(radius))

    return step


def jpeg(quality: int) -> Step:
    def step(image: Image.Image, rng: random.Random, index: int, count: int) -> Image.Image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=quality)
        buffer.seek(0)
        return Image.open(buffer).convert("RGB")

    return step


@dataclass(frozen=True)
class Condition:
    """A named degradation: the scan resolution and the steps applied to each page, in order."""

    name: str
    dpi: int
    steps: tuple[Step, ...] = field(default=())
    grayscale: bool = False

    def apply(self, page: Image.Image, seed: int, index: int, count: int) -> Image.Image:
        rng = random.Random(f"{self.name}:{seed}:{index}")
        image = page
        for step in self.steps:
            image = step(image, rng, index, count)
        return image.convert("L") if self.grayscale else image


CONDITIONS: dict[str, Condition] = {
    c.name: c
    for c in (
        Condition("clean-300", 300, (), grayscale=True),
        Condition("skew-cw-3", 300, (skew(3.0),), grayscale=True),
        Condition("skew-ccw-2", 300, (skew(-2.0), jpeg(80))),
        Condition("office-200", 200, (red_seal, blue_ink, skew(2.2), jpeg(75))),
        Condition("fax-200", 200, (skew(1.2), blur(0.6), speckle(0.0004)), grayscale=True),
        Condition("low-150", 150, (skew(0.8), jpeg(70)), grayscale=True),
        # a sheet lying askew on a desk, photographed from a little above its bottom edge
        Condition("photo", 200, (shadow, skew(1.5, DESK), keystone(0.04), blur(0.8), jpeg(70))),
        Condition("turned", 200, (turn(180, "last"), turn(90, "odd"))),
    )
}


def render_pages(pdf: Path, dpi: int) -> list[Image.Image]:
    """Every page of a text-layer PDF as an RGB image at `dpi`."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        return [doc[i].render(scale=dpi / 72).to_pil().convert("RGB") for i in range(len(doc))]
    finally:
        doc.close()


def degraded_pages(pdf: Path, condition: Condition, seed: int = 6) -> list[Image.Image]:
    pages = render_pages(pdf, condition.dpi)
    return [condition.apply(page, seed, i, len(pages)) for i, page in enumerate(pages)]


def degraded_pdf(pdf: Path, target: Path, condition: Condition, seed: int = 6) -> Path:
    """An image-only PDF of `pdf` under `condition`: each page image embedded at its scan dpi."""
    images = degraded_pages(pdf, condition, seed)
    first, rest = images[0], images[1:]
    first.save(target, "PDF", resolution=condition.dpi, save_all=True, append_images=rest)
    return target
