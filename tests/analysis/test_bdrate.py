"""BD-rate: exact on shifted curves, agrees with the bjontegaard package, explicit reasons."""

from __future__ import annotations

import bjontegaard
import numpy as np
import pandas as pd
import pytest
from scipy.interpolate import PchipInterpolator
from scipy.optimize import isotonic_regression

from analysis.bdrate import (
    NO_OVERLAP,
    NOT_MONOTONE,
    TOO_FEW_POINTS,
    BDRateUndefined,
    bd_rate,
    bd_rate_draws,
    bd_rate_posterior,
    monotone_draws,
    order_draws,
    pchip_integral,
)
from analysis.data import prepare_study
from analysis.elo import SamplerOptions
from analysis.fitting import fit_study
from analysis.simulate import expected_curves, near_equal_levels, simulate_study
from analysis.summaries import bdrate_table

RATE = np.array([0.1, 0.18, 0.3, 0.5, 0.8])
ATOL = 1e-9


def quality(rate: np.ndarray) -> np.ndarray:
    """A concave rate-quality curve (dB-like)."""
    u = np.log(rate / 0.02)
    return 20 + 6 * u - 0.4 * u**2


def test_identical_curves_have_zero_bd_rate() -> None:
    assert bd_rate(RATE, quality(RATE), RATE, quality(RATE)) == pytest.approx(0.0, abs=ATOL)


@pytest.mark.parametrize("factor", [0.4, 0.8, 2.5])
def test_a_curve_shifted_in_rate_by_a_factor_gives_that_factor(factor: float) -> None:
    # The test codec reaches at factor·r what the anchor reaches at r: sample it at other rates.
    test_rate = np.array([0.07, 0.15, 0.26, 0.45, 0.9]) * factor
    value = bd_rate(RATE, quality(RATE), test_rate, quality(test_rate / factor))
    assert value == pytest.approx((factor - 1) * 100, abs=0.3)


def test_it_matches_the_bjontegaard_package_in_pchip_mode() -> None:
    anchor_rate = np.array([9487.76, 4593.60, 2486.44, 1358.24])
    anchor_psnr = np.array([40.28, 37.18, 34.24, 31.42])
    test_rate = np.array([9787.80, 4469.00, 2451.52, 1356.24])
    test_psnr = np.array([40.39, 37.21, 34.17, 31.24])
    expected = bjontegaard.bd_rate(anchor_rate, anchor_psnr, test_rate, test_psnr, method="pchip")
    assert bd_rate(anchor_rate, anchor_psnr, test_rate, test_psnr) == pytest.approx(expected, abs=1e-9)


def test_too_few_points_is_a_reason_not_a_number() -> None:
    with pytest.raises(BDRateUndefined) as exc:
        bd_rate(RATE[:2], quality(RATE[:2]), RATE, quality(RATE))
    assert exc.value.reason == TOO_FEW_POINTS


def test_quality_that_falls_as_rate_rises_is_not_monotone() -> None:
    bumpy = quality(RATE).copy()
    bumpy[3] = bumpy[1]
    with pytest.raises(BDRateUndefined) as exc:
        bd_rate(RATE, quality(RATE), RATE, bumpy)
    assert exc.value.reason == NOT_MONOTONE


def test_curves_without_common_quality_do_not_overlap() -> None:
    with pytest.raises(BDRateUndefined) as exc:
        bd_rate(RATE, quality(RATE), RATE, quality(RATE) + 100)
    assert exc.value.reason == NO_OVERLAP


def test_each_draw_gets_a_value_or_a_reason() -> None:
    q = np.vstack([quality(RATE), quality(RATE) + 100])
    values, reasons = bd_rate_draws(RATE, q[[0, 0]], RATE, q)
    assert values[0] == pytest.approx(0.0, abs=ATOL)
    assert np.isnan(values[1])
    assert reasons == [None, NO_OVERLAP]


def test_the_posterior_summary_brackets_the_draws() -> None:
    rng = np.random.default_rng(0)
    draws = quality(RATE) + rng.normal(0, 0.05, (400, 5))
    summary = bd_rate_posterior(RATE, np.tile(quality(RATE), (400, 1)), RATE, draws)
    assert summary.reason is None
    assert summary.lo < summary.bdrate < summary.hi
    assert summary.lo < 0 < summary.hi
    assert summary.valid_draws == 400


def test_a_posterior_with_many_undefined_draws_gives_a_reason_and_no_numbers() -> None:
    anchor = np.tile(quality(RATE), (100, 1))
    test = anchor.copy()
    test[:20] += 100
    summary = bd_rate_posterior(RATE, anchor, RATE, test)
    assert (summary.bdrate, summary.lo, summary.hi) == (None, None, None)
    assert summary.reason == f"{NO_OVERLAP} in 20% of draws"


# --- BD-rate from every posterior draw: curves made monotone per draw -------------------------


def test_the_vectorised_pchip_integral_equals_scipys() -> None:
    rng = np.random.default_rng(1)
    x = np.sort(rng.normal(0, 100, (300, 6)), axis=1)
    y = rng.normal(0, 1, (300, 6))
    span = x[:, -1] - x[:, 0]
    low, high = x[:, 0] + 0.3 * span * rng.random(300), x[:, -1] - 0.3 * span * rng.random(300)
    expected = [PchipInterpolator(a, b).integrate(lo, hi) for a, b, lo, hi in zip(x, y, low, high, strict=True)]
    np.testing.assert_allclose(pchip_integral(x, y, low, high), expected, rtol=1e-10, atol=1e-9)


def test_the_monotone_projection_is_scipys_isotonic_regression() -> None:
    draws = np.random.default_rng(2).normal(0, 1, (200, 7))
    expected = np.array([isotonic_regression(d).x for d in draws])
    np.testing.assert_allclose(monotone_draws(draws, min_gap=0.0), expected, atol=1e-12)


def test_rising_draws_are_left_alone_and_a_shift_moves_the_projection_with_it() -> None:
    rising = np.tile(quality(RATE), (3, 1))
    np.testing.assert_array_equal(monotone_draws(rising), rising)
    swapped = quality(RATE)[[1, 0, 2, 3, 4]][None, :]
    projected = monotone_draws(swapped)
    assert np.all(np.diff(projected) > 0)
    np.testing.assert_allclose(monotone_draws(swapped + 250.0), projected + 250.0)
    assert projected[0, :2].mean() == pytest.approx(swapped[0, :2].mean())


def test_a_draw_whose_two_lowest_levels_swap_still_gives_a_bd_rate_continuous_at_the_swap() -> None:
    q = quality(RATE)
    near = q.copy()
    near[0] = q[1] - 1e-5  # just in order
    swapped = q.copy()
    swapped[0] = q[1] + 1e-5  # just out of order
    with pytest.raises(BDRateUndefined):
        bd_rate(RATE, q, RATE * 0.8, swapped)
    in_order = bd_rate(RATE, q, RATE * 0.8, near, monotone=True)
    assert bd_rate(RATE, q, RATE * 0.8, swapped, monotone=True) == pytest.approx(in_order, abs=1e-3)


def test_near_equal_levels_no_longer_void_a_posterior_bd_rate() -> None:
    rng = np.random.default_rng(3)
    q = quality(RATE)
    q[0] = q[1] - 0.05  # two lowest levels closer than the noise
    draws = q + rng.normal(0, 0.3, (2000, 5))
    anchor = np.tile(quality(RATE), (2000, 1))
    old = bd_rate_posterior(RATE, anchor, RATE * 0.8, draws, order="none")
    assert old.bdrate is None and old.reason.startswith(NOT_MONOTONE)
    restricted = bd_rate_posterior(RATE, anchor, RATE * 0.8, draws)
    assert restricted.reason is None and 200 < restricted.valid_draws < 2000
    projected = bd_rate_posterior(RATE, anchor, RATE * 0.8, draws, order="project")
    assert projected.reason is None and projected.valid_draws == 2000
    for summary in (restricted, projected):
        assert summary.lo < -20.0 < summary.hi


def test_restriction_keeps_exactly_the_rising_draws_and_projects_when_too_few_rise() -> None:
    rng = np.random.default_rng(4)
    q = quality(RATE) + rng.normal(0, 0.3, (1000, 5))
    (kept_q,), kept, used = order_draws([q])
    assert used == "restrict"
    np.testing.assert_array_equal(kept, np.all(np.diff(q, axis=1) > 0, axis=1))
    np.testing.assert_array_equal(kept_q, q)
    flat = np.full((1000, 5), 1.0) + rng.normal(0, 0.3, (1000, 5))  # almost no draw rises
    (projected,), kept, used = order_draws([flat])
    assert used == "project" and kept.all()
    assert np.all(np.diff(projected, axis=1) > 0)


def test_curves_that_do_not_overlap_or_have_too_few_points_are_still_refused() -> None:
    anchor = np.tile(quality(RATE), (50, 1))
    assert bd_rate_posterior(RATE, anchor, RATE, anchor + 100).reason == f"{NO_OVERLAP} in 100% of draws"
    assert bd_rate_posterior(RATE, anchor, RATE[:2], anchor[:, :2]).reason == f"{TOO_FEW_POINTS} in 100% of draws"


@pytest.mark.slow
def test_intervals_keep_95_percent_coverage_when_levels_are_nearly_flat() -> None:
    # avif and webp each have two lowest levels 5 Elo apart: about half of the draws swap them (47%).
    curves = near_equal_levels(
        expected_curves({"jpeg": 2.0, "avif": 1.0, "webp": 1.4}, ladder=(0.06, 0.12, 0.24, 0.48, 0.96)),
        {"avif": 5.0, "webp": 5.0},
    )
    hits, swapped = [], []
    for seed in range(150):
        study = simulate_study(
            curves, n_judgments=3000, n_raters=24, n_images=4, spammer_fraction=0.0, lapse_mean=0.001, seed=seed
        )
        data = prepare_study(study.judgments, study.manifest, validated=True)
        fit = fit_study(
            data, anchor="avif", method="map", rater_terms=False, sampling=SamplerOptions(draws=1000, seed=seed)
        )
        webp = fit.elo_draws()[:, data.conditions.index[data.conditions["codec"] == "webp"]]
        swapped.append(np.mean(webp[:, 0] >= webp[:, 1]))
        bd = bdrate_table(fit).set_index("codec")
        for codec, value in study.true_bdrate.items():
            assert pd.isna(bd.loc[codec, "reason"]), bd.loc[codec, "reason"]
            hits.append(bd.loc[codec, "bdrate_lo"] <= value <= bd.loc[codec, "bdrate_hi"])
    assert np.mean(swapped) > 0.2
    assert 0.90 <= np.mean(hits) <= 0.99, np.mean(hits)
