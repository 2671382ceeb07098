"""Crops: the automatic choice (the crop-sized window with the most detail, where codecs differ
most), the positions a crop may take, and the researcher's preview of a crop chosen by eye.

No database: a window's detail is the sum of gradient magnitudes inside it, computed for every
position at once with an integral image.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def busiest_crop(luma: np.ndarray, crop_width: int, crop_height: int, *, stride: int = 8) -> tuple[int, int]:
    """Top-left (x, y) of the ``crop_width`` x ``crop_height`` window with the most gradient energy.

    Windows are tried every ``stride`` pixels; ties go to the window nearest the centre, so a
    flat image gets a centred crop.
    """
    height, width = luma.shape
    if crop_width > width or crop_height > height:
        raise ValueError(f"crop {crop_width}x{crop_height} does not fit in a {width}x{height} image")
    values = luma.astype(np.float64)
    energy = np.zeros_like(values)
    energy[:, 1:] += np.abs(np.diff(values, axis=1))
    energy[1:, :] += np.abs(np.diff(values, axis=0))
    integral = np.pad(energy.cumsum(axis=0).cumsum(axis=1), ((1, 0), (1, 0)))
    ys = np.arange(0, height - crop_height + 1, stride)
    xs = np.arange(0, width - crop_width + 1, stride)
    y0, x0 = np.meshgrid(ys, xs, indexing="ij")
    sums = (
        integral[y0 + crop_height, x0 + crop_width]
        - integral[y0, x0 + crop_width]
        - integral[y0 + crop_height, x0]
        + integral[y0, x0]
    )
    centre_y, centre_x = (height - crop_height) / 2, (width - crop_width) / 2
    distance = np.hypot(y0 - centre_y, x0 - centre_x)
    best = np.lexsort((distance.ravel(), -np.round(sums.ravel(), 6)))[0]
    return int(x0.ravel()[best]), int(y0.ravel()[best])


def crop_limits(width: int, height: int, crop_width: int, crop_height: int) -> tuple[int, int]:
    """The largest top-left (x, y) at which a crop stays inside a ``width`` x ``height`` image.

    A crop larger than the image is shown whole (raters see at most the image), so its corner is (0, 0).
    """
    return max(0, width - crop_width), max(0, height - crop_height)


def centre_corner(width: int, height: int, crop_width: int, crop_height: int) -> tuple[int, int]:
    """Top-left (x, y) of the centred crop: where raters see a reference whose crop is not set."""
    max_x, max_y = crop_limits(width, height, crop_width, crop_height)
    return max_x // 2, max_y // 2


def crop_preview_png(path: Path, x: int, y: int, crop_width: int, crop_height: int) -> bytes:
    """The crop at (x, y) of the image at ``path``, moved inside the image, as a PNG for the researcher's gallery."""
    with Image.open(path) as image:
        max_x, max_y = crop_limits(image.width, image.height, crop_width, crop_height)
        left, top = min(max(x, 0), max_x), min(max(y, 0), max_y)
        crop = image.convert("RGB").crop(
            (left, top, left + min(crop_width, image.width), top + min(crop_height, image.height))
        )
    buffer = io.BytesIO()
    crop.save(buffer, format="PNG", compress_level=1)  # shown once, while dragging: fast beats small
    return buffer.getvalue()
