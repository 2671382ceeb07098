"""Shared world of the site's tests: researchers Alice and Bob, and small studies made in code.

Images are tiny synthetic photos; stimuli are real JPEG reconstructions at a few qualities,
saved as PNG under a per-test STUDY_DATA_DIR.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from evalsite.studies.models import Reference, Stimulus, Study

PASSWORD = "correct horse battery staple"


def synthetic_photo(width: int, height: int, seed: int) -> Image.Image:
    """Smooth gradients, edges and noise: enough texture for compression to show."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    base = np.stack(
        [
            128 + 100 * np.sin(x / (7 + seed) + y / 13),
            128 + 90 * np.cos(y / (5 + seed)),
            (x * 255 / max(width - 1, 1)),
        ],
        axis=-1,
    )
    base[(x // 16 + y // 16) % 2 == 0] *= 0.7
    base += rng.normal(0, 12, base.shape)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def _save_png(image: Image.Image, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def study_data_dir(settings, tmp_path) -> Path:
    """A fresh STUDY_DATA_DIR for this test."""
    settings.STUDY_DATA_DIR = tmp_path / "studies"
    settings.STUDY_DATA_DIR.mkdir()
    return settings.STUDY_DATA_DIR


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.org", PASSWORD)


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.org", PASSWORD)


@pytest.fixture
def make_study(study_data_dir, alice) -> Callable[..., Study]:
    """Factory: a study with ``images`` references and JPEG conditions at ``qualities``."""

    def make(
        slug: str = "tiny",
        *,
        owner=None,
        images: int = 2,
        qualities: tuple[int, ...] = (10, 40, 90),
        size: tuple[int, int] = (96, 64),
        state: str = Study.State.LIVE,
        **fields,
    ) -> Study:
        fields.setdefault("crop_width", min(64, size[0]))
        fields.setdefault("crop_height", min(64, size[1]))
        study = Study.objects.create(slug=slug, title=f"Study {slug}", owner=owner or alice, state=state, **fields)
        for index in range(images):
            name = f"img{index}"
            photo = synthetic_photo(*size, seed=index + 1)
            rel = Path(slug) / "references" / f"{name}.png"
            reference = Reference.objects.create(
                study=study,
                name=name,
                path=str(rel),
                width=size[0],
                height=size[1],
                sha256=_save_png(photo, study_data_dir / rel),
            )
            for level, quality in enumerate(qualities):
                buffer = io.BytesIO()
                photo.save(buffer, format="JPEG", quality=quality)
                nbytes = buffer.tell()
                decoded = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
                srel = Path(slug) / "reconstructions" / name / f"jpeg-{level}.png"
                Stimulus.objects.create(
                    study=study,
                    reference=reference,
                    codec="jpeg",
                    level=level,
                    bpp=nbytes * 8 / (size[0] * size[1]),
                    param=str(quality),
                    nbytes=nbytes,
                    path=str(srel),
                    sha256=_save_png(decoded, study_data_dir / srel),
                )
        return study

    return make
