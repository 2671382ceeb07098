"""VVC (H.266) intra with vvenc, run inside the FFmpeg binary of the imageio-ffmpeg wheel.

pico converts RGB to 10-bit BT.709 full-range 4:2:0 itself, pipes it to ``ffmpeg -c:v
libvvenc``, keeps the raw Annex-B bitstream (no container bytes), and decodes it with
FFmpeg's native VVC decoder to YUV4MPEG2, converting back to RGB the same way.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from pico.codecs.base import Codec, check_image
from pico.codecs.process import ffmpeg_encode_frame, ffmpeg_encoder_version, ffmpeg_exe, ffmpeg_missing, run_tool
from pico.codecs.yuv import YuvFormat, planes_to_rgb, y4m_to_planes
from pico.errors import BitstreamError


class Vvc(Codec):
    """vvenc preset 'medium' (its default), QP 0..63 (higher = fewer bits), perceptual QPA on, 10-bit 4:2:0."""

    name = "vvc"
    library = "vvenc (encode) + FFmpeg native VVC decoder, in the imageio-ffmpeg FFmpeg binary"
    param_name = "qp"
    param_range = (0.0, 63.0)
    higher_param_more_bits = False
    chroma = "420"
    extension = "266"
    preset: ClassVar[str] = "medium"
    fmt: ClassVar[YuvFormat] = YuvFormat(chroma="420", bit_depth=10, matrix="bt709", full_range=True)
    timeout_s: ClassVar[float] = 600.0
    param_at_1bpp = 21.6
    doublings_per_unit = 1 / 6

    def available(self) -> str | None:
        return ffmpeg_missing("libvvenc", "vvc")

    def version(self) -> str:
        return ffmpeg_encoder_version("libvvenc", rb"vvenc[^\n]*?(\d+\.\d+\.\d+)")

    def encode(self, image: np.ndarray, param: float) -> bytes:
        check_image(image)
        self.require_available()
        args = ["-c:v", "libvvenc", "-preset", self.preset, "-qp", str(int(self.clamp_param(param))), "-qpa", "1"]
        args += ["-f", "vvc", "pipe:1"]
        return ffmpeg_encode_frame(image, self.fmt, args, what=f"{self.name} encode", timeout_s=self.timeout_s)

    def decode(self, data: bytes) -> np.ndarray:
        self.require_available()
        args = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "vvc", "-i", "pipe:0", "-frames:v", "1"]
        args += ["-pix_fmt", "yuv420p10le", "-strict", "-1", "-f", "yuv4mpegpipe", "pipe:1"]
        out = run_tool(args, what=f"{self.name} decode", stdin=data, timeout_s=self.timeout_s)
        if not out:
            raise BitstreamError("vvc: FFmpeg decoded no frame from the bitstream")
        return planes_to_rgb(y4m_to_planes(out, self.fmt), self.fmt)

    def settings(self) -> dict[str, Any]:
        return {"chroma": self.chroma, "preset": self.preset, "qpa": True, "bit_depth": 10, "matrix": "bt709-full"}


class VvcSlow(Vvc):
    """vvenc preset 'slow': about 5% fewer bits than 'medium' at three times the encode time."""

    name = "vvc-slow"
    preset = "slow"
