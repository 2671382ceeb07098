"""JPEG 2000 through Pillow's OpenJPEG, with the 9/7 wavelet and OpenJPEG's own rate allocation."""

from __future__ import annotations

from typing import Any

import PIL
from PIL import features

from pico.codecs.base import PillowCodec


class Jpeg2000(PillowCodec):
    """OpenJPEG with the parameter as the requested bpp (one quality layer, irreversible 9/7, ICT, 4:4:4).

    OpenJPEG's rate allocation lands near but not on the request, so rate control still
    searches, usually in one or two encodes.
    """

    name = "jp2"
    library = "OpenJPEG via Pillow"
    pillow_format = "JPEG2000"
    param_name = "requested bpp"
    param_range = (0.005, 12.0)
    param_integer = False
    chroma = "444"
    extension = "j2k"
    param_log = True
    param_at_1bpp = 1.0
    doublings_per_unit = 1.0

    def version(self) -> str:
        return f"OpenJPEG {features.version('jpg_2000')} / Pillow {PIL.__version__}"

    def save_options(self, param: float) -> dict[str, Any]:
        # A codestream (.j2k) rather than a .jp2 box file: no container bytes are counted.
        return {
            "quality_mode": "rates",
            "quality_layers": [24.0 / param],
            "irreversible": True,
            "mct": 1,
            "num_resolutions": 6,
            "no_jp2": True,
        }

    def settings(self) -> dict[str, Any]:
        return {"chroma": self.chroma, "wavelet": "9/7", "layers": 1, "resolutions": 6, "container": "j2k"}
