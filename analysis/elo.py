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
- ties (``winner = tie``, "can't decide"): Davidson's (1970) model, P(i wins) : P(j wins) :
  P(tie) = e^{d/2} : e^{−d/2} : ν, with d = s_i − s_j; sampled as ``tie_logit`` = logit τ₀, τ₀ =
  P(tie) on an evenly matched pair (``tie_even``; ν = 2τ₀/(1 − τ₀), ``tie_nu``). Given that the
  rater decided, the model is Bradley–Terry, so Elo keeps its meaning. A random answer (lapse or
  spammer) is the outcome of an evenly matched pair: a tie with probability τ₀. ``ties="half"``
  instead counts a tie as half a win to each (the CLIC convention): no tie parameter.
- side bias (when judgments say which image was on the left, ``shown_left``): β is added to
  the gap of the left condition (``side_elo`` in Elo points, prior Normal(0, 100 Elo)); with
  rater terms it is sampled as shown by careful raters, β·(1 − λ₀), like the strengths.

Without rater terms the likelihood is binomial over unique (pair[, image]) counts
(``data.pair_counts``); with them, rows are unique (rater, winner, loser[, image]) with a count
(``data.win_counts``).

References: Bradley & Terry (1952); Stan Bradley–Terry case study; Mikhailiuk et al. pwcmp (2021).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import arviz as az
import numpy as np
import pandas as pd

from analysis.data import StudyData, pair_counts, win_counts
from analysis.errors import AnalysisError
from analysis.likelihood import OUTCOME_ROWS, outcome_rows

if TYPE_CHECKING:
    import pymc as pm
    from pytensor.tensor.variable import TensorVariable

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
    ``spammer_prior`` the Beta prior of the spammer share. ``spammer_class`` (with rater terms):
    False keeps only the shared lapse λ₀ for every judgment, the model
    :func:`analysis.ratermodel.choose_rater_model` picks when raters are too few to tell classes apart.
    """

    anchor: str
    rater_terms: bool = True
    image_terms: bool = False
    prior_sd_elo: float = 600.0
    image_sd_elo: float = 50.0
    lapse_prior: tuple[float, float] = (-3.0, 1.5)
    spammer_prior: tuple[float, float] = (1.0, 9.0)
    spammer_class: bool = True
    ties: str = "davidson"
    tie_prior: tuple[float, float] = (-1.0, 1.5)
    side_terms: bool = True
    side_prior_elo: float = 100.0

    def __post_init__(self) -> None:
        if self.ties not in TIES:
            raise AnalysisError(f"unknown tie model {self.ties!r}; use one of {', '.join(TIES)}")


TIES = ("davidson", "half")
"""How ``winner = tie`` enters the model: Davidson's tie parameter, or half a win to each (CLIC)."""


def tie_term(data: StudyData, spec: ModelSpec) -> bool:
    """Whether the model has Davidson's tie parameter: the study has ties and ``spec.ties`` is davidson."""
    return spec.ties == "davidson" and data.n_ties > 0


def side_term(data: StudyData, spec: ModelSpec) -> bool:
    """Whether the model has the side bias: some judgments say which side each image was on."""
    return spec.side_terms and data.has_sides


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
    model_note: str = ""
    """Which rater model was fitted and why, one sentence (see :mod:`analysis.ratermodel`)."""

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


BINOMIAL_DATA = ("pair_i", "pair_j", "pair_n", "pair_k")
"""``pm.Data`` names of the binomial likelihood's pairs: the two condition codes, judgments, wins of i."""


@dataclass(frozen=True)
class ModelData:
    """A study as the model's inputs: coords, the data arrays (``pm.Data``) and what fixes the graph.

    Everything that can change without changing the compiled log-density is in ``arrays`` (row
    counts, the anchor's condition); :meth:`shape_key` holds the rest, so a model compiled for one
    ``ModelData`` serves another with the same key once its arrays are swapped in
    (:mod:`analysis.compiled`).
    """

    coords: dict[str, list[str]]
    arrays: dict[str, np.ndarray]
    likelihood: str
    """``"kernel"`` (the fused rater-class kernel) or ``"binomial"`` (pooled counts per pair)."""
    ties: bool
    sides: bool

    def shape_key(self, spec: ModelSpec) -> tuple[object, ...]:
        """The model's structure and parameter shapes: equal keys mean the same compiled log-density."""
        sizes = tuple((name, len(labels)) for name, labels in self.coords.items())
        ranks = tuple((name, array.ndim) for name, array in self.arrays.items())
        return (replace(spec, anchor=""), self.likelihood, self.ties, self.sides, sizes, ranks)


def model_data(data: StudyData, spec: ModelSpec, *, rater_slots: int | None = None) -> ModelData:
    """The inputs of :func:`build_model` for ``data``; ``rater_slots`` ≥ the raters pads the rater axis.

    Padded raters have no judgments, so they add exactly nothing to the log-likelihood (both
    classes explain no data with probability 1); they let one compiled model serve a study whose
    raters grow (:func:`analysis.compiled.rater_slots`).
    """
    labels = data.labels
    coords: dict[str, list[str]] = {"condition": labels}
    n_raters = len(data.raters)
    if spec.rater_terms:
        slots = n_raters if rater_slots is None else rater_slots
        if slots < n_raters:
            raise AnalysisError(f"rater_slots {slots} is fewer than the study's {n_raters} raters")
        coords["rater"] = data.raters + [f"(no rater {k})" for k in range(slots - n_raters)]
    if spec.image_terms:
        coords["image"] = data.images
    ties, sides = tie_term(data, spec), side_term(data, spec)
    outcomes = data.n_ties > 0 or sides  # answers the binomial cannot hold: the fused kernel takes them
    arrays: dict[str, np.ndarray] = {"anchor_condition": np.array([anchor_index(data, spec.anchor)])}
    if spec.rater_terms or outcomes:
        # The rater class is summed out per rater, so counts only pool within (rater, winner, loser[, image]).
        counts = win_counts(data, by_rater=spec.rater_terms, by_image=spec.image_terms)
        first, second = "winner", "loser"
    else:
        counts = pair_counts(data, by_image=spec.image_terms)
        first, second = "i", "j"
    i_code, j_code = counts[first].to_numpy(), counts[second].to_numpy()
    if spec.image_terms:
        # Index a flat (image, condition) table: two gathers per row instead of four.
        i_code = counts["image_code"].to_numpy() * len(labels) + i_code
        j_code = counts["image_code"].to_numpy() * len(labels) + j_code
    if not (spec.rater_terms or outcomes):
        pairs = (i_code, j_code, counts["n"].to_numpy(), counts["k"].to_numpy())
        arrays.update(zip(BINOMIAL_DATA, pairs, strict=True))
        return ModelData(coords, arrays, "binomial", ties, sides)
    count = counts["count"].to_numpy().astype(np.float64)
    if spec.rater_terms:
        rater, slots = counts["rater_code"].to_numpy(), len(coords["rater"])
    else:  # pooled raters, with ties or sides: the kernel without lapses or spammers
        rater, slots = np.zeros(len(count), dtype=np.int64), 1
    rows = outcome_rows(
        i_code,
        j_code,
        rater,
        count,
        slots,
        tie=counts["tie"].to_numpy() if data.n_ties else None,
        side=counts["side"].to_numpy() if sides else None,
        half_ties=spec.ties == "half",
    )
    arrays.update(zip(OUTCOME_ROWS, rows, strict=True))
    return ModelData(coords, arrays, "kernel", ties, sides)


def build_model(data: StudyData | ModelData, spec: ModelSpec) -> pm.Model:
    """PyMC model with named coords (condition, rater, image); ``elo`` is in Elo points.

    The study's arrays enter as ``pm.Data`` (see :class:`ModelData`), so a compiled model can be
    reused for another study of the same shape.
    """
    import pymc as pm  # imported here: MAP previews and tables never pay PyMC's import time
    import pytensor.tensor as pt

    from analysis.ops import choice_likelihood

    inputs = data if isinstance(data, ModelData) else model_data(data, spec)
    with pm.Model(coords=inputs.coords) as model:
        given = {name: pm.Data(name, value) for name, value in inputs.arrays.items()}
        fixed = given["anchor_condition"][0]
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
        # Davidson's tie parameter as τ₀ = P(tie) on an evenly matched pair (ν = 2τ₀/(1 − τ₀)).
        tie_logit = pm.Normal("tie_logit", *spec.tie_prior) if inputs.ties else -np.inf
        if inputs.ties:
            pm.Deterministic("tie_even", pm.math.sigmoid(tie_logit))
            pm.Deterministic("tie_nu", 2.0 * pm.math.exp(tie_logit))
        side_bias = 0.0
        if inputs.sides:  # nats added to the gap of the condition shown on the left; shown like the strengths
            side_prior = spec.side_prior_elo / ELO_PER_NAT
            if spec.rater_terms:
                side_bias = pm.Normal("shown_side_bias", 0.0, side_prior) / (1.0 - lapse0)
            else:
                side_bias = pm.Normal("side_bias", 0.0, side_prior)
            pm.Deterministic("side_elo", side_bias * ELO_PER_NAT)
        if inputs.likelihood == "binomial":
            i_code, j_code, n, k = (given[name] for name in BINOMIAL_DATA)
            pm.Binomial("wins", n=n, logit_p=strength[i_code] - strength[j_code], observed=k)
            return model
        rows = [given[name] for name in OUTCOME_ROWS]
        if spec.rater_terms:
            if spec.spammer_class:
                share = pm.Beta("spammer_share", *spec.spammer_prior)
                spam_logit = pt.log(share) - pt.log1p(-share)
            else:  # one shared lapse λ₀ for every judgment: no spammer class (w = 0)
                spam_logit = pt.constant(-np.inf)
            loglik, *_, p_spammer = choice_likelihood(strength, lapse0_logit, spam_logit, tie_logit, side_bias, *rows)
            pm.Potential("judgments", loglik)
            pm.Deterministic("p_spammer", p_spammer, dims="rater")
            # E[λ_r | parameters]: its posterior mean is the rater's posterior mean lapse.
            pm.Deterministic("lapse", p_spammer + (1.0 - p_spammer) * lapse0, dims="rater")
        else:  # pooled raters, with ties or sides: the kernel without lapses or spammers
            pm.Potential("judgments", choice_likelihood(strength, -np.inf, -np.inf, tie_logit, side_bias, *rows)[0])
    return model


def jittered_rvs(model: pm.Model) -> set[TensorVariable]:
    """Free variables whose sampler start is jittered: all but the strengths, which start at 0.

    At random strengths a rater with hundreds of judgments fits a coin far better than
    Bradley–Terry, so every rater's p_spammer is 1, the strengths' gradient vanishes and chains
    never leave that plateau (one rater, 4,000 judgments: Elo correlation −0.23 with the truth;
    with strengths at 0, the ZeroSumNormal's support point, 0.99).
    """
    return {rv for rv in model.free_RVs if rv.name not in ("shown_strength", "strength")}


def compile_model(model: pm.Model) -> Any:
    """nutpie's numba compilation of ``model``; the strengths start at 0, the rest jittered (:func:`jittered_rvs`).

    Compiled without fastmath: with it, PyTensor's freshly compiled and disk-cached numba code
    round differently, so the same seed gave other draws on a machine's first fit than on the
    next ones.
    """
    import nutpie
    import pytensor

    with pytensor.config.change_flags(numba__fastmath=False):
        return nutpie.compile_pymc_model(model, backend="numba", jitter_rvs=jittered_rvs(model))


def sample_compiled(compiled: Any, sampling: SamplerOptions) -> az.InferenceData:
    """NUTS draws from a compiled nutpie model."""
    import nutpie

    return nutpie.sample(
        compiled,
        draws=sampling.draws,
        tune=sampling.tune,
        chains=sampling.chains,
        cores=sampling.cores,
        seed=sampling.seed,
        progress_bar=sampling.progress,
    )


def sample_model(
    model: pm.Model, sampling: SamplerOptions = DEFAULT_SAMPLING
) -> tuple[az.InferenceData, dict[str, float]]:
    """Run NUTS with nutpie (compiled with numba) or PyMC's own sampler; return (idata, timings in s).

    nutpie compiles ``model`` on every call; :func:`analysis.compiled.sample_study` reuses models.
    """
    import pymc as pm

    timings: dict[str, float] = {}
    if sampling.sampler == "nutpie":
        start = time.perf_counter()
        compiled = compile_model(model)
        timings["compile_s"] = time.perf_counter() - start
        start = time.perf_counter()
        idata = sample_compiled(compiled, sampling)
        timings["sample_s"] = time.perf_counter() - start
    else:
        from pymc.initial_point import make_initial_point_fn

        start = time.perf_counter()
        # The same starts as nutpie's: strengths at 0, the rest jittered (PyMC would jitter all).
        start_point = make_initial_point_fn(model=model, jitter_rvs=jittered_rvs(model), return_transformed=False)
        seeds = np.random.default_rng(sampling.seed).integers(2**31, size=sampling.chains)
        idata = pm.sample(
            draws=sampling.draws,
            tune=sampling.tune,
            chains=sampling.chains,
            cores=sampling.cores,
            random_seed=sampling.seed,
            progressbar=sampling.progress,
            model=model,
            init="adapt_diag",
            initvals=[start_point(int(seed)) for seed in seeds],
            compute_convergence_checks=False,
        )
        # PyMC compiles inside pm.sample; the split is not observable, so all time counts as sampling.
        timings["sample_s"] = time.perf_counter() - start
    return idata, timings


def diagnose(idata: az.InferenceData) -> Diagnostics:
    """R-hat max and bulk-ESS min over every sampled and reported quantity (NaN from constants ignored)."""
    known = ("elo", "lapse", "lapse0", "spammer_share", "image_sd", "image_elo", "tie_even", "side_elo")
    names = [n for n in known if n in idata["posterior"]]
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
