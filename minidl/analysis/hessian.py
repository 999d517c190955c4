"""Second derivatives of a loss with respect to all parameters, exactly.

The Hessian H = d^2 L / d theta^2 is never formed by differentiating twice
symbolically.  Everything is built from Hessian-vector products H v, and there
are two ways to get one from minidl's analytic backward passes:

``method="exact"`` -- Pearlmutter's R-operator (1994).  Write R{f} for the
derivative of any intermediate quantity f along the direction v,
R{f} = d/dt f(theta + t v) at t = 0.  Applying R to every line of the forward
and backward pass gives a second pass that carries (value, R{value}) pairs;
at the end R{dL/dtheta} = H v, exact up to rounding.  For ``a = x W + b``,
``h = sigma(a)``:

    forward                       R-forward
    a = x W + b                   R{a} = R{x} W + x V_W + V_b
    h = sigma(a)                  R{h} = sigma'(a) R{a}

    backward (delta = dL/d.)      R-backward
    dW = x^T delta_a              R{dW} = R{x}^T delta_a + x^T R{delta_a}      <- (H v) for W
    db = sum_n delta_a            R{db} = sum_n R{delta_a}                     <- (H v) for b
    delta_x = delta_a W^T         R{delta_x} = R{delta_a} W^T + delta_a V_W^T
    delta_a = delta_h sigma'(a)   R{delta_a} = R{delta_h} sigma'(a) + delta_h sigma''(a) R{a}

It costs about two forward/backward passes and supports ``Sequential``
models of ``Linear``, ``ReLU``, ``LeakyReLU``, ``Sigmoid`` and ``Tanh`` under
``MSELoss`` or ``SoftmaxCrossEntropy``.  For ReLU, sigma'' = 0 away from the
kink, where the loss is not twice differentiable anyway.

``method="fd"`` -- a central difference of the analytic gradient along v,

    H v  ~  (g(theta + h v) - g(theta - h v)) / (2h),

error O(h^2) plus rounding eps * |g| / h; it works for any model whose
gradient is right, and needs float64.  It is the second, independent method
the tests compare the R-operator against.
"""
from __future__ import annotations

import numpy as np

from minidl.layers.base import in_evaluation_mode

from minidl.analysis.params import flatten_params, loss_and_grad, split_like_params, unflatten_params
from minidl.layers import LeakyReLU, Linear, ReLU, Sigmoid, Tanh
from minidl.losses import MSELoss, SoftmaxCrossEntropy, softmax

__all__ = ["hessian_vector_product", "hessian", "minimal_ratio", "default_tolerance"]

METHODS = ("exact", "fd")


def _layers(model) -> list:
    return list(model.layers) if hasattr(model, "layers") else [model]


def _activation_derivatives(layer, a: np.ndarray, h: np.ndarray):
    """sigma'(a) and sigma''(a) of an element-wise activation (None for sigma'' == 0)."""
    if isinstance(layer, ReLU):
        return (a > 0).astype(a.dtype), None
    if isinstance(layer, LeakyReLU):
        return np.where(a > 0, 1.0, layer.negative_slope).astype(a.dtype), None
    if isinstance(layer, Sigmoid):
        d1 = h * (1 - h)                       # sigma' = h (1 - h)
        return d1, d1 * (1 - 2 * h)            # sigma'' = sigma' (1 - 2h)
    if isinstance(layer, Tanh):
        d1 = 1 - h * h                         # tanh' = 1 - h^2
        return d1, -2 * h * d1                 # tanh'' = -2 h (1 - h^2)
    raise TypeError(f"the exact Hessian-vector product does not know layer {layer!r}; "
                    f"use method='fd' (central differences of the analytic gradient)")


def _loss_r(loss, z: np.ndarray, r_z: np.ndarray) -> np.ndarray:
    """R{dL/dz}: the change of the loss gradient along R{z}, for the loss just evaluated at z."""
    if isinstance(loss, MSELoss):
        return r_z * (2.0 / z.size)            # dL/dz = 2 (z - t) / size  is linear in z
    if isinstance(loss, SoftmaxCrossEntropy):
        p = softmax(z)                          # dL/dz = (p - onehot) / N;  dp = p * (dz - <p, dz>)
        return p * (r_z - (p * r_z).sum(axis=-1, keepdims=True)) / z.shape[0]
    raise TypeError(f"the exact Hessian-vector product does not know loss {loss!r}; use method='fd'")


def _hvp_exact(model, loss, X, y, V: np.ndarray) -> np.ndarray:
    """H V for K directions at once: V (K, P) -> (K, P).

    Every R{.} quantity carries a leading axis of length K (one slice per
    direction), so the Hessian's columns come in batches rather than one by one.
    """
    layers = _layers(model)
    pieces = iter(split_like_params(model, V))          # each (K, *param.shape)
    # forward and R-forward, keeping what the backward passes need
    x, r_x, tape = X, None, []                 # R{X} = 0: the data do not depend on theta
    for layer in layers:
        if isinstance(layer, Linear):
            v_w = next(pieces)
            v_b = next(pieces) if layer.b is not None else None
            out = layer.forward(x)
            r_out = x @ v_w                                      # R{a} = R{x} W + x V_W + V_b
            if r_x is not None:
                r_out += r_x @ layer.W.data
            if v_b is not None:
                r_out += v_b[:, None, :]
            tape.append((layer, x, r_x, v_w))
        else:
            if r_x is None:
                raise TypeError(f"the exact Hessian-vector product expects a Linear layer first; got {layer!r}")
            out = layer.forward(x)
            d1, d2 = _activation_derivatives(layer, x, out)
            r_out = d1 * r_x                                     # R{h} = sigma'(a) R{a}
            tape.append((layer, d1, d2, r_x))
        x, r_x = out, r_out
    loss.forward(x, y)
    delta, r_delta = loss.backward(), _loss_r(loss, x, r_x)
    # backward and R-backward; the R{gradient} of each parameter is its block of H v
    blocks = []
    for entry in reversed(tape):
        if isinstance(entry[0], Linear):
            layer, x_in, r_in, v_w = entry
            if layer.b is not None:
                blocks.append(r_delta.sum(axis=-2))                      # R{db}
            r_dw = x_in.T @ r_delta                                      # R{dW}
            if r_in is not None:
                r_dw += r_in.swapaxes(-1, -2) @ delta
            blocks.append(r_dw)
            if r_in is not None:                                         # the first layer needs no R{delta_x}
                r_delta = r_delta @ layer.W.data.T + delta @ v_w.swapaxes(-1, -2)   # R{delta_x}
                delta = delta @ layer.W.data.T
        else:
            _, d1, d2, r_a = entry
            r_new = r_delta * d1                                         # R{delta_a}
            if d2 is not None:
                r_new += delta * d2 * r_a
            delta, r_delta = delta * d1, r_new
    k = V.shape[0]
    return np.concatenate([b.reshape(k, -1) for b in reversed(blocks)], axis=1)


def _hvp_fd(model, loss, X, y, v: np.ndarray, eps: float | None) -> np.ndarray:
    theta = flatten_params(model)
    if eps is None:
        eps = np.finfo(theta.dtype).eps ** (1 / 3)     # balances O(h^2) truncation and eps/h rounding
    step = eps * max(1.0, float(np.linalg.norm(theta))) / max(float(np.linalg.norm(v)), 1e-300)
    try:
        unflatten_params(model, theta + step * v)
        _, g_plus = loss_and_grad(model, loss, X, y)
        unflatten_params(model, theta - step * v)
        _, g_minus = loss_and_grad(model, loss, X, y)
    finally:
        unflatten_params(model, theta)
    return (g_plus - g_minus) / (2 * step)


@in_evaluation_mode
def hessian_vector_product(model, loss, X: np.ndarray, y: np.ndarray, v, method: str = "exact",
                           eps: float | None = None) -> np.ndarray:
    """H v, the Hessian of the full-batch loss over (X, y) times a direction v.

    Inputs:
    - model: a ``Sequential``/``MLP`` (or a single layer); its parameters are not changed.
    - loss: ``MSELoss`` or ``SoftmaxCrossEntropy`` (any loss with ``method='fd'``).
    - X (N, D_in); y as the loss takes it.
    - v: (P,) direction in parameter order (``flatten_params``).
    - method: 'exact' (R-operator) or 'fd' (central difference of analytic gradients).
    - eps: relative step for 'fd' (default cbrt(machine eps), ~6e-6 in float64).

    Returns: (P,) array in the parameters' dtype.  Parameter ``.grad`` values are overwritten.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    theta_dtype = model.parameters()[0].dtype
    v = np.asarray(v)
    if v.shape != (model.num_parameters(),):
        raise ValueError(f"direction v must have shape ({model.num_parameters()},); got {v.shape}")
    v = v.astype(theta_dtype, copy=False)
    if method == "fd":
        return _hvp_fd(model, loss, X, y, v, eps)
    return _hvp_exact(model, loss, X, y, v[None, :])[0]


@in_evaluation_mode
def hessian(model, loss, X: np.ndarray, y: np.ndarray, method: str = "exact",
            symmetrize: bool = True, max_elements: int = 2 ** 22) -> np.ndarray:
    """The full (P, P) Hessian of the loss over (X, y): its columns are H e_j.

    Meant for up to a few thousand parameters (P^2 memory).  ``method='exact'``
    pushes a batch of K unit vectors through the R-operator at once, K chosen
    so that each R-activation array (K, N, width) stays under ``max_elements``;
    ``method='fd'`` takes two gradients per column.  The exact Hessian is
    symmetric up to rounding already; ``symmetrize`` averages H with its
    transpose so that ``np.linalg.eigvalsh`` sees an exactly symmetric matrix.
    Returns float64.  Parameter ``.grad`` values are overwritten.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    n = model.num_parameters()
    dtype = model.parameters()[0].dtype
    H = np.empty((n, n))
    if method == "fd":
        e = np.zeros(n, dtype=dtype)
        for j in range(n):
            e[j] = 1
            H[:, j] = _hvp_fd(model, loss, X, y, e, None)
            e[j] = 0
    else:
        width = max(max(getattr(layer, "in_features", 1), getattr(layer, "out_features", 1))
                    for layer in _layers(model))
        batch = int(max(1, min(n, max_elements // max(1, len(X) * width))))
        for j in range(0, n, batch):
            cols = np.arange(j, min(n, j + batch))
            E = np.zeros((cols.size, n), dtype=dtype)
            E[np.arange(cols.size), cols] = 1
            H[:, cols] = _hvp_exact(model, loss, X, y, E).T     # row k of the result is H e_k
    return 0.5 * (H + H.T) if symmetrize else H


def default_tolerance(eigenvalues: np.ndarray) -> float:
    """P * machine eps * max|lambda|: NumPy's ``matrix_rank`` rule for "zero within rounding"."""
    eigenvalues = np.asarray(eigenvalues)
    return float(eigenvalues.size * np.finfo(np.float64).eps * np.abs(eigenvalues).max(initial=0.0))


def minimal_ratio(H, tol: float | None = None) -> float:
    """The fraction of the Hessian's eigenvalues that are positive (> tol).

    The course (NTU MLDS 2018, HW1-2.3) calls this the *minimal ratio*: 1 at a
    strict local minimum, lower at a saddle point.

    Inputs:
    - H: a symmetric (P, P) matrix, or its (P,) eigenvalues.
    - tol: eigenvalues <= tol do not count as positive.  The default,
      ``default_tolerance`` = P * eps * max|lambda|, is the size of the rounding
      error of a computed eigenvalue.  It matters: exactly flat directions
      (a dead ReLU unit, a weight that never sees input) have eigenvalue 0 in
      exact arithmetic but come out as +-1e-17 or so, and with tol = 0 about
      half of them would count as "positive" by the sign of their rounding error.
      With this tol they count as not positive: flat is not curved upwards.
      Pass tol=0 for the literal "lambda > 0".
    """
    H = np.asarray(H, dtype=np.float64)
    if H.ndim == 2:
        if H.shape[0] != H.shape[1]:
            raise ValueError(f"H must be a square matrix; got shape {H.shape}")
        eigenvalues = np.linalg.eigvalsh(H)
    elif H.ndim == 1:
        eigenvalues = H
    else:
        raise ValueError(f"expected a (P, P) matrix or (P,) eigenvalues; got shape {H.shape}")
    if eigenvalues.size == 0:
        raise ValueError("minimal_ratio of an empty spectrum")
    if tol is None:
        tol = default_tolerance(eigenvalues)
    return float(np.count_nonzero(eigenvalues > tol)) / eigenvalues.size
