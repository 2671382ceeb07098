"""AVIF (AV1 intra) through Pillow's libavif with the libaom encoder and dav1d decoder."""

from __future__ import annotations

from typing import Any, ClassVar

import PIL

from pico.codecs.base import PillowCodec


class Avif(PillowCodec):
    """libaom at speed 4 (slow; libavif defaults to 6), libavif quality 0..100, 4:2:0, full range, one tile per image."""

    name = "avif"
    library = "libavif + libaom (encode) + dav1d (decode) via Pillow"
    pillow_format = "AVIF"
    param_range = (0.0, 100.0)
    chroma = "420"
    extension = "avif"
    speed: ClassVar[int] = 4
    param_at_1bpp = 60.0
    doublings_per_unit = 0.09

    def available(self) -> str | None:
        try:
            from PIL import _avif
        except ImportError:
            return "this Pillow has no AVIF support; install Pillow >= 11.3 wheels from PyPI"
        if not _avif.encoder_codec_available("aom"):
            return f"Pillow's libavif has no libaom encoder (it has: {_avif.codec_versions()})"
        return None

    def version(self) -> str:
        from PIL import _avif

        return f"libavif {_avif.libavif_version} ({_avif.codec_versions()}) / Pillow {PIL.__version__}"

    def save_options(self, param: float) -> dict[str, Any]:
        return {"quality": int(param), "speed": self.speed, "subsampling": "4:2:0", "range": "full", "codec": "aom"}

    def settings(self) -> dict[str, Any]:
        return {"chroma": self.chroma, "encoder": "aom", "speed": self.speed, "range": "full"}
