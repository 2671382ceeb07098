"""The codec interface every compared codec implements, and the shared in-process mechanics.

A codec turns an HxWx3 uint8 RGB array into a bitstream (``encode``) and back (``decode``)
at one value of its quality parameter. Rate control only needs the parameter's range,
whether it is an integer and which direction gives more bits; the ladder only needs
``name``, ``version()`` and ``settings()`` to key its cache.
"""

from __future__ import annotations

import io
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from pico.errors import BitstreamError, CodecUnavailable


class Codec:
    """One compared codec at its documented best settings.

    Subclasses set the class attributes and implement ``encode``/``decode``. ``available``
    returns ``None`` when the codec can run here, otherwise the reason and the fix.
    """

    name: str = ""
    kind: str = "builtin"
    library: str = ""
    param_name: str = "quality"
    param_range: tuple[float, float] = (0.0, 100.0)
    param_integer: bool = True
    higher_param_more_bits: bool = True
    chroma: str = "420"
    extension: str = "bin"
    # Rate-control hints: search log2(param) instead of param; the parameter giving about
    # 1 bpp on a typical photo (None: start mid-range); the typical slope of log2(bpp) per
    # unit of the searched coordinate (None: 12 doublings over the range).
    param_log: bool = False
    param_log_offset: float | None = None  # search -log2(offset - param): for scales that explode near their top
    param_at_1bpp: float | None = None
    doublings_per_unit: float | None = None
    # Smallest parameter change that can change the bitstream (None: 1 for integers, else range/1000).
    param_step: float | None = None

    def version(self) -> str:
        """Library name and version, part of the cache key."""
        raise NotImplementedError

    def available(self) -> str | None:
        """``None`` when usable here, else why not and how to fix it."""
        return None

    def encode(self, image: np.ndarray, param: float) -> bytes:
        """Encode an HxWx3 uint8 RGB image at ``param``."""
        raise NotImplementedError

    def decode(self, data: bytes) -> np.ndarray:
        """Decode a bitstream to an HxWx3 uint8 RGB image."""
        raise NotImplementedError

    def settings(self) -> dict[str, Any]:
        """Every setting that changes the bitstream besides ``param`` (cache key, docs)."""
        return {"chroma": self.chroma}

    def reconstruct(self, data: bytes, width: int, height: int) -> np.ndarray:
        """Decode ``data`` of a ``width`` x ``height`` reference, cropping codec padding away."""
        image = self.decode(data)
        if image.shape[0] < height or image.shape[1] < width:
            raise BitstreamError(
                f"{self.name}: decoded {image.shape[1]}x{image.shape[0]}, smaller than the reference {width}x{height}"
            )
        return np.ascontiguousarray(image[:height, :width, :3])

    def clamp_param(self, param: float) -> float:
        """``param`` limited to the range (and rounded for integer parameters)."""
        low, high = self.param_range
        param = min(max(float(param), low), high)
        return float(round(param)) if self.param_integer else param

    def require_available(self) -> None:
        """Raise :class:`CodecUnavailable` with the reason when the codec cannot run here."""
        reason = self.available()
        if reason is not None:
            raise CodecUnavailable(f"codec {self.name!r} is unavailable: {reason}")

    def describe(self) -> dict[str, Any]:
        """One row of ``pico codecs``: name, kind, library, version, chroma, parameter, availability."""
        reason = self.available()
        try:
            version = self.version() if reason is None else ""
        except Exception as exc:  # a broken install should show as a row, not crash the listing
            version, reason = "", f"version query failed: {exc}"
        low, high = self.param_range
        direction = "more bits" if self.higher_param_more_bits else "fewer bits"
        return {
            "name": self.name,
            "kind": self.kind,
            "library": self.library,
            "version": version,
            "chroma": self.chroma,
            "param": f"{self.param_name} {low:g}..{high:g} ({'integer' if self.param_integer else 'real'}, higher = {direction})",
            "status": "available" if reason is None else f"unavailable: {reason}",
        }


class PillowCodec(Codec):
    """A codec run in-process through a Pillow plugin: ``save_options`` maps param to ``Image.save`` keywords."""

    pillow_format: ClassVar[str] = ""

    def save_options(self, param: float) -> dict[str, Any]:
        """Keyword arguments of ``Image.save`` for ``param``."""
        raise NotImplementedError

    def encode(self, image: np.ndarray, param: float) -> bytes:
        """Encode through ``Image.save`` into memory."""
        check_image(image)
        buffer = io.BytesIO()
        Image.fromarray(image, "RGB").save(buffer, self.pillow_format, **self.save_options(self.clamp_param(param)))
        return buffer.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        """Decode through ``Image.open``."""
        try:
            with Image.open(io.BytesIO(data)) as decoded:
                return np.asarray(decoded.convert("RGB"))
        except (OSError, ValueError, SyntaxError) as exc:
            raise BitstreamError(f"{self.name}: cannot decode the bitstream ({exc})") from exc


def check_image(image: np.ndarray) -> None:
    """Refuse anything but an HxWx3 uint8 array, naming what was given."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"codecs take HxWx3 uint8 RGB arrays, got shape {image.shape} dtype {image.dtype}")
