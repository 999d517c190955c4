"""Sensitivity: how much the output moves when the input moves (Novak et al. 2018).

For one example x the sensitivity is the Frobenius norm of the input-output
Jacobian, ||J(x)||_F, with J[c, d] = d output_c / d x_d.  Novak et al. find
that it correlates with the generalization gap: networks whose outputs are
less sensitive to their inputs near the data generalize better.

The output is the softmax probability vector by default (``output='softmax'``),
or the logits.  The softmax Jacobian follows from the logits' one exactly: with
p = softmax(z),

    d p_c / d z_k = p_c (delta_ck - p_k)   =>   J_p = (diag(p) - p p^T) J_z,

whose row c is p_c (J_z[c] - sum_k p_k J_z[k]).
"""
from __future__ import annotations

import numpy as np

from minidl.layers.base import in_evaluation_mode

from minidl.analysis.jacobian import input_jacobian
from minidl.losses import softmax

__all__ = ["OUTPUTS", "output_jacobian", "sensitivity"]

OUTPUTS = ("softmax", "logits")


@in_evaluation_mode
def output_jacobian(model, x: np.ndarray, output: str = "softmax") -> np.ndarray:
    """J[n, c, d] = d output_c / d x_d for each row of x (N, D); returns (N, C, D).

    ``model`` maps inputs to logits (every minidl classifier does); ``output``
    is ``'softmax'`` (the probabilities) or ``'logits'``.
    """
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}; got {output!r}")
    J = input_jacobian(model, x)                                # (N, C, D): d logits / dx
    if output == "logits":
        return J
    p = softmax(model.forward(x))[:, :, None]                   # (N, C, 1)
    return p * (J - (p * J).sum(axis=1, keepdims=True))         # row c: p_c (J_c - sum_k p_k J_k)


def sensitivity(model, X: np.ndarray, output: str = "softmax", batch_size: int = 250) -> np.ndarray:
    """Per-example ||J(x)||_F for every row of X (N, D).  Returns (N,) float64.

    The Jacobians are computed ``batch_size`` rows at a time, so memory stays
    at batch_size * C * D values whatever N is.  Average the result for the
    mean sensitivity over a test set.
    """
    X = np.asarray(X)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"sensitivity expects a non-empty (N, D) input; got shape {X.shape}")
    norms = np.empty(len(X))
    for start in range(0, len(X), batch_size):
        J = output_jacobian(model, X[start:start + batch_size], output).astype(np.float64, copy=False)
        norms[start:start + len(J)] = np.sqrt(np.einsum("ncd,ncd->n", J, J))
    return norms
