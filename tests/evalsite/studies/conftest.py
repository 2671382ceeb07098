"""Fixtures of the researcher app's tests: study files over tiny synthetic photos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.evalsite.conftest import synthetic_photo


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Alice, Bob and the demo login are created in most tests; PBKDF2 would dominate their run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


TINY_STUDY = """
slug = "{slug}"
title = "Tiny study"
[images]
folder = "images"
[ladder]
bpp = [1.0, 2.0]
[[codecs]]
name = "jpeg"
[[codecs]]
name = "webp"
match = "jpeg"
[presentation]
crop = 64
[rating]
trials_per_rater = 10
"""


@pytest.fixture
def study_file(tmp_path, study_data_dir, settings) -> Callable[..., Path]:
    """Factory: a study TOML over two tiny synthetic photos (JPEG targets, WebP matched to JPEG)."""
    settings.STUDY_LADDER_JOBS = 1  # serial, so an interruption leaves a known number of finished reconstructions
    folder = tmp_path / "study"
    (folder / "images").mkdir(parents=True)
    for index in range(2):
        synthetic_photo(128, 96, seed=index + 1).save(folder / "images" / f"photo{index}.png")

    def make(slug: str = "tiny", extra: str = "") -> Path:
        path = folder / f"{slug}.toml"
        path.write_text(TINY_STUDY.format(slug=slug) + extra)
        return path

    return make
