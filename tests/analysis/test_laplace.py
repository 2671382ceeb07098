"""MAP + Laplace: recovery of known truth, agreement with choix, interval coverage, spammers."""

from __future__ import annotations

import choix
import numpy as np
import pandas as pd
import pytensor.tensor as pt
import pytest

from analysis.data import prepare_study
from analysis.elo import ELO_PER_NAT, ModelSpec, SamplerOptions, build_model, elo_table
from analysis.errors import AnalysisError
from analysis.fitting import fit_study
from analysis.laplace import _Posterior, fit_laplace
from analysis.raters import rater_table
from analysis.simulate import expected_curves, simulate_study
from analysis.summaries import bdrate_table

CHOIX_ATOL_ELO = 3.0


def test_pooled_map_agrees_with_choix_on_the_same_data(study_data) -> None:
    spec = ModelSpec(anchor="avif", rater_terms=False, prior_sd_elo=1e5)
    idata, _ = fit_laplace(study_data, spec, draws=4000)
    ours = idata.posterior["elo"].mean(("chain", "draw")).to_numpy()
    pairs = list(zip(study_data.judgments["winner"], study_data.judgments["loser"], strict=True))
    theta = choix.ilsr_pairwise(len(study_data.conditions), pairs, alpha=0.0)
    anchor = study_data.index_of("avif", 0)
    np.testing.assert_allclose(ours, (theta - theta[anchor]) * ELO_PER_NAT, atol=CHOIX_ATOL_ELO)


def test_map_with_rater_terms_recovers_elo_and_bd_rates(study, study_data) -> None:
    fit = fit_study(study_data, anchor="avif", method="map")
    table = elo_table(fit)
    sd = (table["elo_hi"] - table["elo_lo"]).to_numpy() / (2 * 1.96)
    error = table["elo"].to_numpy() - study.curves["elo"].to_numpy()
    assert (np.abs(error) <= 4 * sd + 1e-9).all()
    bd = bdrate_table(fit).set_index("codec").dropna(subset=["bdrate"])
    assert len(bd) >= 2
    for codec, row in bd.iterrows():
        sd = (row["bdrate_hi"] - row["bdrate_lo"]) / (2 * 1.96)
        assert abs(row["bdrate"] - study.true_bdrate[codec]) <= 3 * sd, codec
    assert table.loc[study_data.index_of("avif", 0), ["elo", "elo_lo", "elo_hi"]].tolist() == [0.0, 0.0, 0.0]


def test_map_with_rater_terms_flags_the_spammers(study, study_data) -> None:
    fit = fit_study(study_data, anchor="avif", method="map")
    raters = rater_table(fit).merge(study.raters, on="rater", suffixes=("", "_true"))
    assert raters["spammer_true"].sum() == 5
    assert raters.loc[raters["spammer_true"], "spammer"].all()
    assert not raters.loc[~raters["spammer_true"], "spammer"].any()
    assert (
        raters.loc[raters["spammer_true"], "agreement"].max() < raters.loc[~raters["spammer_true"], "agreement"].min()
    )


def test_image_terms_need_the_full_posterior(study_data) -> None:
    with pytest.raises(AnalysisError, match="image terms need the full posterior"):
        fit_study(study_data, anchor="avif", method="map", image_terms=True)


def test_an_unjudged_anchor_is_named(study_data) -> None:
    with pytest.raises(AnalysisError, match="anchor codec 'webp' was never judged; judged codecs: avif, jpeg"):
        fit_study(study_data, anchor="webp", method="map")


@pytest.mark.slow
def test_95_percent_elo_intervals_cover_the_truth_about_95_percent_of_the_time() -> None:
    hits = []
    for seed in range(60):
        study = simulate_study(
            n_judgments=900, n_raters=8, n_images=4, spammer_fraction=0.0, lapse_mean=0.001, seed=seed
        )
        data = prepare_study(study.judgments, study.manifest, validated=True)
        fit = fit_study(
            data, anchor="avif", method="map", rater_terms=False, sampling=SamplerOptions(draws=400, seed=seed)
        )
        table = elo_table(fit).drop(index=data.index_of("avif", 0))
        truth = study.curves["elo"].to_numpy()[table.index]
        hits.extend((table["elo_lo"] <= truth) & (truth <= table["elo_hi"]))
    assert len(hits) == 60 * 19
    assert 0.92 <= np.mean(hits) <= 0.98, np.mean(hits)


@pytest.mark.slow
def test_95_percent_bd_rate_intervals_cover_the_truth_about_95_percent_of_the_time() -> None:
    # A wide ladder keeps adjacent levels apart, so (nearly) every draw has monotone curves.
    curves = expected_curves({"jpeg": 2.0, "avif": 1.0, "webp": 1.4}, ladder=(0.06, 0.12, 0.24, 0.48, 0.96))
    hits = []
    for seed in range(50):
        study = simulate_study(
            curves, n_judgments=6000, n_raters=48, n_images=4, spammer_fraction=0.0, lapse_mean=0.001, seed=seed
        )
        data = prepare_study(study.judgments, study.manifest, validated=True)
        fit = fit_study(
            data, anchor="avif", method="map", rater_terms=False, sampling=SamplerOptions(draws=400, seed=seed)
        )
        bd = bdrate_table(fit).set_index("codec")
        for codec, value in study.true_bdrate.items():
            if pd.isna(bd.loc[codec, "reason"]):
                hits.append(bd.loc[codec, "bdrate_lo"] <= value <= bd.loc[codec, "bdrate_hi"])
    assert len(hits) >= 90
    assert 0.88 <= np.mean(hits) <= 0.99, (len(hits), np.mean(hits))


@pytest.mark.parametrize("rater_terms", [False, True])
def test_the_map_posterior_is_the_pymc_models_up_to_a_constant(study_data, rater_terms) -> None:
    """Same priors, likelihood and unconstrained space as the PyMC model: log densities differ by a constant."""
    spec = ModelSpec(anchor="avif", rater_terms=rater_terms)
    ours = _Posterior(study_data, spec)
    model = build_model(study_data, spec)
    theirs = model.compile_logp(jacobian=True)
    sampled = "shown_strength" if rater_terms else "strength"  # what NUTS samples (see analysis.elo)
    to_zerosum = model.rvs_to_transforms[model[sampled]]
    rng = np.random.default_rng(2)
    gaps = []
    for _ in range(4):
        x = rng.normal(0, 0.5, ours.size)
        shown = ours.shown(x)
        point = {f"{sampled}_zerosum__": to_zerosum.forward(pt.as_tensor(shown - shown.mean())).eval()}
        if rater_terms:
            x[-2:] = rng.normal(-3, 1), rng.normal(-2, 1)
            point.update(lapse0_logit=x[-2], spammer_share_logodds__=x[-1])
        gaps.append(ours(x)[0] - theirs(point))
    np.testing.assert_allclose(gaps, gaps[0], atol=1e-6)


@pytest.mark.parametrize("rater_terms", [False, True])
def test_the_map_gradient_matches_finite_differences(study_data, rater_terms) -> None:
    ours = _Posterior(study_data, ModelSpec(anchor="avif", rater_terms=rater_terms))
    x = np.random.default_rng(3).normal(0, 0.5, ours.size)
    if rater_terms:
        x[-2:] = -2.5, -2.0
    h = 1e-6
    numeric = [(ours(x + h * e)[0] - ours(x - h * e)[0]) / (2 * h) for e in np.eye(ours.size)]
    np.testing.assert_allclose(ours(x)[1], numeric, rtol=1e-4, atol=1e-3)
