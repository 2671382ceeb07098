"""Simulated studies follow the contracts and carry their truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.simulate import curve_bd_rates, expected_curves, simulate_study
from pico.manifest import read_manifest, write_manifest


def test_true_bd_rates_match_the_rate_factors() -> None:
    study = simulate_study(n_judgments=100, n_raters=4, n_images=2)
    assert study.true_bdrate == pytest.approx({"jpeg": 150.0, "vvc": -20.0, "pico": -60.0}, abs=0.5)


def test_the_manifest_passes_the_manifest_contract(tmp_path: Path) -> None:
    study = simulate_study(n_judgments=100, n_raters=4, n_images=3, bpp_sd=0.3, seed=5)
    path = write_manifest(tmp_path / "manifest.csv", study.manifest.to_dict("records"))
    assert len(read_manifest(path)) == 3 * 20


def test_spammers_are_the_share_asked_for_and_answer_at_random() -> None:
    study = simulate_study(n_judgments=100, n_raters=50, spammer_fraction=0.1)
    spam = study.raters[study.raters["spammer"]]
    assert len(spam) == 5
    assert spam["lapse"].min() >= 0.85


def test_expected_curves_put_the_anchor_level_zero_at_zero() -> None:
    curves = expected_curves(anchor="jpeg")
    assert curves.loc[(curves["codec"] == "jpeg") & (curves["level"] == 0), "elo"].item() == 0.0
    assert curves.groupby("codec")["elo"].apply(lambda e: e.is_monotonic_increasing).all()


def test_near_equal_levels_puts_the_lowest_level_that_far_below_the_next_on_the_same_curve() -> None:
    from analysis.simulate import near_equal_levels

    base = expected_curves()
    moved = near_equal_levels(base, {"vvc": 5.0, "avif": 8.0})
    for codec, gap in (("vvc", 5.0), ("avif", 8.0)):
        levels = moved[moved["codec"] == codec].sort_values("level")
        assert levels["elo"].iloc[1] - levels["elo"].iloc[0] == pytest.approx(gap)
        assert levels["bpp"].iloc[0] < levels["bpp"].iloc[1]
    assert moved.loc[(moved["codec"] == "avif") & (moved["level"] == 0), "elo"].item() == pytest.approx(0.0)
    # The points stay on each codec's curve, so the true BD-rates hardly move.
    for codec, value in curve_bd_rates(moved, "avif").items():
        assert value == pytest.approx(curve_bd_rates(base, "avif")[codec], abs=1.0)
