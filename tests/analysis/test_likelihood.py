"""The fused rater-class likelihood kernel against direct NumPy formulas and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logsumexp

from analysis.likelihood import choice_loglik, outcome_rows, pair_rows, random_loglik, rater_class_loglik


@pytest.fixture
def rows() -> dict:
    rng = np.random.default_rng(4)
    n_rows, n_cond, n_raters = 300, 7, 9
    winner = rng.integers(0, n_cond, n_rows)
    loser = (winner + rng.integers(1, n_cond, n_rows)) % n_cond
    rater = rng.integers(0, n_raters - 1, n_rows)  # the last rater judged nothing
    count = rng.integers(1, 4, n_rows).astype(float)
    return {
        "strength": rng.normal(0, 1.5, n_cond),
        "winner": winner,
        "loser": loser,
        "rater": rater,
        "count": count,
        "random": random_loglik(rater, count, n_raters),
    }


def call(rows: dict, strength=None, lapse_logit: float = -2.5, spam_logit: float = -1.5):
    strength = rows["strength"] if strength is None else strength
    return rater_class_loglik(
        strength,
        lapse_logit,
        spam_logit,
        *pair_rows(rows["winner"], rows["loser"]),
        rows["rater"],
        rows["count"],
        rows["random"],
    )


def direct(rows: dict, strength, lapse_logit: float, spam_logit: float) -> tuple[float, np.ndarray]:
    """Σ_r log[(1−w)·Π q^c + w·2^−n_r] and P(spammer | r), written out independently."""
    lapse, share = expit(lapse_logit), expit(spam_logit)
    q = lapse / 2 + (1 - lapse) * expit(strength[rows["winner"]] - strength[rows["loser"]])
    n_raters = len(rows["random"])
    attentive = np.log(1 - share) + np.bincount(rows["rater"], rows["count"] * np.log(q), n_raters)
    spammer = np.log(share) + np.bincount(rows["rater"], rows["count"], n_raters) * np.log(0.5)
    total = logsumexp(np.stack([attentive, spammer]), axis=0)
    return float(total.sum()), np.exp(spammer - total)


def test_value_and_spammer_probabilities_match_the_direct_formula(rows) -> None:
    value, *_, p_spam = call(rows)
    expected, expected_p = direct(rows, rows["strength"], -2.5, -1.5)
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(p_spam, expected_p, rtol=1e-10)
    assert p_spam[-1] == pytest.approx(expit(-1.5))  # no judgments: the prior share


def test_gradients_match_central_differences(rows) -> None:
    _, grad_s, grad_lapse, grad_spam, _ = call(rows)
    h = 1e-6
    for k in range(len(rows["strength"])):
        step = np.zeros_like(rows["strength"])
        step[k] = h
        numeric = (call(rows, rows["strength"] + step)[0] - call(rows, rows["strength"] - step)[0]) / (2 * h)
        assert grad_s[k] == pytest.approx(numeric, rel=1e-6, abs=1e-6)
    numeric = (call(rows, lapse_logit=-2.5 + h)[0] - call(rows, lapse_logit=-2.5 - h)[0]) / (2 * h)
    assert grad_lapse == pytest.approx(numeric, rel=1e-6)
    numeric = (call(rows, spam_logit=-1.5 + h)[0] - call(rows, spam_logit=-1.5 - h)[0]) / (2 * h)
    assert grad_spam == pytest.approx(numeric, rel=1e-6)


def test_rows_share_pairs_and_pairs_are_unique(rows) -> None:
    pair_winner, pair_loser, row_pair = pair_rows(rows["winner"], rows["loser"])
    np.testing.assert_array_equal(pair_winner[row_pair], rows["winner"])
    np.testing.assert_array_equal(pair_loser[row_pair], rows["loser"])
    assert len(set(zip(pair_winner, pair_loser, strict=True))) == len(pair_winner) < len(row_pair)


def test_without_lapses_or_spammers_it_is_the_bradley_terry_likelihood(rows) -> None:
    value, grad_s, grad_lapse, grad_spam, p_spam = call(rows, lapse_logit=-np.inf, spam_logit=-np.inf)
    d = rows["strength"][rows["winner"]] - rows["strength"][rows["loser"]]
    assert value == pytest.approx(np.sum(rows["count"] * np.log(expit(d))), rel=1e-12)
    assert grad_lapse == 0.0 and grad_spam == 0.0 and not p_spam.any()


def test_a_coin_flipping_rater_is_recognised_and_an_attentive_one_is_not() -> None:
    rng = np.random.default_rng(0)
    strength = np.linspace(-2, 2, 6)
    winner, loser = rng.integers(0, 6, (2, 400))
    loser = np.where(loser == winner, (winner + 1) % 6, loser)
    rater = np.repeat([0, 1], 200)
    model_wins = rng.random(400) < expit(strength[winner] - strength[loser])
    coin_wins = rng.random(400) < 0.5
    wins = np.where(rater == 0, model_wins, coin_wins)
    first, second = np.where(wins, winner, loser), np.where(wins, loser, winner)
    count = np.ones(400)
    random = random_loglik(rater, count, 2)
    *_, p_spam = rater_class_loglik(strength, -3.0, -2.0, *pair_rows(first, second), rater, count, random)
    assert p_spam[0] < 1e-6 and p_spam[1] > 1 - 1e-6


def test_huge_strength_gaps_give_finite_gradients(rows) -> None:
    strength = rows["strength"] * 1000.0  # gaps of thousands of nats: exp would overflow
    value, grad_s, grad_lapse, grad_spam, _ = call(rows, strength)
    assert np.isfinite(value) and np.isfinite(grad_s).all() and np.isfinite([grad_lapse, grad_spam]).all()


# Ties (Davidson) and the side bias: the general kernel.


@pytest.fixture
def outcomes(rows) -> dict:
    rng = np.random.default_rng(8)
    n = len(rows["winner"])
    return rows | {"tie": rng.random(n) < 0.3, "side": rng.integers(-1, 2, n).astype(np.int8)}


def general(rows: dict, strength=None, lapse_logit=-2.5, spam_logit=-1.5, tie_logit=-0.7, side_bias=0.3, half=False):
    strength = rows["strength"] if strength is None else strength
    inputs = outcome_rows(
        rows["winner"],
        rows["loser"],
        rows["rater"],
        rows["count"],
        len(rows["random"]),
        tie=rows.get("tie"),
        side=rows.get("side"),
        half_ties=half,
    )
    return choice_loglik(strength, lapse_logit, spam_logit, tie_logit, side_bias, *inputs)


def direct_davidson(rows: dict, strength, lapse_logit, spam_logit, tie_logit, side_bias) -> tuple[float, np.ndarray]:
    """The same likelihood written out: P(w) : P(l) : P(tie) = e^{g/2} : e^{−g/2} : ν, lapses answer as on an even pair."""
    lapse, share, nu = expit(lapse_logit), expit(spam_logit), 2 * np.exp(tie_logit)
    g = strength[rows["winner"]] - strength[rows["loser"]] + rows["side"] * side_bias
    total = np.exp(g / 2) + np.exp(-g / 2) + nu
    p = np.where(rows["tie"], nu / total, np.exp(g / 2) / total)
    r = np.where(rows["tie"], nu / (2 + nu), 1 / (2 + nu))
    q = lapse * r + (1 - lapse) * p
    n_raters = len(rows["random"])
    attentive = np.log(1 - share) + np.bincount(rows["rater"], rows["count"] * np.log(q), n_raters)
    spammer = np.log(share) + np.bincount(rows["rater"], rows["count"] * np.log(r), n_raters)
    both = logsumexp(np.stack([attentive, spammer]), axis=0)
    return float(both.sum()), np.exp(spammer - both)


def test_with_ties_and_sides_the_value_matches_the_direct_davidson_formula(outcomes) -> None:
    value, *_, p_spam = general(outcomes)
    expected, expected_p = direct_davidson(outcomes, outcomes["strength"], -2.5, -1.5, -0.7, 0.3)
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(p_spam, expected_p, rtol=1e-10)


def test_with_ties_and_sides_every_gradient_matches_central_differences(outcomes) -> None:
    _, grad_s, *grad_scalars, _ = general(outcomes)
    h = 1e-6
    for k in range(len(outcomes["strength"])):
        step = np.zeros_like(outcomes["strength"])
        step[k] = h
        up, down = general(outcomes, outcomes["strength"] + step)[0], general(outcomes, outcomes["strength"] - step)[0]
        assert grad_s[k] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-6)
    point = {"lapse_logit": -2.5, "spam_logit": -1.5, "tie_logit": -0.7, "side_bias": 0.3}
    for (name, x), grad in zip(point.items(), grad_scalars, strict=True):
        numeric = (general(outcomes, **{name: x + h})[0] - general(outcomes, **{name: x - h})[0]) / (2 * h)
        assert grad == pytest.approx(numeric, rel=1e-6, abs=1e-7), name


def test_without_ties_or_sides_the_general_kernel_is_the_plain_one_bit_for_bit(rows) -> None:
    plain = call(rows)
    full = general(rows, tie_logit=-np.inf, side_bias=0.7)  # no side column: β has nothing to act on
    assert full[0] == plain[0] and full[2:4] == plain[2:4] and full[4] == 0.0 and full[5] == 0.0
    np.testing.assert_array_equal(full[1], plain[1])
    np.testing.assert_array_equal(full[6], plain[4])


def test_half_ties_are_half_a_win_to_each_side_without_a_tie_parameter(outcomes) -> None:
    value, grad_s, *_ = general(outcomes, tie_logit=-np.inf, half=True)
    t, c = outcomes["tie"], outcomes["count"]
    split = outcomes | {
        "winner": np.concatenate([outcomes["winner"], outcomes["loser"][t]]),
        "loser": np.concatenate([outcomes["loser"], outcomes["winner"][t]]),
        "rater": np.concatenate([outcomes["rater"], outcomes["rater"][t]]),
        "count": np.concatenate([np.where(t, c / 2, c), c[t] / 2]),
        "side": np.concatenate([outcomes["side"], -outcomes["side"][t]]),
        "tie": None,
    }
    expected = general(split, tie_logit=-np.inf)
    assert value == pytest.approx(expected[0], rel=1e-12)
    np.testing.assert_allclose(grad_s, expected[1], rtol=1e-10, atol=1e-12)


def test_a_tie_is_the_same_outcome_whichever_condition_is_listed_first(outcomes) -> None:
    flipped = outcomes | {
        "winner": np.where(outcomes["tie"], outcomes["loser"], outcomes["winner"]),
        "loser": np.where(outcomes["tie"], outcomes["winner"], outcomes["loser"]),
        "side": np.where(outcomes["tie"], -outcomes["side"], outcomes["side"]).astype(np.int8),
    }
    assert general(flipped)[0] == pytest.approx(general(outcomes)[0], rel=1e-12)
    pair_first, pair_second, pair_tie, *_ = outcome_rows(
        outcomes["winner"], outcomes["loser"], outcomes["rater"], outcomes["count"], 9, tie=outcomes["tie"]
    )
    assert (pair_first[pair_tie == 1] < pair_second[pair_tie == 1]).all()
