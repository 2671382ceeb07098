"""Tile geometry: non-overlapping cores, each read with a margin of real neighbouring pixels.

PICO section 4: 504x504 tiles, each padded to 512x512 with 4 pixels from its neighbours (reflected
at the image border), coded independently and batched; decoded tiles keep only their core, so
memory stays bounded for any image size and seams get context from both sides.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

CORE = 504
MARGIN = 4
MULTIPLE = 64  # the model's total downsampling (latent /16, hyper-latent /64)


def choose_core(height: int, width: int, core: int = CORE, margin: int = MARGIN) -> int:
    """The tile core for an image: ``core``, or less for images smaller than one tile."""
    if (core + 2 * margin) % MULTIPLE:
        raise ValueError(f"tile core {core} + 2 x margin {margin} must be a multiple of {MULTIPLE}")
    needed = math.ceil((max(height, width) + 2 * margin) / MULTIPLE) * MULTIPLE - 2 * margin
    return min(core, needed)


def grid(height: int, width: int, core: int) -> tuple[int, int]:
    """(rows, cols) of tiles covering the image."""
    return math.ceil(height / core), math.ceil(width / core)


def pad_image(image: np.ndarray, core: int, margin: int = MARGIN) -> np.ndarray:
    """Reflect-pad so that every tile, margin included, lies inside the array."""
    h, w = image.shape[:2]
    rows, cols = grid(h, w, core)
    pad = ((margin, rows * core - h + margin), (margin, cols * core - w + margin), (0, 0))
    return np.pad(image, pad, mode="symmetric")


def tiles(padded: np.ndarray, core: int, rows: int, cols: int, margin: int = MARGIN) -> Iterator[np.ndarray]:
    """Every (core + 2·margin)² tile, in raster order."""
    size = core + 2 * margin
    for r in range(rows):
        for c in range(cols):
            yield padded[r * core : r * core + size, c * core : c * core + size]


def place(out: np.ndarray, tile: np.ndarray, index: int, core: int, cols: int, margin: int = MARGIN) -> None:
    """Write a decoded tile's core into ``out`` (cropped at the image's right and bottom edges)."""
    r, c = divmod(index, cols)
    y, x = r * core, c * core
    h = min(core, out.shape[0] - y)
    w = min(core, out.shape[1] - x)
    out[y : y + h, x : x + w] = tile[margin : margin + h, margin : margin + w]
