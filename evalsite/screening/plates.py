"""Pseudo-isochromatic (Ishihara-style) plates, drawn server-side with numpy and Pillow.

A plate is a disc of random dots. Dots inside a digit take the figure colour, the others the
background colour; every dot's lightness is jittered so that the digit cannot be read from
lightness alone. For a ``protan``, ``deutan`` or ``tritan`` plate the two colours lie on a
confusion line of that dichromacy: they differ only in the excitation of the L, M or S cones
respectively, so a viewer missing that cone class sees both alike and cannot read the digit.
The ``control`` plate is a near-black figure on a light grey ground (no hue difference, and a
luminance contrast above 7:1 even with the dot jitter), which everyone reads, colour-blind or not.

Each attempt draws fresh digits, dot layouts and colours from its own seed, so answers cannot
be shared between raters; the same ``PlateSpec`` always renders the same image.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numba
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy.ndimage import maximum_filter

from evalsite.rating.imaging import encode_png

AXES = ("protan", "deutan", "tritan")
CONTROL = "control"
DIGITS = "23456789"
PLATE_PX = 360
CONTROL_FIGURE, CONTROL_BACKGROUND = 0.01, 0.55  # linear grey levels of the control plate
LIGHTNESS_JITTER = (0.78, 1.18)  # every dot's colour is scaled by a random factor in this range

# Linear sRGB -> XYZ (D65) and XYZ -> LMS (Hunt-Pointer-Estevez).
_RGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
_XYZ_TO_LMS = np.array([[0.38971, 0.68898, -0.07868], [-0.22981, 1.18340, 0.04641], [0.0, 0.0, 1.0]])
_RGB_TO_LMS = _XYZ_TO_LMS @ _RGB_TO_XYZ
_CONE = {"protan": 0, "deutan": 1, "tritan": 2}
_FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
)


@dataclass(frozen=True)
class PlateSpec:
    """One plate: the digit drawn, the colour axis it tests and the seed of its layout."""

    digit: str
    axis: str
    seed: int


def plate_axes(count: int) -> list[str]:
    """The axes of a test of ``count`` plates: a control plate first, then protan, deutan and tritan in turn."""
    if count < 1:
        raise ValueError(f"a colour test needs at least one plate, got {count}")
    return [CONTROL] + [AXES[i % len(AXES)] for i in range(count - 1)]


def new_plate(axis: str, rng: random.Random) -> PlateSpec:
    """A plate of ``axis`` with a random digit and layout seed."""
    return PlateSpec(digit=rng.choice(DIGITS), axis=axis, seed=rng.getrandbits(63))


def plan_plates(count: int, seed: int) -> list[PlateSpec]:
    """``count`` plates in the order of :func:`plate_axes`, each with a fresh digit and layout."""
    rng = random.Random(seed)
    return [new_plate(axis, rng) for axis in plate_axes(count)]


def confusion_colours(axis: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Figure and background colours (linear RGB, 0..1) that only the ``axis`` cone class tells apart."""
    if axis == CONTROL:
        # Neutral greys far apart in luminance: readable with any (or no) colour vision.
        return np.full(3, CONTROL_FIGURE), np.full(3, CONTROL_BACKGROUND)
    base = np.array([0.32, 0.30, 0.26]) + rng.uniform(-0.04, 0.04, 3)
    direction = np.linalg.solve(_RGB_TO_LMS, np.eye(3)[_CONE[axis]])
    direction /= np.abs(direction).max()
    # The largest step along the confusion line that keeps both colours (with lightness jitter) in gamut.
    step = float(np.min(np.minimum(base - 0.03, 0.8 - base) / np.abs(direction)))
    figure, background = base + step * direction, base - step * direction
    return (figure, background) if rng.random() < 0.5 else (background, figure)


def cone_response(linear_rgb: np.ndarray) -> np.ndarray:
    """LMS cone excitations of linear sRGB colours (last axis = RGB)."""
    return linear_rgb @ _RGB_TO_LMS.T


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONT_PATHS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def digit_mask(digit: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask of ``digit`` drawn large, slightly shifted and rotated."""
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    font = _font(int(size * 0.68))
    draw.text((size / 2, size / 2), digit, fill=255, font=font, anchor="mm")
    canvas = canvas.rotate(float(rng.uniform(-12, 12)), translate=tuple(rng.integers(-size // 20, size // 20, 2)))
    return _max_filter(np.asarray(canvas), 9) > 127


def _max_filter(image: np.ndarray, width: int) -> np.ndarray:
    """Each pixel's maximum over the ``width`` × ``width`` square around it, edge pixels repeated:
    Pillow's ``MaxFilter``, the same values (SciPy's: about 3 ms for a plate, where Pillow takes 70)."""
    return maximum_filter(image, size=width, mode="nearest")


def _dots(size: int, rng: np.random.Generator) -> np.ndarray:
    """Non-overlapping dots (x, y, r) filling a disc, by random placement with rejection.

    Candidates are tried biggest first (small ones fill the gaps); :func:`_place` keeps those
    that touch no dot placed before.
    """
    centre, radius = size / 2, size / 2 - 2
    candidates = 16000
    r_min, r_max = size * 0.008, size * 0.022
    r = rng.uniform(r_min, r_max, candidates)
    angle = rng.uniform(0, 2 * np.pi, candidates)
    dist = (radius - r) * np.sqrt(rng.uniform(0, 1, candidates))
    x, y = centre + dist * np.cos(angle), centre + dist * np.sin(angle)
    order = np.argsort(-r)
    x, y, r = x[order], y[order], r[order]
    cell = 2 * r_max + 1.0
    keep = _place(x, y, r, cell, int(size // cell) + 3, _cell_capacity(r_min, cell))
    return np.stack([x[keep], y[keep], r[keep]], axis=1)


def _cell_capacity(r_min: float, cell: float) -> int:
    """More than the dots whose centres fit in a 3 × 3 block of cells: centres of non-touching
    dots are at least d = 2·r_min + 1 apart, so discs of diameter d around them are disjoint and
    lie in the block grown by d/2 on each side."""
    spacing = 2 * r_min + 1.0
    return int((3 * cell + spacing) ** 2 / (math.pi * spacing**2 / 4)) + 1


@numba.njit(nogil=True, cache=True)
def _place(x: np.ndarray, y: np.ndarray, r: np.ndarray, cell: float, cells: int, capacity: int) -> np.ndarray:
    """Which candidates (in order) touch no kept one before them: each kept dot is listed in its
    grid cell and the eight around it, cells as wide as the largest distance at which two dots
    can still touch, so a candidate is checked against the dots of its own cell only."""
    listed = np.empty((cells, cells, capacity), dtype=np.int64)
    counts = np.zeros((cells, cells), dtype=np.int64)
    keep = np.zeros(x.shape[0], dtype=np.bool_)
    for i in range(x.shape[0]):
        cx, cy = int(x[i] // cell) + 1, int(y[i] // cell) + 1  # +1: the cells around the disc's edge exist too
        touches = False
        for k in range(counts[cx, cy]):
            j = listed[cx, cy, k]
            if (x[j] - x[i]) ** 2 + (y[j] - y[i]) ** 2 < (r[j] + r[i] + 1.0) ** 2:
                touches = True
                break
        if touches:
            continue
        keep[i] = True
        for gx in range(cx - 1, cx + 2):
            for gy in range(cy - 1, cy + 2):
                if counts[gx, gy] == capacity:
                    raise ValueError("more dots in a grid cell than can fit")
                listed[gx, gy, counts[gx, gy]] = i
                counts[gx, gy] += 1
    return keep


def _to_srgb(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0, 1)
    encoded = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.round(encoded * 255).astype(np.uint8)


def render_plate(spec: PlateSpec, size: int = PLATE_PX) -> Image.Image:
    """The plate of ``spec`` as an RGB image ``size`` pixels square on a white background."""
    rng = np.random.default_rng(spec.seed)
    figure, background = confusion_colours(spec.axis, rng)
    mask = digit_mask(spec.digit, size, rng)
    dots = _dots(size, rng)
    inside = mask[np.clip(dots[:, 1].astype(int), 0, size - 1), np.clip(dots[:, 0].astype(int), 0, size - 1)]
    colours = np.where(inside[:, None], figure, background) * rng.uniform(*LIGHTNESS_JITTER, (len(dots), 1))
    srgb = _to_srgb(colours)
    image = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for (x, y, r), colour in zip(dots, srgb, strict=True):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(c) for c in colour))
    return image


def plate_png(spec: PlateSpec) -> bytes:
    """The plate of ``spec`` as raters get it, a PNG; every arriving rater needs eight new plates,
    so they are encoded for speed (compression level 1: 3.6 ms instead of 7, 28 KiB instead of 22)."""
    return encode_png(render_plate(spec), compress_level=1)


def is_answer(answer: str) -> bool:
    """Whether ``answer`` can be scored: digits 0-9 (spaces around ignored), or empty for "I see no number"."""
    return re.fullmatch(r"[0-9]*", answer.strip()) is not None


def is_correct(spec: PlateSpec, answer: str) -> bool:
    """Whether the rater's answer names the plate's digit (spaces ignored)."""
    return answer.strip() == spec.digit
