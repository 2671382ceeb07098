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
    ``lapse_logit = spam_logit = -inf`` gives the plain Bradley–Terry likelihood.
    """
    n_pairs, n_rows, n_raters = pair_winner.shape[0], row_pair.shape[0], random_loglik.shape[0]
    lapse = 1.0 / (1.0 + math.exp(-lapse_logit))
    keep = 1.0 / (1.0 + math.exp(lapse_logit))  # 1 − λ₀ without cancellation
    log_q = np.empty(n_pairs)
    slope = np.empty(n_pairs)
    lapse_slope = np.empty(n_pairs)
    for k in range(n_pairs):
        p, p_loser = _sigmoid_pair(strength[pair_winner[k]] - strength[pair_loser[k]])
        q = 0.5 * lapse + keep * p
        log_q[k] = math.log(q)
        slope[k] = keep * p * p_loser / q
        lapse_slope[k] = (0.5 - p) / q

    attentive = np.zeros(n_raters)
    for n in range(n_rows):
        attentive[row_rater[n]] += row_count[n] * log_q[row_pair[n]]
    log_share, log_rest = _log_sigmoid(spam_logit), _log_sigmoid(-spam_logit)
    share, rest = math.exp(log_share), math.exp(log_rest)
    logp = 0.0
    grad_spam = 0.0
    p_spam = np.empty(n_raters)
    p_attentive = np.empty(n_raters)
    for r in range(n_raters):
        x = log_rest + attentive[r]
        y = log_share + random_loglik[r]
        top = max(x, y)
        total = top + math.log(math.exp(x - top) + math.exp(y - top))
        logp += total
        p_spam[r] = math.exp(y - total)
        p_attentive[r] = math.exp(x - total)
        grad_spam += p_spam[r] * rest - p_attentive[r] * share

    weight = np.zeros(n_pairs)  # attentive judgments per pair, weighted by P(attentive)
    for n in range(n_rows):
        weight[row_pair[n]] += row_count[n] * p_attentive[row_rater[n]]
    grad_strength = np.zeros_like(strength)
    grad_lapse = 0.0
    for k in range(n_pairs):
        grad_strength[pair_winner[k]] += weight[k] * slope[k]
        grad_strength[pair_loser[k]] -= weight[k] * slope[k]
        grad_lapse += weight[k] * lapse_slope[k]
    return logp, grad_strength, grad_lapse * lapse * keep, grad_spam, p_spam


def pair_rows(winner: np.ndarray, loser: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique oriented pairs of (``winner``, ``loser``) rows: (pair_winner, pair_loser, row_pair)."""
    pairs, row_pair = np.unique(np.stack([winner, loser], axis=1), axis=0, return_inverse=True)
    return pairs[:, 0].copy(), pairs[:, 1].copy(), row_pair.ravel()


def random_loglik(rater: np.ndarray, count: np.ndarray, n_raters: int) -> np.ndarray:
    """Each rater's log-likelihood when every judgment is a coin flip: ``n_r · log ½``."""
    return np.bincount(rater, weights=count, minlength=n_raters) * math.log(0.5)
