"""Lossy WebP (VP8 intra) through Pillow's libwebp at the slowest, best method."""

from __future__ import annotations

from typing import Any

import PIL
from PIL import features

from pico.codecs.base import PillowCodec


class Webp(PillowCodec):
    """libwebp quality 0..100 (real-valued), method 6; lossy WebP is always 4:2:0."""

    name = "webp"
    library = "libwebp via Pillow"
    pillow_format = "WEBP"
    param_range = (0.0, 100.0)
    param_integer = False
    chroma = "420"
    extension = "webp"
    param_at_1bpp = 93.0
    param_log_offset = 101.0
    doublings_per_unit = 0.8
    param_step = 0.25  # libwebp maps quality onto a quantiser table: finer steps change nothing

    def version(self) -> str:
        return f"libwebp {features.version('webp')} / Pillow {PIL.__version__}"

    def save_options(self, param: float) -> dict[str, Any]:
        return {"quality": param, "method": 6, "lossless": False, "exact": False}

    def settings(self) -> dict[str, Any]:
        return {"chroma": self.chroma, "method": 6}
