"""The Jacobian of a network's outputs with respect to its inputs, exactly."""
from __future__ import annotations

import numpy as np

from minidl.layers.base import in_evaluation_mode

__all__ = ["input_jacobian"]


@in_evaluation_mode
def input_jacobian(model, x: np.ndarray) -> np.ndarray:
    """J[n, c, d] = d output_c / d input_d at example n, by backward passes.

    ``model.backward(dout)`` returns dout @ (d outputs / d inputs) for every row
    at once.  With the upstream gradient set to the one-hot e_c in every row,
    row n of the result is the c-th row of example n's Jacobian.  So C backward
    passes (one per output, after a single forward) give all N Jacobians, and
    there is no loop over examples.

    This relies on the model treating rows independently (true of every minidl
    layer: nothing mixes examples in a batch).

    Inputs:  x (N, D) float array.
    Returns: (N, C, D) array.  The parameters' ``.grad`` values are left as they were.
    """
    # copies: each backward pass below writes into the gradient buffers in place (minidl/arena.py)
    saved = [None if p.grad is None else p.grad.copy() for p in model.parameters()]
    try:
        out = model.forward(x)
        if out.ndim != 2:
            raise ValueError(f"input_jacobian expects outputs of shape (N, C); got {out.shape}")
        n, c = out.shape
        J = np.empty((n, c, np.shape(x)[1]), dtype=out.dtype)
        onehot = np.zeros_like(out)
        for k in range(c):
            onehot[:, k] = 1
            J[:, k, :] = model.backward(onehot)          # dx = e_k^T (d out / d x), row by row
            onehot[:, k] = 0
    finally:
        for p, g in zip(model.parameters(), saved):
            p.grad = g
    return J
