"""Studies with few or no rater ids: rater classes only where identifiable, else one shared lapse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import cli
from analysis.data import StudyData, prepare_study
from analysis.elo import EloFit, elo_table
from analysis.fitting import fit_study
from analysis.ratermodel import MIN_JUDGMENTS_PER_RATER, MIN_RATERS, choose_rater_model
from analysis.raters import rater_table
from analysis.simulate import SimulatedStudy, simulate_study
from analysis.summaries import bdrate_table


@pytest.fixture(scope="module")
def pooled_ids() -> SimulatedStudy:
    """3,000 judgments by 12 careful raters, to be relabelled as one or three rater ids."""
    return simulate_study(n_judgments=3000, n_raters=12, n_images=4, spammer_fraction=0.0, seed=5)


def relabel(study: SimulatedStudy, n_ids: int) -> StudyData:
    judgments = study.judgments.copy()
    ids = {rater: f"id{i % n_ids}" for i, rater in enumerate(sorted(judgments["rater"].unique()))}
    judgments["rater"] = judgments["rater"].map(ids)
    return prepare_study(judgments, study.manifest)


def assert_recovers(fit: EloFit, study: SimulatedStudy, correlation: float = 0.98) -> None:
    elo = elo_table(fit).merge(study.curves, on=["codec", "level"], suffixes=("", "_true"))
    sd = (elo["elo_hi"] - elo["elo_lo"]) / 3.92
    moving = sd > 0
    assert (np.abs(elo["elo"] - elo["elo_true"])[moving] < 4 * sd[moving]).all()
    assert np.corrcoef(elo["elo"], elo["elo_true"])[0, 1] > correlation
    bdrate = bdrate_table(fit).set_index("codec")
    for codec, truth in study.true_bdrate.items():
        assert bdrate.loc[codec, "bdrate_lo"] <= truth <= bdrate.loc[codec, "bdrate_hi"], codec


def test_a_one_rater_file_is_fitted_with_one_shared_lapse_and_says_why(pooled_ids: SimulatedStudy) -> None:
    data = relabel(pooled_ids, 1)
    fit = fit_study(data, anchor="avif", method="map")
    assert fit.spec.rater_terms and not fit.spec.spammer_class
    assert "one shared lapse" in fit.model_note and "one rater id" in fit.model_note
    posterior = fit.idata["posterior"]
    assert "spammer_share" not in posterior
    assert 0.0 < float(posterior["lapse0"].mean()) < 0.1  # the raters' true mean lapse is 3%
    assert not rater_table(fit)["spammer"].any()
    assert_recovers(fit, pooled_ids)


def test_a_two_rater_file_is_fitted_with_one_shared_lapse(pooled_ids: SimulatedStudy) -> None:
    fit = fit_study(relabel(pooled_ids, 2), anchor="avif", method="map")
    assert not fit.spec.spammer_class
    assert f"fewer than {MIN_RATERS} raters" in fit.model_note
    assert_recovers(fit, pooled_ids)


def test_a_three_rater_file_keeps_the_rater_classes_and_sets_its_spammer_aside(pooled_ids: SimulatedStudy) -> None:
    judgments = pooled_ids.judgments.copy()
    ids = {rater: f"id{i % 3}" for i, rater in enumerate(sorted(judgments["rater"].unique()))}
    judgments["rater"] = judgments["rater"].map(ids)
    coin = judgments["rater"] == "id2"
    judgments.loc[coin, "winner"] = np.where(np.random.default_rng(0).random(coin.sum()) < 0.5, "a", "b")
    data = prepare_study(judgments, pooled_ids.manifest)
    fit = fit_study(data, anchor="avif", method="map")
    assert fit.spec.spammer_class and "3 rater ids, median 1000 judgments per rater" in fit.model_note
    assert rater_table(fit).set_index("rater")["spammer"].to_dict() == {"id0": False, "id1": False, "id2": True}
    assert_recovers(fit, pooled_ids)
    # One shared lapse absorbs the coin flips too (no bias, wider intervals; classes: 0.99).
    shared = fit_study(data, anchor="avif", method="map", rater_model="shared")
    assert float(shared.idata["posterior"]["lapse0"].mean()) > 0.08  # careful raters alone: 3%
    assert_recovers(shared, pooled_ids, correlation=0.96)


def test_many_raters_with_enough_judgments_keep_the_rater_classes(study_data: StudyData) -> None:
    choice = choose_rater_model(study_data)
    assert choice.model == "classes"
    assert "64 rater ids" in choice.reason


def test_raters_with_few_judgments_each_get_one_shared_lapse() -> None:
    study = simulate_study(n_judgments=40 * 20, n_raters=40, n_images=2, seed=3)
    choice = choose_rater_model(prepare_study(study.judgments, study.manifest))
    assert choice.model == "shared"
    assert f"under {MIN_JUDGMENTS_PER_RATER} judgments" in choice.reason


def test_a_forced_rater_model_is_fitted_and_reported(pooled_ids: SimulatedStudy) -> None:
    data = relabel(pooled_ids, 2)
    fit = fit_study(data, anchor="avif", method="map", rater_model="classes")
    assert fit.spec.spammer_class and "as requested" in fit.model_note
    assert "spammer_share" in fit.idata["posterior"]
    pooled = fit_study(data, anchor="avif", method="map", rater_terms=False)
    assert not pooled.spec.rater_terms and "pooled" in pooled.model_note


def test_the_command_line_prints_the_rater_model(
    pooled_ids: SimulatedStudy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    judgments = pooled_ids.judgments.assign(rater="everyone")
    judgments.to_csv(tmp_path / "judgments.csv", index=False)
    pooled_ids.manifest.to_csv(tmp_path / "manifest.csv", index=False)
    argv = ["fit", "--judgments", str(tmp_path / "judgments.csv"), "--manifest", str(tmp_path / "manifest.csv")]
    assert cli.main([*argv, "--anchor", "avif", "--out", str(tmp_path / "out"), "--method", "map"]) == 0
    assert "rater model: one shared lapse for every judgment" in capsys.readouterr().out
    page = (tmp_path / "out" / "report.html").read_text()
    assert "rater model</th><td>one shared lapse" in page
    assert "lapse λ₀ shared by every judgment</th>" in page
    assert "spammer share</th>" not in page and "attentive raters</th>" not in page


@pytest.mark.slow
def test_the_default_nuts_fit_of_a_one_rater_file_converges_and_recovers_the_truth(
    pooled_ids: SimulatedStudy, tmp_path: Path
) -> None:
    """The default command (NUTS, rater terms) on an answer file without rater ids: exit 0, truth inside."""
    judgments = pooled_ids.judgments.assign(rater="everyone")
    judgments.to_csv(tmp_path / "judgments.csv", index=False)
    pooled_ids.manifest.to_csv(tmp_path / "manifest.csv", index=False)
    argv = ["fit", "--judgments", str(tmp_path / "judgments.csv"), "--manifest", str(tmp_path / "manifest.csv")]
    assert cli.main([*argv, "--anchor", "avif", "--out", str(tmp_path / "out")]) == 0
    elo = pd.read_csv(tmp_path / "out" / "elo.csv").merge(pooled_ids.curves, on=["codec", "level"], suffixes=("", "_t"))
    assert np.corrcoef(elo["elo"], elo["elo_t"])[0, 1] > 0.98
    bdrate = pd.read_csv(tmp_path / "out" / "bdrate.csv").set_index("codec")
    for codec, truth in pooled_ids.true_bdrate.items():
        assert bdrate.loc[codec, "bdrate_lo"] <= truth <= bdrate.loc[codec, "bdrate_hi"], codec


@pytest.mark.slow
def test_nuts_with_rater_classes_leaves_the_all_spammers_plateau() -> None:
    """Six raters with 670 judgments each: jittered strengths once made every rater a spammer (exit 3)."""
    study = simulate_study(n_judgments=4000, n_raters=6, n_images=8, spammer_fraction=0.0, seed=3)
    from analysis.elo import SamplerOptions

    data = prepare_study(study.judgments, study.manifest)
    fit = fit_study(data, anchor="avif", rater_model="classes", sampling=SamplerOptions(draws=300, tune=300, chains=2))
    assert (fit.idata["posterior"]["p_spammer"].mean(("chain", "draw")) < 0.5).all()
    elo = elo_table(fit).merge(study.curves, on=["codec", "level"], suffixes=("", "_t"))
    assert np.corrcoef(elo["elo"], elo["elo_t"])[0, 1] > 0.98


def test_the_shared_lapse_map_posterior_is_the_pymc_models_up_to_a_constant(study_data: StudyData) -> None:
    """Without the spammer class the MAP's last coordinate is inert; the rest is PyMC's posterior."""
    import pytensor.tensor as pt

    from analysis.elo import ModelSpec, build_model
    from analysis.laplace import _Posterior

    spec = ModelSpec(anchor="avif", spammer_class=False)
    ours = _Posterior(study_data, spec)
    model = build_model(study_data, spec)
    assert "spammer_share" not in model.named_vars
    theirs = model.compile_logp(jacobian=True)
    to_zerosum = model.rvs_to_transforms[model["shown_strength"]]
    rng = np.random.default_rng(4)
    gaps = []
    for _ in range(4):
        x = rng.normal(0, 0.5, ours.size)
        x[-2:] = rng.normal(-3, 1), 0.0
        shown = ours.shown(x)
        point = {
            "shown_strength_zerosum__": to_zerosum.forward(pt.as_tensor(shown - shown.mean())).eval(),
            "lapse0_logit": x[-2],
        }
        gaps.append(ours(x)[0] - theirs(point))
        assert not ours(x)[2].any()  # nobody is a spammer
    np.testing.assert_allclose(gaps, gaps[0], atol=1e-6)
    h = 1e-6
    numeric = [(ours(x + h * e)[0] - ours(x - h * e)[0]) / (2 * h) for e in np.eye(ours.size)]
    np.testing.assert_allclose(ours(x)[1], numeric, rtol=1e-4, atol=1e-3)


@pytest.mark.slow
def test_pymcs_sampler_starts_like_nutpie_and_leaves_the_plateau_too() -> None:
    """One rater id on 4,000 careful judgments, rater classes forced, PyMC's sampler, seed 0.

    With PyMC's default start (every variable jittered) both chains of this very run sat on the
    all-spammers plateau (p_spammer 1, Elo correlation −0.28 and −0.20 with the truth); with the
    strengths at 0 (``analysis.elo.jittered_rvs``) both find the truth (0.99).
    """
    from analysis.elo import SamplerOptions

    study = simulate_study(n_judgments=4000, n_raters=18, n_images=4, spammer_fraction=0.0, seed=5)
    data = prepare_study(study.judgments.assign(rater="everyone"), study.manifest)
    sampling = SamplerOptions(sampler="pymc", draws=200, tune=200, chains=2, seed=0)
    fit = fit_study(data, anchor="avif", rater_model="classes", sampling=sampling)
    assert (fit.idata["posterior"]["p_spammer"].mean("draw") < 0.5).all()
    truth = study.curves.set_index(["codec", "level"])["elo"]
    for chain in fit.idata["posterior"]["elo"].mean("draw").to_numpy():
        expected = truth.loc[list(zip(data.conditions["codec"], data.conditions["level"], strict=True))]
        assert np.corrcoef(chain, expected.to_numpy())[0, 1] > 0.98
