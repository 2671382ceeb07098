"""Crops served to raters: the same lossless PNG, re-encoded from pixels only, for every stimulus.

Whatever the source format, a crop is decoded to 8-bit RGB and written as a fresh PNG with
fixed options and no ancillary chunks (no EXIF, text, ICC or time), so neither the bytes'
format nor their metadata says which codec made the pixels.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image


def crop_box(
    *, width: int, height: int, crop_w: int, crop_h: int, x: int | None, y: int | None
) -> tuple[int, int, int, int]:
    """(x, y, w, h) of a crop of at most ``crop_w`` x ``crop_h`` inside the image; None = centred."""
    w, h = min(crop_w, width), min(crop_h, height)
    x = (width - w) // 2 if x is None else x
    y = (height - h) // 2 if y is None else y
    return max(0, min(x, width - w)), max(0, min(y, height - h)), w, h


def encode_png(image: Image.Image) -> bytes:
    """``image`` as a metadata-free RGB PNG."""
    pixels = Image.fromarray(np.asarray(image.convert("RGB"), dtype=np.uint8), mode="RGB")
    buffer = io.BytesIO()
    pixels.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


@lru_cache(maxsize=128)
def crop_png(path: Path, box: tuple[int, int, int, int]) -> bytes:
    """The ``box`` (x, y, w, h) of the image at ``path`` as a metadata-free PNG (cached: trials repeat crops)."""
    x, y, w, h = box
    with Image.open(path) as image:
        return encode_png(image.crop((x, y, x + w, y + h)))
