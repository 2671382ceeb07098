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
from analysis.elo import ELO_PER_NAT, ModelSpec, anchor_index, side_term, tie_term
from analysis.errors import AnalysisError
from analysis.likelihood import choice_loglik, outcome_rows

GRAD_TOL = 1e-3
"""Largest gradient component accepted at the mode when BFGS reports precision loss."""
HESSIAN_STEP = 1e-5


class _Posterior:
    """Log posterior over x = (strengths except the anchor's lowest level[, logit τ₀][, side bias][, logit λ₀, logit w]).

    With rater terms the strengths in x are those careful raters show, s·(1 − λ₀), as in the PyMC model.
    """

    def __init__(self, data: StudyData, spec: ModelSpec) -> None:
        counts = win_counts(data, by_rater=spec.rater_terms)
        self.n_cond = len(data.conditions)
        self.free = np.delete(np.arange(self.n_cond), anchor_index(data, spec.anchor))
        self.rater_terms = spec.rater_terms
        self.count = counts["count"].to_numpy().astype(np.float64)
        if spec.rater_terms:
            self.rater = counts["rater_code"].to_numpy()
        else:
            self.rater = np.zeros(len(counts), dtype=np.int64)
        self.strength_precision = (ELO_PER_NAT / spec.prior_sd_elo) ** 2
        self.lapse_prior = spec.lapse_prior
        self.spammer_prior = spec.spammer_prior
        # Without the spammer class (one shared lapse) x keeps its last coordinate, but it is inert:
        # w = 0 in the likelihood and a standard normal keeps the coordinate's Hessian regular.
        self.spammer_class = spec.spammer_class
        # Ties and sides (analysis.likelihood.choice_loglik): x gains [logit τ₀][, shown side bias]
        # right after the strengths, so the rater coordinates stay last.
        self.ties, self.sides = tie_term(data, spec), side_term(data, spec)
        self.rows = outcome_rows(
            counts["winner"].to_numpy(),
            counts["loser"].to_numpy(),
            self.rater,
            self.count,
            len(data.raters) if spec.rater_terms else 1,
            tie=counts["tie"].to_numpy() if data.n_ties else None,
            side=counts["side"].to_numpy() if self.sides else None,
            half_ties=spec.ties == "half",
        )
        self.tie_prior = spec.tie_prior
        self.side_precision = (ELO_PER_NAT / spec.side_prior_elo) ** 2
        self.i_tie = len(self.free) if self.ties else None
        self.i_side = len(self.free) + int(self.ties) if self.sides else None

    @property
    def size(self) -> int:
        return len(self.free) + int(self.ties) + int(self.sides) + (2 if self.rater_terms else 0)

    def start(self) -> np.ndarray:
        x = np.zeros(self.size)
        if self.i_tie is not None:
            x[self.i_tie] = self.tie_prior[0]
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
        shared = self.rater_terms and not self.spammer_class
        if shared:
            spam_logit = -np.inf
        tie_logit = x[self.i_tie] if self.i_tie is not None else -np.inf
        side_shown = x[self.i_side] if self.i_side is not None else 0.0
        loglik, grad_s, grad_lapse, grad_spam, grad_tie, grad_side, p_spam = choice_loglik(
            shown * scale, lapse_logit, spam_logit, tie_logit, side_shown * scale, *self.rows
        )
        # ZeroSumNormal prior of the PyMC model: the prior acts on strengths centred over conditions.
        centred = shown - shown.mean()
        value = loglik - 0.5 * self.strength_precision * centred @ centred
        grad = [(grad_s * scale - self.strength_precision * centred)[self.free]]
        if self.ties:
            mu_tie, sd_tie = self.tie_prior
            value -= 0.5 * ((tie_logit - mu_tie) / sd_tie) ** 2
            grad.append([grad_tie - (tie_logit - mu_tie) / sd_tie**2])
        if self.sides:  # Normal(0, side_prior_elo) on the shown side bias, as in the PyMC model
            value -= 0.5 * self.side_precision * side_shown**2
            grad.append([grad_side * scale - self.side_precision * side_shown])
        if self.rater_terms:
            # d(1/(1 − λ₀))/d logit λ₀ = λ₀/(1 − λ₀); the side bias is scaled like the strengths.
            grad_lapse += (scale - 1.0) * (grad_s @ shown + grad_side * side_shown)
            mu, sd = self.lapse_prior
            a, b = self.spammer_prior
            value += -0.5 * ((lapse_logit - mu) / sd) ** 2
            if shared:  # the inert coordinate: N(0, 1), no effect on the likelihood
                value += -0.5 * x[-1] ** 2
                grad_spam = -x[-1]
            else:
                # Beta(a, b) on w = σ(u), with the logit Jacobian: a·log σ(u) + b·log σ(−u).
                value += -a * np.logaddexp(0, -spam_logit) - b * np.logaddexp(0, spam_logit)
                grad_spam += a * expit(-spam_logit) - b * expit(spam_logit)
            grad.append([grad_lapse - (lapse_logit - mu) / sd**2, grad_spam])
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
    if posterior.i_tie is not None:
        samples.update(tie_even=expit(x_draws[:, posterior.i_tie]), tie_nu=2.0 * np.exp(x_draws[:, posterior.i_tie]))
    if posterior.i_side is not None:
        samples["side_elo"] = x_draws[:, posterior.i_side] * posterior.scale(x_draws) * ELO_PER_NAT
    coords = {"condition": data.labels}
    dims = {"elo": ["condition"]}
    if spec.rater_terms:
        p_spam = np.broadcast_to(posterior(mode)[2], (draws, len(data.raters)))
        lapse0 = expit(x_draws[:, -2])
        samples.update(
            lapse0=lapse0,
            p_spammer=p_spam,
            lapse=p_spam + (1.0 - p_spam) * lapse0[:, None],
        )
        if spec.spammer_class:
            samples["spammer_share"] = expit(x_draws[:, -1])
        coords["rater"] = data.raters
        dims.update(p_spammer=["rater"], lapse=["rater"])
    idata = az.from_dict(posterior={k: v[None] for k, v in samples.items()}, coords=coords, dims=dims)
    return idata, {"fit_s": time.perf_counter() - start}
