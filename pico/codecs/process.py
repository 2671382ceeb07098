"""Running encoder and decoder programs as separate processes, with timeouts and quoted errors."""

from __future__ import annotations

import functools
import re
import subprocess
from collections.abc import Sequence

import numpy as np

from pico.codecs.yuv import YuvFormat, planes_to_bytes, rgb_to_planes
from pico.errors import CodecFailed


def run_tool(args: Sequence[str], *, what: str, stdin: bytes | None = None, timeout_s: float = 600.0) -> bytes:
    """Run ``args``; return stdout, or raise :class:`CodecFailed` quoting the end of stderr."""
    try:
        done = subprocess.run(list(args), input=stdin, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise CodecFailed(f"{what}: timed out after {timeout_s:g} s: {' '.join(args)}") from None
    except OSError as exc:
        raise CodecFailed(f"{what}: cannot run {args[0]!r} ({exc})") from exc
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip()[-1500:]
        raise CodecFailed(f"{what}: {args[0]} exited with status {done.returncode}:\n{tail}")
    return done.stdout


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the FFmpeg binary inside the imageio-ffmpeg wheel (it carries libvvenc and libsvtav1)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@functools.cache
def ffmpeg_lists() -> tuple[str, str]:
    """The ``-encoders`` and ``-decoders`` listings of :func:`ffmpeg_exe`."""
    exe = ffmpeg_exe()
    encoders = run_tool([exe, "-hide_banner", "-encoders"], what="ffmpeg -encoders", timeout_s=30).decode()
    decoders = run_tool([exe, "-hide_banner", "-decoders"], what="ffmpeg -decoders", timeout_s=30).decode()
    return encoders, decoders


def ffmpeg_missing(encoder: str, decoder: str) -> str | None:
    """``None`` when the wheel's FFmpeg has both ``encoder`` and ``decoder``, else what is missing."""
    try:
        encoders, decoders = ffmpeg_lists()
    except (ImportError, RuntimeError, CodecFailed) as exc:
        return f"the imageio-ffmpeg FFmpeg binary cannot run ({exc}); pip install imageio-ffmpeg"
    missing = [f"encoder {encoder}" for _ in [0] if f" {encoder} " not in encoders]
    missing += [f"decoder {decoder}" for _ in [0] if f" {decoder} " not in decoders]
    if missing:
        return f"the imageio-ffmpeg FFmpeg ({ffmpeg_exe()}) lacks {' and '.join(missing)}; install an imageio-ffmpeg wheel built with it"
    return None


def ffmpeg_version() -> str:
    """FFmpeg version string of the wheel's binary."""
    import imageio_ffmpeg

    return f"FFmpeg {imageio_ffmpeg.get_ffmpeg_version()} (imageio-ffmpeg {imageio_ffmpeg.__version__})"


def ffmpeg_encoder_version(encoder: str, pattern: bytes) -> str:
    """``encoder`` with the version its FFmpeg help banner shows (``pattern`` captures it), and FFmpeg's."""
    banner = run_tool([ffmpeg_exe(), "-hide_banner", "-h", f"encoder={encoder}"], what="ffmpeg", timeout_s=30)
    match = re.search(pattern, banner)
    return f"{encoder}{' ' + match.group(1).decode() if match else ''} / {ffmpeg_version()}"


# FFmpeg's names for a YuvFormat's matrix: (-colorspace, -color_primaries).
_FFMPEG_MATRIX = {"bt709": ("bt709", "bt709"), "bt601": ("smpte170m", "smpte170m")}


def ffmpeg_encode_frame(
    image: np.ndarray, fmt: YuvFormat, encoder_args: Sequence[str], *, what: str, timeout_s: float
) -> bytes:
    """Encode one RGB image with the wheel's FFmpeg; return what FFmpeg wrote to stdout.

    pico converts the image to ``fmt``'s planes itself and pipes them in as one raw frame whose
    matrix, range and sRGB transfer are signalled to FFmpeg; ``encoder_args`` follow (codec,
    rate, muxer and output: ``pipe:1``, or a file for muxers that seek).
    """
    planes = rgb_to_planes(image, fmt)
    height, width = planes[0].shape
    pix_fmt = f"yuv{fmt.chroma}p" + ("" if fmt.bit_depth == 8 else f"{fmt.bit_depth}le")
    colorspace, primaries = _FFMPEG_MATRIX[fmt.matrix]
    colour = ["-color_range", "pc" if fmt.full_range else "tv", "-colorspace", colorspace]
    colour += ["-color_primaries", primaries, "-color_trc", "iec61966-2-1"]
    args = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", pix_fmt]
    args += ["-s", f"{width}x{height}", *colour, "-i", "pipe:0", "-frames:v", "1", *encoder_args]
    return run_tool(args, what=what, stdin=planes_to_bytes(planes), timeout_s=timeout_s)
