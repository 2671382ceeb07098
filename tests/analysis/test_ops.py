"""The fused likelihood Op equals the same model written in plain PyTensor, in both backends."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from analysis.likelihood import pair_rows, random_loglik
from analysis.ops import rater_class_likelihood


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
