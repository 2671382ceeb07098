"""Attention-check and screening stimuli made from a study's references with Pillow's JPEG.

- ``attention-high`` level 0: JPEG quality 98 without chroma subsampling, near-lossless.
- ``attention-low`` level 0: JPEG quality 5 after 4x down- and upsampling, heavily degraded.
- ``screening-jpeg`` levels 0..K-1: JPEG at ``SCREENING_QUALITIES``, strongest artifacts first;
  levels below ``CLEAR_LEVELS`` are clearly visible; the artifact test uses them where the study's own
  conditions are not clearly degraded enough (``selectors.artifact_candidates``).

All are decoded to PNG under ``STUDY_DATA_DIR/<slug>/rater-stimuli/<image>/`` and stored as
Stimulus rows with role ``attention`` or ``screening``, which exports and the Elo fit ignore.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from django.conf import settings
from PIL import Image

from evalsite.studies.models import Reference, Stimulus, Study

ATTENTION_HIGH = "attention-high"
ATTENTION_LOW = "attention-low"
SCREENING_CODEC = "screening-jpeg"
SCREENING_QUALITIES = (4, 8, 16, 32, 60)
CLEAR_LEVELS = 2
CLEAR_PSNR_DB = 30.0  # a study condition this far from its reference counts as clearly visible (artifact test)


def _jpeg_roundtrip(image: Image.Image, quality: int, subsampling: int = 2) -> tuple[Image.Image, int]:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, subsampling=subsampling)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), buffer.tell()


def _degrade(image: Image.Image) -> tuple[Image.Image, int]:
    small = image.resize((max(1, image.width // 4), max(1, image.height // 4)), Image.Resampling.BILINEAR)
    decoded, nbytes = _jpeg_roundtrip(small, 5)
    return decoded.resize(image.size, Image.Resampling.NEAREST), nbytes


def _store(
    *,
    study: Study,
    reference: Reference,
    role: str,
    codec: str,
    level: int,
    image: Image.Image,
    nbytes: int,
    param: str,
) -> None:
    rel = Path(study.slug) / "rater-stimuli" / reference.name / f"{codec}-{level}.png"
    path = Path(settings.STUDY_DATA_DIR) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    Stimulus.objects.update_or_create(
        reference=reference,
        role=role,
        codec=codec,
        level=level,
        defaults={
            "study": study,
            "bpp": nbytes * 8 / (reference.width * reference.height),
            "param": param,
            "nbytes": nbytes,
            "path": str(rel),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        },
    )


def make_rater_stimuli(*, study: Study) -> int:
    """Create the missing attention and screening stimuli of every reference; returns how many were made."""
    wanted = {(ATTENTION_HIGH, 0), (ATTENTION_LOW, 0)} | {
        (SCREENING_CODEC, lv) for lv in range(len(SCREENING_QUALITIES))
    }
    made = 0
    for reference in study.references.all():
        have = set(reference.stimuli.exclude(role=Stimulus.Role.CONDITION).values_list("codec", "level"))
        missing = wanted - have
        if not missing:
            continue
        with Image.open(Path(settings.STUDY_DATA_DIR) / reference.path) as opened:
            original = opened.convert("RGB")
        for codec, level in sorted(missing):
            if codec == ATTENTION_HIGH:
                image, nbytes = _jpeg_roundtrip(original, 98, subsampling=0)
                role, param = Stimulus.Role.ATTENTION, "98/444"
            elif codec == ATTENTION_LOW:
                image, nbytes = _degrade(original)
                role, param = Stimulus.Role.ATTENTION, "5/4x"
            else:
                image, nbytes = _jpeg_roundtrip(original, SCREENING_QUALITIES[level])
                role, param = Stimulus.Role.SCREENING, str(SCREENING_QUALITIES[level])
            _store(
                study=study,
                reference=reference,
                role=role,
                codec=codec,
                level=level,
                image=image,
                nbytes=nbytes,
                param=param,
            )
            made += 1
    return made
