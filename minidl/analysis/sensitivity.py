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

Where the Jacobian is taken matters.  ``sensitivity(model, X_test)`` takes it
at real test images (Novak et al. average it over the test set).  The NTU
MLDS 2018 HW1-3.3 report takes it at "a random input x (i.e. 784-dimension
vector)": ``random_inputs`` draws such points, seeded, in the model's input
space, and ``sensitivity`` measures the network there the same way.

The norm is the Frobenius norm by default, sqrt(sum_cd J[c, d]^2), which is the
2-norm of J's entries; ``norm='spectral'`` gives the matrix 2-norm instead, the
largest singular value (||J||_2 <= ||J||_F <= sqrt(rank J) ||J||_2).
"""
from __future__ import annotations

import numpy as np

from minidl.layers.base import in_evaluation_mode

from minidl.analysis.jacobian import input_jacobian
from minidl.losses import softmax

__all__ = ["OUTPUTS", "NORMS", "DISTRIBUTIONS", "output_jacobian", "sensitivity", "random_inputs"]

OUTPUTS = ("softmax", "logits")
NORMS = ("frobenius", "spectral")
DISTRIBUTIONS = ("uniform", "normal")


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


def sensitivity(model, X: np.ndarray, output: str = "softmax", batch_size: int = 250,
                norm: str = "frobenius") -> np.ndarray:
    """Per-example ||J(x)|| for every row of X (N, D).  Returns (N,) float64.

    ``norm`` is ``'frobenius'`` (sqrt of the sum of squared entries, the default)
    or ``'spectral'`` (the largest singular value of the (C, D) matrix).
    The Jacobians are computed ``batch_size`` rows at a time, so memory stays
    at batch_size * C * D values whatever N is.  Average the result for the
    mean sensitivity over a test set.
    """
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}; got {norm!r}")
    X = np.asarray(X)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"sensitivity expects a non-empty (N, D) input; got shape {X.shape}")
    norms = np.empty(len(X))
    for start in range(0, len(X), batch_size):
        J = output_jacobian(model, X[start:start + batch_size], output).astype(np.float64, copy=False)
        if norm == "frobenius":
            norms[start:start + len(J)] = np.sqrt(np.einsum("ncd,ncd->n", J, J))
        else:
            norms[start:start + len(J)] = np.linalg.norm(J, ord=2, axis=(1, 2))   # largest singular value
    return norms


def random_inputs(count: int, dim: int, distribution: str, rng: np.random.Generator | int,
                  dtype=np.float32) -> np.ndarray:
    """``count`` random points of the input space, (count, dim), for the sensitivity "at a random input".

    ``distribution``: ``'uniform'``, each coordinate uniform on [0, 1) (the range of
    minidl's MNIST pixels, intensity / 255), or ``'normal'``, each coordinate N(0, 1).
    ``rng`` is a ``np.random.Generator`` or its seed.  The values are drawn in float64
    and then cast to ``dtype``, so one seed gives the same points in every dtype,
    up to that cast.
    """
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}; got {distribution!r}")
    if not (isinstance(count, (int, np.integer)) and count > 0 and isinstance(dim, (int, np.integer)) and dim > 0):
        raise ValueError(f"random_inputs needs count > 0 and dim > 0; got count={count!r}, dim={dim!r}")
    rng = np.random.default_rng(rng)                   # a Generator passes through unchanged
    draw = rng.random((count, dim)) if distribution == "uniform" else rng.standard_normal((count, dim))
    return draw.astype(dtype, copy=False)
