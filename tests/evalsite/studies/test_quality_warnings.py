"""Once the pair design is known: warnings when it shortens sessions or leaves exclusion unable to fire."""

from __future__ import annotations

import pytest

from evalsite.studies.exports import RATER_COLUMNS, write_raters
from evalsite.studies.services import quality_warnings

pytestmark = pytest.mark.django_db


def test_a_design_with_fewer_pairs_than_trials_per_rater_is_reported_with_the_session_raters_get(make_rated_study):
    # 2 images x 3 levels of one codec: 4 pairs.
    study = make_rated_study(trials_per_rater=20, attention_min=2, attention_max_failures=1)
    (warning,) = quality_warnings(study)
    assert warning.startswith("rating.trials_per_rater: the pair design has 4 pairs")
    assert "each rater makes 6 trials (4 comparisons, 2 attention checks, 0 repeats), not 20" in warning


def test_a_shortened_session_whose_checks_cannot_reach_the_threshold_is_reported(make_rated_study):
    # A full session of 100 would have 5 checks; the 4-pair design leaves 2, and 2 failures are allowed.
    study = make_rated_study(trials_per_rater=100, attention_min=2, attention_max_failures=2)
    warnings = quality_warnings(study)
    assert len(warnings) == 2
    assert warnings[1].startswith("rating.attention_max_failures: raters get 2 attention checks")
    # 4 comparisons and 2 checks fill 6 trials, and a second failure excludes: nothing to warn about.
    assert quality_warnings(make_rated_study("fits", trials_per_rater=6, attention_max_failures=1)) == []


def test_raters_csv_has_each_raters_consistency_next_to_agreement(make_study, judge, tmp_path):
    assert RATER_COLUMNS[RATER_COLUMNS.index("agreement") + 1 :][:2] == ["repeats", "consistency"]
    study = make_study()
    judge(study, n=4)
    write_raters(study, tmp_path / "raters.csv")
    header, row = (tmp_path / "raters.csv").read_text().splitlines()[:2]
    assert header.split(",")[RATER_COLUMNS.index("consistency")] == "consistency"
    assert row.split(",")[RATER_COLUMNS.index("repeats")] == "0"


def test_a_full_session_that_cannot_exclude_is_warned_about_once_not_again_after_generation(make_rated_study):
    # A full session of 6 has 2 checks and allows 2 failures: the study-file check already says so.
    study = make_rated_study(trials_per_rater=6, attention_min=2, attention_max_failures=2)
    assert quality_warnings(study) == []
