"""JPEG through Pillow's libjpeg-turbo: optimised Huffman tables, progressive, 4:2:0 or 4:4:4."""

from __future__ import annotations

from typing import Any, ClassVar

import PIL
from PIL import features

from pico.codecs.base import PillowCodec


class Jpeg(PillowCodec):
    """Baseline-DCT JPEG, libjpeg-turbo quality 1..100, optimised Huffman coding, 4:2:0 chroma."""

    name = "jpeg"
    library = "libjpeg-turbo via Pillow"
    pillow_format = "JPEG"
    param_range = (1.0, 100.0)
    chroma = "420"
    extension = "jpg"
    subsampling: ClassVar[int] = 2  # Pillow: 0 = 4:4:4, 2 = 4:2:0
    param_at_1bpp = 88.0
    doublings_per_unit = 0.025

    def version(self) -> str:
        return f"libjpeg-turbo {features.version('libjpeg_turbo')} / Pillow {PIL.__version__}"

    def save_options(self, param: float) -> dict[str, Any]:
        return {"quality": int(param), "optimize": True, "progressive": True, "subsampling": self.subsampling}

    def settings(self) -> dict[str, Any]:
        return {"chroma": self.chroma, "optimize": True, "progressive": True}


class Jpeg444(Jpeg):
    """The same JPEG without chroma subsampling (4:4:4)."""

    name = "jpeg444"
    chroma = "444"
    subsampling = 0
