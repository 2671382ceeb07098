"""MAP + Laplace approximation of the Elo model in plain NumPy, for live previews.

Same likelihood and identifiability as :mod:`analysis.elo` (anchor's lowest level at 0 Elo,
optional rater lapses), without PyMC compilation, so a small study fits in milliseconds. The
lapse hyperparameters are fixed at the prior's centre (logit λ ~ Normal(-3, 1.5)) because
a hierarchical scale has no useful mode. Image terms are not supported here (use NUTS).

The Elo covariance is the inverse of the negative Hessian with the rater lapses integrated out
by a Schur complement; lapse draws use each rater's conditional curvature (an approximation).
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
"""Mean and sd of logit λ used by the MAP fit."""


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
        self.loglik = float(np.sum(k * log_p_i + m * log_p_j))
        a = (1.0 - lam) * sig * sig_neg  # dp_i/dd = -dp_j/dd
        a_d = a * (1.0 - 2.0 * sig)  # d²p_i/dd² = -d²p_j/dd²
        self.grad_d = k * a / p_i - m * a / p_j
        self.curv_dd = k * (a_d / p_i - (a / p_i) ** 2) + m * (-a_d / p_j - (a / p_j) ** 2)
        lam_1 = lam * (1.0 - lam)
        lam_2 = lam_1 * (1.0 - 2.0 * lam)
        pi_e, pj_e = lam_1 * (0.5 - sig), lam_1 * (sig - 0.5)
        self.grad_e = k * pi_e / p_i + m * pj_e / p_j
        self.curv_ee = k * (lam_2 * (0.5 - sig) / p_i - (pi_e / p_i) ** 2) + m * (
            lam_2 * (sig - 0.5) / p_j - (pj_e / p_j) ** 2
        )
        cross = lam_1 * sig * sig_neg
        self.curv_de = k * (-cross / p_i - a * pi_e / p_i**2) + m * (cross / p_j + a * pj_e / p_j**2)


def fit_laplace(
    data: StudyData, spec: ModelSpec, *, draws: int = 1000, seed: int = 0
) -> tuple[az.InferenceData, dict[str, float]]:
    """MAP estimate and Laplace draws; returns (InferenceData with ``elo``[, ``lapse``], info).

    ``info`` holds ``fit_s`` (seconds) and ``iterations``; a failed optimisation raises
    :class:`AnalysisError`.
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
    rater = counts["rater_code"].to_numpy() if spec.rater_terms else None
    n_raters = len(data.raters) if spec.rater_terms else 0
    s_prec = (ELO_PER_NAT / spec.prior_sd_elo) ** 2
    e_mu, e_sd = LAPSE_PRIOR
    e_prec = 1.0 / e_sd**2

    def unpack(x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        strength = np.zeros(n_cond)
        strength[free] = x[: len(free)]
        return strength, (x[len(free) :][rater] if rater is not None else None)

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        strength, eta = unpack(x)
        terms = _Terms(strength[i] - strength[j], eta, n, k)
        s_free, e = x[: len(free)], x[len(free) :]
        value = terms.loglik - 0.5 * s_prec * np.sum(s_free**2) - 0.5 * e_prec * np.sum((e - e_mu) ** 2)
        grad_s = np.bincount(i, terms.grad_d, n_cond) - np.bincount(j, terms.grad_d, n_cond)
        grad = [grad_s[free] - s_prec * s_free]
        if rater is not None:
            grad.append(np.bincount(rater, terms.grad_e, n_raters) - e_prec * (e - e_mu))
        return -value, -np.concatenate(grad)

    x0 = np.concatenate([np.zeros(len(free)), np.full(n_raters, e_mu)])
    result = minimize(objective, x0, jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    if not result.success:
        raise AnalysisError(f"MAP optimisation did not converge: {result.message}")
    strength, eta = unpack(result.x)
    terms = _Terms(strength[i] - strength[j], eta, n, k)
    hess = np.zeros((n_cond, n_cond))
    info_dd = -terms.curv_dd
    np.add.at(hess, (i, i), info_dd)
    np.add.at(hess, (j, j), info_dd)
    np.add.at(hess, (i, j), -info_dd)
    np.add.at(hess, (j, i), -info_dd)
    hess = hess[np.ix_(free, free)] + s_prec * np.eye(len(free))
    lapse_draws = None
    rng = np.random.default_rng(seed)
    if rater is not None:
        info_ee = np.bincount(rater, -terms.curv_ee, n_raters) + e_prec
        cross = np.zeros((n_cond, n_raters))
        np.add.at(cross, (i, rater), -terms.curv_de)
        np.add.at(cross, (j, rater), terms.curv_de)
        cross = cross[free]
        hess = hess - (cross / info_ee) @ cross.T  # Schur complement: integrate lapses out
        e_hat = result.x[len(free) :]
        lapse_draws = expit(e_hat + rng.standard_normal((draws, n_raters)) / np.sqrt(info_ee))
    try:
        chol = np.linalg.cholesky(np.linalg.inv(hess))
    except np.linalg.LinAlgError:
        raise AnalysisError("Laplace approximation failed: the Hessian at the MAP is not positive definite") from None
    s_draws = np.zeros((draws, n_cond))
    s_draws[:, free] = result.x[: len(free)] + rng.standard_normal((draws, len(free))) @ chol.T
    posterior = {"elo": s_draws[None] * ELO_PER_NAT}
    coords = {"condition": data.labels}
    dims = {"elo": ["condition"]}
    if lapse_draws is not None:
        posterior["lapse"] = lapse_draws[None]
        coords["rater"] = data.raters
        dims["lapse"] = ["rater"]
    idata = az.from_dict(posterior=posterior, coords=coords, dims=dims)
    return idata, {"fit_s": time.perf_counter() - start, "iterations": float(result.nit)}
