"""Bjøntegaard delta rate: average bitrate difference at equal quality, in percent.

Log-rate is interpolated as a monotone function of quality (PCHIP) for the anchor and the
test codec and integrated over the overlapping quality range; BD-rate = (exp(mean Δ ln rate)
− 1)·100, negative when the test codec needs fewer bits. Quality is Elo (one curve per
posterior draw) or an objective metric (PSNR, MS-SSIM, SSIMULACRA2).

A BD-rate is only a number when it is defined: too few points, a curve whose quality does not
rise with rate, or no overlap in quality give a reason instead (:class:`BDRateUndefined`).
Posterior draws of Elo whose curves do not rise with rate never void a posterior BD-rate
(:func:`order_draws`): by default the posterior is restricted to the draws in which both
curves rise — the posterior under the prior knowledge that quality rises with rate, i.e. of an
ordered parametrisation of each codec's levels, sampled by rejection — and when too few draws
rise, every draw is projected onto rising curves instead (:func:`monotone_draws`). Only curves
that do not overlap, or have too few points, give no number.

References: G. Bjøntegaard, VCEG-M33 (2001) and VCEG-AI11 (2008, PCHIP variant);
Herglotz et al., "The Bjøntegaard Bible" (2022); F. N. Fritsch & J. Butland (1984, PCHIP
derivatives, as in SciPy's ``PchipInterpolator``); Barlow et al., "Statistical inference under
order restrictions" (1972, pool-adjacent-violators).
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

ORDERS = ("restrict", "project", "none")
"""How posterior draws whose curves do not rise are handled; see :func:`order_draws`."""
MIN_RISING_SHARE = 0.1
MIN_RISING_DRAWS = 100
"""``restrict`` keeps the rising draws when at least this share and number of draws rise, else projects."""
RESTRICTED = "restricted"
"""Reason of a draw left out by ``restrict`` (its curves do not rise): not counted as undefined."""

MIN_GAP = 1e-6
"""Monotone projections keep neighbouring levels this share of the draw's quality span apart,
so PCHIP sees strictly rising quality; such a step adds ~1e-6 of the range to the integral."""


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


def _pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """PCHIP derivatives at the knots, row by row (x, y shaped (curves, points), x rising).

    The same formulas as SciPy's ``PchipInterpolator`` (weighted harmonic mean inside, the
    shape-preserving three-point formula at the ends), written for many curves at once.
    """
    h = np.diff(x, axis=1)
    m = np.diff(y, axis=1) / h
    d = np.zeros_like(y)
    if y.shape[1] == 2:
        d[:, 0] = d[:, 1] = m[:, 0]
        return d
    w1 = 2 * h[:, 1:] + h[:, :-1]
    w2 = h[:, 1:] + 2 * h[:, :-1]
    flat = (np.sign(m[:, 1:]) != np.sign(m[:, :-1])) | (m[:, 1:] == 0) | (m[:, :-1] == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = (w1 + w2) / (w1 / m[:, :-1] + w2 / m[:, 1:])
    d[:, 1:-1] = np.where(flat, 0.0, inner)
    for end, (h0, h1, m0, m1) in (
        (0, (h[:, 0], h[:, 1], m[:, 0], m[:, 1])),
        (-1, (h[:, -1], h[:, -2], m[:, -1], m[:, -2])),
    ):
        edge = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
        wrong_sign = np.sign(edge) != np.sign(m0)
        overshoot = ~wrong_sign & (np.sign(m0) != np.sign(m1)) & (np.abs(edge) > 3 * np.abs(m0))
        d[:, end] = np.where(wrong_sign, 0.0, np.where(overshoot, 3 * m0, edge))
    return d


def pchip_integral(x: np.ndarray, y: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Integral of the PCHIP interpolant of each row of (x, y) from ``low`` to ``high``.

    Parameters
    ----------
    x, y
        Shaped (curves, points); each row of ``x`` strictly rising (e.g. quality in Elo points),
        ``y`` any values (e.g. ln bpp).
    low, high
        Shaped (curves,), inside each row's ``x`` range, ``low <= high``.

    Returns
    -------
    numpy.ndarray
        Shaped (curves,), in units of x·y. Equals ``PchipInterpolator(x, y).integrate(low, high)``
        row by row (to rounding), vectorised over rows: ~2 µs per curve instead of ~600 µs.
    """
    x, y = np.atleast_2d(x), np.atleast_2d(y)
    d = _pchip_slopes(x, y)
    h = np.diff(x, axis=1)
    y0, y1, d0, d1 = y[:, :-1], y[:, 1:], d[:, :-1], d[:, 1:]

    def antiderivative(t: np.ndarray) -> np.ndarray:
        # ∫₀ᵗ of the cubic Hermite basis (h00, h10, h01, h11), times h.
        t2, t3, t4 = t * t, t**3, t**4
        return h * (
            y0 * (t4 / 2 - t3 + t)
            + h * d0 * (t4 / 4 - 2 * t3 / 3 + t2 / 2)
            + y1 * (-t4 / 2 + t3)
            + h * d1 * (t4 / 4 - t3 / 3)
        )

    start = np.clip((np.asarray(low, float)[:, None] - x[:, :-1]) / h, 0.0, 1.0)
    stop = np.clip((np.asarray(high, float)[:, None] - x[:, :-1]) / h, 0.0, 1.0)
    return (antiderivative(stop) - antiderivative(start)).sum(axis=1)


def _integrals(x: np.ndarray, y: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """PCHIP integrals row by row: SciPy's for one curve (classic BD-rates and the design's
    gradients keep their exact floating point), :func:`pchip_integral` for many draws."""
    if len(x) == 1:
        return np.array([PchipInterpolator(x[0], y[0]).integrate(low[0], high[0])])
    return pchip_integral(x, y, low, high)


def monotone_draws(quality: np.ndarray, *, min_gap: float = MIN_GAP) -> np.ndarray:
    """Least-squares projection of each draw onto curves that rise strictly along the points.

    Parameters
    ----------
    quality
        Shaped (draws, points), points in ascending rate (e.g. Elo points of a codec's levels).
    min_gap
        Neighbouring points end at least ``min_gap`` × the draw's quality span apart.

    Returns
    -------
    numpy.ndarray
        Same shape and unit. Draws that already rise (by more than the gap) are returned
        unchanged; in the others each run of points that falls is replaced by its mean
        (pool-adjacent-violators with equal weights, computed exactly by the max–min formula
        f_i = max_{j≤i} min_{k≥i} mean(q_j..q_k)), then spread by the minimum gap. The map is
        continuous, and shifting a draw by a constant shifts the result by that constant, so it
        does not depend on which level is 0 Elo.
    """
    quality = np.atleast_2d(np.asarray(quality, float))
    n = quality.shape[1]
    step = min_gap * np.maximum(np.ptp(quality, axis=1, keepdims=True), 1e-12) * np.arange(n)
    q = quality - step
    # Mean of q[j..k] for every j <= k (inf below the diagonal so it never wins a min).
    sums = np.concatenate([np.zeros((len(q), 1)), np.cumsum(q, axis=1)], axis=1)
    j, k = np.triu_indices(n)
    means = np.full((len(q), n, n), np.inf)
    means[:, j, k] = (sums[:, k + 1] - sums[:, j]) / (k - j + 1)
    fitted = np.empty_like(q)
    for i in range(n):
        fitted[:, i] = means[:, : i + 1, i:].min(axis=2).max(axis=1)
    rising = np.all(np.diff(q, axis=1) > 0, axis=1)
    return np.where(rising[:, None], quality, fitted + step)


def _curve(label: str, rate: np.ndarray, quality: np.ndarray, min_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Rates sorted ascending and the quality draws in the same order; reject too few or tied rates."""
    if len(rate) < min_points:
        raise BDRateUndefined(TOO_FEW_POINTS, f"{label} curve has {len(rate)} points; at least {min_points} needed")
    order = np.argsort(rate, kind="stable")
    rate = rate[order]
    if np.any(np.diff(rate) <= 0):
        raise BDRateUndefined(NOT_MONOTONE, f"{label} curve has two points at the same rate ({rate.tolist()})")
    return rate, quality[:, order]


def rising(quality: np.ndarray) -> np.ndarray:
    """Whether each draw (row, points in ascending rate) strictly rises; shaped (draws,)."""
    return np.all(np.diff(np.atleast_2d(quality), axis=1) > 0, axis=1)


def order_draws(curves: list[np.ndarray], order: str = "restrict") -> tuple[list[np.ndarray], np.ndarray, str]:
    """Make posterior draws of rate–quality curves rise with rate.

    Parameters
    ----------
    curves
        Quality draws of each curve, shaped (draws, points), points in ascending rate.
    order
        ``"restrict"``: keep the draws in which every curve rises (the posterior under a prior
        restricted to rising curves, i.e. an ordered parametrisation of the levels, by rejection)
        when at least ``MIN_RISING_SHARE`` and ``MIN_RISING_DRAWS`` of them do; otherwise project
        every draw. ``"project"``: project every draw onto rising curves (:func:`monotone_draws`).
        ``"none"``: leave the draws as they are.

    Returns
    -------
    (curves, kept, used)
        The curves (projected, or unchanged), a mask of the draws to use (all but the falling
        ones under restriction), and which of ``restrict``, ``project`` or ``none`` was applied.
    """
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; use one of {', '.join(ORDERS)}")
    draws = len(curves[0])
    if order == "none":
        return curves, np.ones(draws, dtype=bool), "none"
    if order == "restrict":
        up = np.logical_and.reduce([rising(q) for q in curves])
        if up.sum() >= max(MIN_RISING_SHARE * draws, min(MIN_RISING_DRAWS, draws)):
            return curves, up, "restrict"
    return [monotone_draws(q) for q in curves], np.ones(draws, dtype=bool), "project"


def _mean_log_rate_gaps(
    rate_anchor: np.ndarray,
    quality_anchor: np.ndarray,
    rate_test: np.ndarray,
    quality_test: np.ndarray,
    min_points: int,
    order: str,
) -> tuple[np.ndarray, list[str | None], str]:
    """Per draw: mean of ln(rate_test) − ln(rate_anchor) over the overlapping quality range.

    Returns the gaps (NaN where undefined or left out), a reason per draw (``restricted`` for a
    draw left out by ``order="restrict"``), and the first undefined draw's message.
    """
    rate_a, qa = _curve("anchor", rate_anchor, quality_anchor, min_points)
    rate_t, qt = _curve("test", rate_test, quality_test, min_points)
    (qa, qt), kept, _ = order_draws([qa, qt], order)
    la, lt = np.log(rate_a), np.log(rate_t)
    reasons = np.full(len(qa), None, dtype=object)
    reasons[~kept] = RESTRICTED
    messages: list[str] = []
    falling = kept & ~(rising(qa) & rising(qt))
    if falling.any():
        reasons[falling] = NOT_MONOTONE
        d = int(np.argmax(falling))
        messages.append(
            f"quality does not strictly rise with rate (anchor {np.round(qa[d], 3).tolist()}, "
            f"test {np.round(qt[d], 3).tolist()})"
        )
    low = np.maximum(qa[:, 0], qt[:, 0])
    high = np.minimum(qa[:, -1], qt[:, -1])
    apart = kept & ~falling & ~(high > low)
    if apart.any():
        reasons[apart] = NO_OVERLAP
        d = int(np.argmax(apart))
        messages.append(
            f"quality ranges do not overlap (anchor {qa[d, [0, -1]].tolist()}, test {qt[d, [0, -1]].tolist()})"
        )
    gaps = np.full(len(qa), np.nan)
    ok = reasons == None  # noqa: E711 (element-wise)
    if ok.any():
        n = int(ok.sum())
        width = high[ok] - low[ok]
        integral_test = _integrals(qt[ok], np.broadcast_to(lt, (n, len(lt))), low[ok], high[ok])
        integral_anchor = _integrals(qa[ok], np.broadcast_to(la, (n, len(la))), low[ok], high[ok])
        gaps[ok] = (integral_test - integral_anchor) / width
    return gaps, list(reasons), "; ".join(messages)


def bd_rate(
    rate_anchor: np.ndarray,
    quality_anchor: np.ndarray,
    rate_test: np.ndarray,
    quality_test: np.ndarray,
    *,
    min_points: int = MIN_POINTS,
    monotone: bool = False,
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
    monotone
        Project each curve onto curves that rise with rate first (:func:`monotone_draws`)
        instead of refusing one that does not; off for the classic (objective-metric) BD-rate.

    Returns
    -------
    float
        Percent; negative means the test codec needs fewer bits at equal quality.

    Raises
    ------
    BDRateUndefined
        With ``reason`` ``too_few_points``, ``not_monotone`` or ``no_overlap``.
    """
    gaps, reasons, message = _mean_log_rate_gaps(
        np.asarray(rate_anchor, float),
        np.atleast_2d(np.asarray(quality_anchor, float)),
        np.asarray(rate_test, float),
        np.atleast_2d(np.asarray(quality_test, float)),
        min_points,
        "project" if monotone else "none",
    )
    if reasons[0] is not None:
        raise BDRateUndefined(str(reasons[0]), message)
    return (float(np.exp(gaps[0])) - 1.0) * 100.0


def bd_rate_draws(
    rate_anchor: np.ndarray,
    quality_anchor: np.ndarray,
    rate_test: np.ndarray,
    quality_test: np.ndarray,
    *,
    min_points: int = MIN_POINTS,
    order: str = "restrict",
) -> tuple[np.ndarray, list[str | None]]:
    """BD-rate per draw in percent (quality arrays shaped (draws, points)); NaN and a reason where undefined.

    ``order`` (:func:`order_draws`) says what happens to draws whose curves do not rise: left
    out with the reason ``restricted`` (default, unless too few draws rise), projected onto rising
    curves (``"project"``), or undefined with ``not_monotone`` (``"none"``). Otherwise only
    ``no_overlap`` (or ``too_few_points``, for every draw) leaves a draw undefined.
    """
    quality_anchor = np.atleast_2d(np.asarray(quality_anchor, float))
    quality_test = np.atleast_2d(np.asarray(quality_test, float))
    try:
        gaps, reasons, _ = _mean_log_rate_gaps(
            np.asarray(rate_anchor, float),
            quality_anchor,
            np.asarray(rate_test, float),
            quality_test,
            min_points,
            order,
        )
    except BDRateUndefined as exc:
        return np.full(len(quality_anchor), np.nan), [exc.reason] * len(quality_anchor)
    return (np.exp(gaps) - 1.0) * 100.0, reasons


def bd_rate_posterior(
    rate_anchor: np.ndarray,
    quality_anchor: np.ndarray,
    rate_test: np.ndarray,
    quality_test: np.ndarray,
    *,
    prob: float = 0.95,
    min_points: int = MIN_POINTS,
    max_undefined: float = MAX_UNDEFINED_FRACTION,
    order: str = "restrict",
) -> BDRateSummary:
    """Posterior mean and ``prob`` central interval of the BD-rate over quality draws, in percent.

    Quality arrays are shaped (draws, points). Draws whose curves do not rise are handled as
    ``order`` says (:func:`order_draws`; by default the posterior is restricted to rising curves).
    When more than ``max_undefined`` of the draws used give no BD-rate (curves that do not
    overlap, too few points), the summary carries the most common reason and no numbers.
    """
    values, reasons = bd_rate_draws(
        rate_anchor, quality_anchor, rate_test, quality_test, min_points=min_points, order=order
    )
    used = np.array([r != RESTRICTED for r in reasons])
    values = values[used]
    valid = values[~np.isnan(values)]
    failed = [r for r in reasons if r is not None and r != RESTRICTED]
    if len(failed) > max_undefined * len(values) or len(valid) == 0:
        reason = max(set(failed), key=failed.count)
        share = len(failed) / len(values)
        return BDRateSummary(None, None, None, f"{reason} in {share:.0%} of draws", len(valid), len(values))
    tail = (1.0 - prob) / 2.0
    lo, hi = np.quantile(valid, [tail, 1.0 - tail])
    return BDRateSummary(float(valid.mean()), float(lo), float(hi), None, len(valid), len(values))
