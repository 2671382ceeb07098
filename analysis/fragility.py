"""How far to trust a result: the fragility of each BD-rate, and the split-half reliability of the Elo scale.

**Fragility** (after Broderick, Giordano & Meager, "An automatic finite-sample robustness
metric", 2020, and the same group's critique of Arena rankings, 2025): the number of judgments
whose removal flips the sign of a BD-rate (or moves it past another ``target``). Finding the
true minimum is a combinatorial search; this module computes an **upper bound** by a greedy,
verified search on a point estimate:

1. the MAP of a weighted Bradley–Terry model — the fit's strengths prior (sd 600 Elo on the
   centred strengths), every judgment weighted by 1 − ``p_spammer`` of its rater when the fit
   has rater terms (spammers' judgments carry almost nothing there either); no image terms;
2. each judgment's first-order effect on that MAP's BD-rate if it were removed (the influence
   function: −ω·(1 − p)·(uₐ − u_b) with u = H⁻¹∇BD, H the negative Hessian of the log posterior);
3. remove the judgments that push the BD-rate hardest towards the target, as many as the linear
   prediction says are needed; refit (Newton, warm start) and recompute the BD-rate; if it has not
   crossed, re-linearise at the new fit and remove more; once it has, bisect for the shortest
   prefix of the last batch that still crosses (each step a refit).

Every count reported was verified by a refit, so it is a real set of judgments that flips the
estimate: a smaller set may exist, a larger number is never needed.

**Split-half reliability**: the raters are split at random into two halves, each half's
judgments fitted alone (the same weighted MAP), and the Pearson correlation of the two Elo
scales over conditions computed; repeated, with the Spearman–Brown step-up 2r/(1 + r) to the
full study's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from analysis.bdrate import BDRateUndefined, bd_rate_draws
from analysis.data import StudyData
from analysis.elo import ELO_PER_NAT, EloFit, anchor_index

MAX_ROUNDS = 12
"""Re-linearisations before the search gives up (the count is then reported as not found)."""
GRADIENT_STEP = 1e-4
"""Central-difference step of the BD-rate's gradient, in nats (≈ 0.02 Elo)."""


@dataclass
class _Judgments:
    """Judgments as condition codes with a weight each (1 − p_spammer of the rater, or 1)."""

    winner: np.ndarray
    loser: np.ndarray
    weight: np.ndarray
    rater: np.ndarray
    n_cond: int
    position: np.ndarray
    """Row of each judgment in ``StudyData.judgments``."""


def _judgments(fit: EloFit) -> _Judgments:
    t = fit.data.judgments
    position = np.arange(len(t))
    if "tie" in t.columns:  # ties carry no winner; the greedy search removes decisive judgments only
        position = np.flatnonzero(~t["tie"].astype(bool).to_numpy())
        t = t.iloc[position]
    weight = np.ones(len(t))
    post = fit.idata["posterior"]
    if "p_spammer" in post:
        p_spam = post["p_spammer"].mean(("chain", "draw")).to_numpy()
        weight = 1.0 - p_spam[t["rater_code"].to_numpy()]
    return _Judgments(
        t["winner"].to_numpy(),
        t["loser"].to_numpy(),
        weight,
        t["rater_code"].to_numpy(),
        len(fit.data.conditions),
        position,
    )


def _weights(j: _Judgments, keep: np.ndarray) -> np.ndarray:
    """Summed weight of the kept judgments per (winner, loser), shaped (conditions, conditions)."""
    n = j.n_cond
    flat = np.bincount(j.winner[keep] * n + j.loser[keep], weights=j.weight[keep], minlength=n * n)
    return flat.reshape(n, n)


def _map(w: np.ndarray, ref: int, precision: float, start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Weighted Bradley–Terry MAP (nats, ``ref`` at 0) by Newton; returns (strengths, negative Hessian)."""
    n = len(w)
    free = np.arange(n) != ref
    theta = np.zeros(n) if start is None else start - start[ref]
    centring = np.eye(n) - 1.0 / n

    def value_grad_hess(theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        gap = theta[:, None] - theta[None, :]
        p = expit(gap)
        centred = theta - theta.mean()
        value = float((w * np.log(np.clip(p, 1e-300, None))).sum() - 0.5 * precision * centred @ centred)
        r = w * (1.0 - p)  # d/d gap of w·log p
        grad = r.sum(axis=1) - r.sum(axis=0) - precision * centred
        c = (w + w.T) * p * (1.0 - p)
        hess = np.diag(c.sum(axis=1)) - c + precision * centring  # negative Hessian
        return value, grad, hess

    value, grad, hess = value_grad_hess(theta)
    for _ in range(100):
        step = np.zeros(n)
        step[free] = np.linalg.solve(hess[np.ix_(free, free)], grad[free])
        scale = 1.0
        while True:
            new = value_grad_hess(theta + scale * step)
            if new[0] >= value - 1e-12 or scale < 1e-6:
                break
            scale /= 2
        theta = theta + scale * step
        value, grad, hess = new
        if np.max(np.abs(grad[free])) < 1e-9:
            break
    return theta, hess


@dataclass(frozen=True)
class FragilityResult:
    """Fragility of one BD-rate: see the module docstring for what is computed."""

    codec: str
    anchor: str
    bdrate: float | None
    """BD-rate (percent) of the weighted Bradley–Terry MAP on all judgments."""
    target: float
    removed: int | None
    """Judgments whose removal moved that BD-rate past ``target`` (verified by a refit); None if not found."""
    judgments: int
    refits: int
    reason: str | None = None
    removed_rows: tuple[int, ...] = ()
    """Rows of ``fit.data.judgments`` whose removal does it (the search's set, ``removed`` long)."""


class _Problem:
    """BD-rate of one codec against the anchor as a function of the strengths (nats)."""

    def __init__(self, data: StudyData, anchor: str, codec: str) -> None:
        conditions = data.conditions
        a = conditions[conditions["codec"] == anchor].sort_values("bpp")
        t = conditions[conditions["codec"] == codec].sort_values("bpp")
        self.rows_a, self.rows_t = a.index.to_numpy(), t.index.to_numpy()
        self.rate_a, self.rate_t = a["bpp"].to_numpy(float), t["bpp"].to_numpy(float)

    def bdrate(self, theta: np.ndarray) -> np.ndarray:
        """BD-rate (percent) of each row of theta (shaped (k, conditions)); NaN where undefined."""
        elo = np.atleast_2d(theta) * ELO_PER_NAT
        values, _ = bd_rate_draws(self.rate_a, elo[:, self.rows_a], self.rate_t, elo[:, self.rows_t], order="project")
        return values

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        n = len(theta)
        steps = np.eye(n) * GRADIENT_STEP
        values = self.bdrate(np.vstack([theta + steps, theta - steps]))
        return (values[:n] - values[n:]) / (2 * GRADIENT_STEP)


def bdrate_fragility(fit: EloFit, codec: str, *, anchor: str | None = None, target: float = 0.0) -> FragilityResult:
    """Fewest judgments found whose removal moves ``codec``'s BD-rate against ``anchor`` past ``target``.

    Parameters
    ----------
    fit
        A fitted study (its judgments, and each rater's ``p_spammer`` if it has rater terms).
    codec, anchor
        The BD-rate's codecs (anchor: the fit's by default).
    target
        Percent; 0 asks how many judgments flip the BD-rate's sign.

    Returns
    -------
    FragilityResult
        ``removed`` judgments (an upper bound on the true minimum, each count verified by a
        refit), the MAP BD-rate it refers to, and the number of refits. ``removed`` is None
        with a ``reason`` when the BD-rate is undefined or the search did not get past the target.
    """
    anchor = anchor or fit.anchor
    data = fit.data
    j = _judgments(fit)
    ref = anchor_index(data, anchor)
    precision = (ELO_PER_NAT / fit.spec.prior_sd_elo) ** 2
    problem = _Problem(data, anchor, codec)
    keep = np.ones(len(j.winner), dtype=bool)
    theta, hess = _map(_weights(j, keep), ref, precision)
    start = float(problem.bdrate(theta)[0])

    def result(
        bdrate: float | None, removed: int | None, refits: int, reason: str | None = None, rows: tuple[int, ...] = ()
    ) -> FragilityResult:
        return FragilityResult(codec, anchor, bdrate, target, removed, len(j.winner), refits, reason, rows)

    if np.isnan(start):
        return result(None, None, 1, "bd_rate_undefined")
    side = np.sign(start - target) or 1.0
    refits = 1

    def crossed(value: float) -> bool:
        return bool(np.isnan(value) or np.sign(value - target) != side)

    for _ in range(MAX_ROUNDS):
        free = np.arange(j.n_cond) != ref
        u = np.zeros(j.n_cond)
        u[free] = np.linalg.solve(hess[np.ix_(free, free)], problem.gradient(theta)[free])
        p = expit(theta[j.winner] - theta[j.loser])
        effect = -j.weight * (1.0 - p) * (u[j.winner] - u[j.loser]) * side  # < 0 moves towards the target
        effect[~keep] = np.inf
        order = np.argsort(effect, kind="stable")
        candidates = order[effect[order] < 0]
        if len(candidates) == 0:
            break
        current = float(problem.bdrate(theta)[0])
        needed = np.searchsorted(-np.cumsum(effect[candidates]), abs(current - target)) + 1
        batch = candidates[: min(max(int(needed), 1), len(candidates))]
        trial = keep.copy()
        trial[batch] = False
        new_theta, new_hess = _map(_weights(j, trial), ref, precision, theta)
        refits += 1
        if crossed(float(problem.bdrate(new_theta)[0])):
            lo, hi = 0, len(batch)  # crossing with hi judgments of the batch, not with lo
            while hi - lo > 1:
                mid = (lo + hi) // 2
                probe = keep.copy()
                probe[batch[:mid]] = False
                refits += 1
                if crossed(float(problem.bdrate(_map(_weights(j, probe), ref, precision, theta)[0])[0])):
                    hi = mid
                else:
                    lo = mid
            gone = np.concatenate([np.flatnonzero(~keep), batch[:hi]])
            return result(start, len(gone), refits, rows=tuple(int(r) for r in j.position[np.sort(gone)]))
        keep, theta, hess = trial, new_theta, new_hess
    return result(
        start, None, refits, f"not found: removing {int((~keep).sum())} judgments did not get past {target:+g}%"
    )


def fragility_table(fit: EloFit, *, anchor: str | None = None, target: float = 0.0) -> pd.DataFrame:
    """:func:`bdrate_fragility` of every codec against the anchor.

    Returns
    -------
    pandas.DataFrame
        ``codec, anchor, map_bdrate`` (percent, weighted Bradley–Terry MAP), ``target`` (percent),
        ``fragility`` (judgments whose removal moves it past the target; empty if not found),
        ``fragility_share`` (that count over the judgments fitted), ``refits``, ``fragility_reason``.
    """
    anchor = anchor or fit.anchor
    rows = []
    for codec in fit.data.codecs:
        if codec == anchor:
            continue
        try:
            r = bdrate_fragility(fit, codec, anchor=anchor, target=target)
        except BDRateUndefined as exc:
            r = FragilityResult(codec, anchor, None, target, None, len(fit.data.judgments), 0, exc.reason)
        share = None if r.removed is None else r.removed / r.judgments
        rows.append([r.codec, r.anchor, r.bdrate, r.target, r.removed, share, r.refits, r.reason])
    table = pd.DataFrame(
        rows,
        columns=[
            "codec",
            "anchor",
            "map_bdrate",
            "target",
            "fragility",
            "fragility_share",
            "refits",
            "fragility_reason",
        ],
    )
    table["fragility"] = table["fragility"].astype("Int64")
    return table


@dataclass(frozen=True)
class SplitHalf:
    """Split-half reliability of the Elo scale over ``repeats`` random splits of the raters."""

    raters: int
    repeats: int
    pearson: float
    """Mean Pearson correlation of the two halves' Elo over conditions."""
    pearson_min: float
    pearson_max: float
    spearman_brown: float
    """Mean of 2r/(1 + r): the reliability of a study with all the raters."""
    rms_difference: float
    """Mean RMS difference of the two halves' centred Elo, in Elo points."""


def split_half_reliability(fit: EloFit, *, repeats: int = 20, seed: int = 0) -> SplitHalf | None:
    """Split the raters at random into halves, fit each half, correlate the two Elo scales; repeat.

    Parameters
    ----------
    fit
        A fitted study (judgments weighted by 1 − ``p_spammer`` of their rater when it has rater terms).
    repeats
        Random splits.
    seed
        Seed of the splits.

    Returns
    -------
    SplitHalf or None
        None when there are fewer than 4 raters (two per half).
    """
    j = _judgments(fit)
    n_raters = len(fit.data.raters)
    if n_raters < 4:
        return None
    ref = anchor_index(fit.data, fit.anchor)
    precision = (ELO_PER_NAT / fit.spec.prior_sd_elo) ** 2
    rng = np.random.default_rng(seed)
    r_values, rms = [], []
    for _ in range(repeats):
        first = rng.permutation(n_raters)[: n_raters // 2]
        in_first = np.isin(j.rater, first)
        halves = [_map(_weights(j, mask), ref, precision)[0] * ELO_PER_NAT for mask in (in_first, ~in_first)]
        a, b = (h - h.mean() for h in halves)
        r_values.append(float(np.corrcoef(a, b)[0, 1]))
        rms.append(float(np.sqrt(np.mean((a - b) ** 2))))
    r = np.array(r_values)
    return SplitHalf(
        raters=n_raters,
        repeats=repeats,
        pearson=float(r.mean()),
        pearson_min=float(r.min()),
        pearson_max=float(r.max()),
        spearman_brown=float(np.mean(2 * r / (1 + r))),
        rms_difference=float(np.mean(rms)),
    )
