"""PyTensor Ops for the Elo model: the fused rater-class likelihood (kernel in :mod:`analysis.likelihood`)."""

from __future__ import annotations

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

from analysis.likelihood import rater_class_loglik

INPUTS = (
    "strength",
    "lapse_logit",
    "spam_logit",
    "pair_winner",
    "pair_loser",
    "row_pair",
    "row_rater",
    "row_count",
    "random_loglik",
)


class RaterClassLikelihood(Op):
    """Outputs (log-likelihood, ∂/∂strength, ∂/∂logit λ₀, ∂/∂logit w, P(spammer) per rater).

    The gradient of the first output is built from the next three, which the same call already
    computed; second derivatives are not provided (NUTS does not need them).
    """

    __props__ = ()

    def make_node(self, *inputs: Any) -> Apply:
        """Inputs: strength, lapse_logit, spam_logit (float), then the index vectors pair_winner,
        pair_loser, row_pair, row_rater (int), then row_count and random_loglik (float)."""
        if len(inputs) != len(INPUTS):
            raise TypeError(f"RaterClassLikelihood takes {len(INPUTS)} inputs ({', '.join(INPUTS)}), got {len(inputs)}")
        params = [pt.as_tensor_variable(x, dtype="float64") for x in inputs[:3]]
        index = [pt.as_tensor_variable(x) for x in inputs[3:7]]
        for name, x in zip(INPUTS[3:7], index, strict=True):
            if not x.dtype.startswith(("int", "uint")):
                raise TypeError(f"{name} must be an integer index vector, got {x.dtype}")
        weights = [pt.as_tensor_variable(x, dtype="float64") for x in inputs[7:]]
        outputs = [pt.dscalar(), pt.dvector(), pt.dscalar(), pt.dscalar(), pt.dvector()]
        return Apply(self, [*params, *index, *weights], outputs)

    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list[list[Any]]) -> None:
        strength, lapse_logit, spam_logit, *data = inputs
        results = rater_class_loglik(strength, float(lapse_logit), float(spam_logit), *data)
        for storage, value in zip(output_storage, results, strict=True):
            storage[0] = np.asarray(value)

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[True] * 5] * 3 + [[False] * 5] * 6

    def L_op(
        self, inputs: Sequence[Variable], outputs: Sequence[Variable], output_grads: Sequence[Variable]
    ) -> list[Variable]:
        if not all(isinstance(g.type, DisconnectedType) for g in output_grads[1:]):
            raise NotImplementedError("RaterClassLikelihood provides first derivatives of the log-likelihood only")
        g = pt.as_tensor_variable(output_grads[0])
        grads = [g * pt.as_tensor_variable(outputs[k]) for k in (1, 2, 3)]
        return grads + [disconnected_type() for _ in range(6)]


_RATER_CLASS_LIKELIHOOD = RaterClassLikelihood()


def rater_class_likelihood(*inputs: Any) -> list[TensorVariable]:
    """The five outputs of :class:`RaterClassLikelihood` applied to ``inputs`` (see ``INPUTS``)."""
    # Op.__call__ is annotated as returning a variable or a list; return_list=True makes it the
    # list, and make_node builds tensor outputs only.
    return cast("list[TensorVariable]", _RATER_CLASS_LIKELIHOOD(*inputs, return_list=True))


@register_funcify_default_op_cache_key(RaterClassLikelihood)
def _numba_funcify_rater_class_likelihood(
    op: RaterClassLikelihood, node: Apply | None = None, **kwargs: Any
) -> Callable[..., tuple[np.ndarray, ...]]:
    @numba.njit(nogil=True)
    def fused(
        strength: np.ndarray, lapse_logit: np.ndarray, spam_logit: np.ndarray, *data: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        logp, grad_strength, grad_lapse, grad_spam, p_spam = rater_class_loglik(
            strength, lapse_logit.item(), spam_logit.item(), *data
        )
        return np.asarray(logp), grad_strength, np.asarray(grad_lapse), np.asarray(grad_spam), p_spam

    return fused
