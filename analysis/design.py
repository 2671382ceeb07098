"""Which pairs of conditions to compare: a design that makes the BD-rates as precise as it can.

Random pairs over all conditions spend most judgments on lopsided pairs (a codec's top level
against another's bottom level), which tell almost nothing, and few on the pairs where two
rate–Elo curves overlap, where BD-rates are read. Given expected Elo per condition (a pilot's
MAP preview, or expected curves when planning), :func:`optimal_allocation` chooses the share of
judgments for each pair of conditions that minimises the summed variance of the BD-rates against
the anchor, under the Bradley–Terry model with lapses (an A-optimal design on the BD-rate
contrasts; Atkinson, Donev & Tobias, *Optimum Experimental Designs*, ch. 10), subject to a
penalty that keeps every gap between neighbouring levels of a codec at least as precise as random
pairs would make it (a BD-rate needs monotone curves in nearly every posterior draw). A ``floor``
share stays on a base design (half on neighbouring levels of each codec, half spread over all
pairs), so each condition keeps being compared and a wrong pilot is corrected as judgments come
in, and a ``screening`` share goes to lopsided pairs, where careful raters and spammers answer
differently (the rater model cannot tell them apart on evenly matched pairs). The site recomputes the design from its MAP preview on the schedule of :func:`refresh_due`,
and :func:`analysis.simulate.simulate_study` (``design="adaptive"``) does the same.

The variances are the inverse Fisher information of the pooled model, propagated to BD-rates by
their gradient with respect to the Elo of each condition (the delta method). They ignore image
terms and treat the lapse as known, so :func:`predicted_sd` is a planning figure; the simulated
studies of ``benchmarks/bench_elo.py`` measure the real errors.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, softmax

from analysis.bdrate import BDRateUndefined, bd_rate
from analysis.elo import ELO_PER_NAT
from analysis.errors import AnalysisError

DEFAULT_FLOOR = 0.2
"""Share of judgments kept on the base design whatever the optimum says."""
DEFAULT_SCREENING = 0.3
"""Share of judgments on lopsided pairs, where a careful rater and a spammer answer most
differently: the rater model needs them to tell spammers from careful raters, which it cannot do
on the evenly matched pairs the optimum prefers."""
DEFAULT_LAPSE = 0.1
"""Effective share of random answers (attentive lapses plus spammers) assumed by the design."""
PILOT_PER_CONDITION = 50
"""Judgments per condition before the first optimised design (a preview is then good to ~±40 Elo)."""
REFRESH_GROWTH = 0.25
"""The design is recomputed each time the judgments have grown by this share since the last time."""
PENALTY = 100.0
"""Weight of a neighbouring gap measured worse than random pairs would (relative to their BD-rate variance)."""
MIN_GAP_ELO = 20.0
"""Neighbouring levels closer than this are not chased further by the base design."""
ALLOCATION_COLUMNS = ["codec_a", "level_a", "codec_b", "level_b", "share"]


def refresh_due(judgments: int, last: int | None, n_conditions: int) -> bool:
    """Whether an adaptive study should recompute its design now, having ``judgments`` and last
    computed it at ``last`` judgments (``None``: still on the pilot's base design)."""
    if last is None:
        return judgments >= PILOT_PER_CONDITION * n_conditions
    return judgments >= last * (1.0 + REFRESH_GROWTH)


def pair_information(gap_elo: np.ndarray, lapse: float = DEFAULT_LAPSE) -> np.ndarray:
    """Fisher information (per judgment, in nats⁻²) about the Elo gap of a pair, with lapses.

    A judgment is a coin flip with P(first wins) = λ/2 + (1 − λ)·σ(gap); its information about
    the gap is (dp/dgap)² / (p(1 − p)), largest for evenly matched pairs.
    """
    p = expit(np.asarray(gap_elo, float) / ELO_PER_NAT)
    observed = lapse / 2.0 + (1.0 - lapse) * p
    slope = (1.0 - lapse) * p * (1.0 - p)
    return slope**2 / (observed * (1.0 - observed))


def bdrate_gradients(curves: pd.DataFrame, anchor: str, *, step_elo: float = 1.0) -> pd.DataFrame:
    """d BD-rate (percentage points) / d Elo of each condition, per codec against ``anchor``.

    ``curves`` has ``codec, level, bpp, elo``; rows of the result are codecs whose BD-rate is
    defined at these Elo values, columns the rows of ``curves``. Central differences of
    :func:`analysis.bdrate.bd_rate` (PCHIP), so the gradient includes the overlap limits.
    """
    curves = curves.reset_index(drop=True)
    elo = curves["elo"].to_numpy(float)
    bpp = curves["bpp"].to_numpy(float)
    anchor_rows = np.flatnonzero(curves["codec"].to_numpy() == anchor)
    if not len(anchor_rows):
        raise AnalysisError(f"anchor codec {anchor!r} is not among the curves' codecs {sorted(set(curves['codec']))}")
    gradients = {}
    for codec in sorted(set(curves["codec"]) - {anchor}):
        rows = np.flatnonzero(curves["codec"].to_numpy() == codec)
        both = np.concatenate([anchor_rows, rows])
        gradient = np.zeros(len(curves))

        def bd(values: np.ndarray, anchor_n: int = len(anchor_rows), rows_: np.ndarray = both) -> float:
            return bd_rate(bpp[rows_[:anchor_n]], values[:anchor_n], bpp[rows_[anchor_n:]], values[anchor_n:])

        try:
            for k, row in enumerate(both):
                up, down = elo[both].copy(), elo[both].copy()
                up[k] += step_elo
                down[k] -= step_elo
                gradient[row] = (bd(up) - bd(down)) / (2.0 * step_elo)
        except BDRateUndefined:
            continue  # undefined near these Elo values: nothing to make precise yet
        gradients[codec] = gradient
    return pd.DataFrame.from_dict(gradients, orient="index", columns=curves.index)


def _contrasts(n: int) -> tuple[np.ndarray, np.ndarray]:
    pairs = np.array(list(combinations(range(n), 2)))
    design = np.zeros((len(pairs), n))
    design[np.arange(len(pairs)), pairs[:, 0]] = 1.0
    design[np.arange(len(pairs)), pairs[:, 1]] = -1.0
    return pairs, design


def _neighbours(curves: pd.DataFrame, pairs: np.ndarray) -> np.ndarray:
    """Which pairs are neighbouring levels of one codec."""
    codec = curves["codec"].to_numpy()
    ranks = curves.groupby("codec")["level"].rank(method="first").to_numpy()
    return (codec[pairs[:, 0]] == codec[pairs[:, 1]]) & (np.abs(ranks[pairs[:, 0]] - ranks[pairs[:, 1]]) == 1)


def _base_shares(curves: pd.DataFrame, pairs: np.ndarray, lapse: float = DEFAULT_LAPSE) -> np.ndarray:
    """Half over neighbouring levels of each codec, half over all pairs.

    With Elo known, the neighbours' half goes where levels are close, so every gap is measured
    to about the same z-score (share ∝ 1 / (gap² · information), gaps under ``MIN_GAP_ELO``
    counted as that): a flat top of a curve otherwise makes posterior draws non-monotone and
    the BD-rate undefined.
    """
    neighbours = _neighbours(curves, pairs)
    base = np.full(len(pairs), 0.5 / len(pairs))
    if not neighbours.any():
        return base * 2.0
    weight = np.ones(neighbours.sum())
    if "elo" in curves:
        elo = curves["elo"].to_numpy(float)
        gap = np.maximum(np.abs(elo[pairs[neighbours, 0]] - elo[pairs[neighbours, 1]]), MIN_GAP_ELO)
        weight = 1.0 / (gap**2 * pair_information(gap, lapse))
    base[neighbours] += 0.5 * weight / weight.sum()
    return base


def _screening_shares(elo: np.ndarray, pairs: np.ndarray, lapse: float) -> np.ndarray:
    """Shares ∝ KL(careful rater ‖ coin flip) per pair: the evidence one judgment gives about a spammer."""
    p = lapse / 2.0 + (1.0 - lapse) * expit(np.abs(elo[pairs[:, 0]] - elo[pairs[:, 1]]) / ELO_PER_NAT)
    kl = p * np.log(2.0 * p) + (1.0 - p) * np.log(2.0 * (1.0 - p))
    return kl / kl.sum() if kl.sum() > 0 else np.full(len(pairs), 1.0 / len(pairs))


def _allocation_frame(curves: pd.DataFrame, pairs: np.ndarray, shares: np.ndarray) -> pd.DataFrame:
    codec, level = curves["codec"].to_numpy(), curves["level"].to_numpy()
    return pd.DataFrame(
        {
            "codec_a": codec[pairs[:, 0]],
            "level_a": level[pairs[:, 0]],
            "codec_b": codec[pairs[:, 1]],
            "level_b": level[pairs[:, 1]],
            "share": shares / shares.sum(),
        },
        columns=ALLOCATION_COLUMNS,
    )


def base_allocation(conditions: pd.DataFrame) -> pd.DataFrame:
    """The design before any Elo is known (a pilot): half the judgments on neighbouring levels of
    each codec, which keeps every curve monotone, half spread evenly over all pairs.

    ``conditions`` has ``codec, level``; the result has the columns of :func:`optimal_allocation`.
    """
    conditions = conditions[["codec", "level"]].reset_index(drop=True)
    pairs, _ = _contrasts(len(conditions))
    return _allocation_frame(conditions, pairs, _base_shares(conditions, pairs))


def _variances(
    shares: np.ndarray, info: np.ndarray, design: np.ndarray, contrasts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-judgment variances gᵀF⁻¹g of contrasts g (rows; BD-rate gradients or Elo gaps) and F⁻¹g."""
    n = design.shape[1]
    fisher = (design * (shares * info)[:, None]).T @ design + np.ones((n, n))  # + 11ᵀ: contrasts ignore a common shift
    solved = np.linalg.solve(fisher, contrasts.T)  # n × contrasts
    return np.einsum("ic,ic->c", contrasts.T, solved), solved


def optimal_allocation(
    curves: pd.DataFrame,
    anchor: str,
    *,
    floor: float = DEFAULT_FLOOR,
    screening: float = DEFAULT_SCREENING,
    lapse: float = DEFAULT_LAPSE,
) -> pd.DataFrame:
    """Share of judgments per pair of conditions that minimises the summed BD-rate variance
    while no neighbouring gap of a curve is measured worse than with random pairs.

    Parameters
    ----------
    curves
        Expected Elo per condition: ``codec, level, bpp, elo`` (``elo_table`` of a MAP preview,
        or :func:`analysis.simulate.expected_curves` when planning).
    anchor
        Codec the BD-rates are taken against.
    floor
        Share kept on :func:`base_allocation` (0 < floor ≤ 1).
    screening
        Share on lopsided pairs, for telling spammers from careful raters (``floor + screening ≤ 1``).
        The rest goes where the BD-rates need it.
    lapse
        Share of random answers the information accounts for.

    Returns
    -------
    pandas.DataFrame
        ``codec_a, level_a, codec_b, level_b, share`` over every unordered pair of conditions, in
        the order of ``curves``' rows, shares summing to 1. Only the base and screening parts
        (rescaled) when no BD-rate is defined at the expected Elo.
    """
    if not 0.0 <= screening <= 1.0 - floor:
        raise AnalysisError(f"screening must be a share in [0, 1 - floor] = [0, {1.0 - floor:g}], got {screening}")
    if not 0.0 < floor <= 1.0:
        raise AnalysisError(
            f"floor must be a share in (0, 1] (without it conditions can lose every comparison), got {floor}"
        )
    missing = {"codec", "level", "bpp", "elo"} - set(curves.columns)
    if missing:
        raise AnalysisError(f"curves lack column(s) {', '.join(sorted(missing))}; expected codec, level, bpp, elo")
    curves = curves.reset_index(drop=True)
    pairs, design = _contrasts(len(curves))
    elo = curves["elo"].to_numpy(float)
    fixed = floor * _base_shares(curves, pairs, lapse) + screening * _screening_shares(elo, pairs, lapse)
    free_share = 1.0 - floor - screening
    gradients = bdrate_gradients(curves, anchor).to_numpy() * ELO_PER_NAT  # pp per nat
    shares = fixed
    if len(gradients) and free_share > 0:
        info = pair_information(elo[pairs[:, 0]] - elo[pairs[:, 1]], lapse)
        # BD-rate gradients, then the gaps between neighbouring levels of each codec, which may not
        # be measured worse than random pairs would: the curves stay as surely monotone (and the
        # BD-rates as surely defined) as with random pairs.
        contrasts = np.vstack([gradients, design[_neighbours(curves, pairs)]])
        n_bd = len(gradients)
        random_variances, _ = _variances(np.full(len(pairs), 1.0 / len(pairs)), info, design, contrasts)
        limit = random_variances[n_bd:]
        scale = PENALTY * random_variances[:n_bd].sum()

        def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
            free = softmax(z)
            variances, solved = _variances(fixed + free_share * free, info, design, contrasts)
            excess = np.maximum(variances[n_bd:] / limit - 1.0, 0.0)
            weight = np.concatenate([np.ones(n_bd), 2.0 * scale * excess / limit])
            # d gᵀF⁻¹g / d share_k = −info_k (x_kᵀ F⁻¹ g)², weighted over codecs and penalised gaps.
            d_share = -info * ((design @ solved) ** 2 @ weight)
            value = variances[:n_bd].sum() + scale * (excess**2).sum()
            return float(value), free_share * free * (d_share - free @ d_share)

        z0 = np.log(info / info.sum())  # start from "informative pairs more often"
        result = minimize(objective, z0, jac=True, method="L-BFGS-B", options={"maxiter": 500})
        shares = fixed + free_share * softmax(result.x)
    return _allocation_frame(curves, pairs, shares)


def predicted_sd(
    curves: pd.DataFrame,
    anchor: str,
    allocation: pd.DataFrame | None,
    n_judgments: int,
    *,
    lapse: float = DEFAULT_LAPSE,
) -> dict[str, float]:
    """Delta-method sd (percentage points) of each codec's BD-rate after ``n_judgments`` (``None``: random pairs)."""
    curves = curves.reset_index(drop=True)
    pairs, design = _contrasts(len(curves))
    if allocation is None:
        shares = np.full(len(pairs), 1.0 / len(pairs))
    else:
        key = {(c, int(lv)): i for i, (c, lv) in enumerate(zip(curves["codec"], curves["level"], strict=True))}
        shares = np.zeros(len(pairs))
        index = {tuple(p): k for k, p in enumerate(map(tuple, pairs))}
        for row in allocation.itertuples():
            i, j = key[(row.codec_a, int(row.level_a))], key[(row.codec_b, int(row.level_b))]
            shares[index[(min(i, j), max(i, j))]] += row.share
    gradients = bdrate_gradients(curves, anchor)
    elo = curves["elo"].to_numpy(float)
    info = pair_information(elo[pairs[:, 0]] - elo[pairs[:, 1]], lapse)
    variances, _ = _variances(shares, info, design, gradients.to_numpy() * ELO_PER_NAT)
    return {codec: float(np.sqrt(v / n_judgments)) for codec, v in zip(gradients.index, variances, strict=True)}
