"""AVIF with the SVT-AV1 encoder, run inside the imageio-ffmpeg FFmpeg binary; decoded by Pillow's libavif/dav1d.

Pillow's libavif has only libaom, so SVT-AV1 comes from FFmpeg's ``libsvtav1`` and FFmpeg's
AVIF muxer. pico does the RGB -> 8-bit BT.709 full-range 4:2:0 conversion and signals it
in the file, so libavif converts back with the same matrix.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pico.codecs.base import PillowCodec, check_image
from pico.codecs.process import ffmpeg_encode_frame, ffmpeg_encoder_version, ffmpeg_missing
from pico.codecs.yuv import YuvFormat


class AvifSvt(PillowCodec):
    """SVT-AV1 preset 4, CRF 1..63 (higher = fewer bits), 8-bit 4:2:0, in an AVIF file."""

    name = "avif-svt"
    library = "SVT-AV1 in the imageio-ffmpeg FFmpeg (encode) + libavif/dav1d via Pillow (decode)"
    param_name = "crf"
    param_range = (1.0, 63.0)
    higher_param_more_bits = False
    chroma = "420"
    extension = "avif"
    preset: ClassVar[int] = 4
    fmt: ClassVar[YuvFormat] = YuvFormat(chroma="420", bit_depth=8, matrix="bt709", full_range=True)
    timeout_s: ClassVar[float] = 600.0
    param_at_1bpp = 22.8
    doublings_per_unit = 1 / 7

    def available(self) -> str | None:
        return ffmpeg_missing("libsvtav1", "libdav1d")

    def version(self) -> str:
        return ffmpeg_encoder_version("libsvtav1", rb"SVT[^\n]*?v?(\d+\.\d+\.\d+)")

    def encode(self, image: np.ndarray, param: float) -> bytes:
        check_image(image)
        self.require_available()
        # The AVIF muxer seeks back to write box sizes, so it needs a real file, not a pipe.
        with tempfile.TemporaryDirectory(prefix="pico-svt-") as tmp:
            out = Path(tmp) / "out.avif"
            args = ["-c:v", "libsvtav1", "-preset", str(self.preset), "-crf", str(int(self.clamp_param(param)))]
            args += ["-still-picture", "1", "-f", "avif", str(out)]
            ffmpeg_encode_frame(image, self.fmt, args, what=f"{self.name} encode", timeout_s=self.timeout_s)
            return out.read_bytes()

    def settings(self) -> dict[str, Any]:
        return {"chroma": self.chroma, "preset": self.preset, "bit_depth": 8, "matrix": "bt709-full"}
