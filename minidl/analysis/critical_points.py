"""Drive the gradient of a small network to (almost) zero with second-order steps on the exact Hessian.

Both methods eigendecompose the full Hessian once per step, H = Q diag(lam) Q^T (cheap for a few
hundred parameters), and write the gradient in that basis, gq = Q^T g.  They differ in what they
solve for:

``saddle_free_newton`` -- minimise the loss L with the step

    d = -Q diag(1 / (|lam| + mu)) gq                                  (Dauphin et al. 2014)

Along a direction of positive curvature this is the Newton step -gq_i / lam_i; along a direction of
negative curvature it goes *down*, where plain Newton (-gq_i / lam_i > 0 uphill) would go up.  So it
is a descent method on L; mu > 0 keeps the steps along flat directions finite.  Its fixed points are
the points with g = 0, and it cannot settle on a saddle whose negative curvature it can resolve:
it finds critical points by lowering the loss.

``levenberg_marquardt`` -- find a root of g, whatever the loss there.  g is a residual with Jacobian
H, so the damped Gauss-Newton step on ||g||^2 solves (H^2 + mu I) d = -H g:

    d = -Q diag(lam / (lam^2 + mu)) gq

It is drawn towards the nearest critical point, saddle or minimum.  Where that critical point is
degenerate (H singular there) Newton-type root finding converges only linearly.

Both keep a step only if it improves their objective (the loss; ||g||) and adapt mu: smaller after
a good step, larger after a rejected one.  Run them in float64: at ||g|| ~ 1e-5 a float32 gradient
is at its rounding floor.
"""
from __future__ import annotations

import numpy as np

from minidl.analysis.hessian import hessian
from minidl.analysis.params import flatten_params, loss_and_grad, unflatten_params

__all__ = ["saddle_free_newton", "levenberg_marquardt", "spectrum_counts"]

_GIVE_UP = 1e12          # mu / max|lam| beyond which a step is pure rounding: stop


def _eigh_hessian(model, loss, X, y, method):
    """(lam (P,), Q (P, P)) of the exact Hessian at the model's current parameters."""
    return np.linalg.eigh(hessian(model, loss, X, y, method=method))


def _try(model, loss, X, y, theta: np.ndarray) -> tuple[float, np.ndarray]:
    """The loss and gradient (P,) at parameters theta (P,); leaves the model at theta."""
    unflatten_params(model, theta)
    return loss_and_grad(model, loss, X, y)


def saddle_free_newton(model, loss, X, y, steps: int, threshold: float, method: str = "exact",
                       mu0: float = 1e-3) -> tuple[float, np.ndarray, int]:
    """Lower the loss with damped saddle-free Newton steps until ||g|| <= threshold.

    Inputs: model (its parameters are the start, and are left at the end point); loss; X (N, D_in);
    y (N, D_out); steps: at most this many Hessians; threshold: stop once ||g|| <= threshold;
    method: 'exact' or 'fd' Hessian; mu0: the first mu, relative to max|lam|.
    Returns (loss, g (P,), Hessians used).

    mu is a trust-region damping.  The quadratic model predicts the change
        m(d) = g.d + d.H.d / 2 = -sum_i gq_i c_i + sum_i lam_i c_i^2 / 2,   c_i = gq_i / (|lam_i| + mu),
    and rho = (actual change) / m(d) decides: rho > 3/4, mu / 3; rho < 1/4, mu * 2.  A step that does
    not lower the loss is rejected and retried with mu * 4.
    """
    theta = flatten_params(model)
    value, g = loss_and_grad(model, loss, X, y)
    mu, step = None, 0
    while step < steps and np.linalg.norm(g) > threshold:
        lam, Q = _eigh_hessian(model, loss, X, y, method)
        scale = float(np.abs(lam).max())
        mu = mu0 * scale if mu is None else mu
        gq = Q.T @ g
        step += 1
        while True:
            c = gq / (np.abs(lam) + mu)
            predicted = -gq @ c + 0.5 * (lam * c) @ c          # < 0: c . gq > 0 and |lam| + mu > lam
            candidate = theta - Q @ c
            new_value, new_g = _try(model, loss, X, y, candidate)
            if new_value < value:
                rho = (new_value - value) / predicted
                mu = mu / 3 if rho > 0.75 else (mu * 2 if rho < 0.25 else mu)
                theta, value, g = candidate, new_value, new_g
                break
            mu *= 4
            if mu > _GIVE_UP * scale:                  # no step lowers the loss any more
                _try(model, loss, X, y, theta)
                return value, g, step
    _try(model, loss, X, y, theta)
    return value, g, step


def levenberg_marquardt(model, loss, X, y, steps: int, threshold: float, method: str = "exact",
                        mu0: float = 1e-6) -> tuple[float, np.ndarray, int]:
    """Lower ||g|| with Levenberg-Marquardt steps on the residual g until ||g|| <= threshold.

    Inputs as ``saddle_free_newton``; mu0 is relative to max lam^2 (start close to Gauss-Newton).
    A step d = -Q diag(lam / (lam^2 + mu)) Q^T g is kept only if it lowers ||g||; mu / 10 after a
    kept step, mu * 4 after a rejected one.  Returns (loss, g (P,), Hessians used).
    """
    theta = flatten_params(model)
    value, g = loss_and_grad(model, loss, X, y)
    norm, mu, step = float(np.linalg.norm(g)), None, 0
    while step < steps and norm > threshold:
        lam, Q = _eigh_hessian(model, loss, X, y, method)
        scale = float(np.max(lam ** 2))
        mu = mu0 * scale if mu is None else mu
        gq = Q.T @ g
        step += 1
        while True:
            candidate = theta - Q @ (lam * gq / (lam ** 2 + mu))
            new_value, new_g = _try(model, loss, X, y, candidate)
            if np.linalg.norm(new_g) < norm:
                theta, value, g, norm = candidate, new_value, new_g, float(np.linalg.norm(new_g))
                mu /= 10
                break
            mu *= 4
            if mu > _GIVE_UP * scale:                  # no step lowers ||g||: give up
                _try(model, loss, X, y, theta)
                return value, g, step
    _try(model, loss, X, y, theta)
    return value, g, step


def spectrum_counts(eigenvalues: np.ndarray, tol: float) -> dict:
    """How many eigenvalues are negative (< -tol), flat (|lam| <= tol) and positive (> tol).

    eigenvalues: (P,) array; tol >= 0.  ``positive / P`` is ``minimal_ratio(eigenvalues, tol)``.
    With tol = 0 'flat' counts only exact zeros.
    """
    if tol < 0:
        raise ValueError(f"tol must be >= 0; got {tol}")
    lam = np.asarray(eigenvalues, dtype=np.float64)
    negative, positive = int(np.count_nonzero(lam < -tol)), int(np.count_nonzero(lam > tol))
    return {"negative": negative, "flat": lam.size - negative - positive, "positive": positive}
