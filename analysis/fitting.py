"""One entry point for every way of fitting the Elo model (full posterior or MAP preview)."""

from __future__ import annotations

import pandas as pd

from analysis.compiled import sample_study
from analysis.data import Exclusions, StudyData, prepare_study
from analysis.elo import DEFAULT_SAMPLING, EloFit, ModelSpec, SamplerOptions, build_model, diagnose, sample_model
from analysis.errors import AnalysisError
from analysis.laplace import fit_laplace
from analysis.ratermodel import RaterModelChoice, choose_rater_model

METHODS = ("nuts", "map")


def fit_study(
    data: StudyData,
    *,
    anchor: str,
    method: str = "nuts",
    rater_terms: bool = True,
    image_terms: bool = False,
    sampling: SamplerOptions = DEFAULT_SAMPLING,
    rater_model: str = "auto",
    ties: str = "davidson",
    side_terms: bool = True,
) -> EloFit:
    """Fit a prepared study; see :func:`fit_elo` for the parameters."""
    if rater_terms:
        choice = choose_rater_model(data, rater_model)
    else:
        choice = RaterModelChoice("pooled", "rater terms switched off (--no-rater-terms)")
    spec = ModelSpec(
        anchor=anchor,
        rater_terms=choice.model != "pooled",
        image_terms=image_terms,
        spammer_class=choice.model == "classes",
        ties=ties,
        side_terms=side_terms,
    )
    if method == "map":
        idata, info = fit_laplace(data, spec, draws=sampling.draws, seed=sampling.seed)
        return EloFit(data, idata, spec, "map", None, None, {"fit_s": info["fit_s"]}, model_note=choice.note)
    if method != "nuts":
        raise AnalysisError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if sampling.sampler == "nutpie":  # compiled once per model shape in this process (analysis.compiled)
        idata, timings = sample_study(data, spec, sampling)
    else:
        idata, timings = sample_model(build_model(data, spec), sampling)
    return EloFit(data, idata, spec, "nuts", sampling.sampler, diagnose(idata), timings, model_note=choice.note)


def fit_elo(
    judgments: pd.DataFrame,
    manifest: pd.DataFrame,
    *,
    anchor: str,
    method: str = "nuts",
    rater_terms: bool = True,
    image_terms: bool = False,
    sampling: SamplerOptions = DEFAULT_SAMPLING,
    exclusions: Exclusions | None = None,
    rater_model: str = "auto",
    ties: str = "davidson",
    side_terms: bool = True,
) -> EloFit:
    """Fit Bayesian Elo scores per (codec, level) from pairwise judgments.

    Parameters
    ----------
    judgments, manifest
        Frames following the judgments.csv / manifest.csv contracts; rows are validated and
        problems raised as :class:`~analysis.errors.JudgmentsError` with line and column.
    anchor
        Codec whose lowest level is fixed at 0 Elo and against which BD-rates are reported.
    method
        ``"nuts"``: full posterior by MCMC (check ``fit.converged``); ``"map"``: MAP + Laplace
        approximation in NumPy, milliseconds for small studies (live previews).
    rater_terms, image_terms
        Rater lapses (False: pooled raters); partially pooled image × condition deviations.
    rater_model
        With rater terms, ``"auto"`` fits rater classes (attentive/spammer) only where the study
        has enough raters and judgments per rater to identify them, else one shared lapse
        (:func:`analysis.ratermodel.choose_rater_model`); ``"classes"``, ``"shared"`` or
        ``"pooled"`` force a model. ``fit.model_note`` says which was fitted and why.
    sampling
        :class:`~analysis.elo.SamplerOptions`: sampler (nutpie or PyMC), draws, tune, chains,
        cores, seed; with ``method="map"`` only ``draws`` (Laplace draws) and ``seed`` count.
    exclusions
        Which judgments to leave out (attention/practice trials by default).
    ties
        How ``winner = tie`` answers enter: ``"davidson"`` (a tie parameter, reported as
        ``tie_even``, the tie probability on an evenly matched pair) or ``"half"`` (the CLIC
        convention: half a win to each). Studies without ties are unaffected.
    side_terms
        Estimate the side bias ``side_elo`` (Elo points given to the image shown on the left)
        when judgments carry ``shown_left``.

    Returns
    -------
    EloFit
        ``fit.idata`` is ArviZ InferenceData with ``elo`` (Elo points, dims ``condition``) and,
        with rater terms, ``lapse`` (dims ``rater``); tables come from ``elo_table(fit)``,
        ``bdrate_table(fit)`` and ``rater_table(fit)``.

    References
    ----------
    Bradley & Terry, Biometrika 39 (1952); Davidson, JASA 65 (1970); PICO paper (arXiv 2605.05148), Sec. on human evaluation.
    """
    data = prepare_study(judgments, manifest, exclusions, source=judgments.attrs.get("source", "judgments"))
    return fit_study(
        data,
        anchor=anchor,
        method=method,
        rater_terms=rater_terms,
        image_terms=image_terms,
        sampling=sampling,
        rater_model=rater_model,
        ties=ties,
        side_terms=side_terms,
    )
