"""The tidy study: integer codes, exclusions, aggregation and connectivity."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.data import Exclusions, load_study, pair_counts, prepare_study, win_counts
from analysis.errors import AnalysisError


def test_conditions_are_numbered_in_codec_then_level_order(study_data) -> None:
    labels = study_data.labels
    assert labels[:6] == ["avif@0", "avif@1", "avif@2", "avif@3", "avif@4", "jpeg@0"]
    assert study_data.index_of("jpeg", 0) == 5


def test_bpp_is_the_geometric_mean_over_images(study, study_data) -> None:
    rows = study.manifest[(study.manifest["codec"] == "pico") & (study.manifest["level"] == 2)]
    expected = float(np.exp(np.log(rows["bpp"]).mean()))
    assert study_data.conditions.loc[study_data.index_of("pico", 2), "bpp"] == pytest.approx(expected)


def test_each_judgment_is_encoded_once_as_winner_and_loser(study, study_data) -> None:
    first = study.judgments.iloc[0]
    row = study_data.judgments.iloc[0]
    won = (first.a_codec, first.a_level) if first.winner == "a" else (first.b_codec, first.b_level)
    assert row["winner"] == study_data.index_of(*won)
    assert len(study_data.judgments) == len(study.judgments)


def test_aggregated_counts_keep_every_judgment(study_data) -> None:
    pairs = pair_counts(study_data, by_image=True)
    assert pairs["n"].sum() == len(study_data.judgments)
    assert (pairs["i"] < pairs["j"]).all()
    assert (pairs["k"] <= pairs["n"]).all()
    wins = win_counts(study_data, by_rater=True)
    assert wins["count"].sum() == len(study_data.judgments)


def test_attention_checks_and_fast_answers_stay_out_of_the_fit(study) -> None:
    frame = study.judgments.copy()
    frame.loc[:9, "kind"] = "attention"
    frame.loc[10:14, "response_ms"] = 100
    data = prepare_study(frame, study.manifest, Exclusions(min_response_ms=300))
    assert data.excluded == {"kind": 10, "response_ms < 300": 5}
    assert len(data.judgments) == len(frame) - 15


def test_a_study_in_two_unlinked_groups_is_refused(study) -> None:
    frame = study.judgments
    same_codec = frame[(frame["a_codec"] == frame["b_codec"]) & frame["a_codec"].isin(["avif", "jpeg"])]
    with pytest.raises(AnalysisError, match="2 groups never compared"):
        prepare_study(same_codec.reset_index(drop=True), study.manifest)


def test_the_fixture_study_loads(small_files) -> None:
    data = load_study(*small_files)
    assert len(data.conditions) == 16
    assert len(data.raters) == 24
