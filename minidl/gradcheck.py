"""Finite-difference gradient checks: the test that backward passes are right.

The analytic gradient of every layer is compared with the central difference

    df/dx_i  ~  (f(x + h e_i) - f(x - h e_i)) / (2h)

whose error is O(h^2) plus rounding of order eps * |f| / h.  With float64 and
h = 1e-6 both are far below 1e-6 relative, so run checks in float64 (build the
layer with ``dtype=np.float64`` or call ``layer.astype(np.float64)``).

The reported *relative error* of two arrays a (analytic) and n (numerical) is

    max_i |a_i - n_i| / max(max_i |a_i|, max_i |n_i|, 1e-12)

i.e. the worst entry-wise error measured against the scale of the gradient,
which stays meaningful when some entries are (near) zero.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["numerical_gradient", "relative_error", "check_layer", "check_model_loss"]


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f`` at ``x``.

    ``x`` is perturbed *in place*, one entry at a time, and restored, so ``f``
    may ignore its argument and read ``x`` through a closure (that is how the
    parameters of a layer are checked).  Returns an array shaped like ``x``.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient needs a contiguous array it can perturb in place")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = f(x)
        flat[i] = old - h
        f_minus = f(x)
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """Worst entry-wise error relative to the gradient's scale (see module docstring)."""
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"shapes differ: analytic {a.shape} vs numerical {n.shape}")
    if a.size == 0:
        return 0.0
    scale = max(np.abs(a).max(), np.abs(n).max(), 1e-12)
    return float(np.abs(a - n).max() / scale)


def _require_float64(x: np.ndarray, params, who: str) -> None:
    dtypes = {np.asarray(x).dtype} | {p.dtype for p in params}
    if dtypes != {np.dtype(np.float64)}:
        raise ValueError(f"{who} needs float64 inputs and parameters to be meaningful; got {sorted(map(str, dtypes))}. "
                         "Build the model with dtype=np.float64 or call .astype(np.float64).")


def check_layer(layer, x: np.ndarray, rng: np.random.Generator, h: float = 1e-6) -> float:
    """Check ``layer.backward`` against finite differences at input ``x``.

    Draws a random upstream gradient ``dout`` and checks dL/dx and every
    parameter gradient of the scalar ``L = sum(layer.forward(x) * dout)``.
    Returns the worst relative error over all of them.
    """
    x = np.array(x, dtype=np.float64)
    _require_float64(x, layer.parameters(), "check_layer")
    dout = rng.standard_normal(layer.forward(x).shape)
    layer.forward(x)
    dx = layer.backward(dout.copy())
    analytic = [(x, dx)] + [(p.data, p.grad.copy()) for p in layer.parameters()]

    def f(_):
        return float(np.sum(layer.forward(x) * dout))

    return max(relative_error(grad, numerical_gradient(f, array, h)) for array, grad in analytic)


def check_model_loss(model, loss, x: np.ndarray, y: np.ndarray, h: float = 1e-6) -> float:
    """Check ``loss(model(x), y)`` end to end: dL/dx and every parameter gradient.

    Returns the worst relative error.
    """
    x = np.array(x, dtype=np.float64)
    _require_float64(x, model.parameters(), "check_model_loss")
    loss.forward(model.forward(x), y)
    dx = model.backward(loss.backward())
    analytic = [(x, dx)] + [(p.data, p.grad.copy()) for p in model.parameters()]

    def f(_):
        return loss.forward(model.forward(x), y)

    return max(relative_error(grad, numerical_gradient(f, array, h)) for array, grad in analytic)
