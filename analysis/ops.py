"""PyTensor Ops for the Elo model: the fused rater-class likelihood (kernel in :mod:`analysis.likelihood`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, cast

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType, disconnected_type
from pytensor.graph.basic import Apply, Variable
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key
from pytensor.tensor.variable import TensorVariable

from analysis.likelihood import OUTCOME_ROWS, choice_loglik

PARAMS = ("strength", "lapse_logit", "spam_logit", "tie_logit", "side_bias")
INDEX, WEIGHTS = OUTCOME_ROWS[:6], OUTCOME_ROWS[6:]
INPUTS = PARAMS + INDEX + WEIGHTS
N_OUTPUTS = 7


class RaterClassLikelihood(Op):
    """Outputs (log-likelihood, ∂/∂strength, ∂/∂logit λ₀, ∂/∂logit w, ∂/∂tie_logit, ∂/∂side_bias,
    P(spammer) per rater) of :func:`analysis.likelihood.choice_loglik`.

    The gradient of the first output is built from the next five, which the same call already
    computed; second derivatives are not provided (NUTS does not need them).
    """

    __props__ = ()

    def make_node(self, *inputs: Any) -> Apply:
        """Inputs (see ``INPUTS``): strength, lapse_logit, spam_logit, tie_logit, side_bias (float),
        then the integer vectors pair_first, pair_second, pair_tie, pair_side, row_pair, row_rater,
        then row_count, random_loglik and rater_ties (float)."""
        if len(inputs) != len(INPUTS):
            raise TypeError(f"RaterClassLikelihood takes {len(INPUTS)} inputs ({', '.join(INPUTS)}), got {len(inputs)}")
        n_params, n_index = len(PARAMS), len(INDEX)
        params = [pt.as_tensor_variable(x, dtype="float64") for x in inputs[:n_params]]
        index = [pt.as_tensor_variable(x) for x in inputs[n_params : n_params + n_index]]
        for name, x in zip(INDEX, index, strict=True):
            if not x.dtype.startswith(("int", "uint")):
                raise TypeError(f"{name} must be an integer vector, got {x.dtype}")
        weights = [pt.as_tensor_variable(x, dtype="float64") for x in inputs[n_params + n_index :]]
        outputs = [pt.dscalar(), pt.dvector(), pt.dscalar(), pt.dscalar(), pt.dscalar(), pt.dscalar(), pt.dvector()]
        return Apply(self, [*params, *index, *weights], outputs)

    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list[list[Any]]) -> None:
        strength, *scalars = inputs[: len(PARAMS)]
        results = choice_loglik(strength, *(float(x) for x in scalars), *inputs[len(PARAMS) :])
        for storage, value in zip(output_storage, results, strict=True):
            storage[0] = np.asarray(value)

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[True] * N_OUTPUTS] * len(PARAMS) + [[False] * N_OUTPUTS] * (len(INDEX) + len(WEIGHTS))

    def L_op(
        self, inputs: Sequence[Variable], outputs: Sequence[Variable], output_grads: Sequence[Variable]
    ) -> list[Variable]:
        if not all(isinstance(g.type, DisconnectedType) for g in output_grads[1:]):
            raise NotImplementedError("RaterClassLikelihood provides first derivatives of the log-likelihood only")
        g = pt.as_tensor_variable(output_grads[0])
        grads = [g * pt.as_tensor_variable(outputs[k]) for k in range(1, len(PARAMS) + 1)]
        return grads + [disconnected_type() for _ in range(len(INDEX) + len(WEIGHTS))]


_RATER_CLASS_LIKELIHOOD = RaterClassLikelihood()


def choice_likelihood(*inputs: Any) -> list[TensorVariable]:
    """The seven outputs of :class:`RaterClassLikelihood` applied to ``inputs`` (see ``INPUTS``)."""
    # Op.__call__ is annotated as returning a variable or a list; return_list=True makes it the
    # list, and make_node builds tensor outputs only.
    return cast("list[TensorVariable]", _RATER_CLASS_LIKELIHOOD(*inputs, return_list=True))


def rater_class_likelihood(
    strength: Any,
    lapse_logit: Any,
    spam_logit: Any,
    pair_winner: Any,
    pair_loser: Any,
    row_pair: Any,
    row_rater: Any,
    row_count: Any,
    random_loglik: Any,
) -> list[TensorVariable]:
    """Without ties or side bias: (log-likelihood, ∂/∂strength, ∂/∂logit λ₀, ∂/∂logit w, P(spammer))."""
    none = pt.zeros_like(pt.as_tensor_variable(pair_winner), dtype="int8")
    outputs = choice_likelihood(
        strength,
        lapse_logit,
        spam_logit,
        -math.inf,
        0.0,
        pair_winner,
        pair_loser,
        none,
        none,
        row_pair,
        row_rater,
        row_count,
        random_loglik,
        pt.zeros_like(pt.as_tensor_variable(random_loglik, dtype="float64")),
    )
    return [outputs[k] for k in (0, 1, 2, 3, 6)]


@register_funcify_default_op_cache_key(RaterClassLikelihood)
def _numba_funcify_rater_class_likelihood(
    op: RaterClassLikelihood, node: Apply | None = None, **kwargs: Any
) -> Callable[..., tuple[np.ndarray, ...]]:
    @numba.njit(nogil=True)
    def fused(
        strength: np.ndarray,
        lapse_logit: np.ndarray,
        spam_logit: np.ndarray,
        tie_logit: np.ndarray,
        side_bias: np.ndarray,
        *data: np.ndarray,
    ) -> tuple[np.ndarray, ...]:
        logp, grad_strength, grad_lapse, grad_spam, grad_tie, grad_side, p_spam = choice_loglik(
            strength, lapse_logit.item(), spam_logit.item(), tie_logit.item(), side_bias.item(), *data
        )
        return (
            np.asarray(logp),
            grad_strength,
            np.asarray(grad_lapse),
            np.asarray(grad_spam),
            np.asarray(grad_tie),
            np.asarray(grad_side),
            p_spam,
        )

    return fused
