"""Shared fixtures for the pico tests: small photo-like images made in code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def photo_like(width: int = 192, height: int = 128, seed: int = 0) -> np.ndarray:
    """A synthetic 'photo': smooth gradients, a sky-like blend, hard-edged shapes, texture and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / width, y / height
    image = np.stack([90 + 120 * u, 140 - 60 * v + 30 * np.sin(6 * u), 200 - 140 * v], axis=-1)
    disc = (x - 0.3 * width) ** 2 + (y - 0.6 * height) ** 2 < (0.18 * min(width, height)) ** 2
    image[disc] = [200, 60, 40]
    box = (x > 0.6 * width) & (x < 0.85 * width) & (y > 0.2 * height) & (y < 0.7 * height)
    image[box] = np.stack(
        [30 + 40 * np.sin(x[box] / 3), np.full(box.sum(), 90.0), 60 + 30 * np.cos(y[box] / 2)], axis=-1
    )
    stripes = (y > 0.8 * height) & ((x // 4) % 2 == 0)
    image[stripes] *= 0.6
    texture = rng.normal(0, 1, (height // 4 + 1, width // 4 + 1, 1)).repeat(4, 0).repeat(4, 1)[:height, :width]
    image += 12 * texture + rng.normal(0, 3, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A 192x128 photo-like RGB image."""
    return photo_like()


@pytest.fixture(scope="session")
def photo_odd() -> np.ndarray:
    """A 171x97 photo-like image: odd sizes exercise codec padding."""
    return photo_like(171, 97, seed=1)


@pytest.fixture
def images_dir(tmp_path: Path) -> Path:
    """A folder with two small reference PNGs."""
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(photo_like(160, 112, seed=2)).save(folder / "garden.png")
    Image.fromarray(photo_like(128, 96, seed=3)).save(folder / "harbour.png")
    return folder


@pytest.fixture(scope="session")
def make_photo():
    """The photo-like image factory, for tests that need several sizes or seeds."""
    return photo_like
