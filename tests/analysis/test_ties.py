"""Ties (Davidson) and side bias: same posterior in the preview and in PyMC, recovery, tie-free studies unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytensor.tensor as pt
import pytest

from analysis.data import StudyData, load_study, prepare_study
from analysis.elo import ModelSpec, SamplerOptions, build_model, elo_table
from analysis.errors import AnalysisError
from analysis.fitting import fit_study
from analysis.laplace import _Posterior, fit_laplace
from analysis.raters import rater_table
from analysis.simulate import SimulatedStudy, simulate_study
from analysis.summaries import bdrate_table

EXPECTED = Path(__file__).resolve().parents[1] / "expected" / "analysis" / "tie_free_map.json"
TIE_EVEN, SIDE_ELO = 0.3, 40.0


@pytest.fixture(scope="module")
def tie_study() -> SimulatedStudy:
    """The shared study's shape (8000 judgments, 64 raters, about 5 spammers) with ties and a left bias."""
    return simulate_study(
        n_judgments=8000,
        n_raters=64,
        n_images=8,
        spammer_fraction=0.08,
        tie_even=TIE_EVEN,
        side_bias_elo=SIDE_ELO,
        seed=11,
    )


@pytest.fixture(scope="module")
def tie_data(tie_study) -> StudyData:
    return prepare_study(tie_study.judgments, tie_study.manifest)


def interval(fit, name: str) -> tuple[float, float]:
    lo, hi = np.quantile(fit.idata.posterior[name].to_numpy(), [0.025, 0.975])
    return float(lo), float(hi)


def test_a_tie_and_the_side_shown_are_encoded_with_the_judgment(study) -> None:
    frame = pd.concat([study.judgments.head(1)] * 4, ignore_index=True)  # one pair, judged four times
    frame["winner"] = ["a", "b", "tie", "tie"]
    frame["shown_left"] = ["a", "a", "b", None]
    data = prepare_study(frame, study.manifest)
    a, b = data.index_of(frame.a_codec[0], frame.a_level[0]), data.index_of(frame.b_codec[0], frame.b_level[0])
    tidy = data.judgments
    assert tidy["tie"].tolist() == [False, False, True, True] and data.n_ties == 2 and data.has_sides
    assert tidy["winner"].tolist() == [a, b, a, a]  # a tie is stored A first
    assert tidy["side"].tolist() == [1, -1, -1, 0]  # where the stored winner (A for a tie) was shown


def test_tie_free_studies_give_the_same_map_preview_as_before_ties_existed(small_files) -> None:
    """Log posterior, gradient and MAP Elo on the fixture equal those recorded at commit 1a73f76 (before ties)."""
    expected = json.loads(EXPECTED.read_text())
    data = load_study(*small_files)
    for key, rater_terms in (("pooled", False), ("raters", True)):
        spec = ModelSpec(anchor="avif", rater_terms=rater_terms)
        posterior = _Posterior(data, spec)
        for point in expected[key]["points"]:
            value, grad, _ = posterior(np.array(point["x"]))
            assert value == pytest.approx(point["logp"], rel=1e-12, abs=1e-9)
            np.testing.assert_allclose(grad, point["grad"], rtol=1e-9, atol=1e-9)
        idata, _ = fit_laplace(data, spec, draws=200, seed=0)
        np.testing.assert_allclose(idata.posterior["elo"].mean(("chain", "draw")), expected[key]["elo_mean"], atol=1e-6)
        np.testing.assert_allclose(idata.posterior["elo"].std(("chain", "draw")), expected[key]["elo_sd"], atol=1e-6)


@pytest.mark.parametrize("rater_terms", [False, True])
def test_with_ties_and_sides_the_map_posterior_is_the_pymc_models_up_to_a_constant(tie_data, rater_terms) -> None:
    spec = ModelSpec(anchor="avif", rater_terms=rater_terms)
    ours = _Posterior(tie_data, spec)
    assert ours.i_tie is not None and ours.i_side is not None
    model = build_model(tie_data, spec)
    theirs = model.compile_logp(jacobian=True)
    sampled = "shown_strength" if rater_terms else "strength"
    to_zerosum = model.rvs_to_transforms[model[sampled]]
    rng = np.random.default_rng(2)
    gaps = []
    for _ in range(4):
        x = rng.normal(0, 0.5, ours.size)
        x[ours.i_tie] = rng.normal(-1, 0.5)
        shown = ours.shown(x)
        point = {
            f"{sampled}_zerosum__": to_zerosum.forward(pt.as_tensor(shown - shown.mean())).eval(),
            "tie_logit": x[ours.i_tie],
            ("shown_side_bias" if rater_terms else "side_bias"): x[ours.i_side],
        }
        if rater_terms:
            x[-2:] = rng.normal(-3, 1), rng.normal(-2, 1)
            point.update(lapse0_logit=x[-2], spammer_share_logodds__=x[-1])
        gaps.append(ours(x)[0] - theirs(point))
    np.testing.assert_allclose(gaps, gaps[0], atol=1e-6)


@pytest.mark.parametrize("ties", ["davidson", "half"])
def test_with_ties_and_sides_the_map_gradient_matches_finite_differences(tie_data, ties) -> None:
    ours = _Posterior(tie_data, ModelSpec(anchor="avif", ties=ties))
    x = np.random.default_rng(3).normal(0, 0.5, ours.size)
    x[-2:] = -2.5, -2.0
    h = 1e-6
    numeric = [(ours(x + h * e)[0] - ours(x - h * e)[0]) / (2 * h) for e in np.eye(ours.size)]
    np.testing.assert_allclose(ours(x)[1], numeric, rtol=1e-4, atol=1e-3)


def test_the_map_recovers_the_tie_parameter_the_side_bias_elo_and_bd_rates(tie_study, tie_data) -> None:
    fit = fit_study(tie_data, anchor="avif", method="map")
    lo, hi = interval(fit, "tie_even")
    assert lo <= TIE_EVEN <= hi and hi - lo < 0.05
    lo, hi = interval(fit, "side_elo")
    assert lo <= SIDE_ELO <= hi and hi - lo < 40
    table = elo_table(fit)
    sd = (table["elo_hi"] - table["elo_lo"]).to_numpy() / (2 * 1.96)
    assert (np.abs(table["elo"].to_numpy() - tie_study.curves["elo"].to_numpy()) <= 4 * sd + 1e-9).all()
    bd = bdrate_table(fit).set_index("codec").dropna(subset=["bdrate"])
    assert len(bd) >= 2
    for codec, row in bd.iterrows():
        assert abs(row["bdrate"] - tie_study.true_bdrate[codec]) <= 3 * (row["bdrate_hi"] - row["bdrate_lo"]) / 3.92
    raters = rater_table(fit).merge(tie_study.raters, on="rater", suffixes=("", "_true"))
    assert (raters["spammer"] == raters["spammer_true"]).all()


def test_the_clic_convention_compresses_the_elo_scale_but_keeps_the_bd_rates(tie_data) -> None:
    """Half a win to each side fits P(A) + P(tie)/2, flatter than Bradley–Terry: Elo gaps shrink
    (by about a quarter at τ₀ = 0.3) almost exactly in proportion, so BD-rates barely move."""
    davidson = fit_study(tie_data, anchor="avif", method="map")
    half = fit_study(tie_data, anchor="avif", method="map", ties="half")
    assert "tie_even" in davidson.idata.posterior and "tie_even" not in half.idata.posterior
    ours, clic = elo_table(davidson)["elo"].to_numpy(), elo_table(half)["elo"].to_numpy()
    slope = np.polyfit(ours, clic, 1)[0]
    assert 0.6 < slope < 0.9 and np.corrcoef(ours, clic)[0, 1] > 0.999
    ours_bd, clic_bd = (bdrate_table(f).set_index("codec") for f in (davidson, half))
    for codec in ours_bd.index:
        sd = (ours_bd.loc[codec, "bdrate_hi"] - ours_bd.loc[codec, "bdrate_lo"]) / 3.92
        assert abs(ours_bd.loc[codec, "bdrate"] - clic_bd.loc[codec, "bdrate"]) < 0.3 * sd, codec


def test_an_unknown_tie_model_is_refused() -> None:
    with pytest.raises(AnalysisError, match="unknown tie model 'third'; use one of davidson, half"):
        ModelSpec(anchor="avif", ties="third")


def test_with_random_sides_the_side_term_leaves_bd_rates_where_they_were(tie_data) -> None:
    """Random sides bias nobody: the side term moves each BD-rate by a small part of its sd."""
    with_term = bdrate_table(fit_study(tie_data, anchor="avif", method="map")).set_index("codec")
    fit = fit_study(tie_data, anchor="avif", method="map", side_terms=False)
    assert "side_elo" not in fit.idata.posterior
    without = bdrate_table(fit).set_index("codec")
    for codec in with_term.index:
        sd = (with_term.loc[codec, "bdrate_hi"] - with_term.loc[codec, "bdrate_lo"]) / 3.92
        assert abs(with_term.loc[codec, "bdrate"] - without.loc[codec, "bdrate"]) < 0.25 * sd, codec


def test_recording_sides_leaves_the_rest_of_a_simulated_study_unchanged() -> None:
    plain = simulate_study(n_judgments=600, seed=4)
    sided = simulate_study(n_judgments=600, seed=4, shown_left=True)
    pd.testing.assert_frame_equal(plain.judgments, sided.judgments.drop(columns="shown_left"))
    assert set(sided.judgments["shown_left"]) == {"a", "b"} and "tie" not in set(plain.judgments["winner"])


def test_simulated_ties_and_sides_go_through_the_command_line_into_the_report(tmp_path: Path) -> None:
    from analysis import cli

    j, m, out = tmp_path / "j.csv", tmp_path / "m.csv", tmp_path / "out"
    simulate = ["simulate", "--judgments-out", str(j), "--manifest-out", str(m), "--judgments", "2000"]
    assert cli.main([*simulate, "--raters", "16", "--tie-even", "0.3", "--side-bias", "50", "--seed", "3"]) == 0
    judgments = pd.read_csv(j)
    assert set(judgments["winner"]) == {"a", "b", "tie"} and set(judgments["shown_left"]) == {"a", "b"}
    fit = ["fit", "--judgments", str(j), "--manifest", str(m), "--anchor", "avif", "--method", "map"]
    assert cli.main([*fit, "--out", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert "tie probability τ₀ on an evenly matched pair" in page and "Davidson tie parameter" in page
    assert "side bias: Elo points given to the image shown left" in page
    raters = pd.read_csv(out / "raters.csv")
    assert raters["agreement"].between(0, 1).all()  # over decided judgments only
    assert cli.main([*fit, "--out", str(out), "--ties", "half", "--no-side-bias"]) == 0
    page = (out / "report.html").read_text()
    assert "half a win to both sides (CLIC)" in page and "τ₀" not in page and "side bias" not in page


@pytest.mark.slow
def test_over_many_studies_tie_and_side_intervals_cover_the_truth_and_side_bias_leaves_bd_rates_alone() -> None:
    """40 small studies with ties and a left bias (random sides), each with an unbiased twin (the
    same random draws, no bias). The 95% intervals of τ₀ and β cover the truth about 95% of the
    time; with or without the side term, BD-rates stay where the twin's are and keep their coverage."""
    covered: dict[str, list[bool]] = {"tie_even": [], "side_elo": [], "bd with term": [], "bd without term": []}
    moved: dict[str, list[float]] = {"with term": [], "without term": []}
    errors = []
    for seed in range(40):
        kwargs = dict(n_judgments=3000, n_raters=24, n_images=4, tie_even=0.25, shown_left=True, seed=100 + seed)
        study, twin = simulate_study(side_bias_elo=30.0, **kwargs), simulate_study(side_bias_elo=0.0, **kwargs)
        tables = {}
        for key, sim, side_terms in (("with term", study, True), ("without term", study, False), ("twin", twin, True)):
            data = prepare_study(sim.judgments, sim.manifest, validated=True)
            sampling = SamplerOptions(draws=500, seed=seed)
            fit = fit_study(data, anchor="avif", method="map", side_terms=side_terms, sampling=sampling)
            if key == "with term":
                for name, truth in (("tie_even", 0.25), ("side_elo", 30.0)):
                    lo, hi = interval(fit, name)
                    covered[name].append(lo <= truth <= hi)
            tables[key] = bdrate_table(fit).set_index("codec")
        for codec in ("pico", "vvc"):  # jpeg's +150% magnifies Elo noise 2.5×: too wide to say much here
            truth, twin_bd = study.true_bdrate[codec], tables["twin"].loc[codec, "bdrate"]
            errors.append(twin_bd - truth)
            for key in moved:
                row = tables[key].loc[codec]
                moved[key].append(row["bdrate"] - twin_bd)
                covered[f"bd {key}"].append(row["bdrate_lo"] <= truth <= row["bdrate_hi"])
    for name, hits in covered.items():
        assert 0.85 <= np.mean(hits) <= 1.0, (name, np.mean(hits))
    spread = np.std(errors)  # how far a BD-rate of such a study strays from the truth
    for key, shift in moved.items():  # changed outcomes move each study's BD-rate, but not on average
        assert abs(np.mean(shift)) < 3 * np.std(shift) / np.sqrt(len(shift)) and abs(np.mean(shift)) < 0.1 * spread, key
    term_effect = np.subtract(moved["with term"], moved["without term"])
    assert np.sqrt(np.mean(np.square(term_effect))) < 0.2 * spread  # measured 1.2 pp of 8.7


@pytest.mark.slow
def test_nuts_with_ties_and_sides_recovers_both_parameters(tie_study, tie_data) -> None:
    fit = fit_study(tie_data, anchor="avif", sampling=SamplerOptions(draws=200, tune=200, chains=2))
    post = fit.idata.posterior
    assert {"tie_even", "tie_nu", "side_elo"} <= set(post.data_vars)
    assert {"tie_even", "side_elo"} <= set(fit.diagnostics.checked)
    for name, truth in (("tie_even", TIE_EVEN), ("side_elo", SIDE_ELO)):
        lo, hi = interval(fit, name)
        assert lo <= truth <= hi, (name, lo, hi)
    preview = fit_study(tie_data, anchor="avif", method="map")
    for name in ("tie_even", "side_elo"):  # the preview is the same posterior
        sd = float(post[name].std())
        assert abs(float(post[name].mean()) - float(preview.idata.posterior[name].mean())) < 0.5 * sd, name
