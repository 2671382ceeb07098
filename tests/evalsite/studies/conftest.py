"""Fixtures of the researcher app's tests: judgments recorded on a study made by ``make_study``."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from evalsite.rating.models import Judgment, Rater, Trial
from evalsite.studies.models import Stimulus, Study
from tests.evalsite.conftest import synthetic_photo


@pytest.fixture
def judge() -> Callable[..., Rater]:
    """Factory: a rater of ``study`` who judged ``n`` trials, preferring the higher level with probability ``p``.

    Trials and judgments are rows of the rating app's models, as its services would leave them.
    """

    def make(study: Study, *, n: int = 12, p: float = 0.9, seed: int = 0, crowd_id: str = "", **fields) -> Rater:
        rng = random.Random(seed)
        rater = Rater.objects.create(study=study, crowd_id=crowd_id, stage=Rater.Stage.TRIALS, **fields)
        conditions = list(study.stimuli.filter(role=Stimulus.Role.CONDITION).select_related("reference"))
        for seq in range(n):
            a, b = rng.sample(conditions, 2)
            while b.reference_id != a.reference_id:
                a, b = rng.sample(conditions, 2)
            trial = Trial.objects.create(
                rater=rater,
                seq=seq,
                kind=Trial.Kind.TRIAL,
                reference=a.reference,
                a=a,
                b=b,
                shown_left=rng.choice("ab"),
                crop_x=0,
                crop_y=0,
                crop_w=study.crop_width,
                crop_h=study.crop_height,
            )
            better = "a" if a.level > b.level else "b"
            winner = better if rng.random() < p else ("b" if better == "a" else "a")
            Judgment.objects.create(
                trial=trial, winner=winner, response_ms=rng.randint(1500, 6000), switches=rng.randint(0, 5)
            )
        return rater

    return make


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
