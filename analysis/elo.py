"""Bayesian Elo: a Bradley–Terry model over conditions (codec, level), built in PyMC.

P(A beats B) = 1 / (1 + 10^((Elo_B − Elo_A)/400)); internally each condition has a strength
``s`` in natural log-odds units and ``Elo = s · 400/ln 10`` (``ELO_PER_NAT`` ≈ 173.7 Elo per
nat). Identifiability: only differences are observed. The sampler works with strengths that
sum to zero over conditions (``ZeroSumNormal``: nearly uncorrelated, so NUTS takes long steps);
every reported Elo is then shifted so that the anchor codec's lowest judged level is exactly
0 (as pwcmp's ``fix0``), i.e. Elo reads "points above the anchor's lowest level", and that
condition's interval has zero width.

Optional terms:

- rater lapses: each rater's lapse λ_r (the probability of answering at random) comes from a
  population of two classes, estimated from all raters: attentive raters lapse with a shared
  λ₀ (logit λ₀ ~ Normal(−3, 1.5)), spammers always (λ_r = 1); the spammer share w ~ Beta(1, 9).
  The class is summed out per rater (:mod:`analysis.likelihood`), so each rater's posterior
  spammer probability is exact per draw and a spammer's judgments are down-weighted by the
  data rather than filtered by hand. With rater terms the sampler works with the strengths
  careful raters show, ``s·(1 − λ₀)`` (``shown_strength``, and ``shown_image_sd`` likewise), and
  the priors act on those: on evenly matched pairs a lapse and a smaller Elo scale look alike,
  and sampling ``s`` itself left λ₀ on a ridge with every strength (bulk ESS 224 on a paper-like
  line-up, 1,288 this way). (A continuous lapse per rater — logit-normal, Student-t
  or Beta-mixture populations — mixed far too slowly at the paper's scale: R-hat up to 1.56,
  ESS down to 7; see docs/analysis.md.)
- image × condition deviations, partially pooled with a common scale ``image_sd`` and centred
  both within each image (an image's mean is not identified by pairwise data) and within each
  condition, so a condition's strength is its average over the study's images — the same
  quantity the pooled model estimates.

Without rater terms the likelihood is binomial over unique (pair[, image]) counts
(``data.pair_counts``); with them, rows are unique (rater, winner, loser[, image]) with a count
(``data.win_counts``).

References: Bradley & Terry (1952); Stan Bradley–Terry case study; Mikhailiuk et al. pwcmp (2021).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pandas as pd

from analysis.data import StudyData, pair_counts, win_counts
from analysis.errors import AnalysisError
from analysis.likelihood import pair_rows, random_loglik

if TYPE_CHECKING:
    import pymc as pm

ELO_PER_NAT = 400.0 / math.log(10.0)
"""Elo points per natural log-odds unit (400 / ln 10)."""

RHAT_MAX = 1.01
ESS_BULK_MIN = 400


@dataclass(frozen=True)
class ModelSpec:
    """Model terms and priors; priors are weakly informative on the Elo scale.

    ``prior_sd_elo`` is the prior sd of each condition's Elo around the mean of all conditions
    (600 Elo spans "always loses" to "always wins"); ``image_sd_elo`` the half-normal scale of image
    deviations; ``lapse_prior`` the mean and sd of logit λ₀ (attentive raters lapse ~5%) and
    ``spammer_prior`` the Beta prior of the spammer share.
    """

    anchor: str
    rater_terms: bool = True
    image_terms: bool = False
    prior_sd_elo: float = 600.0
    image_sd_elo: float = 50.0
    lapse_prior: tuple[float, float] = (-3.0, 1.5)
    spammer_prior: tuple[float, float] = (1.0, 9.0)


SAMPLERS = ("nutpie", "pymc")


@dataclass(frozen=True)
class SamplerOptions:
    """How posterior draws are made: NUTS settings, and the draws and seed of a MAP fit's Laplace draws.

    ``sampler`` is ``"nutpie"`` (compiled with numba, the default) or ``"pymc"`` (PyMC's own
    NUTS); ``draws`` and ``tune`` count per chain; ``cores=None`` lets the sampler choose. A MAP
    fit (``method="map"``) uses only ``draws`` (the number of Laplace draws) and ``seed``.
    """

    sampler: str = "nutpie"
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    cores: int | None = None
    seed: int = 0
    progress: bool = False

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise AnalysisError(f"unknown sampler {self.sampler!r}; use one of {', '.join(SAMPLERS)}")


DEFAULT_SAMPLING = SamplerOptions()


@dataclass(frozen=True)
class Diagnostics:
    """Convergence summary of a fit (ArviZ rank-normalised R-hat and bulk ESS)."""

    rhat_max: float
    ess_bulk_min: float
    divergences: int
    draws: int
    chains: int
    checked: tuple[str, ...]

    @property
    def converged(self) -> bool:
        return self.rhat_max <= RHAT_MAX and self.ess_bulk_min >= ESS_BULK_MIN and self.divergences == 0

    @property
    def problems(self) -> list[str]:
        """Plain-language list of failed checks, empty when converged."""
        found = []
        if not self.rhat_max <= RHAT_MAX:
            found.append(f"R-hat max {self.rhat_max:.3f} > {RHAT_MAX}")
        if not self.ess_bulk_min >= ESS_BULK_MIN:
            found.append(f"bulk ESS min {self.ess_bulk_min:.0f} < {ESS_BULK_MIN}")
        if self.divergences:
            found.append(f"{self.divergences} divergent transitions")
        return found


@dataclass
class EloFit:
    """A fitted study: data, posterior (ArviZ InferenceData) and how it was obtained."""

    data: StudyData
    idata: az.InferenceData
    spec: ModelSpec
    method: str
    sampler: str | None
    diagnostics: Diagnostics | None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        return self.spec.anchor

    @property
    def converged(self) -> bool:
        """MCMC fits pass R-hat/ESS/divergence checks; Laplace fits have no such checks."""
        return self.diagnostics is None or self.diagnostics.converged

    def elo_draws(self) -> np.ndarray:
        """Posterior draws of Elo, shape (draws, conditions), chains stacked."""
        elo = self.idata["posterior"]["elo"]
        return elo.stack(sample=("chain", "draw")).transpose("sample", "condition").to_numpy()


def anchor_index(data: StudyData, anchor: str) -> int:
    """Condition code fixed at 0 Elo: the anchor codec's lowest judged level."""
    rows = data.conditions[data.conditions["codec"] == anchor]
    if rows.empty:
        raise AnalysisError(f"anchor codec {anchor!r} was never judged; judged codecs: {', '.join(data.codecs)}")
    return int(rows["level"].idxmin())


def build_model(data: StudyData, spec: ModelSpec) -> pm.Model:
    """PyMC model with named coords (condition, rater, image); ``elo`` is in Elo points."""
    import pymc as pm  # imported here: MAP previews and tables never pay PyMC's import time
    import pytensor.tensor as pt

    from analysis.ops import rater_class_likelihood

    labels = data.labels
    fixed = anchor_index(data, spec.anchor)
    coords: dict[str, list[str]] = {"condition": labels}
    if spec.rater_terms:
        coords["rater"] = data.raters
    if spec.image_terms:
        coords["image"] = data.images
    if spec.rater_terms:
        # The rater class is summed out per rater, so counts only pool within (rater, winner, loser[, image]).
        counts = win_counts(data, by_rater=True, by_image=spec.image_terms)
        first, second = "winner", "loser"
    else:
        counts = pair_counts(data, by_image=spec.image_terms)
        first, second = "i", "j"
    i_code, j_code = counts[first].to_numpy(), counts[second].to_numpy()
    if spec.image_terms:
        # Index a flat (image, condition) table: two gathers per row instead of four.
        i_code = counts["image_code"].to_numpy() * len(labels) + i_code
        j_code = counts["image_code"].to_numpy() * len(labels) + j_code
    with pm.Model(coords=coords) as model:
        # Identifiability: strengths sum to zero while sampling (this keeps them nearly
        # uncorrelated, so NUTS takes long steps); reported Elo is shifted so that the anchor's
        # lowest level is exactly 0. Both are the same model; only the reference point differs.
        prior_sd = spec.prior_sd_elo / ELO_PER_NAT
        if spec.rater_terms:
            lapse0_logit = pm.Normal("lapse0_logit", *spec.lapse_prior)
            lapse0 = pm.Deterministic("lapse0", pm.math.sigmoid(lapse0_logit))
            # Careful raters show strengths shrunk by (1 − λ₀): on evenly matched pairs a lapse and a
            # smaller Elo scale look the same, a ridge NUTS crosses slowly. Sampling the strengths
            # as shown (and the image scale likewise) makes λ₀ nearly independent of them.
            shown = pm.ZeroSumNormal("shown_strength", sigma=prior_sd, dims="condition")
            strength = pm.Deterministic("strength", shown / (1.0 - lapse0), dims="condition")
        else:
            strength = pm.ZeroSumNormal("strength", sigma=prior_sd, dims="condition")
        pm.Deterministic("elo", (strength - strength[fixed]) * ELO_PER_NAT, dims="condition")
        if spec.image_terms:
            image_prior = spec.image_sd_elo / ELO_PER_NAT
            if spec.rater_terms:
                image_sd = pm.Deterministic("image_sd", pm.HalfNormal("shown_image_sd", image_prior) / (1.0 - lapse0))
            else:
                image_sd = pm.HalfNormal("image_sd", image_prior)
            image_z = pm.Normal("image_z", 0.0, 1.0, dims=("image", "condition"))
            # Non-centred, and centred over conditions within each image (an image's mean is not
            # observed) and over images within each condition (a strength is the images' average).
            centred = (
                image_z - image_z.mean(axis=1, keepdims=True) - image_z.mean(axis=0, keepdims=True) + image_z.mean()
            )
            deviation = image_sd * centred
            pm.Deterministic("image_elo", deviation * ELO_PER_NAT, dims=("image", "condition"))
            strength = (strength[None, :] + deviation).ravel()
        if spec.rater_terms:
            rater = counts["rater_code"].to_numpy()
            count = counts["count"].to_numpy().astype(np.float64)
            share = pm.Beta("spammer_share", *spec.spammer_prior)
            loglik, *_, p_spammer = rater_class_likelihood(
                strength,
                lapse0_logit,
                pt.log(share) - pt.log1p(-share),
                *pair_rows(i_code, j_code),
                rater,
                count,
                random_loglik(rater, count, len(data.raters)),
            )
            pm.Potential("judgments", loglik)
            pm.Deterministic("p_spammer", p_spammer, dims="rater")
            # E[λ_r | parameters]: its posterior mean is the rater's posterior mean lapse.
            pm.Deterministic("lapse", p_spammer + (1.0 - p_spammer) * lapse0, dims="rater")
        else:
            diff = strength[i_code] - strength[j_code]
            pm.Binomial("wins", n=counts["n"].to_numpy(), logit_p=diff, observed=counts["k"].to_numpy())
    return model


def sample_model(
    model: pm.Model, sampling: SamplerOptions = DEFAULT_SAMPLING
) -> tuple[az.InferenceData, dict[str, float]]:
    """Run NUTS with nutpie (compiled with numba) or PyMC's own sampler; return (idata, timings in s)."""
    import pymc as pm

    timings: dict[str, float] = {}
    if sampling.sampler == "nutpie":
        import nutpie

        start = time.perf_counter()
        compiled = nutpie.compile_pymc_model(model, backend="numba")
        timings["compile_s"] = time.perf_counter() - start
        start = time.perf_counter()
        idata = nutpie.sample(
            compiled,
            draws=sampling.draws,
            tune=sampling.tune,
            chains=sampling.chains,
            cores=sampling.cores,
            seed=sampling.seed,
            progress_bar=sampling.progress,
        )
        timings["sample_s"] = time.perf_counter() - start
    else:
        start = time.perf_counter()
        idata = pm.sample(
            draws=sampling.draws,
            tune=sampling.tune,
            chains=sampling.chains,
            cores=sampling.cores,
            random_seed=sampling.seed,
            progressbar=sampling.progress,
            model=model,
            compute_convergence_checks=False,
        )
        # PyMC compiles inside pm.sample; the split is not observable, so all time counts as sampling.
        timings["sample_s"] = time.perf_counter() - start
    return idata, timings


def diagnose(idata: az.InferenceData) -> Diagnostics:
    """R-hat max and bulk-ESS min over every sampled and reported quantity (NaN from constants ignored)."""
    names = [n for n in ("elo", "lapse", "lapse0", "spammer_share", "image_sd", "image_elo") if n in idata["posterior"]]
    rhat = az.rhat(idata, var_names=names)
    ess = az.ess(idata, var_names=names, method="bulk")
    rhat_max = max(float(np.nanmax(rhat[n].to_numpy())) for n in names)
    ess_min = min(float(np.nanmin(ess[n].to_numpy())) for n in names)
    diverging = idata["sample_stats"].get("diverging")
    divergences = int(diverging.sum()) if diverging is not None else 0
    post = idata["posterior"]
    return Diagnostics(rhat_max, ess_min, divergences, int(post.sizes["draw"]), int(post.sizes["chain"]), tuple(names))


def elo_table(fit: EloFit, *, prob: float = 0.95) -> pd.DataFrame:
    """Per condition: codec, level, bpp (geometric mean over images), posterior-mean Elo and interval.

    Returns
    -------
    pandas.DataFrame
        Columns ``codec, level, bpp, elo, elo_lo, elo_hi`` (Elo points relative to the anchor's
        lowest level; ``prob`` central credible interval).
    """
    draws = fit.elo_draws()
    tail = (1.0 - prob) / 2.0
    table = fit.data.conditions[["codec", "level", "bpp"]].copy()
    table["elo"] = draws.mean(axis=0)
    table["elo_lo"] = np.quantile(draws, tail, axis=0)
    table["elo_hi"] = np.quantile(draws, 1.0 - tail, axis=0)
    return table.reset_index(drop=True)
