"""The fused likelihood Op equals the same model written in plain PyTensor, in both backends."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from analysis.likelihood import outcome_rows, pair_rows, random_loglik
from analysis.ops import choice_likelihood, rater_class_likelihood


@pytest.fixture(scope="module")
def graphs():
    rng = np.random.default_rng(1)
    n_rows, n_flat, n_raters = 500, 24, 11
    winner = rng.integers(0, n_flat, n_rows)
    loser = (winner + rng.integers(1, n_flat, n_rows)) % n_flat
    rater = rng.integers(0, n_raters, n_rows)
    count = rng.integers(1, 3, n_rows).astype(float)
    rand = random_loglik(rater, count, n_raters)
    s, lapse, spam = pt.dvector("s"), pt.dscalar("lapse"), pt.dscalar("spam")
    fused = rater_class_likelihood(s, lapse, spam, *pair_rows(winner, loser), rater, count, rand)
    lam = pt.sigmoid(lapse)
    attentive = pt.zeros(n_raters)[rater].inc(count * pt.log(lam / 2 + (1 - lam) * pt.sigmoid(s[winner] - s[loser])))
    a = pt.log(pt.sigmoid(-spam)) + attentive
    b = pt.log(pt.sigmoid(spam)) + rand
    total = pt.logaddexp(a, b)
    plain = (total.sum(), pt.exp(b - total))
    point = (rng.normal(0, 1, n_flat), -2.0, -1.0)
    return (s, lapse, spam), (fused[0], fused[4]), plain, point


@pytest.mark.parametrize("mode", ["FAST_RUN", "NUMBA"])
def test_value_gradient_and_spammer_probabilities_match_plain_pytensor(graphs, mode) -> None:
    inputs, (fused, fused_p), (plain, plain_p), point = graphs
    got = pytensor.function(list(inputs), [fused, fused_p, *pt.grad(fused, list(inputs))], mode=mode)(*point)
    want = pytensor.function(list(inputs), [plain, plain_p, *pt.grad(plain, list(inputs))], mode=mode)(*point)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_second_derivatives_are_refused_not_wrong(graphs) -> None:
    (s, lapse, spam), (fused, _), _, _ = graphs
    gradient = pt.grad(fused, s)
    with pytest.raises(NotImplementedError, match="first derivatives"):
        pt.grad(gradient.sum(), s)


@pytest.fixture(scope="module")
def tie_graphs():
    """The same model with Davidson ties and a side bias, fused and in plain PyTensor."""
    rng = np.random.default_rng(6)
    n_rows, n_flat, n_raters = 400, 12, 7
    winner = rng.integers(0, n_flat, n_rows)
    loser = (winner + rng.integers(1, n_flat, n_rows)) % n_flat
    rater = rng.integers(0, n_raters, n_rows)
    count = rng.integers(1, 3, n_rows).astype(float)
    tie = rng.random(n_rows) < 0.25
    side = rng.integers(-1, 2, n_rows).astype(np.int8)
    s, lapse, spam, tie_logit, beta = (pt.dvector("s"), *(pt.dscalar(n) for n in ("lapse", "spam", "tie", "beta")))
    data = outcome_rows(winner, loser, rater, count, n_raters, tie=tie, side=side)
    fused = choice_likelihood(s, lapse, spam, tie_logit, beta, *data)
    lam, nu = pt.sigmoid(lapse), 2 * pt.exp(tie_logit)
    g = s[winner] - s[loser] + side * beta
    denominator = pt.exp(g / 2) + pt.exp(-g / 2) + nu
    p = pt.switch(tie, nu / denominator, pt.exp(g / 2) / denominator)
    r = pt.switch(tie, nu / (2 + nu), 1 / (2 + nu))
    attentive = pt.zeros(n_raters)[rater].inc(count * pt.log(lam * r + (1 - lam) * p))
    random = pt.zeros(n_raters)[rater].inc(count * pt.log(r))
    a = pt.log(pt.sigmoid(-spam)) + attentive
    b = pt.log(pt.sigmoid(spam)) + random
    total = pt.logaddexp(a, b)
    point = (rng.normal(0, 1, n_flat), -2.0, -1.0, -0.5, 0.2)
    return (s, lapse, spam, tie_logit, beta), (fused[0], fused[6]), (total.sum(), pt.exp(b - total)), point


@pytest.mark.parametrize("mode", ["FAST_RUN", "NUMBA"])
def test_with_ties_and_side_bias_value_gradient_and_spammer_probabilities_match_plain_pytensor(
    tie_graphs, mode
) -> None:
    inputs, (fused, fused_p), (plain, plain_p), point = tie_graphs
    got = pytensor.function(list(inputs), [fused, fused_p, *pt.grad(fused, list(inputs))], mode=mode)(*point)
    want = pytensor.function(list(inputs), [plain, plain_p, *pt.grad(plain, list(inputs))], mode=mode)(*point)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-11)
