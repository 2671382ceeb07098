"""Running encoder and decoder programs as separate processes, with timeouts and quoted errors."""

from __future__ import annotations

import functools
import re
import subprocess
from collections.abc import Sequence

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


def ffmpeg_rawvideo_input(pix_fmt: str, width: int, height: int) -> list[str]:
    """FFmpeg arguments reading one raw BT.709 full-range frame from stdin."""
    colour = ["-color_range", "pc", "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "iec61966-2-1"]
    return ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{width}x{height}", *colour, "-i", "pipe:0", "-frames:v", "1"]
