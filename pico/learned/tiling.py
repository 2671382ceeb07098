"""Tile geometry: non-overlapping cores, each read with a margin of real neighbouring pixels.

PICO section 4: 504x504 tiles, each padded to 512x512 with 4 pixels from its neighbours, coded
independently and batched; decoded tiles keep only their core, so memory stays bounded for any
image size and seams get context from both sides. Sides on the image border take no margin, and
tiles in the last row and column shrink to the smallest coded size (a multiple of 64) that holds
the rest of the image (reflected beyond the border), so little is spent on padding.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

CORE = 504
MARGIN = 4
MULTIPLE = 64  # the model's total downsampling (latent /16, hyper-latent /64)


@dataclass(frozen=True)
class Box:
    """One tile: its core in the image, the margin above/left of the core, and its coded size."""

    y: int
    x: int
    height: int
    width: int
    top: int
    left: int
    coded_height: int
    coded_width: int


def check_core(core: int = CORE, margin: int = MARGIN) -> int:
    """Check a tile core size (core + 2 margins must be a multiple of 64) and return it."""
    if (core + 2 * margin) % MULTIPLE:
        raise ValueError(f"tile core {core} + 2 x margin {margin} must be a multiple of {MULTIPLE}")
    return core


def _coded(extent: int) -> int:
    return math.ceil(extent / MULTIPLE) * MULTIPLE


def grid(height: int, width: int, core: int) -> tuple[int, int]:
    """(rows, cols) of tiles covering the image."""
    return math.ceil(height / core), math.ceil(width / core)


def boxes(height: int, width: int, core: int, margin: int = MARGIN) -> list[Box]:
    """Every tile in raster order."""
    rows, cols = grid(height, width, core)
    out = []
    for r in range(rows):
        h = min(core, height - r * core)
        top, bottom = (margin if r > 0 else 0), (margin if r < rows - 1 else 0)
        for c in range(cols):
            w = min(core, width - c * core)
            left, right = (margin if c > 0 else 0), (margin if c < cols - 1 else 0)
            out.append(Box(r * core, c * core, h, w, top, left, _coded(top + h + bottom), _coded(left + w + right)))
    return out


def pad_image(image: np.ndarray, tile_boxes: list[Box]) -> np.ndarray:
    """Reflect-pad at the bottom and right so that every coded tile lies inside the array."""
    h, w = image.shape[:2]
    bottom = max(b.y - b.top + b.coded_height for b in tile_boxes) - h
    right = max(b.x - b.left + b.coded_width for b in tile_boxes) - w
    return np.pad(image, ((0, bottom), (0, right), (0, 0)), mode="symmetric")


def tiles(padded: np.ndarray, tile_boxes: list[Box]) -> Iterator[np.ndarray]:
    """The coded pixels of every tile (its core plus margins), in the order of ``tile_boxes``."""
    for b in tile_boxes:
        y, x = b.y - b.top, b.x - b.left
        yield padded[y : y + b.coded_height, x : x + b.coded_width]


def place(out: np.ndarray, tile: np.ndarray, box: Box) -> None:
    """Write a decoded tile's core into ``out``."""
    out[box.y : box.y + box.height, box.x : box.x + box.width] = tile[
        box.top : box.top + box.height, box.left : box.left + box.width
    ]


def batches(tile_boxes: list[Box], size: int) -> list[list[int]]:
    """Tile indices grouped into batches of equal coded shape, at most ``size`` each."""
    by_shape: dict[tuple[int, int], list[int]] = {}
    for i, b in enumerate(tile_boxes):
        by_shape.setdefault((b.coded_height, b.coded_width), []).append(i)
    return [ids[k : k + size] for ids in by_shape.values() for k in range(0, len(ids), size)]
