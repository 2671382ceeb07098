"""BD-rate: exact on shifted curves, agrees with the bjontegaard package, explicit reasons."""

from __future__ import annotations

import bjontegaard
import numpy as np
import pytest

from analysis.bdrate import (
    NO_OVERLAP,
    NOT_MONOTONE,
    TOO_FEW_POINTS,
    BDRateUndefined,
    bd_rate,
    bd_rate_draws,
    bd_rate_posterior,
)

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
