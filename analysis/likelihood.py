"""The rater-class Bradley–Terry likelihood as one fused kernel and PyTensor Op.

Each rater is attentive (answers at random with the shared lapse λ₀, else by the Elo model) or a
spammer (always at random), spammers being a share ``w`` of the raters; the class is summed out
per rater::

    log L = Σ_r log[(1 − w)·Π_n q_n^count_n + w·2^−n_r],   q_n = λ₀/2 + (1 − λ₀)·σ(s_winner − s_loser)

At the paper's scale there are ~75,000 rows (unique rater, winner, loser[, image]), so this sum and
its gradient dominate sampling time. Written as plain PyTensor it becomes a dozen array-sized
temporaries and two scatter-adds; :func:`rater_class_loglik` does the value, every gradient and
each rater's posterior spammer probability in two numba loops, and :mod:`analysis.ops` wraps it as a
PyTensor Op that nutpie's numba backend inlines into the compiled log-density. The MAP preview (:mod:`analysis.laplace`) calls the same kernel.
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
def rater_class_loglik(
    strength: np.ndarray,
    lapse_logit: float,
    spam_logit: float,
    winner: np.ndarray,
    loser: np.ndarray,
    rater: np.ndarray,
    count: np.ndarray,
    random_loglik: np.ndarray,
) -> tuple[float, np.ndarray, float, float, np.ndarray]:
    """Log-likelihood, its gradients (strength, logit λ₀, logit w) and P(spammer) per rater.

    Rows are oriented winner first; ``rater`` indexes ``random_loglik`` (each rater's
    log-likelihood if answering at random, ``n_r·log ½``). ``lapse_logit = -inf`` with
    ``spam_logit = -inf`` is the plain Bradley–Terry likelihood.
    """
    n_raters = random_loglik.shape[0]
    lapse = 1.0 / (1.0 + math.exp(-lapse_logit))
    keep = 1.0 / (1.0 + math.exp(lapse_logit))  # 1 − λ₀ without cancellation
    attentive = np.zeros(n_raters)
    slope = np.empty(winner.shape[0])
    lapse_slope = np.empty(winner.shape[0])
    for n in range(winner.shape[0]):
        e = math.exp(strength[loser[n]] - strength[winner[n]])
        p = 1.0 / (1.0 + e)  # σ(d), and 1 − σ(d) = e·σ(d)
        q = 0.5 * lapse + keep * p
        attentive[rater[n]] += count[n] * math.log(q)
        weight = count[n] / q
        slope[n] = weight * keep * p * (e * p)
        lapse_slope[n] = weight * (0.5 - p)

    log_share, log_rest = _log_sigmoid(spam_logit), _log_sigmoid(-spam_logit)
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
        grad_spam += p_spam[r] * math.exp(log_rest) - p_attentive[r] * math.exp(log_share)

    grad_strength = np.zeros_like(strength)
    grad_lapse = 0.0
    for n in range(winner.shape[0]):
        weight = p_attentive[rater[n]]
        grad_strength[winner[n]] += weight * slope[n]
        grad_strength[loser[n]] -= weight * slope[n]
        grad_lapse += weight * lapse_slope[n]
    return logp, grad_strength, grad_lapse * lapse * keep, grad_spam, p_spam


def random_loglik(rater: np.ndarray, count: np.ndarray, n_raters: int) -> np.ndarray:
    """Each rater's log-likelihood when every judgment is a coin flip: ``n_r · log ½``."""
    return np.bincount(rater, weights=count, minlength=n_raters) * math.log(0.5)
