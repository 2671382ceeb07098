"""Adaptive studies: trials follow the stored design, and the design is refreshed in the background."""

from __future__ import annotations

import logging

import pytest

import analysis.design
from evalsite.rating import assignment, results, services
from evalsite.rating.models import Judgment, Rater
from evalsite.studies.models import Study
from tests.evalsite.conftest import run_tasks_immediately

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(make_rated_study, add_codec, settings) -> Study:
    """Two images, JPEG and another codec at three levels each; an adaptive study without attention checks."""
    run_tasks_immediately(settings)
    settings.RATING_MAX_JUDGMENTS_PER_MINUTE = 1000
    settings.RATING_SAMPLER = "nowhere.Sampler"  # adaptive studies ignore the configured sampler
    study = make_rated_study(
        design="adaptive", trials_per_rater=100, attention_rate=0.0, attention_min=0, practice_trials=0
    )
    add_codec(study)
    return study


def _rate(rater: Rater, n: int) -> list[tuple[tuple[str, int], tuple[str, int]]]:
    """Issue and judge up to ``n`` trials; the (sorted) pairs of conditions compared."""
    compared = []
    for _ in range(n):
        trial = services.issue_trial(rater=rater)
        if trial is None:
            break
        services.record_judgment(rater=rater, trial_token=trial.token, choice="left", response_ms=1500)
        compared.append(tuple(sorted([(trial.a.codec, trial.a.level), (trial.b.codec, trial.b.level)])))
    return compared


def test_trials_come_only_from_the_stored_design(study, walk_rater):
    study.design_shares = [["jpeg", 2, "jpeg", 0, 0.25], ["jpeg", 0, "other", 0, 0.75]]
    study.save(update_fields=["design_shares"])
    rater = walk_rater(study)
    assert assignment.session_length(rater) == 4  # 2 condition pairs x 2 images
    compared = _rate(rater, 10)
    assert sorted(compared) == [(("jpeg", 0), ("jpeg", 2))] * 2 + [(("jpeg", 0), ("other", 0))] * 2
    rater.refresh_from_db()
    assert rater.stage == Rater.Stage.DONE


def test_before_the_first_refresh_every_same_image_pair_is_offered(study, walk_rater):
    rater = walk_rater(study)
    assert assignment.session_length(rater) == 2 * 15  # images x pairs of 6 conditions
    compared = _rate(rater, 40)
    assert len(compared) == 30
    assert (("jpeg", 0), ("jpeg", 2)) in compared  # not a neighbouring pair: only the adaptive design has it


def test_a_refresh_is_queued_once_a_step_of_judgments_arrived(
    study, walk_rater, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(analysis.design, "PILOT_PER_CONDITION", 1)  # 6 conditions: the pilot is 6 judgments
    rater = walk_rater(study)
    with django_capture_on_commit_callbacks(execute=True):
        _rate(rater, 5)
    assert not study.events.filter(action="design").exists()
    with django_capture_on_commit_callbacks(execute=True):
        _rate(rater, 2)
    study.refresh_from_db()
    assert study.design_requested == 6  # queued at the 6th judgment, not again before the 8th (6 × 1.25)
    assert study.events.filter(action="design").count() == 1
    assert sum(row[4] for row in study.design_shares) == pytest.approx(1.0)


def test_a_failing_refresh_keeps_the_old_shares_and_the_judgment(
    study, walk_rater, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    old = [["jpeg", 0, "other", 0, 1.0]]
    study.design_shares = old
    study.save(update_fields=["design_shares"])
    monkeypatch.setattr(analysis.design, "PILOT_PER_CONDITION", 1 / 6)
    monkeypatch.setattr(results, "fit_study_elo", lambda *args, **kwargs: 1 / 0)
    rater = walk_rater(study)
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        _rate(rater, 1)
    assert Judgment.objects.filter(trial__rater=rater).count() == 1
    study.refresh_from_db()
    assert study.design_shares == old and study.design_judgments == 0
    assert "design refresh of study rated failed" in caplog.text
