"""prepare_rater_stimuli: attention and screening stimuli on disk and in the database, idempotent."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from evalsite.rating.services import prepare_rater_stimuli
from evalsite.rating.stimuli import ATTENTION_HIGH, ATTENTION_LOW, SCREENING_CODEC, SCREENING_QUALITIES
from evalsite.studies.models import Stimulus


def _error(study_data_dir, stimulus: Stimulus) -> float:
    ref = np.asarray(Image.open(study_data_dir / stimulus.reference.path), dtype=float)
    rec = np.asarray(Image.open(study_data_dir / stimulus.path), dtype=float)
    return float(np.mean((ref - rec) ** 2))


@pytest.mark.django_db
def test_it_makes_attention_and_screening_stimuli_for_every_reference(make_study, study_data_dir):
    study = make_study("prep", images=2)
    prepare_rater_stimuli(study=study)
    for reference in study.references.all():
        codecs = set(reference.stimuli.exclude(role=Stimulus.Role.CONDITION).values_list("codec", "level"))
        assert codecs == {(ATTENTION_HIGH, 0), (ATTENTION_LOW, 0)} | {
            (SCREENING_CODEC, level) for level in range(len(SCREENING_QUALITIES))
        }
    for stimulus in Stimulus.objects.exclude(role=Stimulus.Role.CONDITION):
        assert (study_data_dir / stimulus.path).is_file()
        assert stimulus.path.startswith("prep/")


@pytest.mark.django_db
def test_attention_stimuli_are_near_lossless_and_heavily_degraded(make_study, study_data_dir):
    study = make_study("golden", images=1)
    prepare_rater_stimuli(study=study)
    high = Stimulus.objects.get(codec=ATTENTION_HIGH)
    low = Stimulus.objects.get(codec=ATTENTION_LOW)
    assert high.role == low.role == Stimulus.Role.ATTENTION
    assert _error(study_data_dir, high) * 20 < _error(study_data_dir, low)


@pytest.mark.django_db
def test_screening_levels_go_from_strong_to_weak_artifacts(make_study, study_data_dir):
    study = make_study("ladder", images=1)
    prepare_rater_stimuli(study=study)
    errors = [_error(study_data_dir, s) for s in Stimulus.objects.filter(codec=SCREENING_CODEC).order_by("level")]
    assert errors == sorted(errors, reverse=True)


@pytest.mark.django_db
def test_running_it_twice_changes_nothing(make_study):
    study = make_study("twice", images=1)
    prepare_rater_stimuli(study=study)
    before = list(Stimulus.objects.order_by("pk").values_list("pk", "sha256"))
    prepare_rater_stimuli(study=study)
    assert list(Stimulus.objects.order_by("pk").values_list("pk", "sha256")) == before
