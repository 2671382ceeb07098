"""RGB <-> Y'CbCr conversion (BT.709/BT.601, full or limited range, 8/10-bit, 4:2:0/4:4:4) and raw/Y4M files.

Reference encoders read planar YUV, so pico does the colour conversion itself, the same
way for every such codec: chroma is averaged over 2x2 blocks (centre siting) and
upsampled bilinearly on the way back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from pico.errors import BitstreamError

MATRICES = {"bt709": (0.2126, 0.0722), "bt601": (0.299, 0.114)}


@dataclass(frozen=True)
class YuvFormat:
    """How planes are laid out and scaled: chroma '420'/'444', 8 or 10 bits, matrix, range."""

    chroma: str = "420"
    bit_depth: int = 8
    matrix: str = "bt709"
    full_range: bool = True

    def __post_init__(self) -> None:
        if self.chroma not in ("420", "444"):
            raise ValueError(f"chroma must be '420' or '444', got {self.chroma!r}")
        if self.bit_depth not in (8, 10):
            raise ValueError(f"bit_depth must be 8 or 10, got {self.bit_depth}")
        if self.matrix not in MATRICES:
            raise ValueError(f"matrix must be one of {', '.join(MATRICES)}, got {self.matrix!r}")

    @property
    def dtype(self) -> type:
        return np.uint8 if self.bit_depth == 8 else np.uint16

    def padded_size(self, width: int, height: int) -> tuple[int, int]:
        """Smallest size >= (width, height) this chroma format can hold (even for 4:2:0)."""
        if self.chroma == "420":
            return width + width % 2, height + height % 2
        return width, height

    def plane_shapes(self, width: int, height: int) -> list[tuple[int, int]]:
        """(rows, columns) of the Y, Cb and Cr planes."""
        chroma = (height // 2, width // 2) if self.chroma == "420" else (height, width)
        return [(height, width), chroma, chroma]

    def frame_nbytes(self, width: int, height: int) -> int:
        """Bytes of one raw frame."""
        return sum(r * c for r, c in self.plane_shapes(width, height)) * np.dtype(self.dtype).itemsize


def pad_edges(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` extended to width x height by repeating its last row and column."""
    rows, cols = image.shape[:2]
    if (rows, cols) == (height, width):
        return image
    return np.pad(image, ((0, height - rows), (0, width - cols), (0, 0)), mode="edge")


def rgb_to_planes(image: np.ndarray, fmt: YuvFormat) -> list[np.ndarray]:
    """HxWx3 uint8 RGB -> [Y, Cb, Cr] integer planes; the image is padded to ``fmt.padded_size`` first."""
    width, height = fmt.padded_size(image.shape[1], image.shape[0])
    rgb = pad_edges(image, width, height).astype(np.float64) / 255.0
    kr, kb = MATRICES[fmt.matrix]
    y = kr * rgb[..., 0] + (1 - kr - kb) * rgb[..., 1] + kb * rgb[..., 2]
    cb = (rgb[..., 2] - y) / (2 * (1 - kb))
    cr = (rgb[..., 0] - y) / (2 * (1 - kr))
    if fmt.chroma == "420":
        cb = cb.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
        cr = cr.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
    scale = 1 << (fmt.bit_depth - 8)
    peak = (1 << fmt.bit_depth) - 1
    if fmt.full_range:
        planes = [y * peak, cb * peak + (peak + 1) / 2, cr * peak + (peak + 1) / 2]
    else:
        planes = [(16 + 219 * y) * scale, (128 + 224 * cb) * scale, (128 + 224 * cr) * scale]
    return [np.clip(np.rint(p), 0, peak).astype(fmt.dtype) for p in planes]


def _upsample2(plane: np.ndarray, axis: int) -> np.ndarray:
    """Double ``plane`` along ``axis`` by linear interpolation between centre-sited samples."""
    before = np.concatenate(
        [np.take(plane, [0], axis=axis), np.take(plane, range(plane.shape[axis] - 1), axis=axis)], axis=axis
    )
    after = np.concatenate(
        [np.take(plane, range(1, plane.shape[axis]), axis=axis), np.take(plane, [-1], axis=axis)], axis=axis
    )
    even = 0.75 * plane + 0.25 * before
    odd = 0.75 * plane + 0.25 * after
    stacked = np.stack([even, odd], axis=axis + 1)
    shape = list(plane.shape)
    shape[axis] *= 2
    return stacked.reshape(shape)


def planes_to_rgb(planes: list[np.ndarray], fmt: YuvFormat) -> np.ndarray:
    """[Y, Cb, Cr] integer planes -> HxWx3 uint8 RGB at the luma plane's size."""
    y, cb, cr = (p.astype(np.float64) for p in planes)
    peak = (1 << fmt.bit_depth) - 1
    scale = 1 << (fmt.bit_depth - 8)
    if fmt.full_range:
        y, cb, cr = y / peak, (cb - (peak + 1) / 2) / peak, (cr - (peak + 1) / 2) / peak
    else:
        y, cb, cr = (y / scale - 16) / 219, (cb / scale - 128) / 224, (cr / scale - 128) / 224
    if fmt.chroma == "420":
        cb = _upsample2(_upsample2(cb, 0), 1)[: y.shape[0], : y.shape[1]]
        cr = _upsample2(_upsample2(cr, 0), 1)[: y.shape[0], : y.shape[1]]
    kr, kb = MATRICES[fmt.matrix]
    r = y + 2 * (1 - kr) * cr
    b = y + 2 * (1 - kb) * cb
    g = (y - kr * r - kb * b) / (1 - kr - kb)
    return np.clip(np.rint(np.stack([r, g, b], axis=-1) * 255), 0, 255).astype(np.uint8)


def planes_to_bytes(planes: list[np.ndarray]) -> bytes:
    """Planar raw frame (16-bit samples little-endian)."""
    return b"".join(np.ascontiguousarray(p.astype(p.dtype.newbyteorder("<"))).tobytes() for p in planes)


def bytes_to_planes(data: bytes, width: int, height: int, fmt: YuvFormat) -> list[np.ndarray]:
    """Split one raw planar frame of ``width`` x ``height``; refuses a wrong length."""
    expected = fmt.frame_nbytes(width, height)
    if len(data) < expected:
        raise BitstreamError(f"raw YUV frame has {len(data)} bytes, expected {expected} for {width}x{height} {fmt}")
    dtype = np.dtype(fmt.dtype).newbyteorder("<")
    planes: list[np.ndarray] = []
    offset = 0
    for rows, cols in fmt.plane_shapes(width, height):
        count = rows * cols
        planes.append(
            np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(rows, cols).astype(fmt.dtype)
        )
        offset += count * dtype.itemsize
    return planes


def _y4m_colorspace(fmt: YuvFormat) -> str:
    base = "420jpeg" if fmt.chroma == "420" else "444"
    if fmt.bit_depth == 8:
        return base
    return ("420" if fmt.chroma == "420" else "444") + f"p{fmt.bit_depth}"


def planes_to_y4m(planes: list[np.ndarray], fmt: YuvFormat) -> bytes:
    """One-frame YUV4MPEG2 file of the planes."""
    height, width = planes[0].shape
    colour_range = "FULL" if fmt.full_range else "LIMITED"
    header = f"YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C{_y4m_colorspace(fmt)} XCOLORRANGE={colour_range}\n"
    return header.encode() + b"FRAME\n" + planes_to_bytes(planes)


_Y4M_HEADER = re.compile(rb"^YUV4MPEG2 ([^\n]*)\n")
_Y4M_COLOUR = re.compile(r"^(420|444)(?:p(\d+))?")


def y4m_to_planes(data: bytes, fmt: YuvFormat) -> list[np.ndarray]:
    """First frame of a YUV4MPEG2 file; its chroma and bit depth must match ``fmt``."""
    match = _Y4M_HEADER.match(data)
    if not match:
        raise BitstreamError("decoder output is not a YUV4MPEG2 file (no 'YUV4MPEG2' header)")
    fields = {token[:1]: token[1:] for token in match.group(1).decode("ascii", "replace").split()}
    width, height = int(fields["W"]), int(fields["H"])
    colour = _Y4M_COLOUR.match(fields.get("C", "420jpeg"))
    if not colour:
        raise BitstreamError(f"YUV4MPEG2 colour space C{fields.get('C')} is not 4:2:0 or 4:4:4")
    bit_depth = int(colour.group(2) or 8)
    got = YuvFormat(chroma=colour.group(1), bit_depth=bit_depth, matrix=fmt.matrix, full_range=fmt.full_range)
    frame = data.find(b"FRAME", match.end())
    if frame < 0:
        raise BitstreamError("YUV4MPEG2 decoder output has no FRAME")
    start = data.index(b"\n", frame) + 1
    return (
        bytes_to_planes(data[start:], width, height, got)
        if got == fmt
        else _converted(data[start:], width, height, got, fmt)
    )


def _converted(data: bytes, width: int, height: int, got: YuvFormat, want: YuvFormat) -> list[np.ndarray]:
    """Planes read in the decoder's format, rescaled to ``want``'s bit depth (chroma must agree)."""
    if got.chroma != want.chroma:
        raise BitstreamError(f"decoder wrote {got.chroma} chroma, expected {want.chroma}")
    planes = bytes_to_planes(data, width, height, got)
    shift = want.bit_depth - got.bit_depth
    if shift > 0:
        return [(p.astype(np.uint16) << shift).astype(want.dtype) for p in planes]
    return [
        ((p.astype(np.uint32) + (1 << (-shift - 1))) >> -shift).clip(0, (1 << want.bit_depth) - 1).astype(want.dtype)
        for p in planes
    ]
