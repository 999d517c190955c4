"""The loss along the straight line between two trained networks (Goodfellow et al. 2015).

    theta(alpha) = (1 - alpha) * theta1 + alpha * theta2

alpha = 0 is the first model and alpha = 1 the second, exactly: the two
endpoints reproduce the two trained models bit for bit, so their losses are the
models' own.  alpha < 0 and alpha > 1 extrapolate past each end.  A sharp
minimum shows as a narrow dip around its endpoint; Keskar et al. 2017 compare
a small-batch (flat) and a large-batch (sharp) minimum this way.
"""
from __future__ import annotations

import numpy as np

from minidl.layers.base import in_evaluation_mode

from minidl.analysis.params import flatten_params, unflatten_params

__all__ = ["interpolate", "interpolation_alphas", "interpolation_curve"]


def interpolate(theta1: np.ndarray, theta2: np.ndarray, alpha: float) -> np.ndarray:
    """``(1 - alpha) * theta1 + alpha * theta2``.  theta1, theta2: (P,) -> (P,), in their dtype.

    At alpha = 0 and alpha = 1 the result equals theta1 and theta2 exactly
    (``1 * t + 0 * u == t`` in floating point for finite t and u).
    """
    theta1, theta2 = np.asarray(theta1), np.asarray(theta2)
    if theta1.shape != theta2.shape or theta1.ndim != 1:
        raise ValueError(f"interpolate needs two (P,) vectors of the same length; got {theta1.shape} and {theta2.shape}")
    a = theta1.dtype.type(alpha)
    return (1 - a) * theta1 + a * theta2


def interpolation_alphas(low: float = -1.0, high: float = 2.0, steps: int = 61) -> np.ndarray:
    """``steps`` evenly spaced alphas from ``low`` to ``high``, with 0 and 1 in the grid exactly.

    ``np.linspace`` alone can land next to 0 or 1 (e.g. at 1e-17) instead of on
    them; the nearest grid points are snapped, so the endpoints are the models.
    """
    if not (low < 0 <= 1 < high) or steps < 3:
        raise ValueError(f"need low < 0, high > 1 and at least 3 steps; got low={low}, high={high}, steps={steps}")
    alphas = np.linspace(low, high, steps)
    for end in (0.0, 1.0):
        alphas[np.argmin(np.abs(alphas - end))] = end
    return np.unique(alphas)


@in_evaluation_mode
def interpolation_curve(model, theta1: np.ndarray, theta2: np.ndarray, alphas, evaluate) -> list[dict]:
    """Evaluate ``model`` at theta(alpha) for each alpha.

    ``evaluate(model) -> dict`` measures the model as it stands (e.g. train and
    test loss and accuracy).  Returns one ``{'alpha': a, **evaluate(model)}``
    per alpha.  The model's own parameters are put back afterwards.
    """
    saved = flatten_params(model)
    rows = []
    try:
        for alpha in alphas:
            unflatten_params(model, interpolate(theta1, theta2, float(alpha)))
            rows.append({"alpha": float(alpha), **evaluate(model)})
    finally:
        unflatten_params(model, saved)
    return rows
