"""Newton's method for a few parameters, with a finite-difference Hessian.

Newton's step jumps to the minimum of the local quadratic model of f:

    f(p + d) ~ f(p) + g.d + (1/2) d.H.d   is smallest at   d = -H^{-1} g,

so on an exact quadratic it lands on the optimum in one step, whatever the
conditioning; near a smooth minimum it converges quadratically (the number of
correct digits doubles each step).  It needs the Hessian H, which costs one
gradient per parameter here, so it is a tool for two parameters, not two
million.

    grad = lambda p: ...                       # (D,) -> (D,) analytic gradient
    path = newton(grad, p0, steps=20)          # (T+1, D): p_0 .. p_T
"""
from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["finite_difference_hessian", "newton"]


def finite_difference_hessian(grad: Callable, p, h: float = 1e-5) -> np.ndarray:
    """The (D, D) Hessian at ``p`` from central differences of the analytic gradient.

    Column j is (grad(p + h e_j) - grad(p - h e_j)) / 2h, which has error O(h^2);
    the result is symmetrised, (H + H^T) / 2, since a true Hessian is symmetric.
    p: (D,) float array; grad: (D,) -> (D,).
    """
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"p must be a 1-D point; got shape {p.shape}")
    H = np.empty((p.size, p.size))
    for j in range(p.size):
        e = np.zeros_like(p)
        e[j] = h
        H[:, j] = (np.asarray(grad(p + e), dtype=np.float64) - np.asarray(grad(p - e), dtype=np.float64)) / (2 * h)
    return (H + H.T) / 2


def newton(grad: Callable, p0, steps: int = 20, hessian: Callable | None = None, tol: float = 0.0,
           h: float = 1e-5) -> np.ndarray:
    """Newton's method ``p <- p - H(p)^{-1} grad(p)`` from ``p0``.

    Args:
        grad:    (D,) -> (D,) gradient of f.
        p0:      (D,) start.
        steps:   at most this many steps.
        hessian: (D,) -> (D, D); default ``finite_difference_hessian(grad, p, h)``.
        tol:     stop early once a step moves p by at most this much (max-norm).
    Returns:
        (T+1, D) float64 array of the points p_0 .. p_T.
    Raises:
        ValueError if the Hessian is singular or not positive definite (Newton's step
        would then head for a saddle or a maximum, not a minimum).
    """
    p = np.array(p0, dtype=np.float64)
    path = [p.copy()]
    for t in range(steps):
        H = hessian(p) if hessian is not None else finite_difference_hessian(grad, p, h)
        eig = np.linalg.eigvalsh(H)
        if not eig.min() > 0:
            raise ValueError(f"Newton step {t}: Hessian at {p} is not positive definite (eigenvalues {eig})")
        step = np.linalg.solve(H, np.asarray(grad(p), dtype=np.float64))
        p = p - step
        path.append(p.copy())
        if np.abs(step).max() <= tol:
            break
    return np.array(path)
