"""Bjøntegaard delta rate: average bitrate difference at equal quality, in percent.

Log-rate is interpolated as a monotone function of quality (PCHIP) for the anchor and the
test codec and integrated over the overlapping quality range; BD-rate = (exp(mean Δ ln rate)
− 1)·100, negative when the test codec needs fewer bits. Quality is Elo (one curve per
posterior draw) or an objective metric (PSNR, MS-SSIM, SSIMULACRA2).

A BD-rate is only a number when it is defined: too few points, a curve whose quality does not
rise with rate, or no overlap in quality give a reason instead (:class:`BDRateUndefined`).

References: G. Bjøntegaard, VCEG-M33 (2001) and VCEG-AI11 (2008, PCHIP variant);
Herglotz et al., "The Bjøntegaard Bible" (2022).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

from analysis.errors import AnalysisError

MIN_POINTS = 3
MAX_UNDEFINED_FRACTION = 0.05
"""A posterior BD-rate is reported when at most this share of draws is undefined."""

TOO_FEW_POINTS = "too_few_points"
NOT_MONOTONE = "not_monotone"
NO_OVERLAP = "no_overlap"


class BDRateUndefined(AnalysisError):
    """The BD-rate of two curves is undefined; ``reason`` is a short code, the message says why."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True)
class BDRateSummary:
    """Posterior BD-rate in percent: mean and central interval, or a reason and no numbers."""

    bdrate: float | None
    lo: float | None
    hi: float | None
    reason: str | None
    valid_draws: int
    draws: int


def _mean_log_rate_gap(
    rate_anchor: np.ndarray,
    quality_anchor: np.ndarray,
    rate_test: np.ndarray,
    quality_test: np.ndarray,
    min_points: int,
) -> float:
    """Mean of ln(rate_test) − ln(rate_anchor) over the overlapping quality range."""
    curves = []
    for label, rate, quality in (("anchor", rate_anchor, quality_anchor), ("test", rate_test, quality_test)):
        if len(rate) < min_points:
            raise BDRateUndefined(TOO_FEW_POINTS, f"{label} curve has {len(rate)} points; at least {min_points} needed")
        order = np.argsort(rate, kind="stable")
        rate, quality = rate[order], quality[order]
        if np.any(np.diff(quality) <= 0) or np.any(np.diff(rate) <= 0):
            raise BDRateUndefined(
                NOT_MONOTONE,
                f"{label} curve's quality does not strictly rise with rate ({np.round(quality, 3).tolist()})",
            )
        curves.append((quality, np.log(rate)))
    low = max(curves[0][0][0], curves[1][0][0])
    high = min(curves[0][0][-1], curves[1][0][-1])
    if not high > low:
        raise BDRateUndefined(
            NO_OVERLAP, f"quality ranges do not overlap (anchor {curves[0][0][[0, -1]]}, test {curves[1][0][[0, -1]]})"
        )
    anchor, test = (PchipInterpolator(q, lr).integrate(low, high) for q, lr in curves)
    return float((test - anchor) / (high - low))


def bd_rate(
    rate_anchor: np.ndarray,
    quality_anchor: np.ndarray,
    rate_test: np.ndarray,
    quality_test: np.ndarray,
    *,
    min_points: int = MIN_POINTS,
) -> float:
    """BD-rate of the test curve against the anchor curve, in percent.

    Parameters
    ----------
    rate_anchor, rate_test
        Bitrates (e.g. bpp) of each point; any positive unit, the same for both.
    quality_anchor, quality_test
        Quality at each point (Elo points, dB, ...); higher is better.
    min_points
        Fewer points than this per curve is undefined.

    Returns
    -------
    float
        Percent; negative means the test codec needs fewer bits at equal quality.

    Raises
    ------
    BDRateUndefined
        With ``reason`` ``too_few_points``, ``not_monotone`` or ``no_overlap``.
    """
    gap = _mean_log_rate_gap(
        np.asarray(rate_anchor, float),
        np.asarray(quality_anchor, float),
        np.asarray(rate_test, float),
        np.asarray(quality_test, float),
        min_points,
    )
    return (float(np.exp(gap)) - 1.0) * 100.0


def bd_rate_draws(
    rate_anchor: np.ndarray,
    quality_anchor: np.ndarray,
    rate_test: np.ndarray,
    quality_test: np.ndarray,
    *,
    min_points: int = MIN_POINTS,
) -> tuple[np.ndarray, list[str | None]]:
    """BD-rate per draw (quality arrays shaped (draws, points)); NaN and a reason where undefined."""
    quality_anchor = np.atleast_2d(quality_anchor)
    quality_test = np.atleast_2d(quality_test)
    values = np.full(len(quality_anchor), np.nan)
    reasons: list[str | None] = []
    for d, (qa, qt) in enumerate(zip(quality_anchor, quality_test, strict=True)):
        try:
            values[d] = bd_rate(rate_anchor, qa, rate_test, qt, min_points=min_points)
            reasons.append(None)
        except BDRateUndefined as exc:
            reasons.append(exc.reason)
    return values, reasons


def bd_rate_posterior(
    rate_anchor: np.ndarray,
    quality_anchor: np.ndarray,
    rate_test: np.ndarray,
    quality_test: np.ndarray,
    *,
    prob: float = 0.95,
    min_points: int = MIN_POINTS,
    max_undefined: float = MAX_UNDEFINED_FRACTION,
) -> BDRateSummary:
    """Posterior mean and ``prob`` central interval of the BD-rate over quality draws, in percent.

    Quality arrays are shaped (draws, points). When more than ``max_undefined`` of the draws
    give no BD-rate, the summary carries the most common reason and no numbers.
    """
    values, reasons = bd_rate_draws(rate_anchor, quality_anchor, rate_test, quality_test, min_points=min_points)
    valid = values[~np.isnan(values)]
    failed = [r for r in reasons if r is not None]
    if len(failed) > max_undefined * len(values) or len(valid) == 0:
        reason = max(set(failed), key=failed.count)
        share = len(failed) / len(values)
        return BDRateSummary(None, None, None, f"{reason} in {share:.0%} of draws", len(valid), len(values))
    tail = (1.0 - prob) / 2.0
    lo, hi = np.quantile(valid, [tail, 1.0 - tail])
    return BDRateSummary(float(valid.mean()), float(lo), float(hi), None, len(valid), len(values))
