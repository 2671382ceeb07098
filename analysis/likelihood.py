"""The rater-class Bradley–Terry likelihood as one fused numba kernel.

Each rater is attentive (answers at random with the shared lapse λ₀, else by the Elo model) or a
spammer (always at random), spammers being a share ``w`` of the raters; the class is summed out
per rater::

    log L = Σ_r log[(1 − w)·Π_n q_n^count_n + w·2^−n_r],   q_n = λ₀/2 + (1 − λ₀)·σ(s_winner − s_loser)

At the paper's scale there are ~75,000 rows (unique rater, winner, loser[, image]), so this sum and
its gradient dominate sampling time. Written as plain PyTensor it becomes a dozen array-sized
temporaries, 75,000 exps and logs and two scatter-adds; :func:`rater_class_loglik` computes the
exps and logs once per unique oriented pair (at most conditions² × images, ~11,000) and does the
value, every gradient and each rater's posterior spammer probability in a few numba loops.
:mod:`analysis.ops` wraps it as a PyTensor Op that nutpie's numba backend inlines into the
compiled log-density; the MAP preview (:mod:`analysis.laplace`) calls it directly.

:func:`choice_loglik` is the general kernel: it adds "can't decide" answers by Davidson's (1970)
tie model, P(i wins) : P(j wins) : P(tie) = e^{d/2} : e^{−d/2} : ν with d = s_i − s_j, and a
side bias β added to the gap of the condition shown on the left. Without ties and without side
information it runs the plain code path above (:func:`rater_class_loglik` calls it that way).

References: Davidson, JASA 65 (1970) 317–328, "On extending the Bradley–Terry model to
accommodate ties in paired comparison experiments".
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def _log_sigmoid(x: float) -> float:
    if x >= 0.0:
        return -math.log1p(math.exp(-x))
    return x - math.log1p(math.exp(x))


@numba.njit(nogil=True, cache=True)
def _sigmoid_pair(d: float) -> tuple[float, float]:
    """(σ(d), 1 − σ(d)) without overflow or cancellation for any finite d."""
    if d >= 0.0:
        e = math.exp(-d)
        p = 1.0 / (1.0 + e)
        return p, e * p
    e = math.exp(d)
    p_loser = 1.0 / (1.0 + e)
    return e * p_loser, p_loser


@numba.njit(nogil=True, cache=True)
def _davidson(g: float, nu: float) -> tuple[float, float, float]:
    """Davidson (1970) outcome probabilities at gap ``g`` (nats) and tie parameter ``nu`` ≥ 0.

    (P(first wins), P(second wins), P(tie)) = (e^{g/2}, e^{−g/2}, ν) / (e^{g/2} + e^{−g/2} + ν),
    computed with one exp and no overflow for any finite g.
    """
    e = math.exp(-0.5 * abs(g))
    denominator = 1.0 + e * e + nu * e
    big, small, tie = 1.0 / denominator, e * e / denominator, nu * e / denominator
    if g >= 0.0:
        return big, small, tie
    return small, big, tie


@numba.njit(nogil=True, cache=True)
def choice_loglik(
    strength: np.ndarray,
    lapse_logit: float,
    spam_logit: float,
    tie_logit: float,
    side_bias: float,
    pair_first: np.ndarray,
    pair_second: np.ndarray,
    pair_tie: np.ndarray,
    pair_side: np.ndarray,
    row_pair: np.ndarray,
    row_rater: np.ndarray,
    row_count: np.ndarray,
    random_loglik: np.ndarray,
    rater_ties: np.ndarray,
) -> tuple[float, np.ndarray, float, float, float, float, np.ndarray]:
    """Rater-class log-likelihood with Davidson ties and a side bias, its gradients and P(spammer).

    Parameters
    ----------
    strength
        Strengths (nats) indexed by ``pair_first`` / ``pair_second``.
    lapse_logit, spam_logit
        logit λ₀ and logit of the spammer share (``-inf`` each: no lapses, no spammers).
    tie_logit
        logit of an attentive rater's tie probability on an evenly matched pair, τ₀; Davidson's
        ν = 2·e^tie_logit = 2τ₀/(1 − τ₀). ``-inf``: no ties (ν = 0), the Bradley–Terry model.
    side_bias
        β (nats): the shown-left condition's gap gains β.
    pair_first, pair_second, pair_tie, pair_side
        Each unique outcome: the winner and loser (for a tie, the two conditions), whether it is a
        tie (0/1), and where the first was shown: +1 left, −1 right, 0 unknown.
    row_pair, row_rater, row_count
        Rows (``row_count`` judgments of one rater with one outcome) point at an outcome.
    random_loglik
        Each rater's ``n_r·log ½`` (all judgments counted, ties included).
    rater_ties
        Each rater's number of ties.

    Returns
    -------
    tuple
        (log L, ∂/∂strength, ∂/∂lapse_logit, ∂/∂spam_logit, ∂/∂tie_logit, ∂/∂side_bias,
        P(spammer) per rater).

    Notes
    -----
    An attentive outcome has probability q = λ₀·r + (1 − λ₀)·p, p from Davidson's model at gap
    g = s_first − s_second + side·β, and r the probability of the outcome from a random answer,
    taken as the Davidson outcome of an evenly matched pair: r = 1/(2 + ν) for a win and
    ν/(2 + ν) for a tie (½ and 0 without ties). A spammer answers at random throughout. Without
    ties (``tie_logit = -inf``) the per-outcome code is that of the plain rater-class kernel.
    """
    n_pairs, n_rows, n_raters = pair_first.shape[0], row_pair.shape[0], random_loglik.shape[0]
    lapse = 1.0 / (1.0 + math.exp(-lapse_logit))
    keep = 1.0 / (1.0 + math.exp(lapse_logit))  # 1 − λ₀ without cancellation
    ties = tie_logit > -math.inf
    nu = 2.0 * math.exp(tie_logit) if ties else 0.0
    random_win, random_tie = 1.0 / (2.0 + nu), nu / (2.0 + nu)
    log_q = np.empty(n_pairs)
    slope = np.empty(n_pairs)
    lapse_slope = np.empty(n_pairs)
    tie_slope = np.zeros(n_pairs)
    for k in range(n_pairs):
        gap = strength[pair_first[k]] - strength[pair_second[k]]
        if pair_side[k] != 0:
            gap += pair_side[k] * side_bias
        if not ties:
            p, p_loser = _sigmoid_pair(gap)
            q = 0.5 * lapse + keep * p
            log_q[k] = math.log(q)
            slope[k] = keep * p * p_loser / q
            lapse_slope[k] = (0.5 - p) / q
            continue
        p_win, p_loss, p_tie = _davidson(gap, nu)
        if pair_tie[k]:
            # d log p_tie / dg = (p_loss − p_win)/2; d log p_tie / d tie_logit = 1 − p_tie.
            p, r = p_tie, random_tie
            dlog_gap, dlog_tie, dr_tie = 0.5 * (p_loss - p_win), 1.0 - p_tie, 2.0 * random_win * random_tie
        else:
            # d log p_win / dg = p_loss + p_tie/2; d log p_win / d tie_logit = −p_tie.
            p, r = p_win, random_win
            dlog_gap, dlog_tie, dr_tie = p_loss + 0.5 * p_tie, -p_tie, -random_win * random_tie
        q = lapse * r + keep * p
        log_q[k] = math.log(q)
        slope[k] = keep * p * dlog_gap / q
        lapse_slope[k] = (r - p) / q
        tie_slope[k] = (lapse * dr_tie + keep * p * dlog_tie) / q

    attentive = np.zeros(n_raters)
    for n in range(n_rows):
        attentive[row_rater[n]] += row_count[n] * log_q[row_pair[n]]
    log_share, log_rest = _log_sigmoid(spam_logit), _log_sigmoid(-spam_logit)
    share, rest = math.exp(log_share), math.exp(log_rest)
    logp = 0.0
    grad_spam = 0.0
    grad_tie = 0.0
    p_spam = np.empty(n_raters)
    p_attentive = np.empty(n_raters)
    log_half = math.log(0.5)
    for r in range(n_raters):
        random = random_loglik[r]
        if ties:
            # n_r·log r_win + t_r·(log r_tie − log r_win); d/d tie_logit = t_r − n_r·r_tie.
            n_r = random_loglik[r] / log_half
            random = n_r * math.log(random_win) + rater_ties[r] * math.log(nu)
        x = log_rest + attentive[r]
        y = log_share + random
        top = max(x, y)
        total = top + math.log(math.exp(x - top) + math.exp(y - top))
        logp += total
        p_spam[r] = math.exp(y - total)
        p_attentive[r] = math.exp(x - total)
        grad_spam += p_spam[r] * rest - p_attentive[r] * share
        if ties:
            grad_tie += p_spam[r] * (rater_ties[r] - random_loglik[r] / log_half * random_tie)

    weight = np.zeros(n_pairs)  # attentive judgments per outcome, weighted by P(attentive)
    for n in range(n_rows):
        weight[row_pair[n]] += row_count[n] * p_attentive[row_rater[n]]
    grad_strength = np.zeros_like(strength)
    grad_lapse = 0.0
    grad_side = 0.0
    for k in range(n_pairs):
        grad_strength[pair_first[k]] += weight[k] * slope[k]
        grad_strength[pair_second[k]] -= weight[k] * slope[k]
        grad_lapse += weight[k] * lapse_slope[k]
        if pair_side[k] != 0:
            grad_side += weight[k] * slope[k] * pair_side[k]
        if ties:
            grad_tie += weight[k] * tie_slope[k]
    return logp, grad_strength, grad_lapse * lapse * keep, grad_spam, grad_tie, grad_side, p_spam


@numba.njit(nogil=True, cache=True)
def rater_class_loglik(
    strength: np.ndarray,
    lapse_logit: float,
    spam_logit: float,
    pair_winner: np.ndarray,
    pair_loser: np.ndarray,
    row_pair: np.ndarray,
    row_rater: np.ndarray,
    row_count: np.ndarray,
    random_loglik: np.ndarray,
) -> tuple[float, np.ndarray, float, float, np.ndarray]:
    """Log-likelihood, its gradients (strength, logit λ₀, logit w) and P(spammer) per rater.

    Each row (``row_count`` judgments of one rater) points at an oriented pair: ``strength``
    indices of its winner and loser. The probability of an attentive outcome depends only on
    the pair, so exp and log run once per pair and the rows only gather and scatter.
    ``random_loglik`` is each rater's log-likelihood if answering at random (``n_r·log ½``);
    ``lapse_logit = spam_logit = -inf`` gives the plain Bradley–Terry likelihood. This is
    :func:`choice_loglik` without ties and without a side bias.
    """
    none = np.zeros(pair_winner.shape[0], dtype=np.int8)
    logp, grad_strength, grad_lapse, grad_spam, _, _, p_spam = choice_loglik(
        strength,
        lapse_logit,
        spam_logit,
        -math.inf,
        0.0,
        pair_winner,
        pair_loser,
        none,
        none,
        row_pair,
        row_rater,
        row_count,
        random_loglik,
        np.zeros(random_loglik.shape[0]),
    )
    return logp, grad_strength, grad_lapse, grad_spam, p_spam


def pair_rows(winner: np.ndarray, loser: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique oriented pairs of (``winner``, ``loser``) rows: (pair_winner, pair_loser, row_pair)."""
    pairs, row_pair = np.unique(np.stack([winner, loser], axis=1), axis=0, return_inverse=True)
    return pairs[:, 0].copy(), pairs[:, 1].copy(), row_pair.ravel()


def random_loglik(rater: np.ndarray, count: np.ndarray, n_raters: int) -> np.ndarray:
    """Each rater's log-likelihood when every judgment is a coin flip: ``n_r · log ½``."""
    return np.bincount(rater, weights=count, minlength=n_raters) * math.log(0.5)


OUTCOME_ROWS = (
    "pair_first",
    "pair_second",
    "pair_tie",
    "pair_side",
    "row_pair",
    "row_rater",
    "row_count",
    "random_loglik",
    "rater_ties",
)
"""Names of :func:`outcome_rows`' arrays, in :func:`choice_loglik`'s order (the model's ``pm.Data`` names)."""


def outcome_rows(
    first: np.ndarray,
    second: np.ndarray,
    rater: np.ndarray,
    count: np.ndarray,
    n_raters: int,
    *,
    tie: np.ndarray | None = None,
    side: np.ndarray | None = None,
    half_ties: bool = False,
) -> tuple[np.ndarray, ...]:
    """The data inputs of :func:`choice_loglik`, from rows of (first, second, rater, count[, tie, side]).

    ``first`` and ``second`` are the winner and loser (for a tie, the two conditions as shown, A
    then B); ``side`` is +1 where ``first`` was shown on the left, −1 on the right, 0 unknown.
    With ``half_ties`` (the CLIC convention) each tie becomes half a win to each side, so no tie
    parameter is needed. Ties are oriented with the lower code first (P(tie) is symmetric), so
    each unordered tie outcome is evaluated once.

    Returns
    -------
    tuple
        ``pair_first, pair_second, pair_tie, pair_side, row_pair, row_rater, row_count,
        random_loglik, rater_ties`` in the kernel's order.
    """
    first, second = np.asarray(first, np.int64), np.asarray(second, np.int64)
    rater, count = np.asarray(rater, np.int64), np.asarray(count, np.float64)
    tie = np.zeros(len(first), bool) if tie is None else np.asarray(tie, bool)
    side = np.zeros(len(first), np.int8) if side is None else np.asarray(side, np.int8)
    random = random_loglik(rater, count, n_raters)  # every judgment, ties included
    if half_ties and tie.any():
        both = np.concatenate
        first, second = both([first, second[tie]]), both([second, first[tie]])
        rater, side = both([rater, rater[tie]]), both([side, -side[tie]])
        count = both([np.where(tie, 0.5 * count, count), 0.5 * count[tie]])
        tie = np.zeros(len(first), bool)
    swap = tie & (first > second)
    first, second = np.where(swap, second, first), np.where(swap, first, second)
    side = np.where(swap, -side, side).astype(np.int8)
    # One integer key per row, ordered as (first, second, tie, side): a 1-D unique is ~20× faster
    # than np.unique(axis=0) at 75,000 rows, and the outcomes come out in the same order.
    n = int(max(first.max(), second.max())) + 1 if len(first) else 1
    key = ((first * n + second) * 2 + tie) * 3 + (side.astype(np.int64) + 1)
    unique, row_pair = np.unique(key, return_inverse=True)
    outcome, pair_side = np.divmod(unique, 3)
    outcome, pair_tie = np.divmod(outcome, 2)
    pair_first, pair_second = np.divmod(outcome, n)
    ties = np.bincount(rater, weights=count * tie, minlength=n_raters)
    return (
        pair_first,
        pair_second,
        pair_tie.astype(np.int8),
        (pair_side - 1).astype(np.int8),
        row_pair.ravel(),
        rater,
        count,
        random,
        ties,
    )
