"""HEIC (HEVC intra) through pillow-heif's libheif with x265 to encode and libde265 to decode."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from pico.codecs.base import PillowCodec


class Heic(PillowCodec):
    """x265 preset 'slow' via libheif quality 0..100, 4:2:0; the HEVC row that stands in for BPG."""

    name = "heic"
    library = "libheif + x265 (encode) + libde265 (decode) via pillow-heif"
    pillow_format = "HEIF"
    param_range = (0.0, 100.0)
    chroma = "420"
    extension = "heic"
    preset: ClassVar[str] = "slow"
    param_at_1bpp = 60.0
    doublings_per_unit = 0.08

    def available(self) -> str | None:
        try:
            import pillow_heif
        except ImportError:
            return "pillow-heif is not installed; pip install pillow-heif"
        if "x265" not in pillow_heif.libheif_info().get("encoders", {}):
            return "pillow-heif's libheif has no x265 encoder; install the PyPI wheel, which bundles it"
        pillow_heif.register_heif_opener()
        return None

    def version(self) -> str:
        import pillow_heif

        info = pillow_heif.libheif_info()
        return f"libheif {info['libheif']} ({info['HEIF']}; {info['decoders'].get('libde265', '')}) / pillow-heif {pillow_heif.__version__}"

    def encode(self, image: np.ndarray, param: float) -> bytes:
        self.require_available()
        return super().encode(image, param)

    def decode(self, data: bytes) -> np.ndarray:
        self.require_available()
        return super().decode(data)

    def save_options(self, param: float) -> dict[str, Any]:
        return {"quality": int(param), "chroma": 420, "enc_params": {"preset": self.preset}}

    def settings(self) -> dict[str, Any]:
        return {"chroma": self.chroma, "encoder": "x265", "preset": self.preset}
