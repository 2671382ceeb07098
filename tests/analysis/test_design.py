"""The adaptive pair design: information, BD-rate gradients, the optimal allocation and its schedule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from analysis.data import prepare_study
from analysis.design import (
    PILOT_PER_CONDITION,
    base_allocation,
    bdrate_gradients,
    optimal_allocation,
    pair_information,
    predicted_sd,
    refresh_due,
)
from analysis.elo import ELO_PER_NAT, SamplerOptions
from analysis.errors import AnalysisError
from analysis.fitting import fit_study
from analysis.raters import rater_table
from analysis.simulate import curve_bd_rates, expected_curves, simulate_study
from analysis.summaries import bdrate_table


def test_pair_information_without_lapses_is_the_bradley_terry_fisher_information() -> None:
    gaps = np.array([-300.0, -50.0, 0.0, 120.0])
    p = expit(gaps / ELO_PER_NAT)
    assert pair_information(gaps, lapse=0.0) == pytest.approx(p * (1 - p))


def test_pair_information_peaks_at_even_pairs_and_lapses_lower_it() -> None:
    gaps = np.linspace(-400, 400, 81)
    info = pair_information(gaps, lapse=0.1)
    assert info.argmax() == 40
    assert info == pytest.approx(info[::-1])
    assert np.all(info < pair_information(gaps, lapse=0.0))


def test_bdrate_gradients_match_a_wide_difference_and_ignore_a_common_shift() -> None:
    curves = expected_curves()
    gradients = bdrate_gradients(curves, "avif")
    assert set(gradients.index) == {"jpeg", "pico", "vvc"}
    assert gradients.sum(axis=1).abs().max() < 1e-4 * gradients.abs().max().max()
    row = curves.index[(curves["codec"] == "jpeg") & (curves["level"] == 3)][0]
    shifted = curves.copy()
    shifted.loc[row, "elo"] += 5.0
    slope = (curve_bd_rates(shifted, "avif")["jpeg"] - curve_bd_rates(curves, "avif")["jpeg"]) / 5.0
    assert gradients.loc["jpeg", row] == pytest.approx(slope, rel=0.05)
    assert (gradients.loc["jpeg", curves["codec"] == "pico"] == 0).all()


def test_unknown_anchor_is_named() -> None:
    with pytest.raises(AnalysisError, match="'webp'"):
        bdrate_gradients(expected_curves(), "webp")


def test_base_allocation_puts_half_on_neighbouring_levels() -> None:
    allocation = base_allocation(expected_curves())
    assert len(allocation) == 20 * 19 // 2
    assert allocation["share"].sum() == pytest.approx(1.0)
    neighbours = (allocation["codec_a"] == allocation["codec_b"]) & (
        (allocation["level_a"] - allocation["level_b"]).abs() == 1
    )
    assert neighbours.sum() == 16
    assert allocation.loc[neighbours, "share"].sum() == pytest.approx(0.5 + 0.5 * 16 / 190)


def test_optimal_allocation_beats_random_pairs_and_keeps_its_floor() -> None:
    curves = expected_curves()
    allocation = optimal_allocation(curves, "avif", floor=0.2)
    assert allocation["share"].sum() == pytest.approx(1.0)
    assert (allocation["share"] >= 0.2 * 0.5 / 190 - 1e-12).all()
    optimal = predicted_sd(curves, "avif", allocation, 75000)
    random = predicted_sd(curves, "avif", None, 75000)
    assert sum(v**2 for v in optimal.values()) < 0.5 * sum(v**2 for v in random.values())
    assert optimal["jpeg"] < 0.65 * random["jpeg"]
    # The most judged pair ties jpeg's curve to the anchor's where they overlap, at a close Elo.
    top = allocation.sort_values("share").iloc[-1]
    elo = curves.set_index(["codec", "level"])["elo"]
    assert {top["codec_a"], top["codec_b"]} == {"avif", "jpeg"}
    assert abs(elo[(top["codec_a"], top["level_a"])] - elo[(top["codec_b"], top["level_b"])]) < 60


def test_more_floor_moves_the_allocation_towards_the_base_design() -> None:
    curves = expected_curves()
    base = optimal_allocation(curves, "avif", floor=1.0, screening=0.0)["share"].to_numpy()
    distances = [
        np.abs(optimal_allocation(curves, "avif", floor=f, screening=0.0)["share"].to_numpy() - base).sum()
        for f in (0.05, 0.5, 0.9)
    ]
    assert distances[0] > distances[1] > distances[2] > 0


def test_a_close_pair_of_levels_gets_more_of_the_neighbours_share() -> None:
    curves = expected_curves()
    allocation = optimal_allocation(curves, "avif", floor=1.0, screening=0.0)
    allocation = allocation.set_index(["codec_a", "level_a", "codec_b", "level_b"])
    flat_top = allocation.loc[("pico", 3, "pico", 4), "share"]  # 27 Elo apart on the concave curve
    steep = allocation.loc[("pico", 0, "pico", 1), "share"]
    assert flat_top > 5 * steep


def test_without_any_defined_bd_rate_only_the_fixed_parts_remain() -> None:
    curves = expected_curves({"avif": 1.0, "jpeg": 40.0})  # no Elo overlap
    allocation = optimal_allocation(curves, "avif", floor=0.2, screening=0.3)
    same_proportions = optimal_allocation(curves, "avif", floor=0.4, screening=0.6)
    assert allocation["share"].to_numpy() == pytest.approx(same_proportions["share"].to_numpy())


def test_the_screening_share_goes_to_lopsided_pairs() -> None:
    curves = expected_curves()
    allocation = optimal_allocation(curves, "avif", floor=0.01, screening=0.99)
    elo = curves.set_index(["codec", "level"])["elo"]
    gap = np.abs(
        elo.loc[list(zip(allocation["codec_a"], allocation["level_a"], strict=True))].to_numpy()
        - elo.loc[list(zip(allocation["codec_b"], allocation["level_b"], strict=True))].to_numpy()
    )
    mean_share = allocation["share"].mean()
    assert allocation["share"][gap > 400].mean() > 1.5 * mean_share
    assert allocation["share"][gap < 100].mean() < 0.5 * mean_share


@pytest.mark.parametrize(
    ("curves", "kwargs", "match"),
    [
        (expected_curves().drop(columns="elo"), {}, "elo"),
        (expected_curves(), {"floor": 1.5}, "floor"),
        (expected_curves(), {"floor": 0.0}, "floor"),
        (expected_curves(), {"floor": 0.8, "screening": 0.3}, "screening"),
    ],
)
def test_bad_design_input_is_rejected(curves: pd.DataFrame, kwargs: dict, match: str) -> None:
    with pytest.raises(AnalysisError, match=match):
        optimal_allocation(curves, "avif", **kwargs)


def test_the_design_is_refreshed_after_the_pilot_then_each_quarter() -> None:
    pilot = PILOT_PER_CONDITION * 20
    assert not refresh_due(pilot - 1, None, 20)
    assert refresh_due(pilot, None, 20)
    assert not refresh_due(1249, 1000, 20)
    assert refresh_due(1250, 1000, 20)


def test_an_adaptive_study_judges_close_pairs_and_narrows_the_bd_rate_far_from_the_anchor() -> None:
    curves = expected_curves(ladder=(0.05, 0.12, 0.3, 0.75))  # 16 conditions: 8,000 judgments keep curves monotone
    kwargs = {"n_judgments": 8000, "n_raters": 64, "n_images": 8, "seed": 4}
    studies = {design: simulate_study(curves, design=design, **kwargs) for design in ("random", "adaptive")}
    elo = curves.set_index(["codec", "level"])["elo"]
    close, widths = {}, {}
    for design, study in studies.items():
        j = study.judgments
        a = elo.loc[list(zip(j["a_codec"], j["a_level"], strict=True))].to_numpy()
        b = elo.loc[list(zip(j["b_codec"], j["b_level"], strict=True))].to_numpy()
        close[design] = float((np.abs(a - b) < 100).mean())
        fit = fit_study(
            prepare_study(j, study.manifest), anchor="avif", method="map", sampling=SamplerOptions(draws=400)
        )
        table = bdrate_table(fit).set_index("codec")
        assert table["reason"].isna().all()
        truth = pd.Series(study.true_bdrate)
        # Six 95% intervals (3 codecs x 2 designs) all cover the truth in only ~3 of 4 calibrated
        # studies, so each error is checked in posterior sds instead.
        sd = (table["bdrate_hi"] - table["bdrate_lo"]) / (2 * 1.96)
        assert ((table["bdrate"] - truth).abs() <= 3 * sd).all(), (table["bdrate"] - truth) / sd
        widths[design] = table["bdrate_hi"] - table["bdrate_lo"]
        flags = rater_table(fit).merge(study.raters, on="rater", suffixes=("", "_true"))
        # The screening share keeps spammers visible: every spammer ranks above every careful rater,
        # and no careful rater is flagged. (Whether a spammer's posterior lands just above or just
        # below the 0.5 flag varies with the machine's floating point on this 8,000-judgment study.)
        spammer = flags["spammer_true"]
        assert spammer.sum() == 5
        assert flags.loc[spammer, "p_spammer"].min() > 100 * flags.loc[~spammer, "p_spammer"].max()
        assert not flags.loc[~spammer, "spammer"].any()
    assert close["adaptive"] > 1.5 * close["random"]
    assert widths["adaptive"]["jpeg"] < 0.75 * widths["random"]["jpeg"]
    assert widths["adaptive"].sum() < widths["random"].sum()


def test_an_unknown_design_is_rejected() -> None:
    with pytest.raises(ValueError, match="'greedy'"):
        simulate_study(design="greedy")
