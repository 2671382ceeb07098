"""JPEG XL through imagecodecs' libjxl, driven by the Butteraugli distance."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from pico.codecs.base import Codec, check_image
from pico.errors import BitstreamError


class Jxl(Codec):
    """libjxl VarDCT at effort 7 (the default 'squirrel'), distance 0.05..25 (higher = fewer bits), XYB, 4:4:4.

    imagecodecs rather than pillow-jxl-plugin because it exposes the distance directly, a
    continuous parameter that rate control can steer finely.
    """

    name = "jxl"
    library = "libjxl via imagecodecs"
    param_name = "distance"
    param_range = (0.05, 25.0)
    param_integer = False
    higher_param_more_bits = False
    chroma = "444"
    extension = "jxl"
    effort: ClassVar[int] = 7
    param_log = True
    param_at_1bpp = 1.66
    doublings_per_unit = 0.8

    def available(self) -> str | None:
        try:
            import imagecodecs
        except ImportError:
            return "imagecodecs is not installed; pip install imagecodecs"
        if not imagecodecs.JPEGXL.available:
            return "this imagecodecs build lacks libjxl; install the PyPI wheel"
        return None

    def version(self) -> str:
        import imagecodecs

        return f"{imagecodecs.jpegxl_version()} / imagecodecs {imagecodecs.__version__}"

    def encode(self, image: np.ndarray, param: float) -> bytes:
        import imagecodecs

        check_image(image)
        # usecontainer=False: the bare codestream, so no container bytes are counted.
        return bytes(
            imagecodecs.jpegxl_encode(image, distance=self.clamp_param(param), effort=self.effort, usecontainer=False)
        )

    def decode(self, data: bytes) -> np.ndarray:
        import imagecodecs

        try:
            decoded = imagecodecs.jpegxl_decode(data)
        except Exception as exc:
            raise BitstreamError(f"jxl: cannot decode the bitstream ({exc})") from exc
        return np.ascontiguousarray(decoded[..., :3]).astype(np.uint8, copy=False)

    def settings(self) -> dict[str, Any]:
        return {"chroma": self.chroma, "effort": self.effort, "mode": "VarDCT", "container": False}
