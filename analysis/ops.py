"""PyTensor Ops for the Elo model: the fused rater-class likelihood (kernel in :mod:`analysis.likelihood`)."""

from __future__ import annotations

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType, disconnected_type
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

from analysis.likelihood import rater_class_loglik


class RaterClassLikelihood(Op):
    """Outputs (log-likelihood, ∂/∂strength, ∂/∂logit λ₀, ∂/∂logit w, P(spammer) per rater).

    The gradient of the first output is built from the next three, which the same call already
    computed; second derivatives are not provided (NUTS does not need them).
    """

    __props__ = ()

    def make_node(
        self, strength, lapse_logit, spam_logit, pair_winner, pair_loser, row_pair, row_rater, row_count, random_loglik
    ) -> Apply:
        params = [pt.as_tensor_variable(x, dtype="float64") for x in (strength, lapse_logit, spam_logit)]
        index = [pt.as_tensor_variable(x) for x in (pair_winner, pair_loser, row_pair, row_rater)]
        for name, x in zip(("pair_winner", "pair_loser", "row_pair", "row_rater"), index, strict=True):
            if not x.dtype.startswith(("int", "uint")):
                raise TypeError(f"{name} must be an integer index vector, got {x.dtype}")
        weights = [pt.as_tensor_variable(x, dtype="float64") for x in (row_count, random_loglik)]
        outputs = [pt.dscalar(), pt.dvector(), pt.dscalar(), pt.dscalar(), pt.dvector()]
        return Apply(self, [*params, *index, *weights], outputs)

    def perform(self, node, inputs, outputs) -> None:
        strength, lapse_logit, spam_logit, *data = inputs
        results = rater_class_loglik(strength, float(lapse_logit), float(spam_logit), *data)
        for storage, value in zip(outputs, results, strict=True):
            storage[0] = np.asarray(value)

    def connection_pattern(self, node) -> list[list[bool]]:
        return [[True] * 5] * 3 + [[False] * 5] * 6

    def L_op(self, inputs, outputs, output_grads):
        if not all(isinstance(g.type, DisconnectedType) for g in output_grads[1:]):
            raise NotImplementedError("RaterClassLikelihood provides first derivatives of the log-likelihood only")
        g = output_grads[0]
        return [g * outputs[1], g * outputs[2], g * outputs[3]] + [disconnected_type() for _ in range(6)]


rater_class_likelihood = RaterClassLikelihood()


@register_funcify_default_op_cache_key(RaterClassLikelihood)
def _numba_funcify_rater_class_likelihood(op, node=None, **kwargs):
    @numba.njit(nogil=True)
    def fused(strength, lapse_logit, spam_logit, *data):
        logp, grad_strength, grad_lapse, grad_spam, p_spam = rater_class_loglik(
            strength, lapse_logit.item(), spam_logit.item(), *data
        )
        return np.asarray(logp), grad_strength, np.asarray(grad_lapse), np.asarray(grad_spam), p_spam

    return fused
