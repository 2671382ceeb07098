"""Crops served to raters: the same lossless PNG, re-encoded from pixels only, for every stimulus.

Whatever the source format, a crop is decoded to 8-bit RGB and written as a fresh PNG with
fixed options and no ancillary chunks (no EXIF, text, ICC or time), so neither the bytes'
format nor their metadata says which codec made the pixels. Each crop is rendered once and kept
in the study files (``files.py``) under a hash of its source and box; requests stream it.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image

from evalsite.rating.files import stored


def crop_box(
    *, width: int, height: int, crop_w: int, crop_h: int, x: int | None, y: int | None
) -> tuple[int, int, int, int]:
    """(x, y, w, h) of a crop of at most ``crop_w`` x ``crop_h`` inside the image; None = centred."""
    w, h = min(crop_w, width), min(crop_h, height)
    x = (width - w) // 2 if x is None else x
    y = (height - h) // 2 if y is None else y
    return max(0, min(x, width - w)), max(0, min(y, height - h)), w, h


def encode_png(image: Image.Image, compress_level: int = 6) -> bytes:
    """``image`` as a metadata-free RGB PNG; ``compress_level`` 1 encodes twice as fast, a quarter larger."""
    pixels = Image.fromarray(np.asarray(image.convert("RGB"), dtype=np.uint8), mode="RGB")
    buffer = io.BytesIO()
    pixels.save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


CROP_FORMAT = "png1"  # part of every stored crop's name: change it when the encoding changes


def render_crop(path: Path, box: tuple[int, int, int, int]) -> bytes:
    """The ``box`` (x, y, w, h) of the image at ``path`` as a metadata-free PNG."""
    x, y, w, h = box
    with Image.open(path) as image:
        return encode_png(image.crop((x, y, x + w, y + h)))


def crop_name(source: str, box: tuple[int, int, int, int]) -> str:
    """The study-files name of a crop: a hash of its source's content hash (``source``) and the box."""
    digest = hashlib.sha256(f"{CROP_FORMAT}:{source}:{box}".encode()).hexdigest()
    return f"crops/{digest[:2]}/{digest}.png"


def crop_file(path: Path, source: str, box: tuple[int, int, int, int]) -> str:
    """The study-files name of the ``box`` crop of the image at ``path`` (content hash ``source``), rendered once.

    The first call renders and stores it (at generation, see ``services.prepare_rater_stimuli``);
    every later one only finds it, so serving a crop costs no decoding or encoding.
    """
    return stored(crop_name(source, box), lambda: render_crop(path, box))
