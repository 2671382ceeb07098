"""MAP + Laplace approximation of the Elo model in NumPy and numba, for live previews and planning.

The same posterior as :mod:`analysis.elo` without image terms — the same priors, the same
rater classes (attentive with shared lapse λ₀, or spammer) summed out by the same kernel
(:func:`analysis.likelihood.rater_class_loglik`) — but no PyMC compilation and no sampling: BFGS
finds the mode in the sampler's unconstrained space (logit λ₀, logit spammer share), the
Hessian comes from central differences of the exact gradient, and draws come from the Gaussian
at the mode. Each rater's spammer probability is taken at the mode.
"""

from __future__ import annotations

import time

import arviz as az
import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from analysis.data import StudyData, win_counts
from analysis.elo import ELO_PER_NAT, ModelSpec, anchor_index
from analysis.errors import AnalysisError
from analysis.likelihood import pair_rows, random_loglik, rater_class_loglik

GRAD_TOL = 1e-3
"""Largest gradient component accepted at the mode when BFGS reports precision loss."""
HESSIAN_STEP = 1e-5


class _Posterior:
    """Log posterior over x = (strengths except the anchor's lowest level[, logit λ₀, logit w]).

    With rater terms the strengths in x are those careful raters show, s·(1 − λ₀), as in the PyMC model.
    """

    def __init__(self, data: StudyData, spec: ModelSpec) -> None:
        counts = win_counts(data, by_rater=spec.rater_terms)
        self.n_cond = len(data.conditions)
        self.free = np.array([c for c in range(self.n_cond) if c != anchor_index(data, spec.anchor)])
        self.rater_terms = spec.rater_terms
        self.pairs = pair_rows(counts["winner"].to_numpy(), counts["loser"].to_numpy())
        self.count = counts["count"].to_numpy().astype(np.float64)
        if spec.rater_terms:
            self.rater = counts["rater_code"].to_numpy()
            self.random = random_loglik(self.rater, self.count, len(data.raters))
        else:
            self.rater = np.zeros(len(counts), dtype=np.int64)
            self.random = np.zeros(1)
        self.strength_precision = (ELO_PER_NAT / spec.prior_sd_elo) ** 2
        self.lapse_prior = spec.lapse_prior
        self.spammer_prior = spec.spammer_prior

    @property
    def size(self) -> int:
        return len(self.free) + (2 if self.rater_terms else 0)

    def start(self) -> np.ndarray:
        x = np.zeros(self.size)
        if self.rater_terms:
            a, b = self.spammer_prior
            x[-2:] = self.lapse_prior[0], np.log(a / b)
        return x

    def shown(self, x: np.ndarray) -> np.ndarray:
        """The strengths held in x (all conditions, the anchor's lowest level at 0)."""
        shown = np.zeros(x.shape[:-1] + (self.n_cond,))
        shown[..., self.free] = x[..., : len(self.free)]
        return shown

    def scale(self, x: np.ndarray) -> np.ndarray:
        """1 / (1 − λ₀): true strengths over shown ones (1 without rater terms)."""
        return 1.0 + np.exp(x[..., -2]) if self.rater_terms else np.ones(x.shape[:-1])

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(log posterior, gradient, each rater's P(spammer))."""
        shown, scale = self.shown(x), self.scale(x)
        lapse_logit, spam_logit = (x[-2], x[-1]) if self.rater_terms else (-np.inf, -np.inf)
        loglik, grad_s, grad_lapse, grad_spam, p_spam = rater_class_loglik(
            shown * scale, lapse_logit, spam_logit, *self.pairs, self.rater, self.count, self.random
        )
        # ZeroSumNormal prior of the PyMC model: the prior acts on strengths centred over conditions.
        centred = shown - shown.mean()
        value = loglik - 0.5 * self.strength_precision * centred @ centred
        grad = [(grad_s * scale - self.strength_precision * centred)[self.free]]
        if self.rater_terms:
            grad_lapse += (scale - 1.0) * (grad_s @ shown)  # d(1/(1 − λ₀))/d logit λ₀ = λ₀/(1 − λ₀)
            mu, sd = self.lapse_prior
            a, b = self.spammer_prior
            # Beta(a, b) on w = σ(u), with the logit Jacobian: a·log σ(u) + b·log σ(−u).
            value += (
                -0.5 * ((lapse_logit - mu) / sd) ** 2
                - a * np.logaddexp(0, -spam_logit)
                - b * np.logaddexp(0, spam_logit)
            )
            grad.append(
                [grad_lapse - (lapse_logit - mu) / sd**2, grad_spam + a * expit(-spam_logit) - b * expit(spam_logit)]
            )
        return value, np.concatenate(grad), p_spam

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """Central differences of the exact gradient, symmetrised."""
        columns = []
        for k in range(self.size):
            step = np.zeros(self.size)
            step[k] = HESSIAN_STEP
            columns.append((self(x + step)[1] - self(x - step)[1]) / (2 * HESSIAN_STEP))
        hess = np.array(columns)
        return (hess + hess.T) / 2


def fit_laplace(
    data: StudyData, spec: ModelSpec, *, draws: int = 1000, seed: int = 0
) -> tuple[az.InferenceData, dict[str, float]]:
    """MAP estimate and Laplace draws; returns (InferenceData, info).

    The posterior holds ``elo`` and, with rater terms, ``lapse0``, ``spammer_share``,
    ``p_spammer`` and ``lapse`` (E[λ_r], as in the PyMC model); ``info`` holds ``fit_s``
    (seconds). A failed optimisation raises :class:`AnalysisError`.
    """
    if spec.image_terms:
        raise AnalysisError("image terms need the full posterior: use method='nuts' or switch image terms off")
    start = time.perf_counter()
    posterior = _Posterior(data, spec)

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad, _ = posterior(x)
        return -value, -grad

    result = minimize(objective, posterior.start(), jac=True, method="BFGS", options={"maxiter": 2000, "gtol": 1e-6})
    # BFGS may stop on "precision loss" at the optimum; a vanishing gradient is what matters.
    if not result.success and np.max(np.abs(result.jac)) > GRAD_TOL:
        raise AnalysisError(f"MAP optimisation did not converge: {result.message}")
    mode = result.x
    try:
        chol = np.linalg.cholesky(np.linalg.inv(-posterior.hessian(mode)))
    except np.linalg.LinAlgError:
        raise AnalysisError("Laplace approximation failed: the Hessian at the MAP is not negative definite") from None
    rng = np.random.default_rng(seed)
    x_draws = mode + rng.standard_normal((draws, posterior.size)) @ chol.T
    samples = {"elo": posterior.shown(x_draws) * posterior.scale(x_draws)[:, None] * ELO_PER_NAT}
    coords = {"condition": data.labels}
    dims = {"elo": ["condition"]}
    if spec.rater_terms:
        p_spam = np.broadcast_to(posterior(mode)[2], (draws, len(data.raters)))
        lapse0 = expit(x_draws[:, -2])
        samples.update(
            lapse0=lapse0,
            spammer_share=expit(x_draws[:, -1]),
            p_spammer=p_spam,
            lapse=p_spam + (1.0 - p_spam) * lapse0[:, None],
        )
        coords["rater"] = data.raters
        dims.update(p_spammer=["rater"], lapse=["rater"])
    idata = az.from_dict(posterior={k: v[None] for k, v in samples.items()}, coords=coords, dims=dims)
    return idata, {"fit_s": time.perf_counter() - start}
