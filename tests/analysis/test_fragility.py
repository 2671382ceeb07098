"""Fragility of BD-rates (verified against an independent fit) and split-half reliability of the Elo scale."""

from __future__ import annotations

import choix
import numpy as np
import pytest

from analysis.bdrate import bd_rate
from analysis.data import prepare_study
from analysis.elo import ELO_PER_NAT, EloFit
from analysis.fitting import fit_study
from analysis.fragility import _judgments, _map, _weights, bdrate_fragility, fragility_table, split_half_reliability
from analysis.simulate import simulate_study


@pytest.fixture(scope="module")
def pooled() -> EloFit:
    """Pooled MAP of a 2,000-judgment study (small, so that choix's pure-Python refits stay quick)."""
    study = simulate_study(n_judgments=2000, n_raters=16, n_images=4, spammer_fraction=0.0, seed=5)
    return fit_study(prepare_study(study.judgments, study.manifest), anchor="avif", method="map", rater_terms=False)


def choix_bdrate(fit: EloFit, keep: np.ndarray, codec: str) -> float:
    """BD-rate of choix's MAP (an independent optimiser of the same penalised likelihood) on the kept judgments."""
    t = fit.data.judgments[keep]
    precision = (ELO_PER_NAT / fit.spec.prior_sd_elo) ** 2
    params = choix.opt_pairwise(
        len(fit.data.conditions), list(zip(t["winner"], t["loser"], strict=True)), precision / 2
    )
    elo = params * ELO_PER_NAT
    c = fit.data.conditions
    a, b = c[c["codec"] == fit.anchor], c[c["codec"] == codec]
    return bd_rate(a["bpp"], elo[a.index], b["bpp"], elo[b.index], monotone=True)


def test_the_weighted_map_is_choixs_map_under_the_same_prior(pooled) -> None:
    j = _judgments(pooled)
    precision = (ELO_PER_NAT / pooled.spec.prior_sd_elo) ** 2
    theta, _ = _map(_weights(j, np.ones(len(j.winner), bool)), 0, precision)
    # choix penalises alpha·Σθ² (a Gaussian prior of precision 2·alpha), so alpha = precision / 2.
    expected = choix.opt_pairwise(len(theta), list(zip(j.winner, j.loser, strict=True)), precision / 2, tol=1e-10)
    np.testing.assert_allclose(theta - theta.mean(), expected - expected.mean(), atol=1e-4)


def test_removing_the_judgments_found_flips_the_sign_but_as_many_random_ones_do_not(pooled) -> None:
    result = bdrate_fragility(pooled, "vvc")
    assert result.bdrate < 0
    assert 0 < result.removed == len(result.removed_rows) < 0.2 * result.judgments
    keep = np.ones(result.judgments, bool)
    keep[list(result.removed_rows)] = False
    assert choix_bdrate(pooled, keep, "vvc") > 0  # independent refit: the sign has flipped
    rng = np.random.default_rng(0)
    for _ in range(3):
        random = np.ones(result.judgments, bool)
        random[rng.choice(result.judgments, result.removed, replace=False)] = False
        assert choix_bdrate(pooled, random, "vvc") < 0


def test_a_target_closer_to_the_estimate_needs_fewer_judgments(pooled) -> None:
    to_zero = bdrate_fragility(pooled, "vvc", target=0.0)
    halfway = bdrate_fragility(pooled, "vvc", target=to_zero.bdrate / 2)
    assert halfway.removed < to_zero.removed


def test_the_table_has_one_row_per_codec_with_a_share(pooled) -> None:
    table = fragility_table(pooled)
    assert list(table["codec"]) == ["jpeg", "pico", "vvc"]
    assert (table["fragility"] > 0).all()
    np.testing.assert_allclose(table["fragility_share"], table["fragility"] / len(pooled.data.judgments))


def test_split_half_reliability_is_high_for_careful_raters_and_low_for_coin_flippers(pooled) -> None:
    careful = split_half_reliability(pooled, repeats=5)
    assert careful is not None and careful.pearson > 0.9
    assert careful.spearman_brown >= careful.pearson
    coins = simulate_study(n_judgments=3000, n_raters=24, spammer_fraction=1.0, seed=2)
    data = prepare_study(coins.judgments, coins.manifest, validated=True)
    noise = split_half_reliability(fit_study(data, anchor="avif", method="map", rater_terms=False), repeats=5)
    assert noise is not None and noise.pearson < 0.6


def test_split_half_needs_four_raters(study) -> None:
    few = study.judgments[study.judgments["rater"].isin(study.judgments["rater"].unique()[:3])]
    fit = fit_study(prepare_study(few, study.manifest), anchor="avif", method="map", rater_terms=False)
    assert split_half_reliability(fit) is None
