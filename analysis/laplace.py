"""MAP + Laplace approximation of the Elo model in plain NumPy, for live previews and planning.

Same Bradley–Terry likelihood and anchor as :mod:`analysis.elo`, without PyMC compilation, so a
small study fits in milliseconds. Image terms are not supported here (use NUTS).

Rater terms take a simpler, well-identified form than the full model's per-rater lapse
(whose joint mode is biased: with one free lapse per rater the mode trades lapse against Elo
scale): each rater is either attentive, answering at random with a shared lapse λ₀, or a
spammer answering at random always (λ = 1). EM alternates the posterior probability that each
rater is a spammer with a weighted MAP fit of Elo and λ₀. The Laplace covariance is that of
the weighted fit with λ₀ and the rater classes held at their estimates. Unlike the PyMC model,
the prior sd ``prior_sd_elo`` applies to each Elo relative to the anchor's lowest level.
"""

from __future__ import annotations

import time

import arviz as az
import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from analysis.data import StudyData, pair_counts
from analysis.elo import ELO_PER_NAT, ModelSpec, anchor_index
from analysis.errors import AnalysisError

LAPSE_PRIOR = (-3.0, 1.5)
"""Mean and sd of logit λ₀, the attentive raters' shared lapse."""
EM_ROUNDS = 30
EM_TOL = 1e-3
GRAD_TOL = 1e-3


class _Terms:
    """Per-row log-likelihood pieces and their derivatives in d (strength gap) and η (logit lapse)."""

    def __init__(self, diff: np.ndarray, eta: np.ndarray | None, n: np.ndarray, k: np.ndarray) -> None:
        sig, sig_neg = expit(diff), expit(-diff)
        if eta is None:
            lam = np.zeros_like(diff)
            log_half_lapse = np.full_like(diff, -np.inf)
            log_attentive = np.zeros_like(diff)
        else:
            lam = expit(eta)
            log_half_lapse = log_expit(eta) - np.log(2.0)
            log_attentive = log_expit(-eta)
        log_p_i = np.logaddexp(log_half_lapse, log_attentive + log_expit(diff))
        log_p_j = np.logaddexp(log_half_lapse, log_attentive + log_expit(-diff))
        p_i, p_j = np.exp(log_p_i), np.exp(log_p_j)
        m = n - k
        self.row_loglik = k * log_p_i + m * log_p_j
        a = (1.0 - lam) * sig * sig_neg  # dp_i/dd = -dp_j/dd
        self.grad_d = k * a / p_i - m * a / p_j
        lam_1 = lam * (1.0 - lam)
        self.grad_e = k * lam_1 * (0.5 - sig) / p_i + m * lam_1 * (sig - 0.5) / p_j
        self._curvature = (a, sig, p_i, p_j, k, m)

    @property
    def curv_dd(self) -> np.ndarray:
        """Second derivative of each row's log-likelihood in d (only needed once, at the mode)."""
        a, sig, p_i, p_j, k, m = self._curvature
        a_d = a * (1.0 - 2.0 * sig)  # d²p_i/dd² = -d²p_j/dd²
        return k * (a_d / p_i - (a / p_i) ** 2) + m * (-a_d / p_j - (a / p_j) ** 2)


def fit_laplace(
    data: StudyData, spec: ModelSpec, *, draws: int = 1000, seed: int = 0
) -> tuple[az.InferenceData, dict[str, float]]:
    """MAP estimate and Laplace draws; returns (InferenceData with ``elo``[, ``lapse``], info).

    ``info`` holds ``fit_s`` (seconds) and, with rater terms, ``lapse0`` (λ₀) and
    ``em_rounds``; a failed optimisation raises :class:`AnalysisError`.
    """
    if spec.image_terms:
        raise AnalysisError("image terms need the full posterior: use method='nuts' or switch image terms off")
    start = time.perf_counter()
    n_cond = len(data.conditions)
    fixed = anchor_index(data, spec.anchor)
    free = np.array([c for c in range(n_cond) if c != fixed])
    counts = pair_counts(data, by_rater=spec.rater_terms)
    i, j = counts["i"].to_numpy(), counts["j"].to_numpy()
    n, k = counts["n"].to_numpy().astype(float), counts["k"].to_numpy().astype(float)
    s_prec = (ELO_PER_NAT / spec.prior_sd_elo) ** 2
    e_mu, e_sd = LAPSE_PRIOR
    weight = np.ones(len(counts))

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        strength = np.zeros(n_cond)
        strength[free] = x[: len(free)]
        eta = np.full(len(i), x[-1]) if spec.rater_terms else None
        terms = _Terms(strength[i] - strength[j], eta, weight * n, weight * k)
        value = terms.row_loglik.sum() - 0.5 * s_prec * np.sum(x[: len(free)] ** 2)
        grad_s = np.bincount(i, terms.grad_d, n_cond) - np.bincount(j, terms.grad_d, n_cond)
        grad = [grad_s[free] - s_prec * x[: len(free)]]
        if spec.rater_terms:
            value -= 0.5 * ((x[-1] - e_mu) / e_sd) ** 2
            grad.append([terms.grad_e.sum() - (x[-1] - e_mu) / e_sd**2])
        return -value, -np.concatenate(grad)

    x = np.zeros(len(free) + (1 if spec.rater_terms else 0))
    if spec.rater_terms:
        x[-1] = e_mu
    rater = counts["rater_code"].to_numpy() if spec.rater_terms else None
    p_spam = np.zeros(len(data.raters))
    rounds = 0
    for rounds in range(1, (EM_ROUNDS if spec.rater_terms else 1) + 1):
        result = minimize(objective, x, jac=True, method="BFGS", options={"maxiter": 2000, "gtol": 1e-6})
        # BFGS may stop on "precision loss" at the optimum; a vanishing gradient is what matters.
        if not result.success and np.max(np.abs(result.jac)) > GRAD_TOL:
            raise AnalysisError(f"MAP optimisation did not converge: {result.message}")
        x = result.x
        if rater is None:
            break
        # E-step: is each rater's record better explained by coin flips or by the attentive model?
        strength = np.zeros(n_cond)
        strength[free] = x[: len(free)]
        attentive = np.bincount(rater, _Terms(strength[i] - strength[j], np.full(len(i), x[-1]), n, k).row_loglik)
        random = np.bincount(rater, n * np.log(0.5))
        share = float(np.clip(p_spam.mean() if rounds > 1 else 0.05, 0.005, 0.5))
        new = expit(np.log(share / (1.0 - share)) + random - attentive)
        converged = np.max(np.abs(new - p_spam)) < EM_TOL
        p_spam = new
        weight = 1.0 - p_spam[rater]
        if converged:
            break

    strength = np.zeros(n_cond)
    strength[free] = x[: len(free)]
    eta = np.full(len(i), x[-1]) if spec.rater_terms else None
    terms = _Terms(strength[i] - strength[j], eta, weight * n, weight * k)
    hess = np.zeros((n_cond, n_cond))
    info_dd = -terms.curv_dd
    np.add.at(hess, (i, i), info_dd)
    np.add.at(hess, (j, j), info_dd)
    np.add.at(hess, (i, j), -info_dd)
    np.add.at(hess, (j, i), -info_dd)
    hess = hess[np.ix_(free, free)] + s_prec * np.eye(len(free))
    try:
        chol = np.linalg.cholesky(np.linalg.inv(hess))
    except np.linalg.LinAlgError:
        raise AnalysisError("Laplace approximation failed: the Hessian at the MAP is not positive definite") from None
    rng = np.random.default_rng(seed)
    s_draws = np.zeros((draws, n_cond))
    s_draws[:, free] = x[: len(free)] + rng.standard_normal((draws, len(free))) @ chol.T
    posterior = {"elo": s_draws[None] * ELO_PER_NAT}
    coords = {"condition": data.labels}
    dims = {"elo": ["condition"]}
    info = {"fit_s": 0.0}
    if spec.rater_terms:
        lapse0 = float(expit(x[-1]))
        spam_draws = rng.random((draws, len(data.raters))) < p_spam
        posterior["lapse"] = np.where(spam_draws, 1.0, lapse0)[None]
        coords["rater"] = data.raters
        dims["lapse"] = ["rater"]
        info.update(lapse0=lapse0, em_rounds=float(rounds))
    idata = az.from_dict(posterior=posterior, coords=coords, dims=dims)
    info["fit_s"] = time.perf_counter() - start
    return idata, info
